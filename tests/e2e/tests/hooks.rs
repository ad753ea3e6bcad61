//! `lxc.hook.*` as the unprivileged test user: each type runs where and when LXC runs it,
//! with LXC's arguments and variables, and a failing hook fails the start and leaves
//! nothing running.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use lxu_e2e::{host, Lab};
use lxu_test_support::TempDir;

/// A directory every id can use: hooks that run as the container's root (pre-mount,
/// mount) cannot reach the test user's 0700 home. Removed on drop.
struct Shared(TempDir);

impl Shared {
    fn new(tag: &str) -> Shared {
        let d = TempDir::new(&format!("lxu-hooks-{tag}"));
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let s = Shared(d);
        s.reset();
        s
    }

    /// An empty log every id may append to.
    fn reset(&self) {
        std::fs::write(self.log(), "").unwrap();
        std::fs::set_permissions(self.log(), std::fs::Permissions::from_mode(0o666)).unwrap();
    }

    fn log(&self) -> PathBuf {
        self.0.path().join("log")
    }

    /// The log's lines, in the order the hooks ran.
    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.log())
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The first line written by a hook of type `t`.
    #[track_caller]
    fn line(&self, t: &str) -> String {
        let lines = self.lines();
        lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(t))
            .cloned()
            .unwrap_or_else(|| panic!("no {t} hook ran; the log has:\n{}", lines.join("\n")))
    }

    /// The types in the order they ran.
    fn order(&self) -> Vec<String> {
        self.lines()
            .iter()
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect()
    }
}

/// The hook script: one log line per call (`TYPE uid=… args=… …`); the mount hook also
/// mounts a tmpfs into the rootfs, the stop hook resolves its namespace arguments.
fn hook_script(dir: &Path) -> PathBuf {
    let script = format!(
        r#"#!/bin/sh
t=${{LXC_HOOK_TYPE:-$3}}
line="$t uid=$(id -u) args=$* mount=$LXC_ROOTFS_MOUNT path=$LXC_ROOTFS_PATH target=$LXC_TARGET name=$LXC_NAME"
case $t in
pre-mount) line="$line pidns=$(readlink /proc/self/ns/pid)" ;;
mount)
    mkdir -p "$LXC_ROOTFS_MOUNT/hooked" &&
    mount -t tmpfs -o size=1m hooked "$LXC_ROOTFS_MOUNT/hooked" &&
    echo from-mount-hook > "$LXC_ROOTFS_MOUNT/hooked/marker" || line="$line FAILED"
    ;;
