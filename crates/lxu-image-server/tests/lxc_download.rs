//! Interop with the real client: Debian's LXC 5.0.2 `lxc-download` template
//! (HTTPS only, wget) creating containers from our server.
//!
//! wget on Debian is built with GnuTLS, which ignores SSL_CERT_FILE; the
//! template passes no TLS options, so the test CA is handed to wget through a
//! wgetrc named by the WGETRC environment variable (`ca_certificate = …`),
//! which lxc-create passes on to the template.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;
use lxu_image_server::{generate_self_signed, publish, spawn, Progress, ServeOptions};

const TEMPLATE: &str = "/usr/share/lxc/templates/lxc-download";

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    eprintln!(
        "$ {cmd:?}\n  exit {}\n  stdout: {}\n  stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
            .trim_end()
            .replace('\n', "\n          "),
        String::from_utf8_lossy(&out.stderr)
            .trim_end()
            .replace('\n', "\n          ")
    );
    out
}

// LXC's own tools by path: `./x install --lxc-links` puts lxu under the same names in
// /usr/local/bin, first in PATH.
#[test]
fn lxc_download_template_creates_and_boots_a_container() {
    if !is_root() {
        return skip("lxc-create -t download for a privileged container needs root");
    }
    for tool in [
        "/usr/bin/lxc-create",
        "/usr/bin/lxc-start",
        "/usr/bin/lxc-attach",
        "/usr/bin/lxc-destroy",
        "wget",
        "xz",
    ] {
        if !have(tool) {
            return skip(format!("{tool} not installed"));
        }
    }
    if !Path::new(TEMPLATE).exists() {
        return skip("lxc-download template missing (install lxc)");
    }
    if !busybox_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let repo = t.join("repo");
    let img = busybox_image(&t.join("out"), "20250301_12:00", None);
    let id = img.image_id("default");
    publish(&repo, &img, id.clone(), key(), 2, &Progress::quiet()).unwrap();

    let certs = generate_self_signed(&[])
        .unwrap()
        .write(&t.join("tls"))
        .unwrap();
    let server = spawn(ServeOptions {
        root: repo.clone(),
        https_addr: Some("127.0.0.1:0".parse().unwrap()),
        tls_cert: Some(certs.cert.clone()),
        tls_key: Some(certs.key.clone()),
        ..ServeOptions::default()
    })
    .unwrap();
    let server_arg = format!("127.0.0.1:{}", server.https_addr.unwrap().port());
    let wgetrc = t.join("wgetrc");
    fs::write(
        &wgetrc,
        format!("ca_certificate = {}\n", certs.ca.display()),
    )
    .unwrap();
    let cache = t.join("cache");
    let lxcpath = t.join("lxc");
    fs::create_dir(&lxcpath).unwrap();
    // No network device: the test must not depend on a host bridge.
    let conf = t.join("create.conf");
    fs::write(&conf, "lxc.net.0.type = empty\n").unwrap();
    let _guard = ContainerGuard(&lxcpath);
    let env = |c: &mut Command| {
        c.env("WGETRC", &wgetrc).env("LXC_CACHE_PATH", &cache);
    };
    // The template's own options selecting our image.
    let image = [
        "--server",
        &server_arg,
        "-d",
        "busybox",
        "-r",
        &id.release,
        "-a",
        "amd64",
    ];

    // 1. The listing: the template parses our index.
    let mut list = Command::new(TEMPLATE);
    list.args(["--list", "--server", &server_arg]);
    env(&mut list);
    let out = run(&mut list);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let row = format!("busybox\t{}\tamd64\tdefault\t20250301_12:00", id.release);
    assert!(stdout.lines().any(|l| l == row), "listing lacks {row:?}");

    // 2. A privileged container (index-system, config).
    let mut create = Command::new("/usr/bin/lxc-create");
    create
        .arg("-P")
        .arg(&lxcpath)
        .args(["-n", "probe", "-f"])
        .arg(&conf)
        .args(["-t", "download", "--"])
        .args(image);
    env(&mut create);
    let started = Instant::now();
    let out = run(&mut create);
    assert!(out.status.success(), "lxc-create failed");
    eprintln!("lxc-create -t download took {:?}", started.elapsed());
    let cpath = lxcpath.join("probe");
    let rootfs = cpath.join("rootfs");
    assert!(rootfs.join("bin/busybox").is_file());
    assert_eq!(
        fs::read_link(rootfs.join("sbin/init")).unwrap(),
        Path::new("/bin/busybox")
    );
    assert_eq!(
        fs::read_to_string(rootfs.join("etc/hostname")).unwrap(),
        "probe\n",
        "templates substituted"
    );
    assert!(fs::read_to_string(rootfs.join("etc/hosts"))
        .unwrap()
        .contains("127.0.1.1\tprobe\n"));
    let config = fs::read_to_string(cpath.join("config")).unwrap();
    for want in [
        "lxc.include = /usr/share/lxc/config/common.conf\n",
        "lxc.signal.halt = SIGUSR1\n",
        "lxc.signal.reboot = SIGTERM\n",
        "lxc.uts.name = probe\n",
        "lxc.net.0.type = empty\n",
    ] {
        assert!(config.contains(want), "config lacks {want:?}:\n{config}");
    }
    assert!(
        !config.contains("userns.conf"),
        "privileged container got the user config"
    );
    let cache_dir = cache
        .join("download/busybox")
        .join(&id.release)
        .join("amd64/default");
    assert_eq!(
        fs::read_to_string(cache_dir.join("build_id")).unwrap(),
        "20250301_12:00\n"
    );
    assert!(cache_dir.join("rootfs.tar.xz").is_file());

    // 3. It boots and halts cleanly through busybox init's SIGUSR1.
    boot_and_halt(&lxcpath);
    let out = run(Command::new("/usr/bin/lxc-destroy")
        .arg("-P")
        .arg(&lxcpath)
        .args(["-n", "probe"]));
    assert!(out.status.success());
    assert!(!cpath.exists());

    // 4. The user flavour (index-user, config-user): run the template itself in
    // a user namespace mapping only root, as the template does for userns-root.
    if have("unshare") {
        let upath = t.join("user-probe");
        fs::create_dir_all(upath.join("rootfs")).unwrap();
        fs::write(upath.join("config"), "lxc.net.0.type = empty\n").unwrap();
        let mut c = Command::new("unshare");
        c.args(["--user", "--map-root-user", TEMPLATE])
            .args(image)
            .args(["--name", "uprobe"])
            .arg("--path")
            .arg(&upath)
            .arg("--rootfs")
            .arg(upath.join("rootfs"))
            .args(["--flush-cache"]);
        env(&mut c);
        let out = run(&mut c);
        assert!(out.status.success(), "template in a user namespace failed");
        let ucfg = fs::read_to_string(upath.join("config")).unwrap();
        assert!(
            ucfg.contains("lxc.include = /usr/share/lxc/config/userns.conf\n"),
            "{ucfg}"
        );
        assert_eq!(
            fs::read_to_string(upath.join("rootfs/etc/hostname")).unwrap(),
            "uprobe\n"
        );
    } else {
        skip("unshare not installed: user-mode template run not tested");
    }
    server.shutdown().unwrap();
}

