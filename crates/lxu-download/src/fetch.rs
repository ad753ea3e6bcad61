//! HTTP(S) transfers the way `lxc-download` did them (3 attempts per file, a
//! `lxc/<version> compat:<level>` user agent), plus resume with `Range` and strict
//! length checks, with ureq over rustls and the system CA store.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use lxu_progress::Bar;

/// The compat level we announce and ask the index for (LXC 4.0+).
pub const COMPAT_LEVEL: u32 = 7;

/// Attempts per file, as `lxc-download`'s wget wrapper.
pub const ATTEMPTS: u32 = 3;

const DEFAULT_CA_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";
const DEFAULT_CA_DIR: &str = "/etc/ssl/certs";

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("`{url}` not found (HTTP 404)")]
    NotFound { url: String },
    #[error("`{url}`: server answered HTTP {code}")]
    Status { url: String, code: u16 },
    #[error("connection closed after {got} of {expected} bytes of `{url}`")]
    Truncated {
        url: String,
        got: u64,
        expected: u64,
    },
    #[error("`{url}`")]
    Transport {
        url: String,
        #[source]
        source: ureq::Error,
    },
    #[error("`{url}`: connection failed after {got} bytes")]
    Interrupted {
        url: String,
        got: u64,
        #[source]
        source: io::Error,
    },
    #[error("`{url}`: server sent an unexpected byte range")]
    UnexpectedRange { url: String },
    #[error("`{url}`: partial download does not match the server's file, restarting")]
    StalePartial { url: String },
    #[error("`{url}`: partial download changed while resuming, restarting")]
    PartialChanged { url: String },
    #[error("`{url}` is larger than the {limit} bytes allowed for it{why}: download aborted")]
    TooLarge {
        url: String,
        limit: u64,
        /// Where the limit comes from (empty, or e.g. " by the signed image.info").
        why: String,
    },
    #[error("cannot write `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("no CA certificates for HTTPS: none in `{file}` or `{dir}` (set SSL_CERT_FILE)")]
    NoCaCerts { file: PathBuf, dir: PathBuf },
    #[error("no CA certificates for HTTPS: cannot read `{path}`")]
    CaFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("no CA certificates for HTTPS: no PEM certificate in `{path}`")]
    NoPem { path: PathBuf },
    #[error(transparent)]
    GaveUp(GaveUp),
}

/// The last error of a transfer retried until its attempts ran out. It reads as
/// that error plus the count; the cause is that error's cause.
#[derive(Debug)]
pub struct GaveUp {
    pub attempts: u32,
    pub last: Box<FetchError>,
}

impl std::fmt::Display for GaveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (gave up after {} attempts)",
            self.last, self.attempts
        )
    }
}

impl std::error::Error for GaveUp {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.last.source()
    }
}

impl FetchError {
    /// Whether another attempt could help.
    fn transient(&self) -> bool {
        match self {
            FetchError::Truncated { .. }
            | FetchError::Transport { .. }
            | FetchError::Interrupted { .. }
            | FetchError::UnexpectedRange { .. }
            | FetchError::StalePartial { .. }
            | FetchError::PartialChanged { .. } => true,
            FetchError::Status { code, .. } => *code >= 500 || *code == 408 || *code == 429,
            _ => false,
        }
    }

    /// True for a 404 (also after retries).
    pub fn is_not_found(&self) -> bool {
        match self {
            FetchError::NotFound { .. } => true,
            FetchError::GaveUp(g) => g.last.is_not_found(),
            _ => false,
        }
    }
}

