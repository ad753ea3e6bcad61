//! Static file semantics, kept apart from the HTTP plumbing so they can be
//! tested without sockets: request path → file under the root, conditional
//! requests (ETag / Last-Modified) and byte ranges.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{Mode, OFlags, ResolveFlags};

/// The served directory, held open so that a rename of its path does not
/// change what is served, and so lookups can be confined beneath it.
#[derive(Debug)]
pub(crate) struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

impl Root {
    pub(crate) fn open(path: &Path) -> io::Result<Root> {
        let fd = rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Root {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// Opens a regular file below the root. `RESOLVE_BENEATH` makes the kernel
    /// refuse any resolution (through `..` or a symlink) that leaves the root.
    pub(crate) fn open_file(&self, rel: &Path) -> io::Result<(File, std::fs::Metadata)> {
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
        let file = match rustix::fs::openat2(
            &self.fd,
            rel,
            flags,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => File::from(fd),
            // Kernels before 5.6: check the resolved path instead.
            Err(rustix::io::Errno::NOSYS) => {
                let full = self.path.join(rel);
                let real = std::fs::canonicalize(&full)?;
                if !real.starts_with(std::fs::canonicalize(&self.path)?) {
                    return Err(io::ErrorKind::NotFound.into());
                }
                File::open(real)?
            }
            Err(e) => return Err(e.into()),
        };
        let md = file.metadata()?;
        if !md.is_file() {
            // Directories are not listed; devices and fifos are never served.
            return Err(io::ErrorKind::NotFound.into());
        }
        Ok((file, md))
    }
}

/// Maps a request path to a relative path, or `None` if it must not be served.
///
/// Empty components are skipped, so `//meta/1.0/index-user` (what LXC's client
/// sends) works. Components starting with `.` are refused: that covers `..`
/// and the publisher's hidden staging and temporary files. `%2F` cannot smuggle
/// a separator because the path is split before it is decoded.
pub(crate) fn resolve(raw: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for comp in raw.split('/') {
        if comp.is_empty() {
            continue;
        }
        let decoded = percent_decode(comp)?;
        if decoded.is_empty()
            || decoded.starts_with('.')
            || decoded.contains('/')
            || decoded.contains('\0')
        {
            return None;
        }
        out.push(decoded);
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Validators of one file version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Validators {
    /// Strong ETag, quoted. Inode + size + mtime(ns): a published file is never
    /// rewritten in place (indexes are replaced by rename, i.e. a new inode).
    pub etag: String,
    pub last_modified: SystemTime,
}

impl Validators {
    pub(crate) fn of(md: &std::fs::Metadata) -> Validators {
        let mtime_ns = (md.mtime() as i128) * 1_000_000_000 + i128::from(md.mtime_nsec());
        let secs = u64::try_from(md.mtime()).unwrap_or(0);
        Validators {
            etag: format!("\"{:x}-{:x}-{:x}\"", md.ino(), md.len(), mtime_ns),
            // HTTP dates have one-second resolution; compare at that resolution.
            last_modified: UNIX_EPOCH + Duration::from_secs(secs),
        }
    }
}

/// The request headers that matter here.
#[derive(Debug, Default, Clone)]
pub(crate) struct Conditions<'a> {
    pub if_match: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
    pub if_modified_since: Option<&'a str>,
    pub if_unmodified_since: Option<&'a str>,
    pub if_range: Option<&'a str>,
    pub range: Option<&'a str>,
}

/// What to answer, decided from the file's size and validators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Full,
    NotModified,
    PreconditionFailed,
    /// Inclusive byte range.
    Partial {
        start: u64,
        end: u64,
    },
    RangeNotSatisfiable,
}

/// RFC 9110 section 13.2.2 evaluation order, then Range.
pub(crate) fn evaluate(c: &Conditions<'_>, v: &Validators, size: u64, is_get: bool) -> Outcome {
    if let Some(im) = c.if_match {
        if !etag_list_matches(im, &v.etag, true) {
            return Outcome::PreconditionFailed;
        }
    } else if let Some(t) = c
        .if_unmodified_since
        .and_then(|d| httpdate::parse_http_date(d).ok())
    {
        if v.last_modified > t {
            return Outcome::PreconditionFailed;
        }
    }
    if let Some(inm) = c.if_none_match {
        if etag_list_matches(inm, &v.etag, false) {
            return Outcome::NotModified;
        }
    } else if let Some(t) = c
        .if_modified_since
        .and_then(|d| httpdate::parse_http_date(d).ok())
    {
        if v.last_modified <= t {
            return Outcome::NotModified;
        }
    }
    let Some(range) = c.range.filter(|_| is_get) else {
        return Outcome::Full;
    };
    if let Some(ir) = c.if_range {
        let ok = if ir.trim_start().starts_with('"') {
            ir.trim() == v.etag
        } else {
            httpdate::parse_http_date(ir).is_ok_and(|t| t == v.last_modified)
        };
        if !ok {
            return Outcome::Full;
        }
    }
    match parse_range(range, size) {
        RangeSpec::Ignore => Outcome::Full,
        RangeSpec::Unsatisfiable => Outcome::RangeNotSatisfiable,
        RangeSpec::One(start, end) => Outcome::Partial { start, end },
    }
}

/// `*` or a comma-separated list of entity tags. Weak comparison ignores the
/// `W/` prefix (If-None-Match); strong comparison (If-Match) never matches a
/// weak tag.
fn etag_list_matches(list: &str, etag: &str, strong: bool) -> bool {
    if list.trim() == "*" {
        return true;
    }
    list.split(',')
        .map(str::trim)
        .any(|t| match t.strip_prefix("W/") {
            Some(weak) => !strong && weak == etag,
            None => t == etag,
        })
}

#[derive(Debug, PartialEq, Eq)]
enum RangeSpec {
    /// Syntax we do not serve partially (invalid, other units, several ranges):
    /// answering 200 with the whole file is always allowed.
    Ignore,
    Unsatisfiable,
    One(u64, u64),
}

fn parse_range(header: &str, size: u64) -> RangeSpec {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeSpec::Ignore;
    };
    if spec.contains(',') {
        return RangeSpec::Ignore;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeSpec::Ignore;
    };
    let (first, last) = (first.trim(), last.trim());
    let num = |s: &str| s.parse::<u64>().ok();
    if first.is_empty() {
        // Suffix range: the last N bytes.
        return match num(last) {
            Some(0) => RangeSpec::Unsatisfiable,
            Some(_) if size == 0 => RangeSpec::Unsatisfiable,
            Some(n) => RangeSpec::One(size.saturating_sub(n), size - 1),
            None => RangeSpec::Ignore,
        };
    }
    let Some(start) = num(first) else {
        return RangeSpec::Ignore;
    };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match num(last) {
            Some(e) if e >= start => e,
            _ => return RangeSpec::Ignore,
        }
    };
    if start >= size {
        return RangeSpec::Unsatisfiable;
    }
    RangeSpec::One(start, end.min(size - 1))
}

