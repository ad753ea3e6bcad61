//! Real-kernel tests. Runs as root, creates a system user, delegates cgroups to
//! it with `delegate_user`, then re-executes this binary as that user
//! (`--role NAME`) to exercise the unprivileged paths, and removes every
//! cgroup, process and the user at the end. Output is TAP-like; any `not ok`
//! makes the process exit non-zero.
//!
//! Skips (exit 0, with a reason) when not root or when cgroups are not
//! mounted, unless LXU_MUST_WORK=1.

use std::collections::BTreeSet;
use std::env;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{exit, Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use lxu_cgroup::{
    delegate_user, enter_user_subtree, undelegate_user, BaseSource, CgroupError, CgroupVersion,
    ContainerCgroup, Delegation, DelegationState, FreezerState, Hierarchies, Limit, Signal,
    MONITOR_LEAF, PAYLOAD_PREFIX, SESSION_LEAF, USER_DIR,
};

const USER: &str = "lxucgtest";

struct Tap {
    n: u32,
    failed: u32,
}

impl Tap {
    fn check(&mut self, ok: bool, what: impl AsRef<str>) -> bool {
        self.n += 1;
        if ok {
            println!("ok {} - {}", self.n, what.as_ref());
        } else {
            self.failed += 1;
            println!("not ok {} - {}", self.n, what.as_ref());
        }
        ok
    }

    fn note(&self, what: impl AsRef<str>) {
        println!("# {}", what.as_ref());
    }
}

/// Skips the whole run (exit 0), or fails it under LXU_MUST_WORK=1.
#[track_caller]
fn skip(reason: impl std::fmt::Display) -> ! {
    lxu_test_support::skip(format_args!("real-kernel cgroup tests: {reason}"));
    exit(0);
}

fn main() {
    let args: Vec<String> = env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--role") {
        let role = args.get(i + 1).cloned().unwrap_or_default();
        exit(run_role(&role));
    }
    if !lxu_test_support::is_root() {
        skip("needs root (to create a test user and delegate cgroups to it)");
    }
    let h = match Hierarchies::detect() {
        Ok(h) if !h.is_empty() => h,
        Ok(_) => skip("no cgroup hierarchy is mounted"),
        Err(e) => skip(format!("cannot detect cgroups: {e}")),
    };
    let mut t = Tap { n: 0, failed: 0 };
    let leftover_user = !ensure_user();
    let (uid, gid) = ids(USER);
    if leftover_user {
        // A crashed earlier run: start from a user without delegation.
        t.note(format!(
            "user {USER} left by an earlier run; cleaning up first"
        ));
        cleanup(&mut t, &h, uid, None);
    }
    let v2_root_ctl =
        h.v2.as_ref()
            .map(|v2| words(&v2.mountpoint.join("cgroup.subtree_control")));
    // A panic in the middle must not leave cgroups, processes or the user behind.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        root_tests(&mut t, &h, uid, gid)
    }));
    if r.is_err() {
        t.check(false, "root part of the tests panicked");
    }
    cleanup(&mut t, &h, uid, v2_root_ctl);
    let ok = Command::new("userdel")
        .arg(USER)
        .status()
        .is_ok_and(|s| s.success());
    t.check(ok, format!("userdel {USER}"));
    println!("1..{}", t.n);
    println!("# {} passed, {} failed", t.n - t.failed, t.failed);
    exit(i32::from(t.failed > 0));
}

fn ensure_user() -> bool {
    if Command::new("id")
        .arg(USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        return false;
    }
    let ok = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            "--user-group",
            USER,
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip("useradd failed");
    }
    true
}

