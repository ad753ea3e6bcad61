//! Image repositories made by the test itself: a signing key, a busybox build, a published
//! repository, and `lxu image serve` on a loopback port of its own.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::lab::Lab;
use crate::path_str;
use crate::run::{self, Output};

/// A key pair from `lxu image keygen`.
#[derive(Debug, Clone)]
pub struct Key {
    /// `key.asc`: the secret key.
    pub secret: PathBuf,
    /// `key.pub.asc`: what clients trust.
    pub public: PathBuf,
    pub fingerprint: String,
}

/// `lxu image keygen --out <lab files>/<tag>`.
#[track_caller]
pub fn keygen(lab: &Lab, tag: &str) -> Key {
    let dir = lab.files.join(tag);
    let out = lab
        .call(&["image", "keygen", "--out", path_str(&dir)])
        .no_lxcpath()
        .run();
    out.success();
    // "key <FINGERPRINT> (<uid>)"
    let fingerprint = out
        .word_after("key ")
        .unwrap_or_else(|| panic!("keygen printed no fingerprint\n{out}"))
        .to_string();
    let key = Key {
        secret: dir.join("key.asc"),
        public: dir.join("key.pub.asc"),
        fingerprint,
    };
    assert!(
        key.secret.is_file() && key.public.is_file(),
        "keygen made no key files\n{out}"
    );
    key
}

/// A repository holding one busybox image.
#[derive(Debug, Clone)]
pub struct Repo {
    pub dir: PathBuf,
    pub key: Key,
    pub release: String,
    /// The build serial the index offers.
    pub build: String,
}

impl Repo {
    /// Builds a busybox image for `release`, signs it with a new key and publishes it in
    /// a repository of its own under the lab's scratch directory.
    #[track_caller]
    pub fn busybox(lab: &Lab, release: &str) -> Repo {
        let key = keygen(lab, &format!("key-{release}"));
        Repo::busybox_signed_by(lab, release, key)
    }

    #[track_caller]
    pub fn busybox_signed_by(lab: &Lab, release: &str, key: Key) -> Repo {
        let build = lab.files.join(format!("build-{release}"));
        let dir = lab.files.join(format!("repo-{release}"));
        lab.call(&[
            "image",
            "build",
            "busybox",
            "--release",
            release,
            "--out",
            path_str(&build),
        ])
        .no_lxcpath()
        .timeout(Duration::from_secs(120))
        .run()
        .success();
        let out = lab
            .call(&[
                "image",
                "publish",
                path_str(&build),
                "--repo",
                path_str(&dir),
                "--key",
                path_str(&key.secret),
            ])
            .no_lxcpath()
            .run();
        out.success();
        // "published busybox/REL/ARCH/default/SERIAL in DIR"
        let build_id = out
            .word_after("published ")
            .and_then(|id| id.rsplit('/').next())
            .unwrap_or_else(|| panic!("publish printed no image id\n{out}"))
            .to_string();
        Repo {
            dir,
            key,
            release: release.to_string(),
            build: build_id,
        }
    }

    /// The directory of the published build (holding `rootfs.tar.xz` and its `.asc`).
    pub fn build_dir(&self) -> PathBuf {
        self.dir
            .join("images/busybox")
            .join(&self.release)
            .join(host_arch())
            .join("default")
            .join(&self.build)
    }
}

/// The host's architecture in Debian's naming, as the index uses it.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "i386",
        "arm" => "armhf",
        other => other,
    }
}

/// `lxu image serve` on `127.0.0.1:0`, killed when dropped.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub url: String,
    /// For HTTPS: the CA clients trust (through `SSL_CERT_FILE`).
    pub ca: Option<PathBuf>,
}

impl Server {
    #[track_caller]
    pub fn http(lab: &Lab, repo: &Repo) -> Server {
        Server::spawn(lab, repo, None)
    }

    /// HTTPS with a self-signed CA made in `<lab files>/tls-<n>`.
    #[track_caller]
    pub fn https(lab: &Lab, repo: &Repo) -> Server {
        let tls = lab.files.join(format!("tls-{}", lab.name("t")));
        Server::spawn(lab, repo, Some(tls))
    }

