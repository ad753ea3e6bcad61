//! What binds downloaded files to the index entry they were fetched for.
//!
//! A build directory published by `lxu image publish` (and by lxc-ci) holds a
//! `SHA256SUMS` in sha256sum(1) format, signed as `SHA256SUMS.asc`. lxu's
//! publisher also lists `image.info` in it, which names the build (dist,
//! release, arch, variant, serial) and the size of every file. With both, every
//! byte the client keeps is tied to the one build the signed index chose:
//! the signature ties `SHA256SUMS` to the key, `image.info` (by its hash) ties it
//! to the build id, and each file must hash to its listed value.
//!
//! Sizes bound the downloads: a file may not grow past its listed size, and
//! where no size is listed, past a generous cap for its kind.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::index::IndexEntry;

pub const SUMS: &str = "SHA256SUMS";
pub const SUMS_ASC: &str = "SHA256SUMS.asc";
pub const INFO: &str = "image.info";

/// Caps for files whose size no signed manifest states. Real rootfs tarballs are
/// a few hundred MiB, metadata tarballs a few KiB.
pub const MAX_ROOTFS: u64 = 4 << 30;
pub const MAX_META: u64 = 64 << 20;
pub const MAX_SUMS: u64 = 1 << 20;
pub const MAX_INFO: u64 = 64 << 10;

/// The cap for a file of a build when no manifest states its size.
pub fn default_cap(name: &str) -> u64 {
    match name {
        "rootfs.tar.xz" => MAX_ROOTFS,
        INFO => MAX_INFO,
        SUMS => MAX_SUMS,
        _ => MAX_META,
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("line {line}: expected `<64 hex digits>  <file name>`")]
    SumsSyntax { line: usize },
    #[error("it lists `{name}` twice")]
    Duplicate { name: String },
    #[error("it does not list `{name}`")]
    Unlisted { name: String },
    #[error("line {line}: expected `key=value`")]
    InfoSyntax { line: usize },
    #[error("`{key}` has an invalid value `{value}`")]
    InfoValue { key: String, value: String },
    #[error("it has no `{key}`")]
    InfoMissing { key: &'static str },
}

/// Parsed `SHA256SUMS`: file name → lower-case hex SHA-256.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sums {
    pub files: BTreeMap<String, String>,
}

impl Sums {
    /// sha256sum(1) output: `HASH  NAME` or `HASH *NAME` (binary mode). Names must
    /// be plain file names: a build directory has no subdirectories.
    pub fn parse(text: &[u8]) -> Result<Sums, ManifestError> {
        let text = std::str::from_utf8(text).map_err(|_| ManifestError::SumsSyntax { line: 1 })?;
        let mut files = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let bad = ManifestError::SumsSyntax { line: i + 1 };
            if line.is_empty() {
                continue;
            }
            let (hash, rest) = line.split_at_checked(64).ok_or(bad.clone())?;
            let name = rest
                .strip_prefix("  ")
                .or_else(|| rest.strip_prefix(" *"))
                .ok_or(bad.clone())?;
            let name = name.strip_prefix("./").unwrap_or(name);
            if !hash.bytes().all(|b| b.is_ascii_hexdigit())
                || name.is_empty()
                || name.contains('/')
                || name == ".."
            {
                return Err(bad);
            }
            if files
                .insert(name.to_string(), hash.to_ascii_lowercase())
                .is_some()
            {
                return Err(ManifestError::Duplicate { name: name.into() });
            }
        }
        Ok(Sums { files })
    }

    pub fn get(&self, name: &str) -> Result<&str, ManifestError> {
        self.files
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| ManifestError::Unlisted { name: name.into() })
    }
}

/// The build an `image.info` names, and the sizes it lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildInfo {
    pub dist: String,
    pub release: String,
    pub arch: String,
    pub variant: String,
    pub serial: String,
    /// `size.<file>=<bytes>` lines.
    pub sizes: BTreeMap<String, u64>,
}