fn ids(user: &str) -> (u32, u32) {
    let get = |flag: &str| -> u32 {
        let out = Command::new("id").arg(flag).arg(user).output().expect("id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("numeric id")
    };
    (get("-u"), get("-g"))
}

fn words(p: &Path) -> Vec<String> {
    fs::read_to_string(p)
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The user's delegated directory in every hierarchy (as root sees it).
fn user_dirs(h: &Hierarchies) -> Vec<(CgroupVersion, PathBuf)> {
    let mut v: Vec<(CgroupVersion, PathBuf)> =
        h.v1.iter()
            .filter_map(|x| x.current_path())
            .map(|p| (CgroupVersion::V1, p.join(USER_DIR).join(USER)))
            .collect();
    if let Some(p) = h.v2.as_ref().and_then(|x| x.current_path()) {
        v.push((CgroupVersion::V2, p.join(USER_DIR).join(USER)));
    }
    v
}

/// Starts a role as the test user; it waits for a line on stdin before running.
fn spawn_role(role: &str, uid: u32, gid: u32) -> Child {
    Command::new(env::current_exe().expect("current_exe"))
        .args(["--role", role])
        .uid(uid)
        .gid(gid)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn role")
}

/// Lets the role run and relays its TAP lines into ours.
fn finish_role(t: &mut Tap, role: &str, mut child: Child) {
    let _ = child.stdin.take().expect("stdin").write_all(b"go\n");
    let out = BufReader::new(child.stdout.take().expect("stdout"));
    for line in out.lines().map_while(Result::ok) {
        if let Some(rest) = line.strip_prefix("ok - ") {
            t.check(true, format!("[{role}] {rest}"));
        } else if let Some(rest) = line.strip_prefix("not ok - ") {
            t.check(false, format!("[{role}] {rest}"));
        } else {
            println!("{line}");
        }
    }
    let st = child.wait().expect("wait role");
    t.check(st.success(), format!("[{role}] exited cleanly ({st})"));
}

fn root_tests(t: &mut Tap, h: &Hierarchies, uid: u32, gid: u32) {
    t.note(format!(
        "v1 hierarchies: {}; v2: {}",
        h.v1.iter().map(|x| x.name()).collect::<Vec<_>>().join(" "),
        h.v2.as_ref().map_or("none".to_owned(), |v| format!(
            "{} controllers [{}]",
            v.mountpoint.display(),
            v.controllers.join(" ")
        ))
    ));

    // Before delegation the user has nothing.
    finish_role(t, "nodeleg", spawn_role("nodeleg", uid, gid));

    let dry = delegate_user(h, USER, uid, gid, true).expect("dry run");
    t.check(
        !dry.is_empty(),
        format!("dry run plans {} changes", dry.len()),
    );
    t.check(
        user_dirs(h).iter().all(|(_, d)| !d.exists()),
        "dry run changed nothing",
    );
    let real = match delegate_user(h, USER, uid, gid, false) {
        Ok(c) => c,
        Err(e) => {
            t.check(false, format!("delegate_user: {e}"));
            return;
        }
    };
    for c in &real {
        println!("#   {c}");
    }
    t.check(real == dry, "the dry run listed exactly the changes made");
    let again = delegate_user(h, USER, uid, gid, false).expect("second run");
    t.check(
        again.is_empty(),
        format!("second delegate_user changes nothing ({again:?})"),
    );
    t.check(
        delegate_user(h, USER, uid, gid, true)
            .expect("dry")
            .is_empty(),
        "dry run after delegation plans nothing",
    );
    for (v, d) in user_dirs(h) {
        let files: &[&str] = match v {
            CgroupVersion::V1 => &["", "tasks", "cgroup.procs"],
            CgroupVersion::V2 => &[
                "",
                "cgroup.procs",
                "cgroup.subtree_control",
                "cgroup.threads",
            ],
        };
        let owned = files
            .iter()
            .all(|f| fs::metadata(d.join(f)).is_ok_and(|m| m.uid() == uid && m.gid() == gid));
        t.check(
            owned,
            format!("{} and its files are owned by {uid}:{gid}", d.display()),
        );
    }
    if let Some(cs) = h.v1_with("cpuset").and_then(|x| x.current_path()) {
        let d = cs.join(USER_DIR).join(USER);
        let cpus = fs::read_to_string(d.join("cpuset.cpus")).unwrap_or_default();
        let clone = fs::read_to_string(d.join("cgroup.clone_children")).unwrap_or_default();
        t.check(
            !cpus.trim().is_empty() && clone.trim() == "1",
            format!(
                "cpuset user dir has cpus `{}` and clone_children=1",
                cpus.trim()
            ),
        );
    }

    finish_role(t, "v1", spawn_role("v1", uid, gid));

    if h.v2.is_some() {
        // Monitor-leaf layout: the role's own cgroup is the delegated base.
        let child = spawn_role("v2leaf", uid, gid);
        let moved =
            h.v2.as_ref()
                .and_then(|v| v.current_path())
                .map(|p| p.join(USER_DIR).join(USER).join("cgroup.procs"))
                .map(|f| fs::write(f, child.id().to_string()));
        t.check(
            matches!(moved, Some(Ok(()))),
            format!("root moved the v2leaf role into lxu/{USER}: {moved:?}"),
        );
        finish_role(t, "v2leaf", child);

        // Session layout: the role sits in lxu/<user>/lxu.session.
        let child = spawn_role("v2session", uid, gid);
        let ch = enter_user_subtree(h, USER, uid, gid, child.id(), false);
        t.check(ch.is_ok(), format!("enter_user_subtree: {ch:?}"));
        let again = enter_user_subtree(h, USER, uid, gid, child.id(), false);
        t.check(
            again.as_ref().is_ok_and(Vec::is_empty),
            format!("enter_user_subtree twice changes nothing: {again:?}"),
        );
        finish_role(t, "v2session", child);
    }
}

/// Kills what the roles left (only processes inside the user's delegated
/// cgroups, which are all ours), removes the delegation and checks that no
/// cgroup with our names is left anywhere.
fn cleanup(t: &mut Tap, h: &Hierarchies, uid: u32, v2_root_ctl: Option<Vec<String>>) {
    let mut stray = BTreeSet::new();
    for (_, d) in user_dirs(h) {
        collect_procs(&d, &mut stray);
    }
    t.check(
        stray.is_empty(),
        format!("no process left in the user's cgroups ({stray:?})"),
    );
    for pid in &stray {
        if let Some(p) = rustix::process::Pid::from_raw(*pid as i32) {
            let _ = rustix::process::kill_process(p, Signal::KILL);
        }
    }
    if !stray.is_empty() {
        sleep(Duration::from_millis(300));
    }
    let r = undelegate_user(h, USER, false);
    t.check(
        r.is_ok(),
        format!("undelegate_user: {:?}", r.as_ref().map(Vec::len)),
    );
    let again = undelegate_user(h, USER, false);
    t.check(
        again.as_ref().is_ok_and(Vec::is_empty),
        "undelegate_user twice changes nothing",
    );
    let mut left = Vec::new();
    for m in
        h.v1.iter()
            .map(|x| x.mountpoint.clone())
            .chain(h.v2.iter().map(|x| x.mountpoint.clone()))
    {
        find_ours(&m, uid, &mut left);
    }
    t.check(
        left.is_empty(),
        format!("no cgroup of the test left on the host: {left:?}"),
    );
    if let (Some(v2), Some(before)) = (&h.v2, v2_root_ctl) {
        let ctl = v2.mountpoint.join("cgroup.subtree_control");
        for c in words(&ctl).iter().filter(|c| !before.contains(c)) {
            let _ = fs::write(&ctl, format!("-{c}"));
        }
        t.check(
            words(&ctl) == before,
            format!("v2 root subtree_control restored to {before:?}"),
        );
    }
}

fn collect_procs(dir: &Path, out: &mut BTreeSet<u32>) {
    if let Ok(s) = fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(s.split_whitespace().filter_map(|x| x.parse::<u32>().ok()));
    }
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|f| f.is_dir()) {
                collect_procs(&e.path(), out);
            }
        }
    }
}

