//! Test fixtures: OpenPGP keys made with rPGP, tarballs, an image repository tree
//! laid out like images.linuxcontainers.org, a small HTTP/1.1 server on 127.0.0.1
//! that can honour `Range` and cut connections on request, and a client of it.
#![allow(dead_code)]

mod keys;
mod repo;
mod server;
mod tarballs;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lxu_download::{CachedImage, ClientEnv, ImageError, Mode, Progress};

// Each test binary uses a different part of these.
#[allow(unused_imports)]
pub use {keys::*, repo::*, server::*, tarballs::*};

/// What a user sees of an error: it and its causes joined with ": ".
pub fn shown(e: &dyn std::error::Error) -> String {
    let causes = std::iter::successors(Some(e), |e| e.source());
    causes.map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}

// ---------------------------------------------------------------- client side

/// A client environment with a private cache and the repo key as the shipped key.
pub struct Client {
    pub home: tempfile::TempDir,
    pub keys: PathBuf,
    pub cache: PathBuf,
}

impl Client {
    pub fn new(key: &TestKey) -> Client {
        let home = tempfile::tempdir().unwrap();
        let keys = home.path().join("share/lxu/trusted-keys");
        std::fs::create_dir_all(&keys).unwrap();
        std::fs::write(keys.join("test.asc"), key.public_armored()).unwrap();
        let cache = home.path().join("cache");
        Client { home, keys, cache }
    }

    pub fn env(&self) -> (ClientEnv, lxu_download::Captured) {
        let (progress, captured) = Progress::capture();
        let mut env = ClientEnv::new(
            1000,
            self.home.path(),
            Some(self.keys.clone()),
            Mode::User,
            progress,
        );
        env.cache_base = self.cache.clone();
        env.retry_pause = Duration::from_millis(20);
        (env, captured)
    }

    pub fn cache_dir(&self, dist: &str, release: &str) -> PathBuf {
        self.cache
            .join("download")
            .join(dist)
            .join(release)
            .join("amd64/default")
    }
}

pub fn args(server: &Server, extra: &[&str]) -> lxu_download::DownloadOptions {
    let mut v: Vec<String> = vec!["--server".into(), server.url(), "-a".into(), "amd64".into()];
    v.extend(extra.iter().map(|s| s.to_string()));
    lxu_download::DownloadOptions::parse(&v).unwrap()
}

/// An expiry far in the future (2096).
pub const FUTURE: u64 = 4_000_000_000;

/// The template arguments selecting the image the fixtures publish.
pub fn deb() -> Vec<&'static str> {
    vec!["-d", "debian", "-r", "bookworm"]
}

/// [`deb`] and more arguments.
pub fn with(extra: &[&'static str]) -> Vec<&'static str> {
    let mut v = deb();
    v.extend_from_slice(extra);
    v
}

/// A signed repository served on 127.0.0.1 and a client with its own home.
pub struct Fixture {
    pub key: Arc<TestKey>,
    pub repo: Repo,
    pub server: Server,
    pub client: Client,
}

impl Fixture {
    pub fn new() -> Fixture {
        let key = Arc::new(TestKey::new("lxu test images <test@example.invalid>"));
        let repo = Repo::new(key.clone());
        let server = Server::start(repo.root());
        let client = Client::new(&key);
        Fixture {
            key,
            repo,
            server,
            client,
        }
    }

    /// The client's cache dir of the image [`deb`] selects.
    pub fn dir(&self) -> PathBuf {
        self.client.cache_dir("debian", "bookworm")
    }

    /// `prepare()` with the template arguments `a`, and the lines it printed.
    pub fn prepare(&self, a: &[&str]) -> (Result<CachedImage, ImageError>, String) {
        let (env, out) = self.client.env();
        let r = lxu_download::prepare(&args(&self.server, a), &env);
        (r, out.text())
    }

    /// What a failing `prepare()` with the template arguments `a` shows.
    pub fn failure(&self, a: &[&str]) -> String {
        match self.prepare(a).0 {
            Ok(_) => panic!("prepare({a:?}) succeeded"),
            Err(e) => shown(&e),
        }
    }
}

/// Every file below `dir` with its contents, for "nothing changed" checks.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(base: &Path, d: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let mut data = Vec::new();
                std::fs::File::open(&p)
                    .unwrap()
                    .read_to_end(&mut data)
                    .unwrap();
                out.push((p.strip_prefix(base).unwrap().to_path_buf(), data));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}
