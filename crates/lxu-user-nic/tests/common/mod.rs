//! Scenario harness for the setuid helper.
//!
//! The shipped binary is what is tested: it is copied, made root-owned
//! 4755, and run as unprivileged test users. Its fixed paths are redirected
//! without any test hook: each scenario is a private mount + network
//! namespace (an "anchor" process made with `unshare -m -n`) in which a temp
//! dir is bind-mounted over `/etc/lxc` and another over `/run/lxu`, and the
//! test bridge lives. Every helper run enters the anchor's namespaces, so
//! the host's devices and files are never touched. Dropping the scenario
//! kills the anchor and every process started in it, which destroys the
//! namespaces and all devices in them.
//!
//! `LXU_TEST_USER_NIC=/path/to/binary` tests another build of the helper
//! instead (used to replay the attack tests against an older build).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const USER1: &str = "lxunic1";
pub const USER2: &str = "lxunic2";
pub const USER3: &str = "lxunic3";
/// Group of USER2 and USER3.
pub const GROUP: &str = "lxunicg";

/// Whether the scenarios can run here (root and the tools they use; then the test users
/// exist); otherwise skips, or fails under LXU_MUST_WORK=1.
#[track_caller]
pub fn can_run() -> bool {
    let tools = [
        "ip", "unshare", "nsenter", "setpriv", "useradd", "groupadd", "usermod",
    ];
    let ok = lxu_test_support::Needs::new().root().tools(&tools).met();
    if ok {
        ensure_users();
    }
    ok
}

/// [`Scenario::new`] where the scenarios can run ([`can_run`]); `None` after a skip.
#[track_caller]
pub fn scenario(usernet: &str, bridges: &[&str]) -> Option<Scenario> {
    can_run().then(|| Scenario::new(usernet, bridges))
}

static USERS: Mutex<bool> = Mutex::new(false);

/// Creates the test users and group once (no home directories).
fn ensure_users() {
    let mut done = USERS.lock().unwrap_or_else(|p| p.into_inner());
    if *done {
        return;
    }
    if !Command::new("getent")
        .args(["group", GROUP])
        .output()
        .unwrap()
        .status
        .success()
    {
        sh(&format!("groupadd {GROUP}"));
    }
    for u in [USER1, USER2, USER3] {
        if !Command::new("id").arg(u).output().unwrap().status.success() {
            sh(&format!(
                "useradd --no-create-home --shell /usr/sbin/nologin {u}"
            ));
        }
    }
    for u in [USER2, USER3] {
        sh(&format!("usermod -aG {GROUP} {u}"));
    }
    *done = true;
}

/// Runs `cmd` with `sh -c`; it must succeed. Returns its stdout.
#[track_caller]
pub fn sh(cmd: &str) -> String {
    lxu_test_support::run_ok("sh", &["-c", cmd])
}

/// Copies the program `from` to `to` (owned by root, with `mode`) in another process:
/// a copy written by this one could still be open for writing in a child another test
/// thread just forked, and running it would fail with "Text file busy".
pub fn install_program(from: &str, to: &Path, mode: &str) {
    lxu_test_support::run_ok(
        "install",
        &["-o", "root", "-g", "root", "-m", mode, from, path_str(to)],
    );
}

pub fn uid_of(user: &str) -> u32 {
    sh(&format!("id -u {user}")).trim().parse().unwrap()
}

fn gid_of(user: &str) -> u32 {
    sh(&format!("id -g {user}")).trim().parse().unwrap()
}

/// What one helper run printed.
#[derive(Debug)]
pub struct Run {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            ok: o.status.success(),
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// The last stderr line (after any warnings).
    pub fn error(&self) -> &str {
        self.stderr.lines().last().unwrap_or("")
    }
}

pub struct Scenario {
    pub dir: tempfile::TempDir,
    pub helper: PathBuf,
    anchor: Child,
    pub anchor_pid: u32,
    children: Vec<Child>,
}

fn wait_exec(pid: u32, comm: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("pid {pid} never became `{comm}`");
}

fn netns_id(pid: u32) -> PathBuf {
    fs::read_link(format!("/proc/{pid}/ns/net")).unwrap()
}