/// Directories below `dir` that this test could have made.
fn find_ours(dir: &Path, uid: u32, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        if !e.file_type().is_ok_and(|f| f.is_dir()) {
            continue;
        }
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let owned = e.metadata().is_ok_and(|m| m.uid() == uid);
        if owned || name.contains(USER) || name.starts_with("lxu.payload.lxucgt") {
            out.push(p.clone());
        }
        find_ours(&p, uid, out);
    }
}

// ---------------------------------------------------------------------------
// Roles, run as the test user.

fn run_role(role: &str) -> i32 {
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    let mut r = Role {
        failed: 0,
        uid: rustix::process::geteuid().as_raw(),
        prefix: format!("lxucgt{}", std::process::id()),
    };
    match role {
        "nodeleg" => r.nodeleg(),
        "v1" => r.v1(),
        "v2leaf" => r.v2leaf(),
        "v2session" => r.v2session(),
        _ => {
            r.check(false, format!("unknown role {role}"));
        }
    }
    i32::from(r.failed > 0)
}

struct Role {
    failed: u32,
    uid: u32,
    prefix: String,
}

/// A `sh -c` child that waits for a line on stdin before running `script`,
/// so it can be attached first.
struct Gated(Child);

impl Gated {
    fn spawn(script: &str) -> Gated {
        let c = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("read _g; {script}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sh");
        Gated(c)
    }

    /// Spawns `script` into `cg` and lets it run.
    fn run_in(cg: &ContainerCgroup, script: &str) -> Gated {
        let mut g = Gated::spawn(script);
        let _ = cg.attach(g.pid());
        g.release();
        g
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn release(&mut self) {
        if let Some(mut s) = self.0.stdin.take() {
            let _ = s.write_all(b"\n");
        }
    }

    fn wait(mut self) -> std::process::ExitStatus {
        self.release();
        self.0.wait().expect("wait")
    }
}

/// The v2 cgroup of `pid`, as /proc/PID/cgroup shows it.
fn v2_cgroup_of(pid: u32) -> String {
    cgroup_lines(pid)
        .into_iter()
        .find(|(k, _)| k.is_empty())
        .map(|x| x.1)
        .unwrap_or_default()
}

fn cgroup_lines(pid: u32) -> Vec<(String, String)> {
    fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let _ = it.next()?;
            Some((it.next()?.to_owned(), it.next()?.to_owned()))
        })
        .collect()
}

