//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use lxu_image_server::{
    build, generate_self_signed, spawn, BuildOptions, BuiltImage, BusyboxRecipe, KeyAlgorithm,
    Progress, Recipe, SelfSignedFiles, ServeOptions, ServerHandle, SigningKey,
};

// The skip-or-fail rule and the host checks (each test binary uses some of them).
#[allow(unused_imports)]
pub use lxu_test_support::{have_tool as have, is_root, skip};

/// One repository key per test binary (generation is cheap, but reuse keeps
/// the fingerprints in logs stable).
pub fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        SigningKey::generate(
            "lxu test repository <test@invalid>",
            KeyAlgorithm::Ed25519,
            None,
        )
        .unwrap()
    })
}

/// Builds the busybox image with a fixed serial; prints the time it took.
pub fn busybox_image(out: &Path, serial: &str, zstd: Option<i32>) -> BuiltImage {
    let opts = BuildOptions {
        serial: Some(serial.to_string()),
        zstd_level: zstd,
        ..BuildOptions::default()
    };
    let t = Instant::now();
    let img = build(
        &Recipe::Busybox(BusyboxRecipe::default()),
        out,
        &opts,
        &Progress::quiet(),
    )
    .unwrap();
    eprintln!(
        "busybox build: {:?} (rootfs {:?}, pack {:?}), tar {} B, xz {} B in {} blocks of {} B, zst {:?} B",
        t.elapsed(),
        img.stats.rootfs_time,
        img.stats.pack_time,
        img.stats.tar_bytes,
        img.stats.xz_bytes,
        img.stats.xz_blocks,
        img.stats.xz_block_size,
        img.stats.zst_bytes
    );
    img
}

#[track_caller]
pub fn busybox_available() -> bool {
    lxu_test_support::need(
        Path::new("/bin/busybox").exists(),
        "/bin/busybox missing (install busybox-static)",
    )
}

/// Makes `into` and unpacks `tarball` there as lxc-download does:
/// `tar --anchored --exclude=E… --numeric-owner -xpJf`.
pub fn untar(tarball: &Path, into: &Path, excludes: &[&str]) {
    std::fs::create_dir(into).unwrap();
    let st = Command::new("tar")
        .arg("--anchored")
        .args(excludes.iter().map(|e| format!("--exclude={e}")))
        .args(["--numeric-owner", "-xpJf"])
        .arg(tarball)
        .arg("-C")
        .arg(into)
        .status()
        .unwrap();
    assert!(st.success(), "tar -x {}", tarball.display());
}

/// `tar --numeric-owner -tvJf`: one line per member.
pub fn tar_listing(tarball: &Path) -> String {
    stdout_of("tar", &["--numeric-owner", "-tvJf"], tarball)
}

/// Runs `program args… file`, which must succeed, for its standard output.
fn stdout_of(program: &str, args: &[&str], file: &Path) -> String {
    let out = Command::new(program).args(args).arg(file).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} {}",
        file.display()
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Serves `root` over HTTP and HTTPS on loopback ports, with a throwaway CA and
/// certificate written to `tls_dir` (clients trust its `ca`).
pub fn serve_both(root: &Path, tls_dir: &Path) -> (ServerHandle, SelfSignedFiles) {
    let certs = generate_self_signed(&[]).unwrap().write(tls_dir).unwrap();
    let server = spawn(ServeOptions {
        root: root.to_path_buf(),
        http_addr: Some("127.0.0.1:0".parse().unwrap()),
        https_addr: Some("127.0.0.1:0".parse().unwrap()),
        tls_cert: Some(certs.cert.clone()),
        tls_key: Some(certs.key.clone()),
        threads: 0,
    })
    .unwrap();
    (server, certs)
}

/// `xz --robot --list`: number of blocks.
pub fn xz_blocks(path: &Path) -> u64 {
    let text = stdout_of("xz", &["--robot", "--list"], path);
    text.lines()
        .find(|l| l.starts_with("file\t"))
        .and_then(|l| l.split('\t').nth(2))
        .and_then(|b| b.parse().ok())
        .unwrap_or_else(|| panic!("cannot parse xz --list output: {text}"))
}

/// A response read off a raw socket.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one HTTP/1.1 request exactly as given (no path normalisation, unlike
/// most clients) and reads the response until the server closes.
pub fn raw_request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nUser-Agent: lxc/5.0.2 compat:7\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut data = Vec::new();
    s.read_to_end(&mut data).unwrap();
    let split = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no header end");
    let head = String::from_utf8_lossy(&data[..split]).into_owned();
    let body = data[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Resp {
        status,
        headers,
        body,
    }
}

/// A throwaway GnuPG home (removed, agent killed, on drop).
pub struct Gpg {
    pub home: tempfile::TempDir,
}

impl Gpg {
    pub fn new() -> Option<Gpg> {
        if !have("gpg") {
            skip("gpg not installed");
            return None;
        }
        let home = tempfile::Builder::new()
            .prefix("gpg")
            .tempdir_in("/tmp")
            .unwrap();
        Some(Gpg { home })
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new("gpg");
        c.arg("--homedir")
            .arg(self.home.path())
            .args(["--batch", "--no-tty"]);
        c
    }

    pub fn run(&self, args: &[&str]) -> (bool, String) {
        let out = self.cmd().args(args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Runs gpg and returns its standard output alone (for exports).
    pub fn stdout(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn import(&self, armored: &str) {
        let f = self.home.path().join("import.asc");
        std::fs::write(&f, armored).unwrap();
        let (ok, text) = self.run(&["--import", f.to_str().unwrap()]);
        assert!(ok, "gpg --import failed: {text}");
    }

    /// `gpg --verify sig data`: Ok(output) on a good signature.
    pub fn verify(&self, sig: &Path, data: &Path) -> Result<String, String> {
        let (ok, text) = self.run(&["--verify", sig.to_str().unwrap(), data.to_str().unwrap()]);
        if ok && text.contains("Good signature") {
            Ok(text)
        } else {
            Err(text)
        }
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

pub fn asc(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".asc");
    PathBuf::from(s)
}
