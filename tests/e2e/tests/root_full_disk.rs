//! Issue 16: create, copy, snapshot and destroy on a full and on a read-only filesystem.
//!
//! Root mounts a small tmpfs owned by the test user as that user's lxcpath; the commands
//! run as the user (runuser). Each refused command must say which path and what went
//! wrong ("No space left on device", "Read-only file system"), exit non-zero and leave
//! nothing: no directory, nothing listed, and the free space it found.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use lxu_e2e::host::{self, User};
use lxu_e2e::root::{lxu_as, root_ready, run_as};
use lxu_e2e::{skip, Output};

/// A tmpfs of the test user's on a fresh directory, unmounted and removed when dropped
/// (also after a failed assertion), with a root-owned no-network config beside it.
struct SmallFs {
    mnt: PathBuf,
    conf_dir: PathBuf,
    owner: User,
}

impl SmallFs {
    fn new(owner: &User, tag: &str, size: &str) -> SmallFs {
        let base = format!("/tmp/lxu-e2e-full-{}-{tag}", std::process::id());
        let (mnt, conf_dir) = (PathBuf::from(&base), PathBuf::from(format!("{base}.conf")));
        for d in [&mnt, &conf_dir] {
            let _ = std::fs::remove_dir_all(d);
            std::fs::create_dir(d).unwrap();
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let conf = conf_dir.join("no-net.conf");
        std::fs::write(&conf, "lxc.net.0.type = empty\n").unwrap();
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).unwrap();
        let fs = SmallFs {
            mnt,
            conf_dir,
            owner: owner.clone(),
        };
        let opts = format!("size={size},mode=0755,uid={},gid={}", owner.uid, owner.gid);
        sh("mount", &["-t", "tmpfs", "-o", &opts, "tmpfs", fs.p()]);
        // The lxcpath, made by its owner (root does not write in the user's directory).
        run_as(owner, &["mkdir", &format!("{}/lxc", fs.p())]).success();
        fs
    }

    fn p(&self) -> &str {
        self.mnt.to_str().unwrap()
    }

    fn lxcpath(&self) -> String {
        format!("{}/lxc", self.p())
    }

    fn conf(&self) -> String {
        self.conf_dir.join("no-net.conf").display().to_string()
    }

    /// `lxu VERB -P <lxcpath> ARGS…` as the owner.
    fn lxu(&self, verb: &str, args: &[&str]) -> Output {
        let p = self.lxcpath();
        let mut all = vec![verb, "-P", &p];
        all.extend_from_slice(args);
        lxu_as(&self.owner, &all)
    }

    fn create(&self, name: &str) -> Output {
        let conf = self.conf();
        self.lxu("create", &["-n", name, "-t", "busybox", "-f", &conf])
    }

    /// Free blocks of the filesystem.
    fn free(&self) -> u64 {
        let out = sh("stat", &["-f", "-c", "%f", self.p()]);
        out.stdout.trim().parse().unwrap()
    }

    /// Bytes in use on the filesystem.
    fn used_bytes(&self) -> u64 {
        let out = sh("stat", &["-f", "-c", "%b %f %S", self.p()]);
        let v: Vec<u64> = out
            .stdout
            .split_whitespace()
            .map(|w| w.parse().unwrap())
            .collect();
        (v[0] - v[1]) * v[2]
    }

    fn remount(&self, opts: &str) {
        sh("mount", &["-o", &format!("remount,{opts}"), self.p()]);
    }

    /// The names in the lxcpath (directories), whatever ls makes of them.
    fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.lxcpath())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn listed(&self) -> Vec<String> {
        let out = self.lxu("ls", &[]);
        out.success();
        out.stdout.split_whitespace().map(str::to_string).collect()
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mnt).status();
        let _ = std::fs::remove_dir(&self.mnt);
        let _ = std::fs::remove_dir_all(&self.conf_dir);
    }
}

#[track_caller]
fn sh(program: &str, args: &[&str]) -> Output {
    let out = lxu_e2e::run::sh(program, args);
    out.success();
    out
}

fn owner() -> Option<User> {
    if !root_ready() {
        return None;
    }
    let name = std::env::var("LXU_TEST_USER").unwrap_or_else(|_| "lxutest".into());
    let u = host::user_by_name(&name);
    if u.is_none() {
        skip(format!("no test user `{name}` (./x test creates it)"));
    }
    u
}