/// Loads PEM certificates: `SSL_CERT_FILE` when set, else Debian's bundle, else
/// every `*.pem`/`*.crt` in `/etc/ssl/certs` (or `SSL_CERT_DIR`).
pub fn system_roots() -> Result<Vec<Certificate<'static>>, FetchError> {
    if let Some(f) = std::env::var_os("SSL_CERT_FILE") {
        return roots_from_file(Path::new(&f));
    }
    let file = Path::new(DEFAULT_CA_FILE);
    if file.exists() {
        return roots_from_file(file);
    }
    let dir = std::env::var_os("SSL_CERT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CA_DIR));
    let mut certs = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "pem" || x == "crt") {
                if let Ok(mut c) = roots_from_file(&p) {
                    certs.append(&mut c);
                }
            }
        }
    }
    if certs.is_empty() {
        return Err(FetchError::NoCaCerts {
            file: DEFAULT_CA_FILE.into(),
            dir,
        });
    }
    Ok(certs)
}

/// PEM certificates of one file.
pub fn roots_from_file(path: &Path) -> Result<Vec<Certificate<'static>>, FetchError> {
    let pem = std::fs::read(path).map_err(|source| FetchError::CaFile {
        path: path.into(),
        source,
    })?;
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|i| match i {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(FetchError::NoPem { path: path.into() });
    }
    Ok(certs)
}

/// An HTTP client bound to one user agent and trust store.
pub struct Fetcher {
    agent: ureq::Agent,
    attempts: u32,
    retry_pause: Duration,
}

impl Fetcher {
    /// A client trusting `roots` for HTTPS (see [`system_roots`]).
    pub fn new(roots: Vec<Certificate<'static>>) -> Fetcher {
        let tls = TlsConfig::builder()
            .root_certs(RootCerts::Specific(Arc::new(roots)))
            .build();
        let config = ureq::Agent::config_builder()
            .user_agent(format!(
                "lxu/{} compat:{COMPAT_LEVEL}",
                env!("CARGO_PKG_VERSION")
            ))
            .http_status_as_error(false)
            .tls_config(tls)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(30)))
            .timeout_per_read(Some(Duration::from_secs(30)))
            .build();
        Fetcher {
            agent: config.new_agent(),
            attempts: ATTEMPTS,
            retry_pause: Duration::from_millis(500),
        }
    }

    /// The pause between attempts (tests shorten it).
    pub fn set_retry_pause(&mut self, d: Duration) {
        self.retry_pause = d;
    }

    fn retry<T>(&self, mut f: impl FnMut() -> Result<T, FetchError>) -> Result<T, FetchError> {
        let mut attempt = 1;
        loop {
            match f() {
                Ok(v) => return Ok(v),
                Err(e) if e.transient() && attempt < self.attempts => {
                    attempt += 1;
                    std::thread::sleep(self.retry_pause);
                }
                Err(e) if e.transient() => {
                    return Err(FetchError::GaveUp(GaveUp {
                        attempts: attempt,
                        last: Box::new(e),
                    }))
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn call(
        &self,
        url: &str,
        range_from: u64,
    ) -> Result<ureq::http::Response<ureq::Body>, FetchError> {
        let mut req = self.agent.get(url);
        if range_from > 0 {
            req = req.header("Range", format!("bytes={range_from}-"));
        }
        req.call().map_err(|source| FetchError::Transport {
            url: url.to_string(),
            source,
        })
    }

    /// A small file (index, signature) into memory, at most `limit` bytes.
    pub fn get_bytes(&self, url: &str, limit: u64) -> Result<Vec<u8>, FetchError> {
        self.retry(|| {
            let resp = self.call(url, 0)?;
            let code = resp.status().as_u16();
            check_status(url, code)?;
            let expected = content_length(&resp);
            if expected.is_some_and(|n| n > limit) {
                return Err(FetchError::TooLarge {
                    url: url.into(),
                    limit,
                    why: String::new(),
                });
            }
            let mut body = Vec::new();
            let mut reader = resp.into_body().into_reader().take(limit + 1);
            if let Err(e) = reader.read_to_end(&mut body) {
                return Err(cut(url, body.len() as u64, expected, e));
            }
            if body.len() as u64 > limit {
                return Err(FetchError::TooLarge {
                    url: url.into(),
                    limit,
                    why: String::new(),
                });
            }
            if let Some(n) = expected {
                if body.len() as u64 != n {
                    return Err(FetchError::Truncated {
                        url: url.into(),
                        got: body.len() as u64,
                        expected: n,
                    });
                }
            }
            Ok(body)
        })
    }

    /// A large file to `t.dest`, at most `t.limit` bytes. When `dest` already holds
    /// a prefix (an earlier, interrupted transfer) the rest is asked for with
    /// `Range`; a server that ignores it sends the whole file, which then replaces
    /// the prefix. The file is hashed as it arrives; the transfer stops as soon as
    /// it passes the limit.
    pub fn download(&self, t: &Target<'_>, bar: &Bar) -> Result<Downloaded, FetchError> {
        self.retry(|| self.download_once(t, bar))
    }

    fn download_once(&self, t: &Target<'_>, bar: &Bar) -> Result<Downloaded, FetchError> {
        let werr = t.write_err();
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(t.dest)
            .map_err(werr)?;
        let mut have = file.metadata().map_err(werr)?.len();
        if have > t.limit {
            file.set_len(0).map_err(werr)?;
            have = 0;
        }
        let resp = self.call(t.url, have)?;
        let (start, total) = match resumed(&resp, t.url, have) {
            Ok(r) => r,
            Err(e) => {
                // The prefix is of no use: the next attempt starts over.
                if !matches!(e, FetchError::NotFound { .. } | FetchError::Status { .. }) {
                    file.set_len(0).map_err(werr)?;
                }
                return Err(e);
            }
        };
        // A declared size over the limit is refused before a byte of the body is read.
        if total.is_some_and(|n| n > t.limit) {
            return Err(t.too_large());
        }
        let sha = rehash_prefix(&mut file, start, t)?;
        if let Some(n) = total {
            bar.set_length(n);
        }
        bar.set_position(start);
        let (got, sha) = receive(resp, file, start, total, sha, t, bar)?;
        if let Some(n) = total.filter(|n| *n != got) {
            return Err(FetchError::Truncated {
                url: t.url.into(),
                got,
                expected: n,
            });
        }
        Ok(Downloaded {
            size: got,
            sha256: crate::manifest::hex(&sha.finalize()),
        })
    }
}

/// A large file to fetch: from where, into which file, and how large it may grow.
pub struct Target<'a> {
    pub url: &'a str,
    pub dest: &'a Path,
    pub limit: u64,
    /// Where the limit comes from, for the error (" by the signed image.info").
    pub why: &'a str,
}

impl Target<'_> {
    fn write_err(&self) -> impl Fn(io::Error) -> FetchError + Copy + '_ {
        |source| FetchError::Write {
            path: self.dest.to_path_buf(),
            source,
        }
    }

    fn too_large(&self) -> FetchError {
        FetchError::TooLarge {
            url: self.url.into(),
            limit: self.limit,
            why: self.why.into(),
        }
    }
}

