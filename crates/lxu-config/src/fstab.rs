//! `lxc.mount.entry` lines and `lxc.mount.fstab` files (fstab(5) syntax).

use std::path::Path;

use crate::error::{ConfigError, Location};
use crate::line::numbered_lines;

/// What `create=` asks LXC to make at the target before mounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    Dir,
    File,
}

/// One fstab line. Octal escapes (`\040` …) are decoded in the text fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub source: String,
    pub target: String,
    pub fstype: String,
    /// Comma-separated options, including LXC's own (`optional`, `create=…`, `relative`).
    pub options: Vec<String>,
    pub dump: i32,
    pub pass: i32,
    pub loc: Location,
}

impl MountEntry {
    /// Parses the six fstab fields; dump and pass may be omitted (0).
    pub(crate) fn parse(line: &str, loc: &Location) -> Result<MountEntry, String> {
        let mut f = line.split([' ', '\t']).filter(|w| !w.is_empty());
        let source = f.next().map(decode_octal).unwrap_or_default();
        let target = f.next().map(decode_octal).unwrap_or_default();
        if source.is_empty() || target.is_empty() {
            return Err("a mount entry needs at least `SOURCE TARGET`".into());
        }
        let fstype = f.next().map(decode_octal).unwrap_or_default();
        let options = f
            .next()
            .map(|o| {
                decode_octal(o)
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let mut num = |what: &str| -> Result<i32, String> {
            match f.next() {
                None => Ok(0),
                Some(w) => w
                    .parse()
                    .map_err(|_| format!("{what} field `{w}` is not a number")),
            }
        };
        let dump = num("dump")?;
        let pass = num("pass")?;
        if let Some(extra) = f.next() {
            return Err(format!("unexpected seventh field `{extra}`"));
        }
        Ok(MountEntry {
            source,
            target,
            fstype,
            options,
            dump,
            pass,
            loc: loc.clone(),
        })
    }

    pub(crate) fn has_option(&self, opt: &str) -> bool {
        self.options.iter().any(|o| o == opt)
    }

    /// `optional`: a failing mount is ignored.
    pub fn is_optional(&self) -> bool {
        self.has_option("optional")
    }

    /// `create=dir` / `create=file` (the last one wins).
    pub fn create(&self) -> Option<Create> {
        self.options.iter().rev().find_map(|o| match o.as_str() {
            "create=dir" => Some(Create::Dir),
            "create=file" => Some(Create::File),
            _ => None,
        })
    }
}

/// The escapes of fstab and of `/proc/*/mountinfo` fields: `\NNN` octal (e.g. `\040`
/// for a space) and `\\`.
pub fn decode_octal(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let oct = b.get(i + 1..i + 4);
            if let Some(o) = oct.filter(|o| o.iter().all(|c| (b'0'..=b'7').contains(c))) {
                let v = u32::from(o[0] - b'0') * 64
                    + u32::from(o[1] - b'0') * 8
                    + u32::from(o[2] - b'0');
                if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
            if b.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses an fstab file (as named by `lxc.mount.fstab`); `#` lines and blank
/// lines are skipped.
pub fn parse_fstab(text: &str, origin: &Path) -> Result<Vec<MountEntry>, ConfigError> {
    let mut out = Vec::new();
    for (n, line) in numbered_lines(text) {
        let t = line.trim_matches([' ', '\t', '\r']);
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let loc = Location::at(origin, n);
        let e = MountEntry::parse(t, &loc)
            .map_err(|reason| ConfigError::bad(&loc, "lxc.mount.fstab", t, reason))?;
        out.push(e);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc() -> Location {
        Location::at(Path::new("/c/config"), 3)
    }

    #[test]
    fn shipped_entry() {
        let e = MountEntry::parse(
            "/sys/fs/fuse/connections sys/fs/fuse/connections none bind,optional 0 0",
            &loc(),
        )
        .unwrap();
        assert_eq!(e.source, "/sys/fs/fuse/connections");
        assert_eq!(e.target, "sys/fs/fuse/connections");
        assert_eq!(e.fstype, "none");
        assert_eq!(e.options, vec!["bind", "optional"]);
        assert!(e.is_optional());
        assert_eq!(e.create(), None);
    }

    #[test]
    fn create_and_relative() {
        let e = MountEntry::parse(
            "proc dev/.lxc/proc proc create=dir,optional,relative",
            &loc(),
        )
        .unwrap();
        assert_eq!(e.create(), Some(Create::Dir));
        assert!(e.has_option("relative"));
        assert_eq!((e.dump, e.pass), (0, 0));
        let e = MountEntry::parse("/dev/null dev/null none bind,create=file 0 0", &loc()).unwrap();
        assert_eq!(e.create(), Some(Create::File));
    }

    #[test]
    fn octal_escapes() {
        let e = MountEntry::parse(r"/srv/my\040data mnt/a\011b none bind 0 0", &loc()).unwrap();
        assert_eq!(e.source, "/srv/my data");
        assert_eq!(e.target, "mnt/a\tb");
        assert_eq!(decode_octal(r"a\\b"), r"a\b");
        assert_eq!(decode_octal(r"a\9b"), r"a\9b");
        // mountinfo fields: backslash as \134, a cut-off escape and a trailing `\` kept.
        assert_eq!(decode_octal(r"/a\040b\134c"), r"/a b\c");
        assert_eq!(decode_octal(r"/plain\04"), r"/plain\04");
        assert_eq!(decode_octal("a\\040b\\011c\\"), "a b\tc\\");
    }

    #[test]
    fn bad_entries() {
        assert!(MountEntry::parse("/only", &loc()).is_err());
        assert!(MountEntry::parse("a b c d x 0", &loc()).is_err());
        assert!(MountEntry::parse("a b c d 0 0 7", &loc()).is_err());
    }

    #[test]
    fn fstab_file() {
        let text = "# comment\n\n/a b none bind 0 0\n  tmpfs\ttmp tmpfs defaults 0 0\nbroken\n";
        let err = parse_fstab(text, Path::new("/c/fstab")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/c/fstab:5: bad value `broken` for `lxc.mount.fstab`: a mount entry needs at least `SOURCE TARGET`"
        );
        let v = parse_fstab(&text[..text.len() - 7], Path::new("/c/fstab")).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].fstype, "tmpfs");
        assert_eq!(v[1].loc.line, 4);
    }
}
