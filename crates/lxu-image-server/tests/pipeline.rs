//! build busybox → publish (signed) → serve over HTTP and HTTPS → fetch.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::*;
use lxu_image_server::{publish, scan, Progress};

#[test]
fn build_publish_serve_fetch() {
    if !busybox_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let img = busybox_image(&tmp.path().join("out"), "20250101_00:00", Some(3));
    assert!(
        img.stats.rootfs_time + img.stats.pack_time < std::time::Duration::from_secs(10),
        "busybox build should take seconds at most: {:?}",
        img.stats
    );
    assert!(img.rootfs_zst().is_some());
    assert!(
        !tmp.path().join("out/rootfs").exists(),
        "scratch tree removed"
    );
    let id = img.image_id("default");
    let report = publish(&repo, &img, id.clone(), key(), 3, &Progress::quiet()).unwrap();
    let build_dir = repo
        .join("images/busybox")
        .join(&id.release)
        .join("amd64/default/20250101_00:00");
    assert_eq!(report.build_dir, build_dir);

    // Layout, checksums, signatures.
    for f in [
        "rootfs.tar.xz",
        "meta.tar.xz",
        "rootfs.tar.zst",
        "image.info",
        "SHA256SUMS",
    ] {
        assert!(build_dir.join(f).is_file(), "{f}");
        assert!(asc(&build_dir.join(f)).is_file(), "{f}.asc");
    }
    let st = Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(&build_dir)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stdout)
    );
    assert_eq!(String::from_utf8_lossy(&st.stdout).lines().count(), 4);
    // image.info (listed in the signed SHA256SUMS) names the build and the size of
    // every file, which is what binds a client's downloads to the index entry.
    let info = fs::read_to_string(build_dir.join("image.info")).unwrap();
    assert!(info.contains("serial=20250101_00:00\n"), "{info}");
    assert!(info.contains("variant=default\n"), "{info}");
    for f in ["rootfs.tar.xz", "meta.tar.xz", "rootfs.tar.zst"] {
        let size = fs::metadata(build_dir.join(f)).unwrap().len();
        assert!(info.contains(&format!("size.{f}={size}\n")), "{f}: {info}");
    }
    let line = format!(
        "busybox;{r};amd64;default;20250101_00:00;/images/busybox/{r}/amd64/default/20250101_00:00/\n",
        r = id.release
    );
    let meta_dir = repo.join("meta/1.0");
    assert_eq!(
        fs::read_to_string(meta_dir.join("index-system")).unwrap(),
        line
    );
    assert_eq!(
        fs::read_to_string(meta_dir.join("index-user")).unwrap(),
        line
    );
    for n in 1..=4 {
        // common.conf-only images are not offered to LXC 1.x/2.x clients.
        assert_eq!(
            fs::read_to_string(meta_dir.join(format!("index-user.{n}"))).unwrap(),
            ""
        );
        assert!(meta_dir.join(format!("index-system.{n}.asc")).is_file());
    }
    if let Some(gpg) = Gpg::new() {
        gpg.import(&key().public_key_armored().unwrap());
        let mut checked = 0;
        for f in report.files.iter().chain(report.indexes.iter()) {
            if f.extension().is_some_and(|e| e == "asc") {
                continue;
            }
            gpg.verify(&asc(f), f)
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            checked += 1;
        }
        assert_eq!(checked, 5 + 10);
    }
    let published = scan(&repo).unwrap();
    assert_eq!(published.len(), 1);
    assert!(published[0].current && published[0].complete);
    assert_eq!(published[0].id, id);

    check_rootfs_and_meta(tmp.path(), &build_dir);

    // Serve it.
    // Something a traversal would love to reach, and a symlink pointing at it.
    fs::write(tmp.path().join("secret"), b"secret").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("secret"), repo.join("escape")).unwrap();
    let (server, certs) = serve_both(&repo, &tmp.path().join("tls"));
    let http = server.http_addr.unwrap();
    check_http(http, &repo, &build_dir, &line);
    check_https(server.https_addr.unwrap(), &certs.ca, &line);
    server.shutdown().unwrap();
    assert!(
        std::net::TcpStream::connect(http).is_err(),
        "listener closed after shutdown"
    );
}