impl Scenario {
    /// A scenario with `usernet` as /etc/lxc/lxc-usernet and one bridge
    /// per name in `bridges`.
    pub fn new(usernet: &str, bridges: &[&str]) -> Scenario {
        let dir = tempfile::Builder::new()
            .prefix("lxu-user-nic-")
            .tempdir()
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let helper = dir.path().join("lxu-user-nic");
        let built = std::env::var("LXU_TEST_USER_NIC")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_lxu-user-nic").to_string());
        install_program(&built, &helper, "4755");
        fs::create_dir(dir.path().join("etc-lxc")).unwrap();
        fs::create_dir(dir.path().join("run-lxu")).unwrap();
        fs::set_permissions(
            dir.path().join("run-lxu"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        fs::write(dir.path().join("etc-lxc/lxc-usernet"), usernet).unwrap();
        // Mount point for the private bind mount; the real helper would
        // create this directory itself.
        let _ = fs::DirBuilder::new().mode_0755().create("/run/lxu");

        let anchor = Command::new("unshare")
            .args(["-m", "-n", "--propagation", "private", "sleep", "infinity"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let anchor_pid = anchor.id();
        wait_exec(anchor_pid, "sleep");
        let sc = Scenario {
            dir,
            helper,
            anchor,
            anchor_pid,
            children: Vec::new(),
        };
        let d = sc.dir.path().display().to_string();
        sc.root_ok(&[
            "sh",
            "-c",
            &format!(
                "mount --bind {d}/etc-lxc /etc/lxc && mount --bind {d}/run-lxu /run/lxu && ip link set lo up"
            ),
        ]);
        for b in bridges {
            sc.root_ok(&["ip", "link", "add", b, "type", "bridge"]);
            sc.root_ok(&["ip", "link", "set", b, "up"]);
        }
        sc
    }

    fn nsenter(&self) -> Command {
        let mut c = Command::new("/usr/bin/nsenter");
        c.args(["-t", &self.anchor_pid.to_string(), "-m", "-n", "--"]);
        c.stdin(Stdio::null());
        c
    }

    /// Runs a command as root inside the scenario.
    pub fn root(&self, cmd: &[&str]) -> Run {
        self.nsenter().args(cmd).output().unwrap().into()
    }

    pub fn root_ok(&self, cmd: &[&str]) -> String {
        let r = self.root(cmd);
        assert!(r.ok, "{cmd:?}: {}", r.stderr);
        r.stdout
    }

    /// A command line that runs `cmd` as `user` inside the scenario.
    pub fn as_user(&self, user: &str, cmd: &[&str]) -> Command {
        let mut c = self.nsenter();
        c.args([
            "/usr/bin/setpriv",
            &format!("--reuid={}", uid_of(user)),
            &format!("--regid={}", gid_of(user)),
            "--init-groups",
            "--",
        ]);
        c.args(cmd);
        c
    }

    /// Runs `cmd` as `user` inside the scenario.
    pub fn run_as(&self, user: &str, cmd: &[&str]) -> Run {
        self.as_user(user, cmd).output().unwrap().into()
    }

    /// Runs the setuid helper as `user`.
    pub fn helper(&self, user: &str, args: &[&str]) -> Run {
        self.helper_cmd(user, args).output().unwrap().into()
    }

    pub fn helper_cmd(&self, user: &str, args: &[&str]) -> Command {
        let mut cmd = vec![self.helper.to_str().unwrap()];
        cmd.extend_from_slice(args);
        self.as_user(user, &cmd)
    }

    /// [`Scenario::helper_cmd`], started from inside the cgroup whose
    /// `cgroup.procs` is `procs`.
    pub fn helper_cmd_in_cgroup(&self, procs: &Path, user: &str, args: &[&str]) -> Command {
        let inner = self.helper_cmd(user, args);
        let mut c = Command::new("sh");
        c.args(["-c", "echo $$ > \"$0\" && exec \"$@\""])
            .arg(procs)
            .arg(inner.get_program())
            .args(inner.get_args())
            .stdin(Stdio::null());
        c
    }

    /// `create` with the lxcpath/name LXC would pass.
    pub fn create(&self, user: &str, pid: &str, bridge: &str, ifname: Option<&str>) -> Run {
        let mut a = vec![
            "create",
            "/home/x/.local/share/lxc",
            "c1",
            pid,
            "veth",
            bridge,
        ];
        a.extend(ifname);
        self.helper(user, &a)
    }

    pub fn delete(&self, user: &str, netns: &str, bridge: &str, nic: &str) -> Run {
        self.helper(
            user,
            &[
                "delete",
                "/home/x/.local/share/lxc",
                "c1",
                netns,
                "veth",
                bridge,
                nic,
            ],
        )
    }

    /// Starts a long-lived process of `user`; with `own_netns` it sits in a
    /// user+net namespace the user created (`unshare -Urn`), otherwise in
    /// the scenario's (root-owned) netns. Returns its pid.
    pub fn user_process(&mut self, user: &str, own_netns: bool) -> u32 {
        let mut cmd = if own_netns {
            self.as_user(user, &["unshare", "-Urn", "sleep", "1000"])
        } else {
            self.as_user(user, &["sleep", "1000"])
        };
        let child = cmd.spawn().unwrap();
        let pid = child.id();
        self.children.push(child);
        wait_exec(pid, "sleep");
        if own_netns {
            assert_ne!(netns_id(pid), netns_id(self.anchor_pid));
        }
        pid
    }

    /// Starts a root process in a fresh netns of its own.
    pub fn root_netns_process(&mut self) -> u32 {
        let child = self
            .nsenter()
            .args(["unshare", "-n", "sleep", "1000"])
            .spawn()
            .unwrap();
        let pid = child.id();
        self.children.push(child);
        wait_exec(pid, "sleep");
        pid
    }

    pub fn db(&self) -> String {
        fs::read_to_string(self.dir.path().join("run-lxu/nics")).unwrap_or_default()
    }

    pub fn set_db(&self, text: &str) {
        fs::write(self.dir.path().join("run-lxu/nics"), text).unwrap();
    }

    /// Replaces the database with a FIFO: a helper that reads it (which it
    /// does right after taking the lock) blocks, holding the lock, until
    /// [`Scenario::feed_db`].
    pub fn db_fifo(&self) {
        let p = self.dir.path().join("run-lxu/nics");
        let _ = fs::remove_file(&p);
        sh(&format!("mkfifo -m 600 {}", p.display()));
    }

    /// Writes `text` into the database FIFO once a reader has it open.
    /// Returns false if no reader came within `within`.
    pub fn feed_db(&self, text: &str, within: Duration) -> bool {
        let p = self.dir.path().join("run-lxu/nics");
        let deadline = Instant::now() + within;
        loop {
            // Without a reader a non-blocking open for writing fails (ENXIO)
            // instead of waiting forever.
            match fs::OpenOptions::new()
                .write(true)
                .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
                .open(&p)
            {
                Ok(mut f) => {
                    f.write_all(text.as_bytes()).unwrap();
                    return true;
                }
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => return false,
            }
        }
    }

    /// Starts the helper as `user` with its output captured; the child is
    /// killed with the scenario. Returns its pid (setpriv and nsenter exec).
    pub fn spawn_helper(&mut self, user: &str, args: &[&str]) -> u32 {
        let mut cmd = self.helper_cmd(user, args);
        self.spawn_captured(&mut cmd)
    }

    pub fn spawn_captured(&mut self, cmd: &mut Command) -> u32 {
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// Waits up to `within` for a child started by [`Scenario::spawn_helper`]
    /// to exit; `None` if it did not.
    pub fn wait_helper(&mut self, pid: u32, within: Duration) -> Option<Run> {
        let i = self.children.iter().position(|c| c.id() == pid)?;
        let deadline = Instant::now() + within;
        while self.children[i].try_wait().unwrap().is_none() {
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Some(self.children.remove(i).wait_with_output().unwrap().into())
    }

    pub fn usernet(&self, text: &str) {
        fs::write(self.dir.path().join("etc-lxc/lxc-usernet"), text).unwrap();
    }

    /// Device names in the scenario (host) netns.
    pub fn host_links(&self) -> Vec<String> {
        link_names(&self.root_ok(&["ip", "-o", "link"]))
    }

    /// The veth devices in the scenario (host) netns.
    pub fn host_veths(&self) -> BTreeSet<String> {
        self.host_links()
            .into_iter()
            .filter(|l| l.starts_with("veth"))
            .collect()
    }

    /// Device names in the netns of `pid`.
    pub fn links_of(&self, pid: u32) -> Vec<String> {
        let out = Command::new("nsenter")
            .args(["-t", &pid.to_string(), "-n", "ip", "-o", "link"])
            .output()
            .unwrap();
        assert!(out.status.success());
        link_names(&String::from_utf8_lossy(&out.stdout))
    }

    /// `ip -o link show <name>` in the scenario netns.
    pub fn host_link(&self, name: &str) -> String {
        self.root_ok(&["ip", "-o", "link", "show", name])
    }

    pub fn link_in(&self, pid: u32, name: &str) -> String {
        let out = Command::new("nsenter")
            .args([
                "-t",
                &pid.to_string(),
                "-n",
                "ip",
                "-o",
                "link",
                "show",
                name,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{name} not in netns of {pid}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Whether `pid` holds a `flock` (the helper takes exactly one: the
/// database lock).
pub fn holds_flock(pid: u32) -> bool {
    let locks = fs::read_to_string("/proc/locks").unwrap();
    locks.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.get(1) == Some(&"FLOCK") && f.get(4) == Some(&pid.to_string().as_str())
    })
}

/// Waits up to 10 s for `pid` to hold the database lock.
pub fn wait_flock(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if holds_flock(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

/// The value of a `Key:` line of /proc/PID/status, e.g. "CapEff".
pub fn proc_status(pid: u32, key: &str) -> String {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

/// The state letter of /proc/PID/stat (`T` = stopped), or None if gone.
pub fn proc_state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// Names from `ip -o link`, without the `@peer` suffix.
pub fn link_names(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap().to_string())
        .collect()
}

impl Drop for Scenario {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = self.anchor.kill();
        let _ = self.anchor.wait();
    }
}

trait Mode0755 {
    fn mode_0755(&mut self) -> &mut Self;
}

impl Mode0755 for fs::DirBuilder {
    fn mode_0755(&mut self) -> &mut Self {
        std::os::unix::fs::DirBuilderExt::mode(self, 0o755)
    }
}

/// Parses `ct:ctidx:host:hostidx`.
pub fn parse_output(line: &str) -> (String, u32, String, u32) {
    let f: Vec<&str> = line.trim().split(':').collect();
    assert_eq!(f.len(), 4, "bad helper output {line:?}");
    (
        f[0].to_string(),
        f[1].parse().unwrap(),
        f[2].to_string(),
        f[3].parse().unwrap(),
    )
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A cgroup delegated to a test user the way `lxu setup-user` (v1 freezer)
/// or systemd (v2) delegate one: the directory and its interface files are
/// the user's. Removed (thawed, emptied) on drop.
pub struct UserCgroup {
    pub dir: PathBuf,
    /// The file that freezes the cgroup, and its frozen and thawed values.
    pub freeze_file: PathBuf,
    pub frozen: &'static str,
    pub thawed: &'static str,
}

impl UserCgroup {
    /// In the cgroup2 hierarchy at /sys/fs/cgroup, else in the v1 freezer
    /// hierarchy at /sys/fs/cgroup/freezer.
    pub fn new(user: &str) -> UserCgroup {
        const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
        let name = format!("lxu-user-nic-test-{}", std::process::id());
        // f_type's type differs between architectures.
        #[allow(clippy::unnecessary_cast)]
        let v2 = rustix::fs::statfs("/sys/fs/cgroup")
            .is_ok_and(|s| s.f_type as i64 == CGROUP2_SUPER_MAGIC);
        let (dir, file, frozen, thawed, files) = if v2 {
            (
                Path::new("/sys/fs/cgroup").join(name),
                "cgroup.freeze",
                "1",
                "0",
                &[
                    "cgroup.procs",
                    "cgroup.threads",
                    "cgroup.freeze",
                    "cgroup.subtree_control",
                ][..],
            )
        } else {
            let v1 = Path::new("/sys/fs/cgroup/freezer");
            assert!(
                v1.join("cgroup.procs").exists(),
                "neither cgroup2 at /sys/fs/cgroup nor a v1 freezer hierarchy"
            );
            (
                v1.join(name),
                "freezer.state",
                "FROZEN",
                "THAWED",
                &["cgroup.procs", "tasks", "freezer.state"][..],
            )
        };
        fs::create_dir(&dir).unwrap();
        let uid = rustix::fs::Uid::from_raw(uid_of(user));
        for p in std::iter::once(dir.clone()).chain(files.iter().map(|f| dir.join(f))) {
            rustix::fs::chown(&p, Some(uid), None).unwrap();
        }
        UserCgroup {
            freeze_file: dir.join(file),
            dir,
            frozen,
            thawed,
        }
    }

    pub fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }
}

impl Drop for UserCgroup {
    fn drop(&mut self) {
        let _ = fs::write(&self.freeze_file, self.thawed);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let procs = fs::read_to_string(self.procs()).unwrap_or_default();
            if procs.trim().is_empty() {
                break;
            }
            for pid in procs.split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).output();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = fs::remove_dir(&self.dir);
    }
}
