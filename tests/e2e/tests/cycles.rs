//! Start/stop cycles of one container with cgroups and a veth on lxcbr0 leave nothing
//! behind (issue 16). `bench/run cycles` is the 1000-cycle version with timings; these are
//! the suite's guard, short enough for every run.
//!
//! The cycles outnumber the user's veth allowance on lxcbr0 (10 in `lxc-usernet`): a veth
//! kept alive, or a nic database line counted, per cycle (the test user cannot read
//! `/run/lxu/nics`) would use the quota up and fail a start half-way. (Lines of devices
//! that are gone stay in the database until the next create culls them: bench/run checks
//! the database as root.)

use std::time::Duration;

use lxu_e2e::netutil::{self, lab, serial, BRIDGE};
use lxu_e2e::{host, leftovers, Lab};

const CYCLES: usize = 20;

/// A stopped busybox container with a veth on lxcbr0 (cgroups come with `lxu setup-user`'s
/// delegation).
#[track_caller]
fn veth_container(lab: &Lab) -> String {
    let conf = netutil::veth_conf(lab, BRIDGE);
    let name = lab.name("cyc");
    lab.create_from(&name, "busybox", &conf).success();
    name
}

/// Starts `name`, checks it is RUNNING with one host veth on the bridge; returns the veth.
#[track_caller]
fn start_with_veth(lab: &Lab, name: &str, cycle: usize) -> String {
    let out = lab.lxu(&["start", "-n", name]);
    assert!(
        out.code == Some(0),
        "cycle {cycle}: start failed (a nic line of a gone or dying veth counted against the quota?)\n{out}"
    );
    assert_eq!(lab.state(name), "RUNNING", "cycle {cycle}");
    let links = netutil::host_links_of(lab, name);
    assert_eq!(
        links.len(),
        1,
        "cycle {cycle}: one Link in `lxu info`: {links:?}"
    );
    let veth = links[0].clone();
    assert!(
        netutil::bridge_ports(BRIDGE).contains(&veth),
        "cycle {cycle}: `{veth}` is not a port of {BRIDGE}"
    );
    veth
}

/// After the cycles: nothing of the container is left, and none of its veths.
#[track_caller]
fn assert_nothing_left(lab: &Lab, name: &str, veths: &[String]) {
    assert_eq!(lab.state(name), "STOPPED");
    leftovers::assert_none(lab, name);
    // The kernel frees a veth with the container's network namespace, a moment after its
    // last process is gone.
    let gone = host::wait_until(Duration::from_secs(5), || {
        veths.iter().all(|v| !netutil::link_exists(v))
    });
    let left: Vec<&String> = veths.iter().filter(|v| netutil::link_exists(v)).collect();
    assert!(gone, "host veths left after the cycles: {left:?}");
}

/// `n` cycles of a checked start and `stop(cycle)`; returns the host veths seen.
#[track_caller]
fn cycles(lab: &Lab, name: &str, n: usize, stop: impl Fn(usize)) -> Vec<String> {
    let mut veths = Vec::new();
    for cycle in 0..n {
        veths.push(start_with_veth(lab, name, cycle));
        stop(cycle);
        assert_eq!(lab.state(name), "STOPPED", "cycle {cycle}");
    }
    veths
}

#[test]
fn start_and_stop_k_cycles_with_a_veth_leave_nothing() {
    let _g = serial();
    let Some(lab) = lab() else { return };
    let name = veth_container(&lab);
    let veths = cycles(&lab, &name, CYCLES, |_| {
        lab.lxu(&["stop", "-n", &name, "-k"]).success();
    });
    assert_nothing_left(&lab, &name, &veths);
}

/// The other way a container stops: its init ends by itself (here `halt -f` inside, a
/// reboot(2) that ends the container's PID namespace), and the monitor tears down alone.
#[test]
fn cycles_whose_init_ends_by_itself_leave_nothing() {
    let _g = serial();
    let Some(lab) = lab() else { return };
    let name = veth_container(&lab);
    let veths = cycles(&lab, &name, CYCLES / 2, |cycle| {
        // attach's own process dies with the namespace: its exit status is not the point.
        let _ = lab.attach(&name, "halt -f");
        let stopped = host::wait_until(Duration::from_secs(10), || lab.state(&name) == "STOPPED");
        assert!(
            stopped,
            "cycle {cycle}: still {} after halt -f",
            lab.state(&name)
        );
    });
    assert_nothing_left(&lab, &name, &veths);
}

/// The veth allowance of `user` on lxcbr0 in /etc/lxc/lxc-usernet (its own lines only).
fn allowance(user: &str) -> usize {
    let text = std::fs::read_to_string("/etc/lxc/lxc-usernet").unwrap_or_default();
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| w.len() == 4 && w[0] == user && w[1] == "veth" && w[2] == BRIDGE)
        .filter_map(|w| w[3].parse::<usize>().ok())
        .sum()
}

/// All of the user's veth allowance in use, and one container restarted right after each
/// stop: the kernel destroys the stopped container's veth with its network namespace a
/// moment after `stop` returned, and the restart must not be refused for it. (Before
/// lxu-user-nic waited for such dying devices, about one restart in ten was refused
/// "quota reached"; the restarts are many so that the race is met.)
#[test]
fn restarts_at_the_full_veth_allowance_are_not_refused() {
    const RESTARTS: usize = 40;
    let _g = serial();
    let Some(lab) = lab() else { return };
    let total = allowance(&lab.user.name);
    let free = total.saturating_sub(netutil::user_veths(lab.user.uid).len());
    if !lxu_e2e::need(
        (1..=20).contains(&free),
        format!(
            "{} has {free} of {total} veths on {BRIDGE} free (want 1 to 20)",
            lab.user.name
        ),
    ) {
        return;
    }
    let names: Vec<String> = (0..free).map(|_| veth_container(&lab)).collect();
    for (i, n) in names.iter().enumerate() {
        start_with_veth(&lab, n, i);
    }
    let last = &names[free - 1];
    let mut veths = Vec::new();
    for cycle in 0..RESTARTS {
        lab.lxu(&["stop", "-n", last, "-k"]).success();
        veths.push(start_with_veth(&lab, last, cycle));
    }
    for n in &names {
        lab.lxu(&["stop", "-n", n, "-k"]).success();
    }
    for n in &names {
        assert_nothing_left(&lab, n, &veths);
    }
}