/// True if /proc/PID/cgroup shows the container's cgroup in every hierarchy it has.
fn is_inside(cg: &ContainerCgroup, pid: u32) -> bool {
    let lines = cgroup_lines(pid);
    cg.paths().iter().all(|p| {
        let key = match p.version {
            CgroupVersion::V1 => p.hierarchy.clone(),
            CgroupVersion::V2 => String::new(),
        };
        lines.iter().any(|(k, v)| *k == key && *v == p.cgroup)
    })
}

fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return true;
        }
        sleep(Duration::from_millis(10));
    }
    f()
}

fn alive(pid: u32) -> bool {
    // A zombie still has /proc/PID; its state letter is Z.
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .is_some_and(|zombie| !zombie)
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_default().trim().to_owned()
}

fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

impl Role {
    fn check(&mut self, ok: bool, what: impl AsRef<str>) -> bool {
        if ok {
            println!("ok - {}", what.as_ref());
        } else {
            self.failed += 1;
            println!("not ok - {}", what.as_ref());
        }
        ok
    }

    fn name(&self, tag: &str) -> String {
        format!("{}-{tag}", self.prefix)
    }

    fn detect(&mut self) -> Hierarchies {
        Hierarchies::detect().expect("detect as user")
    }

    /// What `h` delegates to this user, printed as TAP comments.
    fn delegation(&self, h: &Hierarchies) -> Delegation {
        let d = h.delegation(self.uid);
        for l in d.to_string().lines() {
            println!("# {l}");
        }
        d
    }

    /// A container cgroup `tag`, or `None` after a failed check.
    fn create(&mut self, h: &Hierarchies, d: &Delegation, tag: &str) -> Option<ContainerCgroup> {
        ContainerCgroup::create(h, d, &self.name(tag))
            .map_err(|e| self.check(false, format!("create {tag}: {e}")))
            .ok()
    }

    /// Checks that `r` failed with an error whose text has every one of `wants`.
    fn check_error<T>(&mut self, r: &Result<T, CgroupError>, wants: &[&str], what: &str) {
        let text = r.as_ref().err().map(|e| e.to_string());
        let ok = text
            .as_deref()
            .is_some_and(|t| wants.iter().all(|w| t.contains(w)));
        self.check(ok, format!("{what}: {}", text.unwrap_or_default()));
    }

    /// `kill_all` with SIGKILL, which must leave the cgroup empty; `what` is the check's
    /// text, followed by the time it took.
    fn kill_all_empties(&mut self, cg: &ContainerCgroup, what: &str) {
        let t0 = Instant::now();
        let k = cg.kill_all(Signal::KILL);
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        self.check(
            k.is_ok() && cg.procs().is_ok_and(|p| p.is_empty()),
            format!("{what} in {ms:.1} ms ({k:?})"),
        );
    }

    /// `remove`, which must leave none of the cgroup's directories.
    fn removed(&mut self, cg: &mut ContainerCgroup, what: &str) {
        let paths = cg.paths();
        let r = cg.remove();
        self.check(
            r.is_ok() && paths.iter().all(|p| !p.path.exists()),
            format!("{what} ({r:?})"),
        );
    }

    /// Freezes `cg` (which holds a busy loop), checks that its cpu time stands still, and
    /// thaws it; returns the cpu time while frozen.
    fn frozen_cpu_stands_still(&mut self, cg: &ContainerCgroup, label: &str) -> Option<u64> {
        let t0 = Instant::now();
        let f = cg.freeze();
        let froze_ms = t0.elapsed().as_secs_f64() * 1000.0;
        self.check(
            f.is_ok() && cg.freezer_state().ok() == Some(FreezerState::Frozen),
            format!("{label}freeze -> frozen in {froze_ms:.1} ms ({f:?})"),
        );
        let c1 = cg.stats().ok().and_then(|s| s.cpu_ns);
        sleep(Duration::from_millis(200));
        let c2 = cg.stats().ok().and_then(|s| s.cpu_ns);
        self.check(
            c1.is_some_and(|c| c > 0) && c1 == c2,
            format!("{label}no cpu time while frozen ({c1:?} -> {c2:?})"),
        );
        let th = cg.thaw();
        self.check(
            th.is_ok() && cg.freezer_state().ok() == Some(FreezerState::Thawed),
            format!("{label}thaw ({th:?})"),
        );
        c2
    }