fn check_rootfs_and_meta(tmp: &Path, build_dir: &Path) {
    let rootfs = build_dir.join("rootfs.tar.xz");
    let blocks = xz_blocks(&rootfs);
    eprintln!("busybox rootfs.tar.xz: {blocks} xz blocks");
    assert!(
        blocks >= 2,
        "multithreaded xz should give several blocks, got {blocks}"
    );

    let listing = tar_listing(&rootfs);
    for l in listing.lines() {
        assert!(l.contains(" 0/0 "), "owner not 0/0: {l}");
        assert!(
            !l.starts_with('c') && !l.starts_with('b'),
            "device node in busybox image: {l}"
        );
    }
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.split_whitespace().nth(5).unwrap())
        .collect();
    assert_eq!(names.first(), Some(&"./"));

    let x = tmp.join("x");
    untar(&rootfs, &x, &[]);
    assert_eq!(
        fs::read_link(x.join("sbin/init")).unwrap(),
        Path::new("/bin/busybox")
    );
    assert_eq!(
        fs::read_link(x.join("bin/sh")).unwrap(),
        Path::new("/bin/busybox")
    );
    let applets = Command::new("/bin/busybox")
        .arg("--list-full")
        .output()
        .unwrap();
    for a in String::from_utf8(applets.stdout).unwrap().lines() {
        assert!(
            fs::symlink_metadata(x.join(a)).is_ok(),
            "applet {a} missing"
        );
    }
    let inittab = fs::read_to_string(x.join("etc/inittab")).unwrap();
    assert!(inittab.contains("::sysinit:/etc/init.d/rcS"));
    for n in 1..=4 {
        assert!(inittab.contains(&format!("tty{n}::respawn:")), "{inittab}");
    }
    assert!(inittab.contains("console::"));
    assert_eq!(
        fs::read_to_string(x.join("etc/hostname")).unwrap(),
        "LXC_NAME\n"
    );
    assert!(fs::read_to_string(x.join("etc/hosts"))
        .unwrap()
        .contains("127.0.1.1\tLXC_NAME\n"));
    assert!(fs::read_to_string(x.join("etc/passwd"))
        .unwrap()
        .starts_with("root::0:0:root:/root:/bin/sh\n"));
    let os = fs::read_to_string(x.join("etc/os-release")).unwrap();
    assert!(
        os.contains("ID=busybox") && os.contains("VERSION_ID="),
        "{os}"
    );
    // The init script must at least parse.
    assert!(Command::new("/bin/busybox")
        .args(["sh", "-n"])
        .arg(x.join("etc/init.d/rcS"))
        .status()
        .unwrap()
        .success());
    let rcs_mode = std::os::unix::fs::PermissionsExt::mode(
        &fs::metadata(x.join("etc/init.d/rcS"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(rcs_mode & 0o777, 0o755);
    let tmp_mode = std::os::unix::fs::PermissionsExt::mode(
        &fs::metadata(x.join("tmp")).unwrap().permissions(),
    );
    assert_eq!(tmp_mode & 0o7777, 0o1777);

    let m = tmp.join("m");
    untar(&build_dir.join("meta.tar.xz"), &m, &[]);
    let mut files: Vec<String> = fs::read_dir(&m)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "config",
            "config-user",
            "create-message",
            "excludes-user",
            "expiry",
            "templates"
        ]
    );
    let cfg = fs::read_to_string(m.join("config")).unwrap();
    assert!(
        cfg.starts_with("lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.arch = "),
        "{cfg}"
    );
    assert!(
        cfg.contains("lxc.signal.halt = SIGUSR1\n")
            && cfg.contains("lxc.signal.reboot = SIGTERM\n")
    );
    let cfg_user = fs::read_to_string(m.join("config-user")).unwrap();
    assert!(cfg_user.contains("lxc.include = LXC_TEMPLATE_CONFIG/userns.conf\n"));
    assert_eq!(
        fs::read_to_string(m.join("templates")).unwrap(),
        "/etc/hostname\n/etc/hosts\n"
    );
    assert_eq!(fs::read_to_string(m.join("excludes-user")).unwrap(), "");
    let expiry: u64 = fs::read_to_string(m.join("expiry"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        expiry > now + 29 * 86_400 && expiry <= now + 30 * 86_400 + 60,
        "{expiry} vs {now}"
    );

    // The .zst holds the same tar as the .xz.
    let a = Command::new("sh")
        .arg("-c")
        .arg(format!("xz -dc {} | sha256sum", rootfs.display()))
        .output()
        .unwrap();
    let b = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "zstd -dc {} | sha256sum",
            build_dir.join("rootfs.tar.zst").display()
        ))
        .output()
        .unwrap();
    assert_eq!(a.stdout, b.stdout);
}