    #[track_caller]
    fn spawn(lab: &Lab, repo: &Repo, tls: Option<PathBuf>) -> Server {
        let mut cmd = Command::new(&lab.bin);
        cmd.args(["image", "serve", "--repo", path_str(&repo.dir)]);
        match &tls {
            Some(dir) => cmd.args(["--https", "127.0.0.1:0", "--self-signed", path_str(dir)]),
            None => cmd.args(["--http", "127.0.0.1:0"]),
        };
        let log = lab.files.join(format!("serve-{}.log", lab.name("s")));
        let err = std::fs::File::create(&log).expect("create the server log");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err));
        let desc = run::describe(&cmd, Some("lxu"));
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{desc}`: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child: Some(child),
            url: String::new(),
            ca: None,
        };
        let mut seen = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while server.url.is_empty() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = line.strip_prefix("listening on ") {
                        let scheme = if tls.is_some() { "https" } else { "http" };
                        server.url = format!("{scheme}://{}", addr.trim());
                    } else if let Some(ca) = line.strip_prefix("CA for clients: ") {
                        server.ca = Some(PathBuf::from(ca.trim()));
                    }
                    seen.push(line);
                }
                Err(_) => {
                    server.kill();
                    panic!(
                        "`{desc}` did not say where it listens\n--- stdout ---\n{}\n--- stderr ---\n{}",
                        seen.join("\n"),
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
            }
        }
        if tls.is_some() {
            assert!(
                server.ca.as_ref().is_some_and(|p| p.is_file()),
                "`{desc}` made no CA file: {:?}",
                server.ca
            );
        }
        server
    }

    /// `127.0.0.1:PORT`, the form LXC's `--server` takes (meaning HTTPS).
    pub fn host_port(&self) -> &str {
        self.url.split_once("://").map_or(&self.url, |(_, h)| h)
    }

    /// Kills the server and waits for it: its port then refuses connections.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One `lxu create -t download` call on a lab.
pub struct Download<'a> {
    lab: &'a Lab,
    cache: PathBuf,
    ca: Option<PathBuf>,
    /// Template arguments after `--`.
    args: Vec<String>,
    /// Extra environment of the call (`LXU_CRASH_AT` …).
    envs: Vec<(String, String)>,
}

impl<'a> Download<'a> {
    /// `--server URL -d busybox -r RELEASE -a ARCH`, with `LXC_CACHE_PATH=cache`.
    pub fn new(lab: &'a Lab, cache: &Path, server_url: &str, release: &str) -> Download<'a> {
        Download {
            lab,
            cache: cache.to_path_buf(),
            ca: None,
            args: [
                "--server",
                server_url,
                "-d",
                "busybox",
                "-r",
                release,
                "-a",
                host_arch(),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            envs: Vec::new(),
        }
    }

    /// Sets `key=value` in the environment of the create.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.to_string(), value.to_string()));
        self
    }

    /// Trust this CA for HTTPS (`SSL_CERT_FILE`).
    pub fn ca(mut self, ca: Option<&Path>) -> Self {
        self.ca = ca.map(Path::to_path_buf);
        self
    }

    /// Asks for distribution `dist` instead of busybox.
    pub fn dist(mut self, dist: &str) -> Self {
        if let Some(i) = self.args.iter().position(|a| a == "-d") {
            self.args[i + 1] = dist.to_string();
        }
        self
    }

    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.to_string());
        self
    }

    /// `--keyring FILE`.
    pub fn keyring(self, key: &Path) -> Self {
        self.arg("--keyring").arg(path_str(key))
    }

    /// Runs the create of `name` (without network, so that image tests leave the bridge
    /// and the user's veth quota alone).
    #[track_caller]
    pub fn create(&self, name: &str) -> Output {
        let conf = self.lab.no_net_conf();
        let mut args = vec![
            "create",
            "-n",
            name,
            "-t",
            "download",
            "-f",
            path_str(&conf),
        ];
        args.push("--");
        args.extend(self.args.iter().map(String::as_str));
        let mut call = self
            .lab
            .call(&args)
            .env("LXC_CACHE_PATH", &self.cache)
            .timeout(Duration::from_secs(120));
        if let Some(ca) = &self.ca {
            call = call.env("SSL_CERT_FILE", ca);
        }
        for (k, v) in &self.envs {
            call = call.env(k, v);
        }
        call.run()
    }
}

/// Every regular file below `dir` with its content, by path relative to `dir`; names
/// starting with a dot (the cache's lock files and staging area) are left out.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let p = e.path();
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                walk(base, &p, out);
            } else if t.is_file() {
                let rel = p.strip_prefix(base).unwrap_or(&p).display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The names in a snapshot, for messages.
pub fn names(s: &BTreeMap<String, Vec<u8>>) -> Vec<&str> {
    s.keys().map(String::as_str).collect()
}
