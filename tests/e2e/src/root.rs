//! Helpers for the `root_*` tests: throwaway users, and host files put back as they were.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use crate::host::{self, User};
use crate::lab::{lxu_bin, skip};
use crate::run::{self, Output, DEFAULT_TIMEOUT};

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
    if rustix::process::geteuid().as_raw() != 0 {
        skip("root_* tests run as root");
        return false;
    }
    let bin = lxu_bin();
    if !bin.is_file() {
        skip(&format!("no lxu binary at `{}`", bin.display()));
        return false;
    }
    for tool in [
        "/usr/sbin/useradd",
        "/usr/sbin/userdel",
        "/usr/sbin/runuser",
    ] {
        if !Path::new(tool).exists() {
            skip(&format!("`{tool}` is missing"));
            return false;
        }
    }
    true
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
