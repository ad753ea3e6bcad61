//! A `Lab`: one test's own lxcpath, the lxu invocations on it, and its cleanup.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::host::{self, Range, User};
use crate::run::{self, Output, DEFAULT_TIMEOUT};
use crate::{need, path_str, skip};

/// The lxu binary under test: `LXU_BIN`, else the workspace's release build (`./x`
/// builds it for the host triple, statically linked, as it installs it).
pub fn lxu_bin() -> PathBuf {
    match std::env::var_os("LXU_BIN").filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => {
            let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
            [
                "x86_64-unknown-linux-gnu/release/lxu",
                "aarch64-unknown-linux-gnu/release/lxu",
            ]
            .iter()
            .map(|p| target.join(p))
            .find(|p| p.exists())
            .unwrap_or_else(|| target.join("release/lxu"))
        }
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn next_n() -> usize {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// The running test's name (libtest names each test's thread after it), made safe for a
/// path.
fn test_name() -> String {
    let t = std::thread::current();
    let raw = t.name().filter(|n| *n != "main").unwrap_or("test");
    let raw = raw.rsplit("::").next().unwrap_or(raw);
    raw.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect()
}

/// Makes `dir` (not its parents) with mode 0755 if missing: every directory on the way to
/// a rootfs must be searchable by the container's root, whatever the umask.
fn mkdir_searchable(dir: &Path) -> std::io::Result<()> {
    match std::fs::create_dir(dir) {
        Ok(()) => std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// One test's world: an lxcpath of its own (so tests run in parallel), a scratch
/// directory, and the identity of the caller. Dropping it kills and destroys every
/// container in its lxcpath, even after a failed assertion.
pub struct Lab {
    pub bin: PathBuf,
    pub lxcpath: PathBuf,
    /// Removed when the lab drops: the lxcpath or a directory above it.
    root: PathBuf,
    /// Scratch files (extra configs …), next to the lxcpath.
    pub files: PathBuf,
    pub user: User,
    pub home: PathBuf,
    /// The caller's first subordinate uid and gid ranges.
    pub subuid: Range,
    pub subgid: Range,
    pid: u32,
}

impl Lab {
    /// A lab for an unprivileged caller; `None` (after [`skip`]) when this machine or
    /// user cannot run the tests.
    #[track_caller]
    pub fn new() -> Option<Lab> {
        let bin = lxu_bin();
        let why = format!(
            "no lxu binary at `{}` (set LXU_BIN or build with cargo build --release)",
            bin.display()
        );
        if !need(bin.is_file(), why) {
            return None;
        }
        let uid = rustix::process::getuid().as_raw();
        if !need(uid != 0, "these tests run as an unprivileged user with subordinate ids (./x test runs them as lxutest)") {
            return None;
        }
        let Some(user) = host::user_by_uid(uid) else {
            skip(format!("uid {uid} has no /etc/passwd entry"));
            return None;
        };
        let (Some(subuid), Some(subgid)) = (
            host::subid_ranges("/etc/subuid", &user).first().copied(),
            host::subid_ranges("/etc/subgid", &user).first().copied(),
        ) else {
            skip(format!(
                "{} has no subordinate ids in /etc/subuid and /etc/subgid (run `lxu setup-user {}` as root)",
                user.name, user.name
            ));
            return None;
        };
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| user.home.clone());
        let base = home.join(".cache/lxu-tests");
        for d in [home.join(".cache"), base.clone()] {
            if let Err(e) = mkdir_searchable(&d) {
                panic!("create `{}`: {e}", d.display());
            }
        }
        let pid = std::process::id();
        let id = format!("{}-{pid}-{}", test_name(), next_n());
        let lxcpath = base.join(&id);
        let files = base.join(format!("{id}.files"));
        for d in [&lxcpath, &files] {
            let _ = std::fs::remove_dir_all(d);
            if let Err(e) = mkdir_searchable(d) {
                panic!("create `{}`: {e}", d.display());
            }
        }
        Some(Lab {
            bin,
            root: lxcpath.clone(),
            lxcpath,
            files,
            user,
            home,
            subuid,
            subgid,
            pid,
        })
    }

    /// A lab whose lxcpath is at least `len` bytes long (deep home directories exist, and
    /// unix socket paths are limited to 107 bytes).
    #[track_caller]
    pub fn deep(len: usize) -> Option<Lab> {
        let mut lab = Lab::new()?;
        let mut p = lab.lxcpath.clone();
        while p.as_os_str().len() < len {
            p.push("d".repeat(40));
            if let Err(e) = mkdir_searchable(&p) {
                panic!("create `{}`: {e}", p.display());
            }
        }
        lab.lxcpath = p;
        Some(lab)
    }

    /// A container name unique to this run (names become hostnames and may name
    /// per-container resources outside the lxcpath, so parallel tests must not share them).
    pub fn name(&self, prefix: &str) -> String {
        format!("{prefix}-{}-{}", self.pid % 100_000, next_n())
    }

    /// `lxu ARGS…` with `-P <lxcpath>` inserted after the verb.
    pub fn call(&self, args: &[&str]) -> Call<'_> {
        Call::new(self, None, args)
    }

    /// The same binary run as `arg0` (an LXC tool name), `-P <lxcpath>` first.
    pub fn applet(&self, arg0: &str, args: &[&str]) -> Call<'_> {
        Call::new(self, Some(arg0), args)
    }

    /// Runs `lxu ARGS…` on this lab's lxcpath.
    #[track_caller]
    pub fn lxu(&self, args: &[&str]) -> Output {
        self.call(args).run()
    }

    /// Writes a scratch file; returns its path.
    pub fn write(&self, file: &str, text: &str) -> PathBuf {
        let p = self.files.join(file);
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("write `{}`: {e}", p.display()));
        p
    }

    /// The `-f` file giving a container no network: the test user's default.conf (from
    /// setup-user) has a veth on lxcbr0, which these tests leave alone.
    pub fn no_net_conf(&self) -> PathBuf {
        let p = self.files.join("no-net.conf");
        if !p.exists() {
            self.write("no-net.conf", "lxc.net.0.type = empty\n");
        }
        p
    }

    pub fn dir(&self, name: &str) -> PathBuf {
        self.lxcpath.join(name)
    }

    pub fn config(&self, name: &str) -> PathBuf {
        self.dir(name).join("config")
    }

    pub fn rootfs(&self, name: &str) -> PathBuf {
        self.dir(name).join("rootfs")
    }

    /// The monitor's command socket.
    pub fn socket(&self, name: &str) -> PathBuf {
        self.dir(name).join("lxu.sock")
    }

    pub fn read_config(&self, name: &str) -> String {
        let p = self.config(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read `{}`: {e}", p.display()))
    }

    pub fn write_config(&self, name: &str, text: &str) {
        let p = self.config(name);
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("write `{}`: {e}", p.display()));
    }

    /// Appends `lines` (a newline added if they lack one) to the config of `name`; returns
    /// the number of the last line.
    pub fn append_config(&self, name: &str, lines: &str) -> usize {
        let mut text = self.read_config(name);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(lines);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        self.write_config(name, &text);
        text.lines().count()
    }

    /// `lxu create -n NAME -t TEMPLATE -f CONF`, whatever its result.
    #[track_caller]
    pub fn create_from(&self, name: &str, template: &str, conf: &Path) -> Output {
        self.lxu(&["create", "-n", name, "-t", template, "-f", path_str(conf)])
    }

    /// Creates a busybox container without network; asserts success.
    #[track_caller]
    pub fn create(&self, name: &str) -> Output {
        let out = self.create_from(name, "busybox", &self.no_net_conf());
        out.success();
        out
    }

    /// A new busybox container (not started); returns its name.
    #[track_caller]
    pub fn created(&self, prefix: &str) -> String {
        let name = self.name(prefix);
        self.create(&name);
        name
    }

    /// Starts `name`; asserts success.
    #[track_caller]
    pub fn start(&self, name: &str) -> Output {
        let out = self.lxu(&["start", "-n", name]);
        out.success();
        out
    }

    /// A new running busybox container; returns its name.
    #[track_caller]
    pub fn running(&self, prefix: &str) -> String {
        let name = self.created(prefix);
        self.start(&name);
        name
    }

    /// `lxu info -s -H`: the bare state.
    #[track_caller]
    pub fn state(&self, name: &str) -> String {
        let out = self.lxu(&["info", "-n", name, "-s", "-H"]);
        out.success();
        out.out().to_string()
    }

    /// `lxu info -p -H`: init's pid on the host.
    #[track_caller]
    pub fn init_pid(&self, name: &str) -> i32 {
        let out = self.lxu(&["info", "-n", name, "-p", "-H"]);
        out.success();
        out.out()
            .parse()
            .unwrap_or_else(|_| panic!("`info -p -H` printed no pid\n{out}"))
    }

    /// The monitor of a running container: init's parent on the host.
    #[track_caller]
    pub fn monitor_pid(&self, name: &str) -> i32 {
        let init = self.init_pid(name);
        let p = host::proc_status(init).unwrap_or_else(|| panic!("init {init} of {name} is gone"));
        p.ppid
    }

    /// `lxu attach -n NAME -- /bin/sh -c SCRIPT`.
    #[track_caller]
    pub fn attach(&self, name: &str, script: &str) -> Output {
        self.lxu(&["attach", "-n", name, "--", "/bin/sh", "-c", script])
    }

    /// `lxu attach -n NAME -- ARGV…`: a command run without a shell.
    #[track_caller]
    pub fn exec(&self, name: &str, argv: &[&str]) -> Output {
        self.lxu(&[&["attach", "-n", name, "--"], argv].concat())
    }

    /// `lxu attach -n NAME -u ID -g ID -- ARGV…`: a command run as user and group `id`.
    #[track_caller]
    pub fn exec_as(&self, name: &str, id: &str, argv: &[&str]) -> Output {
        self.lxu(&[&["attach", "-n", name, "-u", id, "-g", id, "--"], argv].concat())
    }

    /// Like [`Lab::attach`], asserting success; returns stdout trimmed.
    #[track_caller]
    pub fn sh(&self, name: &str, script: &str) -> String {
        let out = self.attach(name, script);
        out.success();
        out.out().to_string()
    }

    /// Names of the directories in the lxcpath.
    fn dirs(&self) -> Vec<String> {
        std::fs::read_dir(&self.lxcpath)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn quiet(&self, args: &[&str]) -> Option<Output> {
        let (cmd, desc) = self.call(args).command();
        run::try_run(cmd, desc, None, Duration::from_secs(30)).ok()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Never panics: this runs while a failed test unwinds.
        for name in self.dirs() {
            let _ = self.quiet(&["stop", "-n", &name, "-k"]);
            let destroyed = self
                .quiet(&["destroy", "-n", &name, "-f", "-s"])
                .is_some_and(|o| o.code == Some(0));
            if !destroyed && self.dir(&name).exists() {
                for m in host::monitors_of(&self.dir(&name)) {
                    host::kill(m, rustix::process::Signal::KILL);
                }
                std::thread::sleep(Duration::from_millis(100));
                if self
                    .quiet(&["destroy", "-n", &name, "-f", "-s"])
                    .is_none_or(|o| o.code != Some(0))
                {
                    eprintln!(
                        "lab cleanup: could not destroy `{}`",
                        self.dir(&name).display()
                    );
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.root);
        let _ = std::fs::remove_dir_all(&self.files);
    }
}

/// One lxu invocation being put together.
pub struct Call<'a> {
    lab: &'a Lab,
    arg0: Option<String>,
    args: Vec<String>,
    lxcpath: bool,
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
}

impl<'a> Call<'a> {
    fn new(lab: &'a Lab, arg0: Option<&str>, args: &[&str]) -> Call<'a> {
        Call {
            lab,
            arg0: arg0.map(str::to_string),
            args: args.iter().map(|s| s.to_string()).collect(),
            lxcpath: true,
            env: Vec::new(),
            stdin: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Leaves out `-P` (for verbs that take none, or to test the default lxcpath).
    pub fn no_lxcpath(mut self) -> Self {
        self.lxcpath = false;
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> Self {
        self.env
            .push((k.to_string(), v.as_ref().to_string_lossy().into_owned()));
        self
    }

    pub fn stdin(mut self, data: &str) -> Self {
        self.stdin = Some(data.as_bytes().to_vec());
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// The command and its description, to run or spawn.
    pub fn command(&self) -> (Command, String) {
        let mut cmd = Command::new(&self.lab.bin);
        if let Some(a) = &self.arg0 {
            cmd.arg0(a);
        }
        let p = self.lab.lxcpath.to_string_lossy().into_owned();
        let mut args = self.args.clone();
        if self.lxcpath {
            // After the verb for `lxu VERB`, first for an `lxc-*` name.
            let at = if self.arg0.is_some() {
                0
            } else {
                1.min(args.len())
            };
            args.splice(at..at, ["-P".to_string(), p]);
        }
        cmd.args(&args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let desc = run::describe(&cmd, self.arg0.as_deref().or(Some("lxu")));
        (cmd, desc)
    }

    #[track_caller]
    pub fn run(self) -> Output {
        let (cmd, desc) = self.command();
        run::run(cmd, desc, self.stdin.as_deref(), self.timeout)
    }
}
