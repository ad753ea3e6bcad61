//! Helpers for the `root_*` tests: throwaway users, and host files put back as they were.

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use crate::host::{self, User};
use crate::lab::lxu_bin;
use crate::run::{self, Output, DEFAULT_TIMEOUT};
use crate::{need, skip};
use lxu_test_support::is_root;

/// The host files setup-user changes.
pub const HOST_FILES: [&str; 3] = ["/etc/subuid", "/etc/subgid", "/etc/lxc/lxc-usernet"];

static SERIAL: Mutex<()> = Mutex::new(());

/// Exclusive use of the host's account files for one test: tests in this process take
/// turns, and a lock file keeps other processes running these tests out. While held, the
/// files are saved, and put back byte for byte (or removed, if they did not exist) when the
/// guard drops, also after a failed assertion.
pub struct HostFiles {
    saved: Vec<(PathBuf, Option<Vec<u8>>)>,
    _lock: File,
    _serial: MutexGuard<'static, ()>,
}

impl HostFiles {
    pub fn save() -> HostFiles {
        let serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let lock = File::create("/tmp/lxu-e2e-host-files.lock").expect("create the lock file");
        lock.lock().expect("lock the host files");
        let saved = HOST_FILES
            .iter()
            .map(|p| (PathBuf::from(p), std::fs::read(p).ok()))
            .collect();
        HostFiles {
            saved,
            _lock: lock,
            _serial: serial,
        }
    }

    /// The saved content of `path` (None: it did not exist).
    pub fn original(&self, path: &str) -> Option<&[u8]> {
        self.saved
            .iter()
            .find(|(p, _)| p == Path::new(path))
            .and_then(|(_, c)| c.as_deref())
    }
}

impl Drop for HostFiles {
    fn drop(&mut self) {
        for (p, content) in &self.saved {
            let r = match content {
                Some(c) => std::fs::write(p, c),
                None => match std::fs::remove_file(p) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    r => r,
                },
            };
            if let Err(e) = r {
                eprintln!("could not restore `{}`: {e}", p.display());
            }
        }
    }
}

/// Whether we are root with the tools the root tests need; skips otherwise.
#[track_caller]
pub fn root_ready() -> bool {
    if !need(is_root(), "root_* tests run as root") {
        return false;
    }
    let bin = lxu_bin();
    if !need(
        bin.is_file(),
        format!("no lxu binary at `{}`", bin.display()),
    ) {
        return false;
    }
    [
        "/usr/sbin/useradd",
        "/usr/sbin/userdel",
        "/usr/sbin/runuser",
    ]
    .iter()
    .all(|tool| need(Path::new(tool).exists(), format!("`{tool}` is missing")))
}

/// A user made with `useradd -m` for one test and deleted (home included) when dropped,
/// with the per-user cgroups setup-user may have made for it.
pub struct TempUser {
    pub user: User,
}

impl TempUser {
    #[track_caller]
    pub fn new(prefix: &str) -> TempUser {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "{prefix}{}x{}",
            std::process::id() % 100_000,
            N.fetch_add(1, Ordering::Relaxed)
        );
        run::sh("/usr/sbin/useradd", &["-m", "-s", "/bin/sh", &name]).success();
        let user = host::user_by_name(&name).expect("the new user is in /etc/passwd");
        TempUser { user }
    }

    pub fn name(&self) -> &str {
        &self.user.name
    }
}

impl Drop for TempUser {
    fn drop(&mut self) {
        let mut c = Command::new("/usr/sbin/userdel");
        c.args(["-r", &self.user.name]);
        let desc = run::describe(&c, None);
        if let Err(e) = run::try_run(c, desc, None, DEFAULT_TIMEOUT) {
            eprintln!("{e}");
        }
        remove_user_cgroups(&self.user.name);
    }
}

/// Removes `<hierarchy>/<our cgroup>/lxu/<user>` in every mounted cgroup hierarchy
/// (setup-user delegates these; they would outlive the deleted user).
fn remove_user_cgroups(user: &str) {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    for m in host::mounts() {
        if m.fstype != "cgroup" && m.fstype != "cgroup2" {
            continue;
        }
        for line in own.lines() {
            let mut f = line.splitn(3, ':');
            let (_, _, path) = (f.next(), f.next(), f.next().unwrap_or("/"));
            let dir = Path::new(&m.mount_point)
                .join(path.trim_start_matches('/'))
                .join("lxu")
                .join(user);
            if dir.is_dir() {
                let _ = std::fs::remove_dir(&dir);
            }
        }
    }
}

/// Runs lxu as root.
#[track_caller]
pub fn lxu_root(args: &[&str]) -> Output {
    let mut c = Command::new(lxu_bin());
    c.args(args);
    let desc = run::describe(&c, Some("lxu"));
    run::run(c, desc, None, DEFAULT_TIMEOUT)
}

