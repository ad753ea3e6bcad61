//! The image index (`meta/1.0/index-{system,user}[.N]`): one image per line,
//! `dist;release;arch;variant;build;path`.

use std::fmt::Write as _;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IndexError {
    #[error("index line {line}: expected 6 `;`-separated fields, found {found}: `{text}`")]
    FieldCount {
        line: usize,
        found: usize,
        text: String,
    },
    #[error("index line {line}: unsafe image path `{path}` ({reason})")]
    BadPath {
        line: usize,
        path: String,
        reason: &'static str,
    },
    #[error("index line {line}: field {field} is empty")]
    EmptyField { line: usize, field: usize },
    #[error("the index is not UTF-8 text")]
    NotText,
}

/// One published image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub dist: String,
    pub release: String,
    pub arch: String,
    pub variant: String,
    /// Build serial (`YYYYMMDD_HH:MM`); the cache's `build_id`.
    pub build: String,
    /// Image directory relative to the server, with leading and trailing `/`.
    pub path: String,
}

impl IndexEntry {
    /// The index line, without newline.
    pub fn to_line(&self) -> String {
        format!(
            "{};{};{};{};{};{}",
            self.dist, self.release, self.arch, self.variant, self.build, self.path
        )
    }

    fn matches(&self, dist: &str, release: &str, arch: &str, variant: &str) -> bool {
        self.dist == dist && self.release == release && self.arch == arch && self.variant == variant
    }
}

/// A parsed index, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Index {
    pub entries: Vec<IndexEntry>,
}

/// Filters of the `--list` table; `None` means "any".
#[derive(Debug, Clone, Default)]
pub(crate) struct ListFilter<'a> {
    pub dist: Option<&'a str>,
    pub release: Option<&'a str>,
    pub arch: Option<&'a str>,
    pub variant: Option<&'a str>,
}

/// Checks an image path the way it will be used: pasted into a URL under the
/// server. It must stay under the server root, so no `..` component, and the URL
/// must not change meaning, so no query/fragment/escape characters.
pub(crate) fn check_image_path(path: &str) -> Result<(), &'static str> {
    if !path.starts_with('/') || !path.ends_with('/') {
        return Err("must start and end with `/`");
    }
    // Stricter than a component check on purpose: no real image directory has `..`.
    if path.contains("..") {
        return Err("contains `..`");
    }
    if path
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '?' | '#' | '%' | '\\'))
    {
        return Err("contains whitespace, control or URL-special characters");
    }
    Ok(())
}

/// Parses index text. Blank lines and lines with an empty path (which LXC skips)
/// are dropped; anything malformed is an error naming its 1-based line.
pub(crate) fn parse(text: &str) -> Result<Index, IndexError> {
    let mut entries = Vec::new();
    for (n, raw) in text.split('\n').enumerate() {
        let line = n + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.is_empty() {
            continue;
        }
        let fields: Vec<&str> = raw.split(';').collect();
        if fields.len() != 6 {
            return Err(IndexError::FieldCount {
                line,
                found: fields.len(),
                text: raw.chars().take(200).collect(),
            });
        }
        if fields[5].is_empty() {
            continue;
        }
        for (i, f) in fields[..5].iter().enumerate() {
            if f.is_empty() {
                return Err(IndexError::EmptyField { line, field: i + 1 });
            }
        }
        check_image_path(fields[5]).map_err(|reason| IndexError::BadPath {
            line,
            path: fields[5].to_string(),
            reason,
        })?;
        entries.push(IndexEntry {
            dist: fields[0].into(),
            release: fields[1].into(),
            arch: fields[2].into(),
            variant: fields[3].into(),
            build: fields[4].into(),
            path: fields[5].into(),
        });
    }
    Ok(Index { entries })
}

/// Parses raw index bytes.
pub(crate) fn parse_bytes(bytes: &[u8]) -> Result<Index, IndexError> {
    parse(std::str::from_utf8(bytes).map_err(|_| IndexError::NotText)?)
}

