//! What a container can leave behind on the host once nothing of it should run: the
//! resilience tests (kills at every step, cycles, concurrency) assert that this list is
//! empty after the user's next command.

use std::path::Path;

use crate::{cgroupfs, host, Lab};

/// Everything of container `name` in `lab` that outlives it, one line each: processes in
/// its cgroups, monitors holding files below its directory, cgroup directories, host
/// mounts below its directory, a socket or `partial` marker left in its directory. Empty
/// when nothing is left. (Call it once the container is meant to be stopped or gone.)
pub fn of(lab: &Lab, name: &str) -> Vec<String> {
    let dir = lab.dir(name);
    let mut left = Vec::new();
    for pid in host::monitors_of(&dir) {
        left.push(format!(
            "monitor process {pid} holds files below `{}`",
            dir.display()
        ));
    }
    let payload = format!("lxu.payload.{name}");
    for p in host::procs().into_iter().filter(|p| !p.is_zombie()) {
        let cg = std::fs::read_to_string(format!("/proc/{}/cgroup", p.pid)).unwrap_or_default();
        if cg.lines().any(|l| {
            l.rsplit(':')
                .next()
                .is_some_and(|path| path.split('/').any(|c| c == payload))
        }) {
            left.push(format!(
                "process {} ({}) in the container's cgroup",
                p.pid,
                p.cmdline()
            ));
        }
    }
    for d in cgroupfs::payload_dirs(name) {
        left.push(format!("cgroup directory `{}`", d.display()));
    }
    for m in host::mounts() {
        if Path::new(&m.mount_point).starts_with(&dir) {
            left.push(format!("mount on `{}` ({})", m.mount_point, m.fstype));
        }
    }
    for f in ["lxu.sock", "partial"] {
        let p = dir.join(f);
        if p.symlink_metadata().is_ok() {
            left.push(format!("`{}`", p.display()));
        }
    }
    left
}

/// Panics with the list when anything of `name` is left.
#[track_caller]
pub fn assert_none(lab: &Lab, name: &str) {
    let left = of(lab, name);
    assert!(
        left.is_empty(),
        "{name} left behind:\n  {}",
        left.join("\n  ")
    );
}

/// Panics if a host veth of the lab's user that is not in `before` (taken before the
/// container started) is still there after a few seconds: the kernel deletes a veth
/// shortly after the network namespace of its other end dies, so one that stays is held
/// by something of the container. (Callers serialize their veth tests: a container of
/// another test started meanwhile would count.)
#[track_caller]
pub fn assert_no_new_veths(lab: &Lab, before: &[String]) {
    let new = || -> Vec<String> {
        crate::netutil::user_veths(lab.user.uid)
            .into_iter()
            .filter(|v| !before.contains(v))
            .collect()
    };
    let gone = host::wait_until(std::time::Duration::from_secs(10), || new().is_empty());
    assert!(gone, "host veths left behind: {:?}", new());
}