/// Content-Type by file name.
pub(crate) fn content_type(rel: &Path) -> &'static str {
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.ends_with(".asc") {
        "application/pgp-signature"
    } else if name.ends_with(".xz") {
        "application/x-xz"
    } else if name.ends_with(".zst") {
        "application/zstd"
    } else if name.starts_with("index-") || name == "SHA256SUMS" || name.ends_with(".info") {
        "text/plain; charset=utf-8"
    } else if name.ends_with(".json") {
        "application/json"
    } else {
        "application/octet-stream"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v() -> Validators {
        Validators {
            etag: "\"1-2-3\"".into(),
            last_modified: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        }
    }

    #[test]
    fn paths() {
        assert_eq!(
            resolve("//meta/1.0/index-user"),
            Some(PathBuf::from("meta/1.0/index-user"))
        );
        assert_eq!(
            resolve("/images/debian/bookworm/amd64/default/20240101_05:24//rootfs.tar.xz"),
            Some(PathBuf::from(
                "images/debian/bookworm/amd64/default/20240101_05:24/rootfs.tar.xz"
            ))
        );
        assert_eq!(resolve("/a%3Ab"), Some(PathBuf::from("a:b")));
        for bad in [
            "/",
            "//",
            "/../etc/passwd",
            "/meta/../../x",
            "/.lock",
            "/a/%2e%2e/b",
            "/a%2Fb",
            "/a%00",
            "/a%zz",
            "/./x",
        ] {
            assert_eq!(resolve(bad), None, "{bad}");
        }
    }

    #[test]
    fn conditional_requests() {
        let v = v();
        let lm = httpdate::fmt_http_date(v.last_modified);
        let c = |f: fn(&mut Conditions<'static>)| {
            let mut c = Conditions::default();
            f(&mut c);
            c
        };
        assert_eq!(
            evaluate(&Conditions::default(), &v, 10, true),
            Outcome::Full
        );
        assert_eq!(
            evaluate(&c(|c| c.if_none_match = Some("\"1-2-3\"")), &v, 10, true),
            Outcome::NotModified
        );
        assert_eq!(
            evaluate(&c(|c| c.if_none_match = Some("W/\"1-2-3\"")), &v, 10, true),
            Outcome::NotModified
        );
        assert_eq!(
            evaluate(
                &c(|c| c.if_none_match = Some("\"x\", \"1-2-3\"")),
                &v,
                10,
                true
            ),
            Outcome::NotModified
        );
        assert_eq!(
            evaluate(&c(|c| c.if_none_match = Some("*")), &v, 10, true),
            Outcome::NotModified
        );
        assert_eq!(
            evaluate(&c(|c| c.if_none_match = Some("\"other\"")), &v, 10, true),
            Outcome::Full
        );
        let ims = Conditions {
            if_modified_since: Some(&lm),
            ..Default::default()
        };
        assert_eq!(evaluate(&ims, &v, 10, true), Outcome::NotModified);
        // If-None-Match wins over If-Modified-Since.
        let both = Conditions {
            if_modified_since: Some(&lm),
            if_none_match: Some("\"other\""),
            ..Default::default()
        };
        assert_eq!(evaluate(&both, &v, 10, true), Outcome::Full);
        let older = Conditions {
            if_modified_since: Some("Sun, 06 Nov 1994 08:49:37 GMT"),
            ..Default::default()
        };
        assert_eq!(evaluate(&older, &v, 10, true), Outcome::Full);
        assert_eq!(
            evaluate(&c(|c| c.if_match = Some("\"nope\"")), &v, 10, true),
            Outcome::PreconditionFailed
        );
        assert_eq!(
            evaluate(&c(|c| c.if_match = Some("W/\"1-2-3\"")), &v, 10, true),
            Outcome::PreconditionFailed
        );
        let ius = Conditions {
            if_unmodified_since: Some("Sun, 06 Nov 1994 08:49:37 GMT"),
            ..Default::default()
        };
        assert_eq!(evaluate(&ius, &v, 10, true), Outcome::PreconditionFailed);
    }

    #[test]
    fn ranges() {
        let v = v();
        let r = |s: &'static str, size| {
            evaluate(
                &Conditions {
                    range: Some(s),
                    ..Default::default()
                },
                &v,
                size,
                true,
            )
        };
        assert_eq!(r("bytes=0-9", 100), Outcome::Partial { start: 0, end: 9 });
        assert_eq!(r("bytes=90-", 100), Outcome::Partial { start: 90, end: 99 });
        assert_eq!(
            r("bytes=90-500", 100),
            Outcome::Partial { start: 90, end: 99 }
        );
        assert_eq!(r("bytes=-10", 100), Outcome::Partial { start: 90, end: 99 });
        assert_eq!(r("bytes=-500", 100), Outcome::Partial { start: 0, end: 99 });
        assert_eq!(r("bytes=100-", 100), Outcome::RangeNotSatisfiable);
        assert_eq!(r("bytes=-0", 100), Outcome::RangeNotSatisfiable);
        assert_eq!(r("bytes=0-", 0), Outcome::RangeNotSatisfiable);
        assert_eq!(r("bytes=5-1", 100), Outcome::Full);
        assert_eq!(r("bytes=0-1,5-6", 100), Outcome::Full);
        assert_eq!(r("items=0-1", 100), Outcome::Full);
        // HEAD ignores Range.
        let c = Conditions {
            range: Some("bytes=0-1"),
            ..Default::default()
        };
        assert_eq!(evaluate(&c, &v, 100, false), Outcome::Full);
        // If-Range with a stale validator: whole file.
        let c = Conditions {
            range: Some("bytes=0-1"),
            if_range: Some("\"stale\""),
            ..Default::default()
        };
        assert_eq!(evaluate(&c, &v, 100, true), Outcome::Full);
        let c = Conditions {
            range: Some("bytes=0-1"),
            if_range: Some("\"1-2-3\""),
            ..Default::default()
        };
        assert_eq!(
            evaluate(&c, &v, 100, true),
            Outcome::Partial { start: 0, end: 1 }
        );
    }

    #[test]
    fn root_refuses_escapes() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"s").unwrap();
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("meta")).unwrap();
        std::fs::write(d.path().join("meta/ok"), b"ok").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), d.path().join("abs-link"))
            .unwrap();
        std::os::unix::fs::symlink("../../../../../../../etc/passwd", d.path().join("rel-link"))
            .unwrap();
        std::os::unix::fs::symlink("meta/ok", d.path().join("inside-link")).unwrap();
        let root = Root::open(d.path()).unwrap();
        assert!(root.open_file(Path::new("meta/ok")).is_ok());
        assert!(root.open_file(Path::new("inside-link")).is_ok());
        assert!(root.open_file(Path::new("abs-link")).is_err());
        assert!(root.open_file(Path::new("rel-link")).is_err());
        assert!(
            root.open_file(Path::new("meta")).is_err(),
            "directories are not served"
        );
    }
}
