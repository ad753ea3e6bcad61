//! Lossless, line-level view of a config file (what lxc-create,
//! lxc-update-config and lxc-copy rewrite).

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, Location};
use crate::keys::{classify, Key, NetTarget, NET_PREFIX};
use crate::line::{classify_line, numbered_lines, offset_in, LineKind};
use crate::net::addr::complete_hwaddr;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    raw: String,
    /// Byte ranges of key and (trimmed, unquoted) value inside `raw`.
    entry: Option<(Range<usize>, Range<usize>)>,
}

impl Line {
    fn new(raw: String) -> Line {
        let entry = match classify_line(&raw) {
            LineKind::Entry { key, value } => {
                let k = offset_in(&raw, key);
                let v = offset_in(&raw, value);
                Some((k..k + key.len(), v..v + value.len()))
            }
            _ => None,
        };
        Line { raw, entry }
    }

    fn key(&self) -> Option<&str> {
        self.entry.as_ref().map(|(k, _)| &self.raw[k.clone()])
    }
}

/// One `key = value` line of a [`ConfigFile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// As written (legacy spellings are not translated).
    pub key: &'a str,
    /// Trimmed and unquoted.
    pub value: &'a str,
    /// 1-based.
    pub line: usize,
}

/// A config file kept line by line: comments, blank lines, non-`lxc.` lines and
/// spacing survive, and [`ConfigFile::render`] of an unmodified parse gives back
/// the input byte for byte. Includes are not expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    origin: PathBuf,
    lines: Vec<Line>,
    trailing_newline: bool,
}

impl ConfigFile {
    /// Checks syntax only: an `lxc.` line without `=` is the one error.
    pub fn parse_str(text: &str, origin: &Path) -> Result<ConfigFile, ConfigError> {
        let mut lines = Vec::new();
        for (n, l) in numbered_lines(text) {
            if classify_line(l) == LineKind::MissingEquals {
                return Err(ConfigError::Syntax {
                    loc: Location::at(origin, n),
                    text: l.to_string(),
                    reason: "an `lxc.` line needs `key = value`".into(),
                });
            }
            lines.push(Line::new(l.to_string()));
        }
        Ok(ConfigFile {
            origin: origin.to_path_buf(),
            lines,
            trailing_newline: text.ends_with('\n'),
        })
    }

    pub fn read(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        ConfigFile::parse_str(&text, path)
    }