/// Where the body of `resp` starts in the file and the file's whole size, when
/// told: a `206` continues the `have` bytes kept, anything else that succeeds is
/// the whole file.
fn resumed(
    resp: &ureq::http::Response<ureq::Body>,
    url: &str,
    have: u64,
) -> Result<(u64, Option<u64>), FetchError> {
    match resp.status().as_u16() {
        206 if have > 0 => match content_range(resp) {
            Some((s, Some(total))) if s == have => Ok((have, Some(total))),
            // Not the range we asked for.
            _ => Err(FetchError::UnexpectedRange { url: url.into() }),
        },
        // Our prefix is not a prefix of the file (any more).
        416 if have > 0 => Err(FetchError::StalePartial { url: url.into() }),
        code => {
            check_status(url, code)?;
            Ok((0, content_length(resp)))
        }
    }
}

/// The hash of the first `start` bytes of `file`, read again rather than trusted;
/// with `start` 0 the file is emptied instead.
fn rehash_prefix(file: &mut File, start: u64, t: &Target<'_>) -> Result<Sha256, FetchError> {
    let werr = t.write_err();
    let mut sha = Sha256::new();
    if start == 0 {
        file.set_len(0).map_err(werr)?;
    } else {
        file.seek(SeekFrom::Start(0)).map_err(werr)?;
        let copied = io::copy(&mut file.take(start), &mut sha).map_err(werr)?;
        if copied != start {
            file.set_len(0).map_err(werr)?;
            return Err(FetchError::PartialChanged { url: t.url.into() });
        }
    }
    file.seek(SeekFrom::Start(start)).map_err(werr)?;
    Ok(sha)
}