/// Index text for the given entries, one newline-terminated line each.
pub fn serialize(entries: &[IndexEntry]) -> String {
    let mut s = String::new();
    for e in entries {
        s.push_str(&e.to_line());
        s.push('\n');
    }
    s
}

impl Index {
    /// The newest build (largest build serial, the first line on ties) of the image.
    pub(crate) fn select(
        &self,
        dist: &str,
        release: &str,
        arch: &str,
        variant: &str,
    ) -> Option<&IndexEntry> {
        let mut best: Option<&IndexEntry> = None;
        for e in self
            .entries
            .iter()
            .filter(|e| e.matches(dist, release, arch, variant))
        {
            if best.is_none_or(|b| e.build > b.build) {
                best = Some(e);
            }
        }
        best
    }

    /// The `--list` table LXC prints (without the blank line before it).
    pub(crate) fn listing(&self, f: &ListFilter<'_>) -> String {
        let mut s = String::from("---\nDIST\tRELEASE\tARCH\tVARIANT\tBUILD\n---\n");
        for e in self.filtered(f) {
            let _ = writeln!(
                s,
                "{}\t{}\t{}\t{}\t{}",
                e.dist, e.release, e.arch, e.variant, e.build
            );
        }
        s.push_str("---\n");
        s
    }

    fn filtered<'s>(&'s self, f: &'s ListFilter<'_>) -> impl Iterator<Item = &'s IndexEntry> + 's {
        let ok = |want: Option<&str>, have: &str| want.is_none_or(|w| w == have);
        self.entries.iter().filter(move |e| {
            ok(f.dist, &e.dist)
                && ok(f.release, &e.release)
                && ok(f.arch, &e.arch)
                && ok(f.variant, &e.variant)
        })
    }

    /// What does exist, for an error about an image that does not: the closest
    /// level at which the request stops matching.
    pub(crate) fn alternatives(
        &self,
        dist: &str,
        release: &str,
        arch: &str,
        variant: &str,
    ) -> String {
        // The values of `field` among the entries `keep` accepts, each once.
        let distinct = |keep: &dyn Fn(&IndexEntry) -> bool, field: fn(&IndexEntry) -> &str| {
            let mut v: Vec<&str> = Vec::new();
            for x in self.entries.iter().filter(|x| keep(x)) {
                if !v.contains(&field(x)) {
                    v.push(field(x));
                }
            }
            v.join(", ")
        };
        let has = |keep: &dyn Fn(&IndexEntry) -> bool| self.entries.iter().any(keep);
        let image = |x: &IndexEntry| x.dist == dist && x.release == release && x.arch == arch;
        let release_of = |x: &IndexEntry| x.dist == dist && x.release == release;
        if has(&image) {
            let v = distinct(&image, |x| &x.variant);
            format!("variants of {dist} {release} {arch}: {v}")
        } else if has(&release_of) {
            let v = distinct(&release_of, |x| &x.arch);
            format!("architectures of {dist} {release}: {v}")
        } else if has(&|x| x.dist == dist) {
            let v = distinct(&|x| x.dist == dist && x.variant == variant, |x| &x.release);
            format!("releases of {dist}: {v}")
        } else {
            let v = distinct(&|_| true, |x| &x.dist);
            format!("distributions: {v}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
debian;bookworm;amd64;default;20240101_05:24;/images/debian/bookworm/amd64/default/20240101_05:24/
debian;bookworm;arm64;default;20240101_05:30;/images/debian/bookworm/arm64/default/20240101_05:30/
debian;trixie;amd64;default;20240102_05:24;/images/debian/trixie/amd64/default/20240102_05:24/
debian;trixie;amd64;cloud;20240102_05:24;/images/debian/trixie/amd64/cloud/20240102_05:24/
alpine;3.19;amd64;default;20240101_13:00;/images/alpine/3.19/amd64/default/20240101_13:00/
";

    #[test]
    fn round_trip() {
        let idx = parse(SAMPLE).unwrap();
        assert_eq!(idx.entries.len(), 5);
        assert_eq!(serialize(&idx.entries), SAMPLE);
        assert_eq!(idx.entries[4].release, "3.19");
    }

    #[test]
    fn select_newest_exact_match() {
        let text = format!(
            "{SAMPLE}debian;bookworm;amd64;default;20240301_05:24;/images/debian/bookworm/amd64/default/20240301_05:24/\n\
             debian;bookworm;amd64;default;20231201_05:24;/images/old/\n"
        );
        let idx = parse(&text).unwrap();
        let e = idx
            .select("debian", "bookworm", "amd64", "default")
            .unwrap();
        assert_eq!(e.build, "20240301_05:24");
        assert!(idx
            .select("Debian", "bookworm", "amd64", "default")
            .is_none());
        assert!(idx.select("debian", "bookworm", "amd64", "cloud").is_none());
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let bad = format!("{SAMPLE}debian;sid;amd64;default;/images/x/\n");
        let err = parse(&bad).unwrap_err();
        assert_eq!(
            err,
            IndexError::FieldCount {
                line: 6,
                found: 5,
                text: "debian;sid;amd64;default;/images/x/".into()
            }
        );
        assert!(err.to_string().starts_with("index line 6:"));

        let dotdot = "a;b;c;d;1;/images/../../etc/\n";
        let err = parse(dotdot).unwrap_err();
        assert!(matches!(err, IndexError::BadPath { line: 1, .. }), "{err}");
        assert!(err.to_string().contains("index line 1"));
        for p in [
            "images/x/",
            "/images/x",
            "/images/a..b/",
            "/i mages/",
            "/x?y/",
        ] {
            let e = parse(&format!("\na;b;c;d;1;{p}\n")).unwrap_err();
            assert!(matches!(e, IndexError::BadPath { line: 2, .. }), "{p}: {e}");
        }
        assert_eq!(
            parse("a;;c;d;1;/x/\n").unwrap_err(),
            IndexError::EmptyField { line: 1, field: 2 }
        );
        assert!(parse("a;b;c;d;1;/x/;extra\n").is_err());
        assert_eq!(parse_bytes(b"\xff\xfe").unwrap_err(), IndexError::NotText);
    }

    #[test]
    fn lxc_skips_empty_paths_and_crlf() {
        let idx = parse("a;b;c;d;1;\r\na;b;c;d;2;/x/\r\n\n").unwrap();
        assert_eq!(idx.entries.len(), 1);
        assert_eq!(idx.entries[0].path, "/x/");
    }

    #[test]
    fn listing_is_lxc_table() {
        let idx = parse(SAMPLE).unwrap();
        let all = idx.listing(&ListFilter {
            variant: Some("default"),
            ..Default::default()
        });
        assert_eq!(
            all,
            "---\nDIST\tRELEASE\tARCH\tVARIANT\tBUILD\n---\n\
             debian\tbookworm\tamd64\tdefault\t20240101_05:24\n\
             debian\tbookworm\tarm64\tdefault\t20240101_05:30\n\
             debian\ttrixie\tamd64\tdefault\t20240102_05:24\n\
             alpine\t3.19\tamd64\tdefault\t20240101_13:00\n---\n"
        );
        let some = idx.listing(&ListFilter {
            dist: Some("debian"),
            arch: Some("amd64"),
            variant: Some("cloud"),
            ..Default::default()
        });
        assert_eq!(
            some,
            "---\nDIST\tRELEASE\tARCH\tVARIANT\tBUILD\n---\ndebian\ttrixie\tamd64\tcloud\t20240102_05:24\n---\n"
        );
    }

    #[test]
    fn alternatives_describe_what_exists() {
        let idx = parse(SAMPLE).unwrap();
        assert_eq!(
            idx.alternatives("debian", "sid", "amd64", "default"),
            "releases of debian: bookworm, trixie"
        );
        assert_eq!(
            idx.alternatives("debian", "bookworm", "s390x", "default"),
            "architectures of debian bookworm: amd64, arm64"
        );
        assert_eq!(
            idx.alternatives("debian", "trixie", "amd64", "x"),
            "variants of debian trixie amd64: default, cloud"
        );
        assert_eq!(
            idx.alternatives("gentoo", "x", "amd64", "default"),
            "distributions: debian, alpine"
        );
    }
}
