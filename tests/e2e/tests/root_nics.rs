//! A stopped container leaves no line in the nic database (issue 16), as root playing
//! the test user through runuser (`/run/lxu/nics` is root's, mode 0600): the veth the
//! setuid helper made for the container, and its line, are deleted by the monitor when
//! init ends (halted or killed), not left for the helper's next run to cull.

use std::path::Path;

use lxu_e2e::host::{self, User};
use lxu_e2e::netutil;
use lxu_e2e::root::{lxu_as, root_ready, OwnerLxcpath};

const NICS: &str = "/run/lxu/nics";

fn owner() -> Option<User> {
    if !root_ready() || !netutil::bridge_ready() {
        return None;
    }
    let name = std::env::var("LXU_TEST_USER").unwrap_or_else(|_| "lxutest".into());
    host::user_by_name(&name)
}

/// The lines of the nic database that name device `veth`.
fn nic_lines(veth: &str) -> Vec<String> {
    std::fs::read_to_string(Path::new(NICS))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.split_whitespace().last() == Some(veth))
        .map(str::to_string)
        .collect()
}

/// The host-side veth of running container `name` (the `Link:` line of `info -S`).
#[track_caller]
fn host_veth(owner: &User, p: &str, name: &str) -> String {
    let out = lxu_as(owner, &["info", "-P", p, "-n", name, "-S"]);
    out.success();
    let links: Vec<String> = out
        .lines()
        .iter()
        .filter_map(|l| l.strip_prefix("Link:"))
        .map(|v| v.trim().to_string())
        .collect();
    assert_eq!(links.len(), 1, "one host veth\n{out}");
    links[0].clone()
}

#[test]
fn a_stopped_container_leaves_no_nic_line_and_no_veth() {
    // Container names differ between the tests: cgroups are named by container, per user.
    let Some(owner) = owner() else { return };
    let lxcpath = OwnerLxcpath::new(&owner, "nics");
    let p = lxcpath.p();
    // The user's default config: a veth on lxcbr0, through the setuid helper.
    lxu_as(&owner, &["create", "-P", p, "-n", "nics1", "-t", "busybox"]).success();
    for (round, stop) in [["-t", "10"], ["-k", ""], ["-t", "10"], ["-k", ""]]
        .iter()
        .enumerate()
    {
        lxu_as(&owner, &["start", "-P", p, "-n", "nics1"]).success();
        let veth = host_veth(&owner, p, "nics1");
        let line = nic_lines(&veth);
        assert_eq!(line.len(), 1, "round {round}: {veth} is recorded once");
        assert!(
            line[0].starts_with(&format!("{} veth {} ", owner.name, netutil::BRIDGE)),
            "round {round}: {line:?}"
        );
        let mut args = vec!["stop", "-P", p, "-n", "nics1"];
        args.extend(stop.iter().filter(|a| !a.is_empty()));
        lxu_as(&owner, &args).success();
        // The monitor has the helper delete them without waiting for it (the kernel takes
        // ~20 ms to delete a veth whose peer is in another namespace): gone within moments,
        // not at the helper's next run.
        assert!(
            host::wait_until(std::time::Duration::from_secs(5), || nic_lines(&veth)
                .is_empty()),
            "round {round} (stop {stop:?}): the line of {veth} stayed in {NICS}"
        );
        assert!(
            host::wait_until(std::time::Duration::from_secs(5), || !netutil::link_exists(
                &veth
            )),
            "round {round} (stop {stop:?}): {veth} stayed on the host"
        );
    }
}

/// The one case left to the helper's culling: a monitor killed before it could delete
/// (crash point `monitor.nics-deleting`, which the monitor inherits from `lxu start`). The
/// device still goes with the namespace; its line stays (which shows the point was reached)
/// until the next start's helper run culls it.
#[test]
fn a_monitor_killed_before_the_delete_leaves_a_line_the_next_start_culls() {
    let Some(owner) = owner() else { return };
    let lxcpath = OwnerLxcpath::new(&owner, "nics-crash");
    let p = lxcpath.p();
    lxu_as(&owner, &["create", "-P", p, "-n", "nics2", "-t", "busybox"]).success();
    let lxu = lxu_e2e::lab::lxu_bin();
    let crash = [
        "env",
        "LXU_CRASH_AT=monitor.nics-deleting",
        lxu.to_str().unwrap(),
        "start",
        "-P",
        p,
        "-n",
        "nics2",
    ];
    lxu_e2e::root::run_as(&owner, &crash).success();
    let veth = host_veth(&owner, p, "nics2");
    lxu_as(&owner, &["stop", "-P", p, "-n", "nics2", "-k"]).success();
    assert_eq!(
        nic_lines(&veth).len(),
        1,
        "the monitor died before deleting"
    );
    assert!(
        host::wait_until(std::time::Duration::from_secs(10), || {
            !netutil::link_exists(&veth)
        }),
        "{veth} went with the namespace"
    );
    lxu_as(&owner, &["start", "-P", p, "-n", "nics2"]).success();
    assert_eq!(
        nic_lines(&veth),
        Vec::<String>::new(),
        "culled by the start"
    );
    let again = host_veth(&owner, p, "nics2");
    lxu_as(&owner, &["stop", "-P", p, "-n", "nics2", "-k"]).success();
    assert!(
        host::wait_until(std::time::Duration::from_secs(5), || nic_lines(&again)
            .is_empty()),
        "the line of {again} stayed after a normal stop"
    );
}
