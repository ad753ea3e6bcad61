//! `tar --anchored --exclude=PATTERN` matching as GNU tar does it for
//! `lxc-download`'s `excludes-user` lines: shell wildcards where `*` also matches
//! `/`, anchored at the start of the member name, and a pattern that matches a
//! leading directory excludes everything below it. Leading `./` and `/` are
//! ignored on both sides, so `./dev/null` matches a member stored as `dev/null`.

/// A compiled set of exclude patterns.
#[derive(Debug, Clone, Default)]
pub(crate) struct Excludes {
    patterns: Vec<Vec<u8>>,
}

fn strip_leading(mut s: &[u8]) -> &[u8] {
    loop {
        if let Some(r) = s.strip_prefix(b"./") {
            s = r;
        } else if let Some(r) = s.strip_prefix(b"/") {
            s = r;
        } else {
            return s;
        }
    }
}

fn strip_trailing_slash(mut s: &[u8]) -> &[u8] {
    while s.len() > 1 && s.ends_with(b"/") {
        s = &s[..s.len() - 1];
    }
    s
}

impl Excludes {
    pub(crate) fn new<S: AsRef<str>>(lines: &[S]) -> Excludes {
        let patterns = lines
            .iter()
            .map(|l| l.as_ref().trim_end_matches(['\r', '\n']))
            .filter(|l| !l.is_empty())
            .map(|l| strip_trailing_slash(strip_leading(l.as_bytes())).to_vec())
            .filter(|p| !p.is_empty())
            .collect();
        Excludes { patterns }
    }

    /// Whether a member name (as stored in the tarball) is excluded.
    pub(crate) fn matches(&self, name: &[u8]) -> bool {
        if self.patterns.is_empty() {
            return false;
        }
        let name = strip_trailing_slash(strip_leading(name));
        self.patterns.iter().any(|p| {
            // The whole name, or any leading directory of it.
            fnmatch(p, name)
                || name
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c == b'/')
                    .any(|(i, _)| fnmatch(p, &name[..i]))
        })
    }
}

/// Shell wildcard match of the whole `s`: `*`, `?`, `[...]` (with `!`/`^` and
/// ranges), `\` escapes; `*` and `?` match `/` too.
pub(crate) fn fnmatch(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                b'[' => {
                    if let Some((ok, next)) = class(p, pi, s[si]) {
                        if ok {
                            pi = next;
                            si += 1;
                            continue;
                        }
                    } else if s[si] == b'[' {
                        // An unterminated `[` is literal.
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
                b'\\' if pi + 1 < p.len() => {
                    if p[pi + 1] == s[si] {
                        pi += 2;
                        si += 1;
                        continue;
                    }
                }
                c => {
                    if c == s[si] {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// Matches `c` against the bracket expression at `p[start]`; returns the result
/// and the index after `]`, or `None` when there is no closing `]`.
fn class(p: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &lo = p.get(i)?;
        if lo == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let lo = if lo == b'\\' {
            i += 1;
            *p.get(i)?
        } else {
            lo
        };
        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|h| *h != b']') {
            let hi = p[i + 2];
            if lo <= c && c <= hi {
                matched = true;
            }
            i += 3;
        } else {
            if lo == c {
                matched = true;
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(fnmatch(b"dev/null", b"dev/null"));
        assert!(!fnmatch(b"dev/null", b"dev/nul"));
        assert!(fnmatch(b"dev/*", b"dev/a/b"));
        assert!(fnmatch(b"dev/tty?", b"dev/tty1"));
        assert!(!fnmatch(b"dev/tty?", b"dev/tty10"));
        assert!(fnmatch(b"dev/tty[0-9]", b"dev/tty7"));
        assert!(!fnmatch(b"dev/tty[!0-9]", b"dev/tty7"));
        assert!(fnmatch(b"a\\*b", b"a*b"));
        assert!(!fnmatch(b"a\\*b", b"axb"));
        assert!(fnmatch(b"*", b""));
        assert!(fnmatch(b"[]]", b"]"));
        assert!(fnmatch(b"a[b", b"a[b"));
    }

    #[test]
    fn anchored_with_leading_dirs() {
        let ex = Excludes::new(&[
            "./dev/null",
            "./dev/zero",
            "./var/cache/",
            "",
            "./opt/*.log",
        ]);
        assert!(ex.matches(b"./dev/null"));
        assert!(ex.matches(b"dev/null"));
        assert!(ex.matches(b"/dev/zero"));
        assert!(!ex.matches(b"./dev/nullx"));
        assert!(!ex.matches(b"./usr/dev/null"), "anchored");
        assert!(ex.matches(b"./var/cache"));
        assert!(
            ex.matches(b"./var/cache/apt/x.bin"),
            "below an excluded dir"
        );
        assert!(ex.matches(b"./opt/a/b.log"));
        assert!(!ex.matches(b"./"));
        assert!(!Excludes::new::<&str>(&[]).matches(b"./x"));
    }
}
