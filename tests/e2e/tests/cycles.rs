//! Start/stop cycles of one container with cgroups and a veth on lxcbr0 leave nothing
//! behind (issue 16). `bench/run cycles` is the 1000-cycle version with timings; these are
//! the suite's guard, short enough for every run.
//!
//! The cycles outnumber the user's veth allowance on lxcbr0 (10 in `lxc-usernet`): a
//! nic database line leaked per cycle (the test user cannot read `/run/lxu/nics`) would
//! use the quota up and fail a start half-way.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use lxu_e2e::netutil::{self, BRIDGE};
use lxu_e2e::{host, leftovers, Lab};

const CYCLES: usize = 20;

/// The tests take turns: each holds one veth of the user's shared quota at a time, and
/// net.rs-style counting stays simple.
static NET: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    NET.lock().unwrap_or_else(|p| p.into_inner())
}

fn lab() -> Option<Lab> {
    let lab = Lab::new()?;
    netutil::bridge_ready().then_some(lab)
}

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
        "cycle {cycle}: start failed (a leaked nic line uses the quota up)\n{out}"
    );
    assert_eq!(lab.state(name), "RUNNING", "cycle {cycle}");
    let links = netutil::host_links_of(lab, name);
    assert_eq!(links.len(), 1, "cycle {cycle}: one Link in `lxu info`: {links:?}");
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

#[test]
fn start_and_stop_k_cycles_with_a_veth_leave_nothing() {
    let _g = serial();
    let Some(lab) = lab() else { return };
    let name = veth_container(&lab);
    let mut veths = Vec::new();
    for cycle in 0..CYCLES {
        veths.push(start_with_veth(&lab, &name, cycle));
        lab.lxu(&["stop", "-n", &name, "-k"]).success();
        assert_eq!(lab.state(&name), "STOPPED", "cycle {cycle}");
    }
    assert_nothing_left(&lab, &name, &veths);
}

/// The other way a container stops: its init ends by itself (here `halt -f` inside, a
/// reboot(2) that ends the container's PID namespace), and the monitor tears down alone.
#[test]
fn cycles_whose_init_ends_by_itself_leave_nothing() {
    let _g = serial();
    let Some(lab) = lab() else { return };
    let name = veth_container(&lab);
    let mut veths = Vec::new();
    for cycle in 0..CYCLES / 2 {
        veths.push(start_with_veth(&lab, &name, cycle));
        // attach's own process dies with the namespace: its exit status is not the point.
        let _ = lab.attach(&name, "halt -f");
        let stopped = host::wait_until(Duration::from_secs(10), || lab.state(&name) == "STOPPED");
        assert!(stopped, "cycle {cycle}: still {} after halt -f", lab.state(&name));
    }
    assert_nothing_left(&lab, &name, &veths);
}