impl BuildInfo {
    /// The `key=value` file lxu's publisher writes; unknown keys are ignored.
    pub fn parse(text: &[u8]) -> Result<BuildInfo, ManifestError> {
        let text = std::str::from_utf8(text).map_err(|_| ManifestError::InfoSyntax { line: 1 })?;
        let mut map = BTreeMap::new();
        let mut sizes = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or(ManifestError::InfoSyntax { line: i + 1 })?;
            let (k, v) = (k.trim(), v.trim());
            if let Some(file) = k.strip_prefix("size.") {
                let n = v.parse().map_err(|_| ManifestError::InfoValue {
                    key: k.into(),
                    value: v.into(),
                })?;
                sizes.insert(file.to_string(), n);
            } else {
                map.insert(k.to_string(), v.to_string());
            }
        }
        let mut get = |key: &'static str| map.remove(key).ok_or(ManifestError::InfoMissing { key });
        Ok(BuildInfo {
            dist: get("dist")?,
            release: get("release")?,
            arch: get("arch")?,
            variant: get("variant")?,
            serial: get("serial")?,
            sizes,
        })
    }

    /// `dist release arch variant serial`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} {} {} {} build {}",
            self.dist, self.release, self.arch, self.variant, self.serial
        )
    }

    /// Whether this names the build of `entry`.
    pub fn matches(&self, entry: &IndexEntry) -> bool {
        self.dist == entry.dist
            && self.release == entry.release
            && self.arch == entry.arch
            && self.variant == entry.variant
            && self.serial == entry.build
    }
}

/// Unix time of a build serial `YYYYMMDD_HH:MM` (UTC, as lxc-ci and lxu make them);
/// `None` for any other form.
pub fn serial_time(serial: &str) -> Option<u64> {
    let b = serial.as_bytes();
    let ok = b.len() == 14
        && b[8] == b'_'
        && b[11] == b':'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 8 || i == 11 || c.is_ascii_digit());
    if !ok {
        return None;
    }
    let num = |r: std::ops::Range<usize>| serial[r].parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm) = (num(9..11)?, num(12..14)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 {
        return None;
    }
    // Days from the civil date (proleptic Gregorian).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60).ok()
}

/// Lower-case hex of a digest.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// SHA-256 of a file, streamed.
pub fn sha256_file(path: &std::path::Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex(&h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_forms() {
        let h = "a".repeat(64);
        let s = Sums::parse(format!("{h}  rootfs.tar.xz\n{h} *meta.tar.xz\n").as_bytes()).unwrap();
        assert_eq!(s.get("rootfs.tar.xz").unwrap(), h);
        assert_eq!(s.get("meta.tar.xz").unwrap(), h);
        assert_eq!(s.get("x").unwrap_err().to_string(), "it does not list `x`");
        assert!(Sums::parse(format!("{h}  a/b\n").as_bytes()).is_err());
        assert!(Sums::parse(b"abc  x\n").is_err());
        assert!(matches!(
            Sums::parse(format!("{h}  x\n{h}  x\n").as_bytes()),
            Err(ManifestError::Duplicate { .. })
        ));
    }

    #[test]
    fn serial_times() {
        assert_eq!(serial_time("19700101_00:00"), Some(0));
        assert_eq!(serial_time("20240101_05:24"), Some(1_704_086_640));
        assert_eq!(serial_time("20240229_23:59"), Some(1_709_251_140));
        assert_eq!(serial_time("20241301_00:00"), None);
        assert_eq!(serial_time("2024-01-01"), None);
        assert_eq!(serial_time("20240101_0524"), None);
    }

    #[test]
    fn info_names_build_and_sizes() {
        let i = BuildInfo::parse(
            b"dist=debian\nrelease=bookworm\narch=amd64\nvariant=default\nserial=20240101_05:24\nfiles=a b\nsize.rootfs.tar.xz=12\n",
        )
        .unwrap();
        assert_eq!(i.serial, "20240101_05:24");
        assert_eq!(i.sizes["rootfs.tar.xz"], 12);
        let e = IndexEntry {
            dist: "debian".into(),
            release: "bookworm".into(),
            arch: "amd64".into(),
            variant: "default".into(),
            build: "20240101_05:24".into(),
            path: "/x/".into(),
        };
        assert!(i.matches(&e));
        assert!(!i.matches(&IndexEntry {
            build: "20240102_05:24".into(),
            ..e
        }));
        assert!(BuildInfo::parse(b"dist=d\n").is_err());
    }
}