/// Runs lxu as `user` with a clean login-like environment, as `./x test` does.
#[track_caller]
pub fn lxu_as(user: &User, args: &[&str]) -> Output {
    let mut c = Command::new("/usr/sbin/runuser");
    c.args(["-u", &user.name, "--", "env", "-i"])
        .arg(format!("HOME={}", user.home.display()))
        .arg(format!("USER={}", user.name))
        .arg("PATH=/usr/local/bin:/usr/bin:/bin")
        .arg(lxu_bin())
        .args(args)
        .current_dir("/");
    let desc = format!(
        "(as {}) {}",
        user.name,
        run::describe(Command::new("lxu").args(args), None)
    );
    run::run(c, desc, None, DEFAULT_TIMEOUT)
}

/// Runs `argv` as `user` (for changes to files the user owns: root doing them by path
/// would follow links the user put there).
#[track_caller]
pub fn run_as(user: &User, argv: &[&str]) -> Output {
    let mut c = Command::new("/usr/sbin/runuser");
    c.args(["-u", &user.name, "--"]).args(argv).current_dir("/");
    let desc = format!("(as {}) {}", user.name, argv.join(" "));
    run::run(c, desc, None, DEFAULT_TIMEOUT)
}

/// `argv` as the host id that `owner`'s containers map their root to (the first id of the
/// owner's subordinate block): a container directory belongs to that id (LXC's layout), so
/// only it may change the directory's mode.
pub fn run_as_container_root(owner: &User, argv: &[&str]) -> Output {
    let text = std::fs::read_to_string("/etc/subuid").unwrap_or_default();
    let base = host::subid_entries(&text)
        .into_iter()
        .find(|(o, r)| (*o == owner.name || *o == owner.uid.to_string()) && r.count >= 65536)
        .map(|(_, r)| r.start)
        .unwrap_or_else(|| panic!("{} has no subordinate block in /etc/subuid", owner.name));
    let map = format!("b:0:{base}:1");
    let mut full = vec!["/usr/bin/lxc-usernsexec", "-m", &map, "--"];
    full.extend_from_slice(argv);
    run_as(owner, &full)
}

/// An lxcpath under /tmp owned by the test user, its containers stopped and destroyed (as
/// that user) when dropped.
pub struct OwnerLxcpath {
    pub owner: User,
    pub dir: PathBuf,
}

impl OwnerLxcpath {
    pub fn new(owner: &User, tag: &str) -> OwnerLxcpath {
        let dir = PathBuf::from(format!("/tmp/lxu-e2e-owner-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Root writes in it only before it becomes the owner's (see `owners_running_container`).
        std::fs::write(dir.join("no-net.conf"), "lxc.net.0.type = empty\n").unwrap();
        std::fs::set_permissions(
            dir.join("no-net.conf"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        std::os::unix::fs::chown(&dir, Some(owner.uid), Some(owner.gid)).unwrap();
        OwnerLxcpath {
            owner: owner.clone(),
            dir,
        }
    }

    pub fn p(&self) -> &str {
        self.dir.to_str().unwrap()
    }
}

impl Drop for OwnerLxcpath {
    fn drop(&mut self) {
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            for e in rd.flatten().filter(|e| e.path().is_dir()) {
                let n = e.file_name().to_string_lossy().into_owned();
                let _ = std::panic::catch_unwind(|| {
                    lxu_as(&self.owner, &["stop", "-P", self.p(), "-n", &n, "-k"]);
                    lxu_as(&self.owner, &["destroy", "-P", self.p(), "-n", &n, "-f"])
                });
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The test user (`LXU_TEST_USER`) and an lxcpath of theirs with a running busybox
/// container `mine` (no network); `None` (after saying why) where the root tests cannot run.
pub fn owners_running_container(tag: &str) -> Option<(User, OwnerLxcpath)> {
    if !root_ready() {
        return None;
    }
    let owner_name = std::env::var("LXU_TEST_USER").unwrap_or_else(|_| "lxutest".into());
    let Some(owner) = host::user_by_name(&owner_name) else {
        skip(format!("no test user `{owner_name}` (./x test creates it)"));
        return None;
    };
    let lxcpath = OwnerLxcpath::new(&owner, tag);
    // Written by `OwnerLxcpath::new` while the directory was still root's: once it is the
    // owner's, a root write there could follow a link the owner planted.
    let conf = lxcpath.dir.join("no-net.conf");
    let p = lxcpath.p();
    let conf = conf.to_str().unwrap();
    lxu_as(
        &owner,
        &["create", "-P", p, "-n", "mine", "-t", "busybox", "-f", conf],
    )
    .success();
    lxu_as(&owner, &["start", "-P", p, "-n", "mine"]).success();
    Some((owner, lxcpath))
}