    pub(crate) fn origin(&self) -> &Path {
        &self.origin
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(self.lines.iter().map(|l| l.raw.len() + 1).sum());
        for (i, l) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&l.raw);
        }
        if self.trailing_newline && !self.lines.is_empty() {
            out.push('\n');
        }
        out
    }

    pub fn entries(&self) -> impl Iterator<Item = Entry<'_>> {
        self.lines.iter().enumerate().filter_map(|(i, l)| {
            let (k, v) = l.entry.as_ref()?;
            Some(Entry {
                key: &l.raw[k.clone()],
                value: &l.raw[v.clone()],
                line: i + 1,
            })
        })
    }

    /// The last value written for `key` or one of its spellings, as in the file
    /// (no include expansion, no evaluation of clears).
    pub fn get(&self, key: &str) -> Option<&str> {
        let idx = *self.matching_lines(key).last()?;
        let l = &self.lines[idx];
        l.entry.as_ref().map(|(_, v)| &l.raw[v.clone()])
    }

    /// Adds `key = value` (`key =` for an empty value) as a new last line.
    pub fn append(&mut self, key: &str, value: &str) {
        self.push_line(format_entry(key, value));
    }

    fn push_line(&mut self, raw: String) {
        self.lines.push(Line::new(raw));
        self.trailing_newline = true;
    }

    /// Replaces every line of `key` (any spelling) by one `key = value` line at
    /// the position of the first; appends when there is none.
    pub fn set(&mut self, key: &str, value: &str) {
        let m = self.matching_lines(key);
        let Some(&first) = m.first() else {
            self.append(key, value);
            return;
        };
        for &i in m[1..].iter().rev() {
            self.lines.remove(i);
        }
        self.lines[first] = Line::new(format_entry(key, value));
    }

    /// Removes the lines of `key` and its other spellings (for a 1.0 file,
    /// `lxc.net.1.link` also matches `lxc.network.link` in the second
    /// `lxc.network.type` section). Group keys (`lxc.net.0`, `lxc.net`,
    /// `lxc.cgroup`, `lxc.hook`, …) remove all their subkeys too.
    /// Returns how many lines went.
    pub fn remove(&mut self, key: &str) -> usize {
        let m = self.matching_lines(key);
        for &i in m.iter().rev() {
            self.lines.remove(i);
        }
        m.len()
    }

    /// Makes every `x`/`X` in hwaddr values concrete, as lxc-create does when it
    /// saves a config (a `x` in 2nd position only becomes an even digit).
    pub fn randomize_hwaddrs(&mut self, rng: &mut dyn FnMut() -> u8) {
        for l in &mut self.lines {
            let Some((k, v)) = l.entry.clone() else {
                continue;
            };
            let is_hwaddr = matches!(
                classify(&l.raw[k]),
                Some((Key::Net { sub: Some(s), .. }, _)) if s.name == "hwaddr"
            );
            if !is_hwaddr || !l.raw[v.clone()].contains(['x', 'X']) {
                continue;
            }
            let done = complete_hwaddr(&l.raw[v.clone()], rng);
            l.raw.replace_range(v, &done);
        }
    }

    /// Whether any entry uses a pre-3.0 key name.
    pub fn uses_legacy_keys(&self) -> bool {
        self.entries()
            .any(|e| classify(e.key).is_some_and(|(_, legacy)| legacy))
    }

    /// Indexes of the lines whose key means the same as `key`.
    fn matching_lines(&self, key: &str) -> Vec<usize> {
        let key = key.trim_matches([' ', '\t']);
        let target = classify(key).and_then(|(k, _)| Some((k.canonical()?, k.is_group())));
        let Some((want, group)) = target else {
            // Unknown or removed keys match by spelling only.
            return (0..self.lines.len())
                .filter(|&i| self.lines[i].key() == Some(key))
                .collect();
        };
        let resolved = self.resolved_keys();
        // A 1.0 index-less network key means the latest section.
        let want = match classify(key) {
            Some((
                Key::Net {
                    target: NetTarget::Last,
                    sub: Some(sub),
                },
                _,
            )) => {
                let last = resolved
                    .iter()
                    .rev()
                    .flatten()
                    .find_map(|r| r.strip_prefix("lxc.net.")?.strip_suffix(".type"))
                    .unwrap_or("0")
                    .to_string();
                format!("{NET_PREFIX}.{last}.{}", sub.name)
            }
            _ => want,
        };
        let prefix = format!("{want}.");
        resolved
            .iter()
            .enumerate()
            .filter(|(_, r)| match r {
                Some(r) => *r == want || (group && r.starts_with(&prefix)),
                None => false,
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Current key name of every line, with 1.0 network keys numbered the way
    /// the evaluator and `update_config` number them.
    fn resolved_keys(&self) -> Vec<Option<String>> {
        let mut legacy_nets: Vec<u32> = Vec::new();
        let mut next: u32 = 0;
        let mut last: Option<u32> = None;
        self.lines
            .iter()
            .map(|l| {
                let (k, v) = l.entry.as_ref()?;
                let (key, _) = classify(&l.raw[k.clone()])?;
                let value = &l.raw[v.clone()];
                let Key::Net { target, sub } = key else {
                    return key.canonical();
                };
                let sub_name = sub.map(|s| s.name);
                let is_type = sub.is_some_and(|s| s.is_type());
                let idx = match target {
                    NetTarget::All => {
                        legacy_nets.clear();
                        next = 0;
                        last = None;
                        return Some(match sub_name {
                            Some(s) => format!("lxc.net.{s}"),
                            None => "lxc.net".into(),
                        });
                    }
                    NetTarget::Index(n) => {
                        if is_type {
                            last = Some(n);
                        }
                        next = next.max(n + 1);
                        n
                    }
                    NetTarget::Last if is_type && value.is_empty() => {
                        legacy_nets.clear();
                        next = 0;
                        last = None;
                        return Some("lxc.net".into());
                    }
                    NetTarget::Last if is_type => {
                        let n = next;
                        next += 1;
                        legacy_nets.push(n);
                        last = Some(n);
                        n
                    }
                    NetTarget::Last => last.unwrap_or(0),
                    NetTarget::LegacyOrdinal(o) => {
                        legacy_nets.get(o as usize).copied().unwrap_or(o)
                    }
                };
                Some(match sub_name {
                    Some(s) => format!("lxc.net.{idx}.{s}"),
                    None => format!("lxc.net.{idx}"),
                })
            })
            .collect()
    }
}

fn format_entry(key: &str, value: &str) -> String {
    if value.is_empty() {
        format!("{key} =")
    } else {
        format!("{key} = {value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> ConfigFile {
        ConfigFile::parse_str(text, Path::new("/c/config")).unwrap()
    }

    #[test]
    fn round_trip_is_byte_identical() {
        for text in [
            "",
            "\n",
            "\n\n",
            "lxc.tty.max = 4",
            "lxc.tty.max = 4\n",
            "# c\r\nlxc.uts.name=\"x\"\r\n\tfoo bar\n  \n",
            "lxc.include = /a\n\n\n#x\nlxc.mount.entry = a\\040b c none bind 0 0 \t \n",
        ] {
            assert_eq!(parse(text).render(), text, "{text:?}");
        }
    }

    #[test]
    fn entries_are_trimmed_and_numbered() {
        let f = parse("# c\n\n  lxc.uts.name   =  \"c1\"  \nfoo = bar\nlxc.tty.max=4\n");
        let e: Vec<Entry<'_>> = f.entries().collect();
        assert_eq!(
            e,
            vec![
                Entry {
                    key: "lxc.uts.name",
                    value: "c1",
                    line: 3
                },
                Entry {
                    key: "lxc.tty.max",
                    value: "4",
                    line: 5
                },
            ]
        );
    }

    #[test]
    fn syntax_error() {
        let e = ConfigFile::parse_str("a\nlxc.tty.max\n", Path::new("/c/config")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/c/config:2: invalid line `lxc.tty.max`: an `lxc.` line needs `key = value`"
        );
    }

    #[test]
    fn append() {
        let mut f = parse("lxc.tty.max = 4");
        f.append("lxc.uts.name", "c1");
        f.append("lxc.tty.dir", "");
        assert_eq!(
            f.render(),
            "lxc.tty.max = 4\nlxc.uts.name = c1\nlxc.tty.dir =\n"
        );
        let mut f = parse("");
        f.append("lxc.idmap", "u 0 1 1");
        assert_eq!(f.render(), "lxc.idmap = u 0 1 1\n");
    }

    #[test]
    fn set_replaces_all_spellings_at_first_position() {
        let mut f = parse("# h\nlxc.utsname = a\nlxc.tty = 4\nlxc.uts.name = b\n");
        f.set("lxc.uts.name", "c");
        assert_eq!(f.render(), "# h\nlxc.uts.name = c\nlxc.tty = 4\n");
        f.set("lxc.rootfs.path", "dir:/r");
        assert_eq!(
            f.render(),
            "# h\nlxc.uts.name = c\nlxc.tty = 4\nlxc.rootfs.path = dir:/r\n"
        );
        assert_eq!(f.get("lxc.tty.max"), Some("4"));
        assert_eq!(f.get("lxc.pty.max"), None);
    }

    #[test]
    fn remove_handles_aliases_and_groups() {
        let text = "\
lxc.rootfs = /r
lxc.rootfs.mount = /m
lxc.network.type = veth
lxc.network.link = br0
lxc.network.hwaddr = 00:16:3e:xx:xx:xx
lxc.network.type = veth
lxc.network.link = br1
lxc.cgroup.devices.allow = a
lxc.cgroup.devices.deny = b
lxc.cgroup2.devices.allow = c
lxc.pivotdir = x
";
        let mut f = parse(text);
        assert_eq!(f.remove("lxc.rootfs.path"), 1);
        assert_eq!(f.remove("lxc.net.1.link"), 1);
        assert_eq!(f.get("lxc.net.0.link"), Some("br0"));
        assert_eq!(f.remove("lxc.net.0"), 3);
        assert_eq!(f.remove("lxc.cgroup"), 2);
        assert_eq!(f.remove("lxc.pivotdir"), 1);
        assert_eq!(f.remove("lxc.bogus"), 0);
        assert_eq!(
            f.render(),
            "lxc.rootfs.mount = /m\nlxc.network.type = veth\nlxc.cgroup2.devices.allow = c\n"
        );
        assert_eq!(f.remove("lxc.net"), 1);

        let mut f = parse("lxc.network.type = veth\nlxc.network.link = a\nlxc.network.type = veth\nlxc.network.link = b\n");
        f.set("lxc.network.link", "c");
        assert_eq!(
            f.render(),
            "lxc.network.type = veth\nlxc.network.link = a\nlxc.network.type = veth\nlxc.network.link = c\n"
        );
        assert_eq!(f.get("lxc.network.0.link"), Some("a"));
    }

    #[test]
    fn randomize_hwaddrs_touches_only_templates() {
        let text = "\
# lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx
lxc.net.0.hwaddr  =  \"xx:16:3e:Xx:xx:xx\"  
lxc.network.hwaddr = 00:16:3e:12:34:56
lxc.network.1.hwaddr=00:16:3e:xx:00:00
lxc.net.0.link = xx
";
        let mut f = parse(text);
        let mut rng = || 0xffu8;
        f.randomize_hwaddrs(&mut rng);
        assert_eq!(
            f.render(),
            "\
# lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx
lxc.net.0.hwaddr  =  \"fe:16:3e:ff:ff:ff\"  
lxc.network.hwaddr = 00:16:3e:12:34:56
lxc.network.1.hwaddr=00:16:3e:ff:00:00
lxc.net.0.link = xx
"
        );
        let v: Vec<_> = f.entries().map(|e| e.value).collect();
        assert_eq!(v[0], "fe:16:3e:ff:ff:ff");
    }

    #[test]
    fn legacy_detection() {
        assert!(parse("lxc.utsname = a").uses_legacy_keys());
        assert!(parse("lxc.network.type = veth").uses_legacy_keys());
        assert!(parse("lxc.pivotdir = a").uses_legacy_keys());
        assert!(!parse("lxc.uts.name = a\n# lxc.utsname = b\n").uses_legacy_keys());
    }

    fn line_strategy() -> impl Strategy<Value = String> {
        let fragments = prop_oneof![
            Just(String::new()),
            Just("# comment".to_string()),
            Just("   # indented = comment".to_string()),
            Just("foo = bar".to_string()),
            Just("\t".to_string()),
            Just("\r".to_string()),
            "[ \t]{0,3}lxc\\.[a-z._0-9]{1,20}[ \t]{0,3}=[ \t]{0,3}[ -~]{0,30}",
            "[ -~\t]{0,40}".prop_filter("no lxc. line without =", |s| {
                !s.trim_start_matches([' ', '\t']).starts_with("lxc.") || s.contains('=')
            }),
        ];
        fragments
    }

    proptest! {
        #[test]
        fn render_of_parse_is_identity(
            lines in proptest::collection::vec(line_strategy(), 0..30),
            trailing in any::<bool>(),
        ) {
            let mut text = lines.join("\n");
            if trailing {
                text.push('\n');
            }
            let f = ConfigFile::parse_str(&text, Path::new("/p")).unwrap();
            prop_assert_eq!(f.render(), text.clone());
            // Entries point at the right lines.
            for e in f.entries() {
                let raw = text.split('\n').nth(e.line - 1).unwrap();
                prop_assert!(raw.contains(e.key));
            }
        }

        #[test]
        fn set_then_get(value in "[a-z0-9/:._-]{1,20}") {
            let mut f = ConfigFile::parse_str("# x\nlxc.uts.name = a\n", Path::new("/p")).unwrap();
            f.set("lxc.utsname", &value);
            prop_assert_eq!(f.get("lxc.uts.name"), Some(value.as_str()));
            let again = ConfigFile::parse_str(&f.render(), Path::new("/p")).unwrap();
            prop_assert_eq!(again.render(), f.render());
        }
    }
}