/// Kills and destroys the test container if the test fails half-way, so no
/// container keeps running from a deleted temporary directory.
struct ContainerGuard<'a>(&'a Path);

impl Drop for ContainerGuard<'_> {
    fn drop(&mut self) {
        if self.0.join("probe").exists() {
            let _ = Command::new("/usr/bin/lxc-stop")
                .arg("-P")
                .arg(self.0)
                .args(["-n", "probe", "-k"])
                .output();
            let _ = Command::new("/usr/bin/lxc-destroy")
                .arg("-P")
                .arg(self.0)
                .args(["-n", "probe", "-f"])
                .output();
        }
    }
}

fn boot_and_halt(lxcpath: &Path) {
    let p = |c: &mut Command| {
        c.arg("-P").arg(lxcpath).args(["-n", "probe"]);
    };
    let mut start = Command::new("/usr/bin/lxc-start");
    p(&mut start);
    start
        .args(["-d", "-l", "DEBUG", "-o"])
        .arg(lxcpath.join("probe.log"));
    let out = run(&mut start);
    if !out.status.success() {
        let log = fs::read_to_string(lxcpath.join("probe.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        panic!(
            "lxc-start failed; log tail:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let mut wait = Command::new("/usr/bin/lxc-wait");
    p(&mut wait);
    assert!(run(wait.args(["-s", "RUNNING", "-t", "10"]))
        .status
        .success());
    // rcS has run by the time getty is up; give init a moment.
    std::thread::sleep(Duration::from_millis(500));
    let mut attach = Command::new("/usr/bin/lxc-attach");
    p(&mut attach);
    let out = run(attach.args([
        "--",
        "/bin/sh",
        "-c",
        "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; ps",
    ]));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("probe\n"), "{text}");
    assert!(text.contains("init"), "{text}");
    assert!(text.contains("getty"), "gettys running: {text}");

    let t = Instant::now();
    let mut stop = Command::new("/usr/bin/lxc-stop");
    p(&mut stop);
    let out = run(stop.args(["-t", "20"]));
    let took = t.elapsed();
    assert!(out.status.success());
    eprintln!("clean halt took {took:?}");
    assert!(
        took < Duration::from_secs(15),
        "halt via SIGUSR1 should not time out ({took:?})"
    );
    let mut info = Command::new("/usr/bin/lxc-info");
    p(&mut info);
    let out = run(info.arg("-s"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("STOPPED"));
}