    fn nodeleg(&mut self) {
        let h = self.detect();
        let d = self.delegation(&h);
        self.check(!d.any_usable(), "nothing is usable before delegation");
        let hint =
            d.v1.iter()
                .all(|x| x.reason().is_some_and(|r| r.contains("lxu setup-user")));
        self.check(hint, "each v1 reason tells to run `lxu setup-user`");
        let w = d.warning();
        self.check(
            w.as_deref().is_some_and(|w| w.contains("none delegated")),
            format!("single start warning: {w:?}"),
        );
        let cg = ContainerCgroup::create(&h, &d, &self.name("nodeleg"));
        let Ok(cg) = cg else {
            self.check(false, format!("create without delegation degrades: {cg:?}"));
            return;
        };
        self.check(
            cg.is_empty(),
            "create without delegation gives an empty container cgroup",
        );
        let e = cg.apply(&kv(&[("memory.limit_in_bytes", "64M")]), &[]);
        self.check(
            matches!(&e, Err(CgroupError::NotDelegated { key, .. }) if key == "memory.limit_in_bytes"),
            format!("apply names the key that cannot be set: {e:?}"),
        );
        let a = cg.apply(
            &kv(&[("devices.deny", "a"), ("devices.allow", "c 1:3 rwm")]),
            &[],
        );
        self.check(
            a.as_ref()
                .is_ok_and(|a| a.skipped.len() == 2 && a.written.is_empty()),
            format!("devices.* keys are skipped for unprivileged callers: {a:?}"),
        );
        let f = cg.freeze();
        self.check(
            matches!(f, Err(CgroupError::NoFreezer(_))),
            format!("freeze reports no freezer: {f:?}"),
        );
    }