/// A refused command: non-zero exit, the problem and a path below `under` named.
#[track_caller]
fn assert_refused(out: &Output, problem: &str, under: &str) {
    out.failure().stderr_has(problem);
    assert!(
        out.stderr.contains(&format!("`{under}")),
        "the error names no path below `{under}`\n{out}"
    );
}

#[test]
fn a_full_disk_refuses_create_copy_and_snapshot_cleanly() {
    let Some(owner) = owner() else { return };
    const NOSPC: &str = "No space left on device";

    // Too small for busybox itself: the create fails half-way through the rootfs.
    let tiny = SmallFs::new(&owner, "tiny", "1m");
    let free = tiny.free();
    let out = tiny.create("c0");
    assert_refused(&out, NOSPC, &tiny.lxcpath());
    assert_eq!(
        tiny.entries(),
        Vec::<String>::new(),
        "the failed create left files"
    );
    assert_eq!(tiny.listed(), Vec::<String>::new());
    assert_eq!(
        tiny.free(),
        free,
        "the failed create did not give back its space"
    );
    drop(tiny);

    // Room for one container and a half: copy and snapshot run out in the rootfs copy.
    let fs = SmallFs::new(&owner, "half", "16m");
    fs.create("c1").success();
    let used_blocks = fs.used_bytes();
    fs.remount(&format!("size={}", used_blocks + used_blocks / 2));
    let free = fs.free();
    let out = fs.lxu("copy", &["-n", "c1", "-N", "c2"]);
    assert_refused(&out, NOSPC, &fs.lxcpath());
    out.stderr_has("c2");
    assert_eq!(fs.entries(), ["c1"], "the failed copy left files");
    assert_eq!(fs.listed(), ["c1"]);
    assert_eq!(
        fs.free(),
        free,
        "the failed copy did not give back its space"
    );

    let out = fs.lxu("snapshot", &["-n", "c1"]);
    assert_refused(&out, NOSPC, &fs.lxcpath());
    let snaps = Path::new(&fs.lxcpath()).join("c1/snaps");
    let left: Vec<_> = std::fs::read_dir(&snaps)
        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "the failed snapshot left {left:?}");
    fs.lxu("snapshot", &["-n", "c1", "-L"])
        .success()
        .stdout_lacks("snap0");
    assert_eq!(
        fs.free(),
        free,
        "the failed snapshot did not give back its space"
    );

    let out = fs.create("c3");
    assert_refused(&out, NOSPC, &fs.lxcpath());
    assert_eq!(fs.entries(), ["c1"]);

    // Full to the last block, the container can still be destroyed.
    let _ = run_as(
        &owner,
        &[
            "dd",
            "if=/dev/zero",
            &format!("of={}/filler", fs.p()),
            "bs=64k",
        ],
    );
    assert_eq!(fs.free(), 0);
    fs.lxu("destroy", &["-n", "c1"]).success();
    assert_eq!(fs.entries(), Vec::<String>::new());
}

#[test]
fn a_read_only_lxcpath_refuses_every_change_and_keeps_the_container() {
    let Some(owner) = owner() else { return };
    const EROFS: &str = "Read-only file system";
    let fs = SmallFs::new(&owner, "ro", "16m");
    fs.create("c1").success();
    fs.lxu("snapshot", &["-n", "c1"]).success();
    fs.remount("ro");

    assert_refused(&fs.create("c2"), EROFS, &fs.lxcpath());
    assert_refused(
        &fs.lxu("copy", &["-n", "c1", "-N", "c3"]),
        EROFS,
        &fs.lxcpath(),
    );
    assert_refused(&fs.lxu("snapshot", &["-n", "c1"]), EROFS, &fs.lxcpath());
    assert_refused(
        &fs.lxu("snapshot", &["-n", "c1", "-r", "snap0"]),
        EROFS,
        &fs.lxcpath(),
    );
    assert_refused(
        &fs.lxu("destroy", &["-n", "c1", "-s"]),
        EROFS,
        &fs.lxcpath(),
    );
    // Nothing changed: the container and its snapshot are whole and listed.
    assert_eq!(fs.entries(), ["c1"]);
    assert_eq!(fs.listed(), ["c1"]);
    fs.lxu("snapshot", &["-n", "c1", "-L"])
        .success()
        .stdout_has("snap0");

    // Writable again, everything goes through and nothing is in the way.
    fs.remount("rw");
    fs.lxu("copy", &["-n", "c1", "-N", "c3"]).success();
    fs.lxu("destroy", &["-n", "c3"]).success();
    fs.lxu("destroy", &["-n", "c1", "-s"]).success();
    assert_eq!(fs.entries(), Vec::<String>::new());
}