start-host) line="$line pid-uid=$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$LXC_PID/status)" ;;
stop) for a in "$@"; do case $a in *:/proc/*) line="$line ${{a%%:*}}=$(readlink "${{a#*:}}")" ;; esac; done ;;
esac
echo "$line" >> {log} || true
"#,
        log = dir.join("log").display()
    );
    let p = dir.join("hook.sh");
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// Asserts that the hook log line `line` has each of `parts`.
#[track_caller]
fn assert_has(line: &str, parts: &[&str]) {
    for p in parts {
        assert!(line.contains(p), "no `{p}` in the hook's line: {line}");
    }
}

#[test]
fn every_hook_type_runs_in_its_place_with_lxcs_arguments() {
    let Some(lab) = Lab::new() else { return };
    let shared = Shared::new("all");
    let hook = hook_script(shared.0.path());
    let name = lab.created("hk");
    let h = hook.display();
    lab.append_config(
        &name,
        &format!(
            "lxc.hook.pre-start = {h}\nlxc.hook.pre-mount = {h}\nlxc.hook.mount = {h}\n\
             lxc.hook.start-host = {h}\nlxc.hook.stop = {h}\nlxc.hook.post-stop = {h}\n\
             lxc.hook.destroy = {h}\n\
             lxc.hook.start = echo \"start $(hostname) $LXC_NAME $container\" > /hook-start; echo >> /hook-start\n"
        ),
    );
    lab.start(&name);
    assert_eq!(lab.state(&name), "RUNNING");
    let me = lab.user.uid;
    let sub = lab.subuid.start;
    let rootfs = lab.rootfs(&name);
    // The rootfs is mounted where every id can reach it: the install's directory.
    let libexec = std::env::var_os("LXU_LIBEXEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let prefix = lab.bin.parent().and_then(Path::parent).unwrap();
            prefix.join("libexec/lxu")
        });
    let mount_dir = libexec.join("rootfs");

    let caller = format!(" uid={me} ");
    // pre-start runs as the caller, with LXC's arguments.
    assert_has(
        &shared.line("pre-start"),
        &[
            &caller,
            &format!(" args={name} lxc pre-start "),
            &format!(" path={} ", rootfs.display()),
            &format!(" name={name}"),
        ],
    );
    // pre-mount and mount run as the container's root.
    assert_has(&shared.line("pre-mount"), &[" uid=0 "]);
    let m = shared.line("mount");
    assert_has(
        &m,
        &[" uid=0 ", &format!(" mount={} ", mount_dir.display())],
    );
    assert!(!m.contains("FAILED"), "{m}");
    // start-host runs on the host; LXC_PID is init.
    let sh = shared.line("start-host");
    assert_has(&sh, &[&caller]);
    assert!(sh.ends_with(&format!(" pid-uid={sub}")), "{sh}");
    assert_eq!(
        shared.order(),
        ["pre-start", "pre-mount", "mount", "start-host"],
        "hooks before stop"
    );
    // The mount hook's tmpfs is inside; the start hook ran in the container.
    assert_eq!(lab.sh(&name, "cat /hooked/marker"), "from-mount-hook");
    assert!(lab
        .sh(&name, "cat /proc/mounts")
        .lines()
        .any(|l| l.starts_with("hooked /hooked tmpfs")));
    assert_eq!(
        lab.sh(&name, "cat /hook-start"),
        format!("start {name} {name} lxc\n{name} lxc start")
    );

    let init = lab.init_pid(&name);
    let mnt = host::ns_inode(init, "mnt").unwrap();
    let net = host::ns_inode(init, "net").unwrap();
    lab.lxu(&["stop", "-n", &name]).success();
    // stop gets init's namespaces.
    assert_has(
        &shared.line("stop"),
        &[
            &caller,
            " target=stop ",
            &format!(" mnt={mnt}"),
            &format!(" net={net}"),
        ],
    );
    assert_has(&shared.line("post-stop"), &[" target=stop ", &caller]);
    assert_eq!(&shared.order()[4..], ["stop", "post-stop"], "hooks at stop");

    lab.lxu(&["destroy", "-n", &name]).success();
    assert_has(
        &shared.line("destroy"),
        &[&format!(" args={name} lxc destroy ")],
    );
    assert!(!lab.dir(&name).exists());
}

#[test]
fn version_1_passes_the_type_in_the_environment() {
    let Some(lab) = Lab::new() else { return };
    let shared = Shared::new("v1");
    let name = lab.created("hv");
    lab.append_config(
        &name,
        &format!(
            "lxc.hook.version = 1\nlxc.hook.pre-start = echo \"$LXC_HOOK_TYPE $LXC_HOOK_SECTION $#\" >> {}\n",
            shared.log().display()
        ),
    );
    lab.start(&name);
    assert_eq!(shared.lines(), ["pre-start lxc 0"]);
    lab.lxu(&["stop", "-k", "-n", &name]).success();
}

#[test]
fn a_failing_hook_fails_the_start_and_leaves_nothing() {
    let Some(lab) = Lab::new() else { return };
    let shared = Shared::new("fail");
    let hook = hook_script(shared.0.path());
    let name = lab.created("hf");
    let base = lab.read_config(&name);
    let h = hook.display();

    // A mount hook that fails: inside the container's namespaces, after pre-mount.
    lab.write_config(
        &name,
        &format!(
            "{base}lxc.hook.pre-mount = {h}\nlxc.hook.mount = echo no such thing >&2; exit 3\n\
             lxc.hook.post-stop = {h}\n"
        ),
    );
    let out = lab.lxu(&["start", "-n", &name]);
    out.code_is(1).stderr_has(
        "lxc.hook.mount `echo no such thing >&2; exit 3` exited with status 3: no such thing",
    );
    assert_eq!(lab.state(&name), "STOPPED");
    assert!(host::monitors_of(&lab.dir(&name)).is_empty());
    assert!(!lab.socket(&name).exists());
    let pm = shared.line("pre-mount");
    let pidns = pm.rsplit("pidns=").next().unwrap().to_string();
    assert!(
        host::live_procs_in_pid_ns(&pidns).is_empty(),
        "processes of the failed start remain: {:?}",
        host::live_procs_in_pid_ns(&pidns)
    );
    // What pre-start/pre-mount did can be undone: post-stop still runs.
    assert_eq!(shared.order(), ["pre-mount", "post-stop"]);

    // A failing pre-start: nothing else runs, not even post-stop.
    shared.reset();
    lab.write_config(
        &name,
        &format!("{base}lxc.hook.pre-start = false\nlxc.hook.pre-mount = {h}\nlxc.hook.post-stop = {h}\n"),
    );
    lab.lxu(&["start", "-n", &name])
        .code_is(1)
        .stderr_has("lxc.hook.pre-start `false` exited with status 1");
    assert!(shared.lines().is_empty(), "{:?}", shared.lines());
    assert_eq!(lab.state(&name), "STOPPED");

    // A failing start-host: init was set up and is killed.
    lab.write_config(
        &name,
        &format!("{base}lxc.hook.pre-mount = {h}\nlxc.hook.start-host = exit 4\n"),
    );
    lab.lxu(&["start", "-n", &name])
        .code_is(1)
        .stderr_has("lxc.hook.start-host `exit 4` exited with status 4");
    let pidns = shared
        .line("pre-mount")
        .rsplit("pidns=")
        .next()
        .unwrap()
        .to_string();
    assert!(host::live_procs_in_pid_ns(&pidns).is_empty());
    assert_eq!(lab.state(&name), "STOPPED");

    // A start hook that cannot run inside (the container has no such program).
    lab.write_config(&name, &format!("{base}lxc.hook.start = /no/such/hook\n"));
    lab.lxu(&["start", "-n", &name])
        .code_is(1)
        .stderr_has("lxc.hook.start `/no/such/hook` exited with status 127");
    assert_eq!(lab.state(&name), "STOPPED");

    // Fixed, it starts; a failing destroy hook keeps the container.
    lab.write_config(&name, &format!("{base}lxc.hook.destroy = exit 5\n"));
    lab.start(&name);
    lab.lxu(&["stop", "-k", "-n", &name]).success();
    lab.lxu(&["destroy", "-n", &name])
        .code_is(1)
        .stderr_has("lxc.hook.destroy `exit 5` exited with status 5");
    assert!(lab.rootfs(&name).join("bin/busybox").exists());
    lab.write_config(&name, &base);
    lab.lxu(&["destroy", "-n", &name]).success();
}
