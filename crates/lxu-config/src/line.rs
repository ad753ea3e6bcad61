//! Splitting one physical line the way LXC's `parse_line` does.

/// What a single line of a container config is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineKind<'a> {
    Blank,
    Comment,
    /// Anything not starting with `lxc.` (LXC ignores these; we keep them on save).
    Other,
    /// `key = value`; the value is trimmed and unquoted.
    Entry {
        key: &'a str,
        value: &'a str,
    },
    /// An `lxc.` line without `=`, which makes LXC refuse the whole file.
    MissingEquals,
}

fn is_blank_char(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'\0')
}

/// Leading blanks as LXC's `lxc_char_left_gc` sees them.
pub(crate) fn ltrim(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// Trailing blanks; `\r` is included so files with CRLF endings still parse.
pub(crate) fn rtrim(s: &str) -> &str {
    s.trim_end_matches([' ', '\t', '\n', '\r', '\0'])
}

pub(crate) fn unquote(v: &str) -> &str {
    let b = v.as_bytes();
    if b.len() > 1 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &v[1..v.len() - 1]
    } else {
        v
    }
}

pub(crate) fn classify_line(line: &str) -> LineKind<'_> {
    if line.bytes().all(is_blank_char) {
        return LineKind::Blank;
    }
    let body = ltrim(line);
    if body.starts_with('#') {
        return LineKind::Comment;
    }
    if !body.starts_with("lxc.") {
        return LineKind::Other;
    }
    let Some(eq) = body.find('=') else {
        return LineKind::MissingEquals;
    };
    let key = rtrim(&body[..eq]);
    let value = unquote(rtrim(ltrim(&body[eq + 1..])));
    LineKind::Entry { key, value }
}

/// Byte offset of `inner` inside `outer`; `inner` must be a sub-slice of `outer`.
pub(crate) fn offset_in(outer: &str, inner: &str) -> usize {
    inner.as_ptr() as usize - outer.as_ptr() as usize
}

/// Iterates physical lines (split at `\n`) with 1-based numbers; a final `\n`
/// does not start another line.
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut lines = if text.is_empty() {
        None
    } else {
        Some(body.split('\n'))
    };
    let mut n = 0usize;
    std::iter::from_fn(move || {
        let l = lines.as_mut()?.next()?;
        n += 1;
        Some((n, l))
    })
}

/// Splits at spaces and tabs, skipping empty pieces (LXC's `lxc_iterate_parts(" \t")`).
pub(crate) fn words(v: &str) -> impl Iterator<Item = &str> {
    v.split([' ', '\t']).filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_first_equals_and_trims() {
        assert_eq!(
            classify_line("  lxc.uts.name   =  a=b  "),
            LineKind::Entry {
                key: "lxc.uts.name",
                value: "a=b"
            }
        );
        assert_eq!(
            classify_line("lxc.signal.halt=SIGRTMIN+4"),
            LineKind::Entry {
                key: "lxc.signal.halt",
                value: "SIGRTMIN+4"
            }
        );
    }

    #[test]
    fn no_inline_comments() {
        assert_eq!(
            classify_line("lxc.x = a # b"),
            LineKind::Entry {
                key: "lxc.x",
                value: "a # b"
            }
        );
    }

    #[test]
    fn quotes_are_stripped_only_when_matching() {
        let v = |l| match classify_line(l) {
            LineKind::Entry { value, .. } => value,
            other => panic!("{other:?}"),
        };
        assert_eq!(v("lxc.uts.name = \"b1\""), "b1");
        assert_eq!(v("lxc.uts.name = 'b1'"), "b1");
        assert_eq!(v("lxc.uts.name = \"b1'"), "\"b1'");
        assert_eq!(v("lxc.uts.name = \""), "\"");
        assert_eq!(v("lxc.uts.name = \"\""), "");
    }

    #[test]
    fn kinds() {
        assert_eq!(classify_line(""), LineKind::Blank);
        assert_eq!(classify_line(" \t\r"), LineKind::Blank);
        assert_eq!(classify_line("  # lxc.tty = 4"), LineKind::Comment);
        assert_eq!(classify_line("foo = bar"), LineKind::Other);
        assert_eq!(classify_line("lxcfoo = bar"), LineKind::Other);
        assert_eq!(classify_line("lxc.tty.max 4"), LineKind::MissingEquals);
        assert_eq!(
            classify_line("lxc.tty.max =\r"),
            LineKind::Entry {
                key: "lxc.tty.max",
                value: ""
            }
        );
    }

    #[test]
    fn numbering() {
        let v: Vec<_> = numbered_lines("a\n\nb\n").collect();
        assert_eq!(v, vec![(1, "a"), (2, ""), (3, "b")]);
        let v: Vec<_> = numbered_lines("a").collect();
        assert_eq!(v, vec![(1, "a")]);
        assert_eq!(numbered_lines("").count(), 0);
        assert_eq!(numbered_lines("\n").collect::<Vec<_>>(), vec![(1, "")]);
    }
}