/// A signed busybox image repository made by root in a root-owned directory, served by
/// `lxu image serve` on loopback; the server is killed and the directory removed when
/// dropped.
struct Served {
    dir: PathBuf,
    child: std::process::Child,
    url: String,
}

impl Served {
    fn new() -> Served {
        let dir = PathBuf::from(format!("/tmp/lxu-e2e-full-{}-repo", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let d = |n: &str| dir.join(n).display().to_string();
        let bin = lxu_e2e::lab::lxu_bin();
        let bin = bin.to_str().unwrap();
        sh(bin, &["image", "keygen", "--out", &d("key")]);
        sh(
            bin,
            &[
                "image",
                "build",
                "busybox",
                "--release",
                "full",
                "--out",
                &d("build"),
            ],
        );
        sh(
            bin,
            &[
                "image",
                "publish",
                &d("build"),
                "--repo",
                &d("repo"),
                "--key",
                &d("key/key.asc"),
            ],
        );
        // The user reads the public key; nothing here is theirs to change.
        sh("chmod", &["-R", "go+rX", dir.to_str().unwrap()]);
        let mut child = Command::new(bin)
            .args([
                "image",
                "serve",
                "--repo",
                &d("repo"),
                "--http",
                "127.0.0.1:0",
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut url = String::new();
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("listening on ") {
                url = format!("http://{}", addr.trim());
                break;
            }
        }
        let served = Served { dir, child, url };
        assert!(!served.url.is_empty(), "`lxu image serve` said no address");
        served
    }

    fn key(&self) -> String {
        self.dir.join("key/key.pub.asc").display().to_string()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_full_disk_refuses_a_download_create_and_keeps_the_cache_good() {
    let Some(owner) = owner() else { return };
    const NOSPC: &str = "No space left on device";
    let served = Served::new();
    let create = |fs: &SmallFs, name: &str| {
        let p = fs.lxcpath();
        let conf = fs.conf();
        let cache = format!("LXC_CACHE_PATH={}/cache", fs.p());
        let key = served.key();
        let bin = lxu_e2e::lab::lxu_bin();
        let (home, user) = (
            format!("HOME={}", owner.home.display()),
            format!("USER={}", owner.name),
        );
        // A clean login-like environment, as `lxu_as`, plus the cache on the small fs.
        let argv = [
            "env",
            "-i",
            &home,
            &user,
            "PATH=/usr/local/bin:/usr/bin:/bin",
            &cache,
            bin.to_str().unwrap(),
            "create",
            "-P",
            &p,
            "-n",
            name,
            "-t",
            "download",
            "-f",
            &conf,
            "--",
            "--server",
            &served.url,
            "-d",
            "busybox",
            "-r",
            "full",
            "-a",
            lxu_e2e::images::host_arch(),
            "--keyring",
            &key,
        ];
        run_as(&owner, &argv)
    };

    // The cache on a filesystem too small for the image: the download runs out.
    let tiny = SmallFs::new(&owner, "dltiny", "256k");
    let free = tiny.free();
    let out = create(&tiny, "d0");
    assert_refused(&out, NOSPC, tiny.p());
    assert_eq!(
        tiny.entries(),
        Vec::<String>::new(),
        "the failed create left files"
    );
    assert_eq!(
        tiny.free(),
        free,
        "the failed download kept its part of the image"
    );
    drop(tiny);

    // Room for the cache and one container: the second create runs out while unpacking,
    // and the cache it used stays good for the next.
    let fs = SmallFs::new(&owner, "dl", "16m");
    create(&fs, "d1").success();
    let used = fs.used_bytes();
    fs.remount(&format!("size={}", used + 512 * 1024));
    let free = fs.free();
    let out = create(&fs, "d2");
    assert_refused(&out, NOSPC, &fs.lxcpath());
    out.stderr_has("d2");
    assert_eq!(fs.entries(), ["d1"], "the failed create left files");
    assert_eq!(fs.listed(), ["d1"]);
    assert_eq!(
        fs.free(),
        free,
        "the failed create did not give back its space"
    );
    fs.lxu("destroy", &["-n", "d1"]).success();
    let out = create(&fs, "d2");
    out.success();
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains("Using image from local cache"), "{out}");
    assert_eq!(fs.listed(), ["d2"]);
    fs.lxu("destroy", &["-n", "d2"]).success();
}
