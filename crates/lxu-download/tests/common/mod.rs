//! Test fixtures: OpenPGP keys made with rPGP, tarballs, an image repository tree
//! laid out like images.linuxcontainers.org, and a small HTTP/1.1 server on
//! 127.0.0.1 that can honour `Range` and cut connections on request.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lxu_download::index::IndexEntry;
use lxu_download::{CachedImage, ClientEnv, ImageError, Mode, Progress};
use pgp::composed::{
    ArmorOptions, DetachedSignature, EncryptionCaps, KeyType, SecretKeyParamsBuilder,
    SignedPublicKey, SignedSecretKey, SubkeyParamsBuilder,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::{KeyDetails, Password};

/// What a user sees of an error: it and its causes joined with ": ".
pub fn shown(e: &dyn std::error::Error) -> String {
    let causes = std::iter::successors(Some(e), |e| e.source());
    causes.map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}

// ---------------------------------------------------------------- keys

pub struct TestKey {
    pub secret: SignedSecretKey,
}

impl TestKey {
    /// Ed25519 primary (certify only) with an Ed25519 signing subkey, as gpg makes them.
    pub fn new(uid: &str) -> TestKey {
        let mut sub = SubkeyParamsBuilder::default();
        sub.key_type(KeyType::Ed25519Legacy)
            .can_sign(true)
            .can_encrypt(EncryptionCaps::None)
            .can_authenticate(false);
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(false)
            .can_encrypt(EncryptionCaps::None)
            .primary_user_id(uid.into())
            .subkeys(vec![sub.build().unwrap()]);
        let secret = params
            .build()
            .unwrap()
            .generate(rand::thread_rng())
            .unwrap();
        TestKey { secret }
    }

    pub fn public_armored(&self) -> String {
        SignedPublicKey::from(self.secret.clone())
            .to_armored_string(ArmorOptions::default())
            .unwrap()
    }

    pub fn fingerprint(&self) -> String {
        hex(self.secret.fingerprint().as_bytes())
    }

    pub fn subkey_fingerprint(&self) -> String {
        hex(self.secret.secret_subkeys[0].key.fingerprint().as_bytes())
    }

    /// Armoured detached signature by the signing subkey.
    pub fn sign(&self, data: &[u8]) -> String {
        self.sign_with(data, HashAlgorithm::Sha256, false)
    }

    pub fn sign_with(&self, data: &[u8], hash: HashAlgorithm, with_primary: bool) -> String {
        let sig = if with_primary {
            DetachedSignature::sign_binary_data(
                rand::thread_rng(),
                &self.secret.primary_key,
                &Password::empty(),
                hash,
                data,
            )
        } else {
            DetachedSignature::sign_binary_data(
                rand::thread_rng(),
                &self.secret.secret_subkeys[0].key,
                &Password::empty(),
                hash,
                data,
            )
        };
        sig.unwrap()
            .to_armored_string(ArmorOptions::default())
            .unwrap()
    }
}

pub fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

// ---------------------------------------------------------------- tarballs

/// Builds tarballs, including entries no well-behaved tar would write.
pub struct Tar {
    b: tar::Builder<Vec<u8>>,
}

fn raw_header(kind: tar::EntryType, name: &[u8], mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    {
        let old = h.as_old_mut();
        assert!(name.len() < 100, "short names only");
        old.name[..name.len()].copy_from_slice(name);
    }
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_size(size);
    h
}

impl Tar {
    pub fn new() -> Tar {
        Tar {
            b: tar::Builder::new(Vec::new()),
        }
    }

    fn append(&mut self, mut h: tar::Header, data: &[u8]) {
        h.set_cksum();
        self.b.append(&h, data).unwrap();
    }

    pub fn dir(&mut self, name: &str, mode: u32) -> &mut Self {
        self.append(
            raw_header(tar::EntryType::Directory, name.as_bytes(), mode, 0),
            &[],
        );
        self
    }

    pub fn file(&mut self, name: &str, data: &[u8], mode: u32) -> &mut Self {
        self.append(
            raw_header(
                tar::EntryType::Regular,
                name.as_bytes(),
                mode,
                data.len() as u64,
            ),
            data,
        );
        self
    }

    pub fn file_owned(
        &mut self,
        name: &str,
        data: &[u8],
        mode: u32,
        uid: u64,
        gid: u64,
        mtime: u64,
    ) -> &mut Self {
        let mut h = raw_header(
            tar::EntryType::Regular,
            name.as_bytes(),
            mode,
            data.len() as u64,
        );
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_mtime(mtime);
        self.append(h, data);
        self
    }

    fn link(&mut self, kind: tar::EntryType, name: &str, target: &str) -> &mut Self {
        let mut h = raw_header(kind, name.as_bytes(), 0o777, 0);
        let t = target.as_bytes();
        assert!(t.len() < 100);
        h.as_old_mut().linkname[..t.len()].copy_from_slice(t);
        self.append(h, &[]);
        self
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.link(tar::EntryType::Symlink, name, target)
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.link(tar::EntryType::Link, name, target)
    }

    pub fn device(&mut self, name: &str, block: bool) -> &mut Self {
        let kind = if block {
            tar::EntryType::Block
        } else {
            tar::EntryType::Char
        };
        let mut h = raw_header(kind, name.as_bytes(), 0o666, 0);
        h.set_device_major(1).unwrap();
        h.set_device_minor(3).unwrap();
        self.append(h, &[]);
        self
    }

    pub fn fifo(&mut self, name: &str) -> &mut Self {
        self.append(
            raw_header(tar::EntryType::Fifo, name.as_bytes(), 0o640, 0),
            &[],
        );
        self
    }

    /// A file with PAX records (e.g. `SCHILY.xattr.user.x`).
    pub fn file_pax(&mut self, name: &str, data: &[u8], pax: &[(&str, &[u8])]) -> &mut Self {
        let mut records = Vec::new();
        for (k, v) in pax {
            // "LEN key=value\n", LEN counting itself.
            let body = 1 + k.len() + 1 + v.len() + 1;
            let mut len = body + 1;
            while len != body + len.to_string().len() {
                len = body + len.to_string().len();
            }
            records.extend_from_slice(format!("{len} {k}=").as_bytes());
            records.extend_from_slice(v);
            records.push(b'\n');
        }
        let h = raw_header(
            tar::EntryType::XHeader,
            b"./PaxHeaders/x",
            0o644,
            records.len() as u64,
        );
        self.append(h, &records);
        self.file(name, data, 0o644)
    }

    /// An old-style GNU sparse member (`S`) whose one byte of data sits at the end
    /// of `real_size` bytes of holes.
    pub fn gnu_sparse(&mut self, name: &str, real_size: u64) -> &mut Self {
        let mut h = raw_header(tar::EntryType::GNUSparse, name.as_bytes(), 0o644, 1);
        {
            let g = h.as_gnu_mut().unwrap();
            g.set_real_size(real_size);
            g.sparse[0].set_offset(real_size - 1);
            g.sparse[0].set_length(1);
        }
        self.append(h, b"x");
        self
    }

    pub fn tar(self) -> Vec<u8> {
        self.b.into_inner().unwrap()
    }

    pub fn xz(self) -> Vec<u8> {
        xz(&self.tar())
    }
}

pub fn xz(data: &[u8]) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// `data` as xz whose block header claims an LZMA2 dictionary of 4 GiB, so
/// decoding it needs that much memory; the header CRC is recomputed.
pub fn xz_bomb(data: &[u8]) -> Vec<u8> {
    let mut x = xz(data);
    // Stream header: 12 bytes. Block header: size byte, flags, optional sizes, filters.
    let start = 12;
    let size = (x[start] as usize + 1) * 4;
    let flags = x[start + 1];
    assert_eq!(flags & 0x03, 0, "one filter expected");
    let mut off = start + 2;
    let skip_varint = |off: &mut usize, x: &[u8]| {
        while x[*off] & 0x80 != 0 {
            *off += 1;
        }
        *off += 1;
    };
    if flags & 0x40 != 0 {
        skip_varint(&mut off, &x);
    }
    if flags & 0x80 != 0 {
        skip_varint(&mut off, &x);
    }
    assert_eq!(x[off], 0x21, "LZMA2 filter expected");
    assert_eq!(x[off + 1], 1, "one property byte expected");
    // 40: a dictionary of 4 GiB - 1.
    x[off + 2] = 40;
    let crc = crc32(&x[start..start + size - 4]);
    x[start + size - 4..start + size].copy_from_slice(&crc.to_le_bytes());
    x
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for b in data {
        c ^= u32::from(*b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A small rootfs as distrobuilder would pack it.
pub fn small_rootfs(marker: &str) -> Vec<u8> {
    let mut t = Tar::new();
    t.dir("./", 0o755)
        .dir("./etc/", 0o755)
        .file("./etc/hostname", b"LXC_NAME\n", 0o644)
        .file("./etc/marker", marker.as_bytes(), 0o644)
        .dir("./dev/", 0o755)
        .device("./dev/null", false)
        .dir("./usr/", 0o755)
        .dir("./usr/bin/", 0o755)
        .file("./usr/bin/tool", b"#!/bin/sh\n", 0o4755)
        .symlink("./bin", "usr/bin");
    t.xz()
}

/// A meta.tar.xz with the usual files; `expiry` in Unix seconds.
pub fn meta_tarball(expiry: u64, message: &str) -> Vec<u8> {
    let mut t = Tar::new();
    t.dir("./", 0o755)
        .file("./config", b"lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.arch = x86_64\n", 0o644)
        .file(
            "./config-user",
            b"lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.include = LXC_TEMPLATE_CONFIG/userns.conf\nlxc.arch = x86_64\n",
            0o644,
        )
        .file("./excludes-user", b"./dev/null\n", 0o644)
        .file("./templates", b"/etc/hostname\n", 0o644)
        .file("./create-message", message.as_bytes(), 0o644)
        .file("./expiry", format!("{expiry}\n").as_bytes(), 0o644);
    t.xz()
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ---------------------------------------------------------------- repository

/// An image server's document root.
pub struct Repo {
    pub dir: tempfile::TempDir,
    pub key: Arc<TestKey>,
}

impl Repo {
    pub fn new(key: Arc<TestKey>) -> Repo {
        Repo {
            dir: tempfile::tempdir().unwrap(),
            key,
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn image_path(dist: &str, release: &str, arch: &str, variant: &str, build: &str) -> String {
        format!("/images/{dist}/{release}/{arch}/{variant}/{build}/")
    }

    /// Writes a file and its detached signature.
    pub fn put_signed(&self, rel: &str, data: &[u8]) {
        let p = self.root().join(rel.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
        std::fs::write(
            p.with_file_name(format!("{}.asc", p.file_name().unwrap().to_string_lossy())),
            self.key.sign(data),
        )
        .unwrap();
    }

    /// Publishes one build; returns its index entry.
    pub fn publish(
        &self,
        dist: &str,
        release: &str,
        build: &str,
        rootfs: &[u8],
        meta: &[u8],
    ) -> IndexEntry {
        let path = Self::image_path(dist, release, "amd64", "default", build);
        self.put_signed(&format!("{path}rootfs.tar.xz"), rootfs);
        self.put_signed(&format!("{path}meta.tar.xz"), meta);
        IndexEntry {
            dist: dist.into(),
            release: release.into(),
            arch: "amd64".into(),
            variant: "default".into(),
            build: build.into(),
            path,
        }
    }

    /// Adds a signed `SHA256SUMS` to the published build `e`, as lxc-ci does; with
    /// `info`, also an `image.info` naming the build with the sizes of its files,
    /// listed in `SHA256SUMS`, as `lxu image publish` does.
    pub fn add_sums(&self, e: &IndexEntry, info: bool) {
        let read = |name: &str| std::fs::read(self.file(&format!("{}{name}", e.path))).unwrap();
        let (rootfs, meta) = (read("rootfs.tar.xz"), read("meta.tar.xz"));
        let mut sums = String::new();
        if info {
            let info = format!(
                "dist={}\nrelease={}\narch=amd64\nvariant=default\nserial={}\n\
                 build_time=1700000000\nexpiry=4000000000\nmin_compat_system=5\n\
                 min_compat_user=5\nfiles=meta.tar.xz rootfs.tar.xz\n\
                 size.meta.tar.xz={}\nsize.rootfs.tar.xz={}\n",
                e.dist,
                e.release,
                e.build,
                meta.len(),
                rootfs.len()
            );
            self.put_signed(&format!("{}image.info", e.path), info.as_bytes());
            sums.push_str(&format!("{}  image.info\n", sha256(info.as_bytes())));
        }
        sums.push_str(&format!(
            "{}  meta.tar.xz\n{}  rootfs.tar.xz\n",
            sha256(&meta),
            sha256(&rootfs)
        ));
        self.put_signed(&format!("{}SHA256SUMS", e.path), sums.as_bytes());
    }

    /// Writes the signed unsuffixed `index-user` (what lxc-ci serves for level 5+).
    pub fn write_index(&self, entries: &[IndexEntry]) {
        self.put_signed(
            "meta/1.0/index-user",
            lxu_download::index::serialize(entries).as_bytes(),
        );
    }

    pub fn write_index_text(&self, text: &str) {
        self.put_signed("meta/1.0/index-user", text.as_bytes());
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.root().join(rel.trim_start_matches('/'))
    }
}

// ---------------------------------------------------------------- HTTP server

#[derive(Debug, Clone)]
pub struct Request {
    /// The request target exactly as sent (double slashes included).
    pub target: String,
    pub range: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Default)]
struct State {
    log: Vec<Request>,
    /// Path suffix → (bytes to send before closing, how many more times).
    cuts: HashMap<String, (usize, usize)>,
    /// Path suffix → delay before answering.
    delays: HashMap<String, Duration>,
    ignore_range: bool,
    /// Path suffix → `Content-Length` to claim instead of the real one.
    claims: HashMap<String, u64>,
    /// Path suffixes sent with no `Content-Length` (the body ends when the
    /// connection closes).
    no_length: Vec<String>,
}

pub struct Server {
    pub addr: SocketAddr,
    root: PathBuf,
    state: Arc<Mutex<State>>,
}

impl Server {
    pub fn start(root: &Path) -> Server {
        Self::start_with(root, None)
    }

    /// HTTPS with this rustls config.
    pub fn start_tls(root: &Path, tls: Arc<rustls::ServerConfig>) -> Server {
        Self::start_with(root, Some(tls))
    }

    fn start_with(root: &Path, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let (r, s) = (root.to_path_buf(), state.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (r, s, tls) = (r.clone(), s.clone(), tls.clone());
                std::thread::spawn(move || {
                    let _ = match tls {
                        Some(cfg) => {
                            let Ok(tls) = rustls::ServerConnection::new(cfg) else {
                                return;
                            };
                            serve(rustls::StreamOwned::new(tls, conn), &r, &s)
                        }
                        None => serve(conn, &r, &s),
                    };
                });
            }
        });
        Server {
            addr,
            root: root.to_path_buf(),
            state,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn https_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn log(&self) -> Vec<Request> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }

    /// Requests whose target ends with `suffix`.
    pub fn hits(&self, suffix: &str) -> Vec<Request> {
        self.log()
            .into_iter()
            .filter(|r| r.target.ends_with(suffix))
            .collect()
    }

    pub fn cut(&self, suffix: &str, after: usize, times: usize) {
        self.state
            .lock()
            .unwrap()
            .cuts
            .insert(suffix.into(), (after, times));
    }

    pub fn delay(&self, suffix: &str, d: Duration) {
        self.state.lock().unwrap().delays.insert(suffix.into(), d);
    }

    pub fn ignore_range(&self, v: bool) {
        self.state.lock().unwrap().ignore_range = v;
    }

    /// Announce `len` as the `Content-Length` of files ending with `suffix`.
    pub fn claim_length(&self, suffix: &str, len: u64) {
        self.state.lock().unwrap().claims.insert(suffix.into(), len);
    }

    /// Send files ending with `suffix` without a `Content-Length`.
    pub fn without_length(&self, suffix: &str) {
        self.state.lock().unwrap().no_length.push(suffix.into());
    }
}

fn serve<S: Read + Write>(mut conn: S, root: &Path, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(&mut conn);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut range = None;
    let mut ua = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "range" => range = Some(v.trim().to_string()),
                "user-agent" => ua = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    let (cut, delay, ignore_range, claim, no_length) = {
        let mut st = state.lock().unwrap();
        st.log.push(Request {
            target: target.clone(),
            range: range.clone(),
            user_agent: ua,
        });
        let mut cut = None;
        for (suffix, (after, times)) in st.cuts.iter_mut() {
            if target.ends_with(suffix.as_str()) && *times > 0 {
                *times -= 1;
                cut = Some(*after);
            }
        }
        let delay = st
            .delays
            .iter()
            .find(|(s, _)| target.ends_with(s.as_str()))
            .map(|(_, d)| *d);
        let claim = st
            .claims
            .iter()
            .find(|(s, _)| target.ends_with(s.as_str()))
            .map(|(_, n)| *n);
        let no_length = st.no_length.iter().any(|s| target.ends_with(s.as_str()));
        (cut, delay, st.ignore_range, claim, no_length)
    };
    drop(reader);
    if let Some(d) = delay {
        std::thread::sleep(d);
    }
    let mut out = conn;
    // Real servers accept the `//` LXC clients send.
    let mut norm = String::new();
    for c in target.split('/').filter(|c| !c.is_empty()) {
        if c == ".." {
            write!(
                out,
                "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
            return out.flush();
        }
        norm.push('/');
        norm.push_str(c);
    }
    let path = root.join(norm.trim_start_matches('/'));
    let Ok(data) = std::fs::read(&path).and_then(|d| {
        if path.is_file() {
            Ok(d)
        } else {
            Err(std::io::ErrorKind::NotFound.into())
        }
    }) else {
        write!(
            out,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found"
        )?;
        return out.flush();
    };
    let len = data.len();
    let start = range.filter(|_| !ignore_range).and_then(|r| {
        r.strip_prefix("bytes=")
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse::<usize>().ok())
    });
    let (status, body, extra) = match start {
        Some(s) if s >= len => {
            write!(
                out,
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
            return out.flush();
        }
        Some(s) => (
            "206 Partial Content",
            &data[s..],
            format!("Content-Range: bytes {s}-{}/{len}\r\n", len - 1),
        ),
        None => ("200 OK", &data[..], String::new()),
    };
    let length = if no_length {
        String::new()
    } else {
        format!("Content-Length: {}\r\n", claim.unwrap_or(body.len() as u64))
    };
    write!(
        out,
        "HTTP/1.1 {status}\r\n{length}Accept-Ranges: bytes\r\n{extra}Connection: close\r\n\r\n"
    )?;
    match cut {
        Some(n) => {
            // Dropping the stream closes the connection mid-body.
            out.write_all(&body[..n.min(body.len())])?;
            out.flush()?;
        }
        None => {
            out.write_all(body)?;
            out.flush()?;
        }
    }
    Ok(())
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