/// Appends the body of `resp` to `file` (positioned at `start`), hashing it and
/// advancing `bar`; returns the file's size and hash.
fn receive(
    resp: ureq::http::Response<ureq::Body>,
    mut file: File,
    start: u64,
    total: Option<u64>,
    mut sha: Sha256,
    t: &Target<'_>,
    bar: &Bar,
) -> Result<(u64, Sha256), FetchError> {
    let werr = t.write_err();
    let mut got = start;
    let mut reader = resp.into_body().into_reader();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                file.flush().map_err(werr)?;
                return Err(cut(t.url, got, total, e));
            }
        };
        if got + n as u64 > t.limit {
            return Err(t.too_large());
        }
        file.write_all(&buf[..n]).map_err(werr)?;
        sha.update(&buf[..n]);
        got += n as u64;
        bar.inc(n as u64);
        // Part of a file is in the staging dir: the next run resumes or restarts it.
        lxu_sys::crash::point("download.fetching");
    }
    file.flush().map_err(werr)?;
    Ok((got, sha))
}

/// A finished download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub size: u64,
    /// Lower-case hex SHA-256 of the whole file.
    pub sha256: String,
}

fn check_status(url: &str, code: u16) -> Result<(), FetchError> {
    match code {
        200..=299 => Ok(()),
        404 | 410 => Err(FetchError::NotFound { url: url.into() }),
        _ => Err(FetchError::Status {
            url: url.into(),
            code,
        }),
    }
}

fn cut(url: &str, got: u64, expected: Option<u64>, e: io::Error) -> FetchError {
    match expected {
        Some(expected) => FetchError::Truncated {
            url: url.into(),
            got,
            expected,
        },
        None => FetchError::Interrupted {
            url: url.into(),
            got,
            source: e,
        },
    }
}

fn content_length(resp: &ureq::http::Response<ureq::Body>) -> Option<u64> {
    resp.headers()
        .get("content-length")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `Content-Range: bytes START-END/TOTAL` → (START, TOTAL).
fn content_range(resp: &ureq::http::Response<ureq::Body>) -> Option<(u64, Option<u64>)> {
    let v = resp.headers().get("content-range")?.to_str().ok()?;
    parse_content_range(v)
}

fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let total = if total == "*" {
        None
    } else {
        Some(total.parse().ok()?)
    };
    Some((start.parse().ok()?, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_forms() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some((100, Some(200)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("bytes */200"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }

    #[test]
    fn transient_errors() {
        let t = FetchError::Truncated {
            url: "u".into(),
            got: 1,
            expected: 2,
        };
        assert!(t.transient());
        assert!(!FetchError::NotFound { url: "u".into() }.transient());
        assert!(FetchError::Status {
            url: "u".into(),
            code: 503
        }
        .transient());
        assert!(!FetchError::Status {
            url: "u".into(),
            code: 403
        }
        .transient());
        let g = FetchError::GaveUp(GaveUp {
            attempts: 3,
            last: Box::new(t),
        });
        assert_eq!(
            g.to_string(),
            "connection closed after 1 of 2 bytes of `u` (gave up after 3 attempts)"
        );
    }

    #[test]
    fn roots_from_missing_or_empty_file() {
        assert!(matches!(
            roots_from_file(Path::new("/nonexistent.pem")),
            Err(FetchError::CaFile { .. })
        ));
        let t = tempfile::NamedTempFile::new().unwrap();
        assert!(matches!(
            roots_from_file(t.path()),
            Err(FetchError::NoPem { .. })
        ));
    }
}