fn check_http(addr: std::net::SocketAddr, repo: &Path, build_dir: &Path, line: &str) {
    // LXC's client sends a double slash.
    let r = raw_request(addr, "GET", "//meta/1.0/index-user", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, line.as_bytes());
    assert_eq!(
        r.header("content-length"),
        Some(line.len().to_string().as_str())
    );
    // Compat-level probe the 5.x client makes first: 404, then it falls back.
    assert_eq!(
        raw_request(addr, "GET", "//meta/1.0/index-user.7", &[]).status,
        404
    );

    let rootfs = fs::read(build_dir.join("rootfs.tar.xz")).unwrap();
    let rel = build_dir.strip_prefix(repo).unwrap().display().to_string();
    let url = format!("/{rel}//rootfs.tar.xz");
    let full = raw_request(addr, "GET", &url, &[]);
    assert_eq!(full.status, 200);
    assert_eq!(full.body, rootfs);
    assert_eq!(
        full.header("content-length"),
        Some(rootfs.len().to_string().as_str())
    );
    assert_eq!(full.header("accept-ranges"), Some("bytes"));
    assert_eq!(full.header("content-type"), Some("application/x-xz"));
    let etag = full.header("etag").unwrap().to_string();
    let lm = full.header("last-modified").unwrap().to_string();

    let head = raw_request(addr, "HEAD", &url, &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        Some(rootfs.len().to_string().as_str())
    );
    assert_eq!(head.header("etag"), Some(etag.as_str()));

    let nm = raw_request(addr, "GET", &url, &[("If-None-Match", &etag)]);
    assert_eq!(nm.status, 304);
    assert!(nm.body.is_empty());
    assert_eq!(
        raw_request(addr, "GET", &url, &[("If-Modified-Since", &lm)]).status,
        304
    );
    assert_eq!(
        raw_request(addr, "GET", &url, &[("If-None-Match", "\"other\"")]).status,
        200
    );
    assert_eq!(
        raw_request(addr, "GET", &url, &[("If-Match", "\"other\"")]).status,
        412
    );

    let part = raw_request(addr, "GET", &url, &[("Range", "bytes=100-199")]);
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &rootfs[100..200]);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 100-199/{}", rootfs.len()).as_str())
    );
    let tail = raw_request(addr, "GET", &url, &[("Range", "bytes=-10")]);
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, &rootfs[rootfs.len() - 10..]);
    let resume = raw_request(
        addr,
        "GET",
        &url,
        &[("Range", "bytes=1000-"), ("If-Range", &etag)],
    );
    assert_eq!(resume.status, 206);
    assert_eq!(resume.body, &rootfs[1000..]);
    let beyond = raw_request(
        addr,
        "GET",
        &url,
        &[("Range", &format!("bytes={}-", rootfs.len()))],
    );
    assert_eq!(beyond.status, 416);
    assert_eq!(
        beyond.header("content-range"),
        Some(format!("bytes */{}", rootfs.len()).as_str())
    );

    for bad in [
        "/../secret",
        "/../../../../../../etc/passwd",
        "/images/../../secret",
        "/%2e%2e/secret",
        "/images%2f..%2f..%2fsecret",
        "/escape",
        "/.lock",
        "/images/",
        "/meta/1.0",
        "/",
    ] {
        let r = raw_request(addr, "GET", bad, &[]);
        assert_eq!(
            r.status,
            404,
            "{bad} gave {} {:?}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        assert!(
            !String::from_utf8_lossy(&r.body).contains("secret")
                && !String::from_utf8_lossy(&r.body).contains("root:")
        );
    }
    let post = raw_request(
        addr,
        "POST",
        "//meta/1.0/index-user",
        &[("Content-Length", "0")],
    );
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
}

fn check_https(addr: std::net::SocketAddr, ca: &Path, line: &str) {
    let ca_pem = fs::read(ca).unwrap();
    let cert = ureq::tls::Certificate::from_pem(&ca_pem).unwrap();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![cert])))
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder().tls_config(tls).build().into();
    for host in ["127.0.0.1", "localhost"] {
        let url = format!("https://{host}:{}//meta/1.0/index-system", addr.port());
        let mut resp = agent.get(&url).call().unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.body_mut().read_to_string().unwrap(), line);
    }
    // Without the CA the connection must fail: the certificate is not public.
    let strict: ureq::Agent = ureq::Agent::config_builder().build().into();
    assert!(strict
        .get(&format!(
            "https://127.0.0.1:{}/meta/1.0/index-system",
            addr.port()
        ))
        .call()
        .is_err());
}
