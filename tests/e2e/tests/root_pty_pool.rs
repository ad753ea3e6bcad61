//! A full host pty pool (issue 16's density run: every container's console and ttys come
//! from one pool of `kernel.pty.max` minus `kernel.pty.reserve` ptys, full at ~614 default
//! containers) makes `lxu start` fail naming the knob, and leaves the container STOPPED
//! with nothing behind. As root: the test lowers `kernel.pty.max` to the ptys in use plus
//! the reserve (the host's own ptys keep the reserve) and restores it when dropped.

use lxu_e2e::host::{self, User};
use lxu_e2e::root::{lxu_as, root_ready, OwnerLxcpath};

const MAX: &str = "/proc/sys/kernel/pty/max";

fn read(p: &str) -> u64 {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("read {p}: {e}"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("parse {p}: {e}"))
}

/// Puts `kernel.pty.max` back when dropped, even after a failed assertion.
struct PtyMax(u64);

impl Drop for PtyMax {
    fn drop(&mut self) {
        let _ = std::fs::write(MAX, self.0.to_string());
    }
}

#[test]
fn a_full_pty_pool_is_named_and_leaves_nothing() {
    if !root_ready() {
        return;
    }
    let name = std::env::var("LXU_TEST_USER").unwrap_or_else(|_| "lxutest".into());
    let owner: User = host::user_by_name(&name).expect("the test user exists");
    let lxcpath = OwnerLxcpath::new(&owner, "ptys");
    let p = lxcpath.p();
    let conf = format!("{p}/no-net.conf");
    lxu_as(
        &owner,
        &[
            "create", "-P", p, "-n", "pty1", "-t", "busybox", "-f", &conf,
        ],
    )
    .success();

    let _restore = PtyMax(read(MAX));
    let full = read("/proc/sys/kernel/pty/nr") + read("/proc/sys/kernel/pty/reserve");
    std::fs::write(MAX, full.to_string()).expect("lower kernel.pty.max");
    lxu_as(&owner, &["start", "-P", p, "-n", "pty1"])
        .failure()
        .stderr_has("open the container's ptmx")
        .stderr_has("kernel.pty.max")
        .stderr_has("lxc.tty.max");
    drop(_restore);

    let state = lxu_as(&owner, &["info", "-P", p, "-n", "pty1", "-s", "-H"]);
    assert_eq!(state.out(), "STOPPED", "{state}");
    let dir = lxcpath.dir.join("pty1");
    assert!(host::monitors_of(&dir).is_empty(), "a monitor stayed");
    assert!(
        lxu_e2e::cgroupfs::payload_dirs("pty1").is_empty(),
        "cgroups stayed"
    );
    assert!(!dir.join("lxu.sock").exists(), "the socket stayed");
    // With the pool back, the same container starts.
    lxu_as(&owner, &["start", "-P", p, "-n", "pty1"]).success();
    lxu_as(&owner, &["stop", "-P", p, "-n", "pty1", "-k"]).success();
}