    fn v1(&mut self) {
        let h = self.detect();
        let d = self.delegation(&h);
        let all_v1 = d.v1.iter().all(|x| {
            matches!(
                &x.state,
                DelegationState::Usable {
                    source: BaseSource::UserDir,
                    ..
                }
            )
        });
        self.check(
            all_v1,
            "every v1 hierarchy is usable through the per-user cgroup",
        );
        if let Some(v2) = &d.v2 {
            let why = v2.reason().unwrap_or("");
            self.check(
                !v2.is_usable() && why.contains("common ancestor"),
                format!("v2 is not usable from outside the subtree: {why}"),
            );
            // The kernel agrees: moving ourselves into our own subtree fails.
            if let Some(base) = h.v2.as_ref().and_then(|v| v.current_path()) {
                let f = base.join(USER_DIR).join(USER).join("cgroup.procs");
                let e = fs::write(&f, std::process::id().to_string());
                self.check(
                    e.as_ref().err().and_then(|e| e.raw_os_error()) == Some(13),
                    format!("kernel refuses the v2 move with EACCES (not EIO): {e:?}"),
                );
            }
        }
        self.check(
            d.warning().is_none(),
            format!("no start warning with v1 delegated: {:?}", d.warning()),
        );

        let Some(mut cg) = self.create(&h, &d, "main") else {
            return;
        };
        self.check(
            cg.paths().len() == h.v1.len() && cg.paths().iter().all(|p| p.path.is_dir()),
            format!(
                "container cgroup created in all {} v1 hierarchies",
                h.v1.len()
            ),
        );
        self.check(
            cg.paths()
                .iter()
                .all(|p| fs::metadata(&p.path).is_ok_and(|m| m.uid() == self.uid)),
            "container cgroups are owned by the user",
        );

        // attach
        let mut sleeper = Gated::spawn("exec sleep 1000");
        let a = cg.attach(sleeper.pid());
        self.check(a.is_ok(), format!("attach a sleeping child: {a:?}"));
        self.check(
            is_inside(&cg, sleeper.pid()),
            "/proc/PID/cgroup shows the container cgroup everywhere",
        );
        self.check(
            cg.procs().is_ok_and(|p| p == [sleeper.pid()]),
            format!("procs() = {:?}", cg.procs()),
        );
        self.check_error(
            &cg.attach(1),
            &["equals its effective uid"],
            "attaching a process of another uid fails with the v1 rule",
        );
        sleeper.release();

        // limits, native and translated
        let applied = cg.apply(
            &kv(&[
                ("memory.limit_in_bytes", "64M"),
                ("pids.max", "20"),
                ("cpuset.cpus", "0"),
                ("devices.allow", "c 1:3 rwm"),
            ]),
            &[],
        );
        self.check(
            applied.is_ok(),
            format!("apply memory and pids limits: {applied:?}"),
        );
        let mem = h
            .v1_with("memory")
            .and_then(|_| cg.paths().into_iter().find(|p| p.has("memory")));
        let pids = cg.paths().into_iter().find(|p| p.has("pids"));
        if let (Some(mem), Some(pids)) = (&mem, &pids) {
            self.check(
                read(&mem.path.join("memory.limit_in_bytes")) == "67108864",
                "memory.limit_in_bytes reads back 67108864",
            );
            self.check(
                read(&pids.path.join("pids.max")) == "20",
                "pids.max reads back 20",
            );
            if let Some(cs) = cg.paths().into_iter().find(|p| p.has("cpuset")) {
                self.check(
                    read(&cs.path.join("cpuset.cpus")) == "0",
                    "cpuset.cpus reads back 0",
                );
            }
            let tr = cg.apply(
                &[],
                &kv(&[
                    ("memory.max", "48M"),
                    ("cpu.weight", "100"),
                    ("cpu.max", "50000 100000"),
                ]),
            );
            self.check(tr.is_ok(), format!("v2 keys are translated to v1: {tr:?}"));
            self.check(
                read(&mem.path.join("memory.limit_in_bytes")) == "50331648",
                "lxc.cgroup2.memory.max=48M set memory.limit_in_bytes",
            );
            if let Some(cpu) = cg.paths().into_iter().find(|p| p.has("cpu")) {
                self.check(
                    read(&cpu.path.join("cpu.shares")) == "2597"
                        && read(&cpu.path.join("cpu.cfs_quota_us")) == "50000"
                        && read(&cpu.path.join("cpu.cfs_period_us")) == "100000",
                    "cpu.weight/cpu.max became cpu.shares 2597, quota 50000, period 100000",
                );
            }
        }
        self.check_error(
            &cg.apply(&[], &kv(&[("memory.high", "1G")])),
            &["`memory.high`", "no equivalent"],
            "v2-only key without v1 equivalent",
        );
        self.check_error(
            &cg.apply(&kv(&[("net_cls.classid", "1")]), &[]),
            &["`net_cls.classid`: controller `net_cls` is not delegated"],
            "unknown controller is named",
        );

        // stats
        let busy = Gated::run_in(
            &cg,
            "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; exec sleep 1000",
        );
        sleep(Duration::from_millis(300));
        match cg.stats() {
            Ok(s) => {
                println!("# stats: {s:?}");
                self.check(
                    s.memory_bytes.is_some_and(|m| m > 0),
                    "stats: memory usage > 0",
                );
                self.check(
                    s.memory_limit == Some(Limit::Value(50_331_648)),
                    "stats: memory limit 48M",
                );
                self.check(
                    s.cpu_ns.is_some_and(|c| c > 1_000_000),
                    "stats: cpu time > 1 ms",
                );
                self.check(s.pids == Some(2), "stats: 2 pids");
                self.check(
                    s.pids_limit == Some(Limit::Value(20)),
                    "stats: pids limit 20",
                );
                self.check(
                    s.kmem_bytes.is_some() && s.blkio_bytes.is_some(),
                    "stats: kmem and blkio present",
                );
            }
            Err(e) => {
                self.check(false, format!("stats: {e}"));
            }
        }

        // freezer: a busy loop does not advance while frozen
        let spin = Gated::run_in(&cg, "while :; do :; done");
        sleep(Duration::from_millis(50));
        let c2 = self.frozen_cpu_stands_still(&cg, "");
        sleep(Duration::from_millis(100));
        let c3 = cg.stats().ok().and_then(|s| s.cpu_ns);
        self.check(c3 > c2, "cpu time advances again after thaw");

        // kill_all, then a double-forked grandchild
        self.kill_all_empties(&cg, "kill_all empties the cgroup");
        for g in [sleeper, busy, spin] {
            let st = g.wait();
            self.check(
                st.to_string().contains("SIGKILL") || st.code().is_none(),
                format!("child died by signal ({st})"),
            );
        }

        let dbl = Gated::run_in(&cg, "sh -c 'sleep 1000 &' ; exec sleep 1000");
        let two = wait_until(Duration::from_secs(3), || {
            cg.procs().is_ok_and(|p| p.len() == 2)
        });
        let procs = cg.procs().unwrap_or_default();
        let orphan: Vec<u32> = procs.iter().copied().filter(|p| *p != dbl.pid()).collect();
        self.check(
            two && orphan.len() == 1,
            format!("double fork leaves an orphan in the cgroup: {procs:?}"),
        );
        self.kill_all_empties(&cg, "kill_all killed the orphaned grandchild too");
        self.check(
            orphan
                .iter()
                .all(|p| wait_until(Duration::from_secs(2), || !alive(*p))),
            format!("orphan {orphan:?} is gone"),
        );
        let _ = dbl.wait();

        // fork bomb stops at pids.max
        let _ = cg.apply(&kv(&[("pids.max", "20")]), &[]);
        if let Some(pids) = &pids {
            // Every shell forks a pipeline of two more and then stays in sleep;
            // dash gives up a branch when a fork fails, so the rest stay put.
            let bomb = Gated::run_in(&cg, "f() { f | f & sleep 1000; }; f");
            let hit = wait_until(Duration::from_secs(5), || {
                read(&pids.path.join("pids.events"))
                    .split_whitespace()
                    .nth(1)
                    .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n > 0))
            });
            sleep(Duration::from_millis(200));
            let cur: u32 = read(&pids.path.join("pids.current")).parse().unwrap_or(999);
            let n = cg.procs().map(|p| p.len()).unwrap_or(0);
            self.check(
                hit && cur <= 20 && n >= 5,
                format!(
                    "fork bomb held at the pids limit: {n} processes, pids.current {cur}, events `{}`",
                    read(&pids.path.join("pids.events"))
                ),
            );
            self.kill_all_empties(&cg, &format!("kill_all cleaned {n} fork-bomb processes"));
            let _ = bomb.wait();
        }

        // memory limit is enforced: a 200 MB buffer in a 32 MB cgroup is killed
        if let Some(mem) = &mem {
            let _ = cg.apply(&kv(&[("memory.limit_in_bytes", "32M")]), &[]);
            let hog = Gated::spawn("head -c 200000000 /dev/zero | tail > /dev/null; echo done");
            let _ = cg.attach(hog.pid());
            let st = hog.wait();
            let oom = read(&mem.path.join("memory.oom_control"));
            let killed = oom
                .lines()
                .any(|l| l.starts_with("oom_kill ") && !l.ends_with(" 0"));
            self.check(
                killed,
                format!(
                    "memory limit enforced: OOM kill inside the cgroup (sh {st}; {})",
                    oom.replace('\n', ", ")
                ),
            );
            let _ = cg.kill_all(Signal::KILL);
        }

        // remove leaves nothing
        self.removed(&mut cg, "remove leaves no directory");
        self.check(cg.remove().is_ok(), "remove twice is fine");

        self.leftover(&h, &d);
        self.cycles(&h, &d, 50);
    }

    /// A crashed monitor's cgroup: refused while busy, taken over once empty.
    fn leftover(&mut self, h: &Hierarchies, d: &Delegation) {
        let name = self.name("crash");
        let cg = ContainerCgroup::create(h, d, &name).expect("create");
        let g = Gated::run_in(&cg, "exec sleep 1000");
        drop(cg); // the monitor "crashes": nothing removed
        let e = ContainerCgroup::create(h, d, &name);
        self.check(
            matches!(&e, Err(CgroupError::Busy { pids, .. }) if pids == &[g.pid()]),
            format!("leftover with a live process is refused: {e:?}"),
        );
        let old = ContainerCgroup::open(h, d, &name).expect("open");
        self.check(
            old.procs().is_ok_and(|p| p == [g.pid()]),
            "open() finds the leftover and its process",
        );
        let _ = old.kill_all(Signal::KILL);
        let _ = g.wait();
        match ContainerCgroup::create(h, d, &name) {
            Ok(mut cg) => {
                self.check(
                    cg.notes().iter().any(|n| n.contains("leftover")),
                    format!("empty leftover is taken over: {:?}", cg.notes()),
                );
                self.check(cg.remove().is_ok(), "and removed");
            }
            Err(e) => {
                self.check(false, format!("empty leftover is taken over: {e}"));
            }
        }
    }

    fn cycles(&mut self, h: &Hierarchies, d: &Delegation, n: u32) {
        let t0 = Instant::now();
        let mut bad = Vec::new();
        for i in 0..n {
            let name = self.name(&format!("cyc{i}"));
            let res = (|| -> Result<(), CgroupError> {
                let mut cg = ContainerCgroup::create(h, d, &name)?;
                let g = Gated::spawn("exec sleep 1000");
                cg.attach(g.pid())?;
                cg.kill_all(Signal::KILL)?;
                // Before reaping: the unreaped zombie must not keep the cgroup busy.
                let r = cg.remove();
                let _ = g.wait();
                r
            })();
            if let Err(e) = res {
                bad.push(format!("{i}: {e}"));
            }
        }
        let per = t0.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
        self.check(
            bad.is_empty(),
            format!("{n} create/attach/kill/remove cycles ({per:.1} ms each): {bad:?}"),
        );
        let left: Vec<PathBuf> = d
            .all()
            .filter_map(|x| x.base())
            .flat_map(|b| fs::read_dir(b).into_iter().flatten().flatten())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(PAYLOAD_PREFIX))
            })
            .collect();
        self.check(
            left.is_empty(),
            format!("no container directory left after the cycles: {left:?}"),
        );
    }

    /// The role's own cgroup is `lxu/<user>` on v2 (root put it there): the
    /// monitor must move into a leaf before controllers can be enabled.
    fn v2leaf(&mut self) {
        let mut h = self.detect();
        h.v1.clear(); // look at v2 alone, as on a pure v2 host
        let d = self.delegation(&h);
        let Some(v2d) = &d.v2 else { return };
        self.check(
            matches!(
                &v2d.state,
                DelegationState::Usable {
                    source: BaseSource::Current,
                    ..
                }
            ),
            format!("v2 base is the role's own cgroup: {:?}", v2d.state),
        );
        let base = v2d.base().map(Path::to_owned).unwrap_or_default();
        let Some(mut cg) = self.create(&h, &d, "leaf") else {
            return;
        };
        let me = std::process::id();
        let my_v2 = v2_cgroup_of(me);
        self.check(
            my_v2.ends_with(&format!("/{USER}/{MONITOR_LEAF}")),
            format!("monitor moved itself to {my_v2}"),
        );
        let avail = words(&base.join("cgroup.controllers"));
        let payload = cg.paths().into_iter().next().expect("v2 path");
        self.check(
            payload.controllers == avail,
            format!(
                "controllers {avail:?} enabled for the container: {:?}",
                payload.controllers
            ),
        );
        let g = Gated::spawn("exec sleep 1000");
        let a = cg.attach(g.pid());
        self.check(
            a.is_ok() && is_inside(&cg, g.pid()),
            format!("v2 attach as the user from inside the subtree: {a:?}"),
        );
        let k = cg.kill_all(Signal::KILL);
        self.check(k.is_ok(), format!("kill_all: {k:?}"));
        let _ = g.wait();
        let r = cg.remove();
        let my_v2 = v2_cgroup_of(me);
        self.check(
            r.is_ok() && !base.join(MONITOR_LEAF).exists() && my_v2.ends_with(&format!("/{USER}")),
            format!("remove moved the monitor back and left nothing ({r:?}, now in {my_v2}, notes {:?})", cg.notes()),
        );
        self.check(
            words(&base.join("cgroup.subtree_control")).is_empty(),
            "controllers it enabled are disabled again",
        );
    }

    /// The role lives in `lxu/<user>/lxu.session`: containers become its siblings.
    fn v2session(&mut self) {
        let h = self.detect();
        let d = self.delegation(&h);
        let Some(v2d) = &d.v2 else { return };
        self.check(
            matches!(&v2d.state, DelegationState::Usable { source: BaseSource::Ancestor, cgroup, .. } if cgroup.ends_with(&format!("{USER_DIR}/{USER}"))),
            format!("v2 base is lxu/{USER}, the parent of {SESSION_LEAF}: {:?}", v2d.state),
        );
        let Some(mut cg) = self.create(&h, &d, "hyb") else {
            return;
        };
        self.check(
            cg.paths().len() == h.v1.len() + 1,
            "hybrid: one cgroup per v1 hierarchy plus v2",
        );
        let mut g = Gated::spawn("exec sleep 1000");
        let a = cg.attach(g.pid());
        self.check(
            a.is_ok() && is_inside(&cg, g.pid()),
            format!("attach into v1 and v2 as the user: {a:?}"),
        );
        g.release();
        let v2p = cg
            .paths()
            .into_iter()
            .find(|p| p.version == CgroupVersion::V2)
            .expect("v2");
        if v2p.has("hugetlb") && v2p.path.join("hugetlb.2MB.max").exists() {
            let r = cg.apply(&[], &kv(&[("hugetlb.2MB.max", "0")]));
            self.check(
                r.is_ok() && read(&v2p.path.join("hugetlb.2MB.max")) == "0",
                format!("v2 hugetlb.2MB.max written on the real v2 hierarchy: {r:?}"),
            );
        }
        let r = cg.apply(&[], &kv(&[("memory.max", "max")]));
        let mem = cg.paths().into_iter().find(|p| p.has("memory"));
        if let Some(mem) = mem {
            self.check(
                r.is_ok() && read(&mem.path.join("memory.limit_in_bytes")) == "9223372036854771712",
                format!("v2 memory.max=max lands in v1 memory as -1: {r:?}"),
            );
        }
        self.kill_all_empties(&cg, "kill_all (v2 cgroup.kill, then v1 check)");
        let _ = g.wait();
        self.removed(&mut cg, "remove");

        // v2 alone, as on a pure v2 host (freezer, kill, stats from core files)
        let mut h2 = h.clone();
        h2.v1.clear();
        let d2 = h2.delegation(self.uid);
        let Some(mut cg) = self.create(&h2, &d2, "v2") else {
            return;
        };
        let spin = Gated::run_in(&cg, "sh -c 'while :; do :; done' & exec sleep 1000");
        let two = wait_until(Duration::from_secs(3), || {
            cg.procs().is_ok_and(|p| p.len() == 2)
        });
        self.check(two, "v2: double-forked busy grandchild in the cgroup");
        self.frozen_cpu_stands_still(&cg, "v2 cgroup.freeze: ");
        self.check_error(
            &cg.apply(&kv(&[("memory.limit_in_bytes", "64M")]), &[]),
            &["controller `memory` is not delegated"],
            "v2-only: memory key fails clearly",
        );
        self.kill_all_empties(&cg, "v2 cgroup.kill emptied the cgroup");
        let _ = spin.wait();
        self.removed(&mut cg, "v2 remove");

        self.cycles(&h, &d, 20);
    }
}
