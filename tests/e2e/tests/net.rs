//! Networking as the unprivileged test user: veth devices on lxcbr0 made by the setuid
//! helper within /etc/lxc/lxc-usernet, DHCP from the bridge's dnsmasq, and what the host
//! sees of it.

use std::time::{Duration, Instant};

use lxu_e2e::netutil::{self, lab, serial, BRIDGE, BRIDGE_IP};
use lxu_e2e::{cgroupfs, host, Lab};

/// How long a DHCP lease may take. The busybox template runs udhcpc at boot; dnsmasq
/// answers within a few seconds.
const LEASE_DEADLINE: Duration = Duration::from_secs(20);

/// What the container and the host say, for failure messages.
fn diagnostics(lab: &Lab, name: &str) -> String {
    let info = lab.lxu(&["info", "-n", name]);
    let inside = lab.attach(name, "ip addr; ip route; ps");
    format!("{info}\n--- inside ---\n{inside}")
}

/// Waits for a DHCP lease; panics with what the container shows if none comes in time.
#[track_caller]
fn lease(lab: &Lab, name: &str, started: Instant) -> String {
    let left = LEASE_DEADLINE.saturating_sub(started.elapsed());
    match netutil::wait_ip(lab, name, left, netutil::is_bridge_v4) {
        Some(ip) => ip,
        None => panic!(
            "{name} got no DHCP lease on {BRIDGE} within {} s of its start\n{}",
            LEASE_DEADLINE.as_secs(),
            diagnostics(lab, name)
        ),
    }
}

#[track_caller]
fn ping(lab: &Lab, from: &str, to: &str) {
    let out = lab.lxu(&["attach", "-n", from, "--", "ping", "-c", "1", "-W", "2", to]);
    if out.code != Some(0) {
        panic!("{from} cannot ping {to}\n{out}\n{}", diagnostics(lab, from));
    }
    out.stdout_has("1 packets received");
}

/// The one host-side veth of a running container, checked against the host.
#[track_caller]
fn host_veth(lab: &Lab, name: &str) -> String {
    let links = netutil::host_links_of(lab, name);
    assert_eq!(
        links.len(),
        1,
        "`lxu info` shows one Link for one veth: {links:?}"
    );
    let veth = links[0].clone();
    let prefix = format!("veth{}_", lab.user.uid);
    assert!(
        veth.starts_with(&prefix),
        "the host side is named {prefix}XXXX: `{veth}`"
    );
    assert!(
        netutil::link_exists(&veth),
        "`{veth}` does not exist on the host"
    );
    assert!(
        netutil::bridge_ports(BRIDGE).contains(&veth),
        "`{veth}` is not a port of {BRIDGE}: {:?}",
        netutil::bridge_ports(BRIDGE)
    );
    veth
}

/// The user's host veths that were not in `before` (the kernel removes the veths of a
/// previous test's containers shortly after they stop, so `before` may hold more).
fn new_veths(lab: &Lab, before: &[String]) -> Vec<String> {
    netutil::user_veths(lab.user.uid)
        .into_iter()
        .filter(|v| !before.contains(v))
        .collect()
}

#[track_caller]
fn assert_gone_soon(veth: &str, what: &str) {
    assert!(
        host::wait_until(Duration::from_secs(5), || !netutil::link_exists(veth)),
        "{what}: the host veth `{veth}` is still there"
    );
}

#[test]
fn two_containers_get_leases_and_reach_each_other_and_the_host() {
    let _serial = serial();
    let Some(lab) = lab() else { return };
    let conf = netutil::veth_conf(&lab, BRIDGE);
    let (a, b) = (lab.name("na"), lab.name("nb"));
    lab.create_from(&a, "busybox", &conf).success();
    lab.create_from(&b, "busybox", &conf).success();
    let config = lab.read_config(&a);
    assert!(
        config.contains("lxc.net.0.type = veth") && !config.contains("xx:xx"),
        "the config has the veth with a concrete hwaddr\n{config}"
    );
    let started = Instant::now();
    lab.start(&a);
    lab.start(&b);
    let ip_a = lease(&lab, &a, started);
    let ip_b = lease(&lab, &b, started);
    eprintln!(
        "leases {ip_a} and {ip_b} after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_ne!(ip_a, ip_b, "two containers got the same address");

    ping(&lab, &a, &ip_b);
    ping(&lab, &b, &ip_a);
    ping(&lab, &a, BRIDGE_IP);
    ping(&lab, &b, BRIDGE_IP);

    // IPv6 from the bridge's router advertisements (a ULA prefix).
    let v6_a = netutil::wait_ip(&lab, &a, Duration::from_secs(10), netutil::is_ula)
        .unwrap_or_else(|| panic!("{a} got no IPv6 ULA\n{}", diagnostics(&lab, &a)));
    let v6_b = netutil::wait_ip(&lab, &b, Duration::from_secs(10), netutil::is_ula)
        .unwrap_or_else(|| panic!("{b} got no IPv6 ULA\n{}", diagnostics(&lab, &b)));

    // `ls --fancy`: each row shows its addresses.
    let ls = lab.lxu(&["ls", "--fancy"]);
    ls.success();
    for (n, v4, v6) in [(&a, &ip_a, &v6_a), (&b, &ip_b, &v6_b)] {
        let row = ls
            .lines()
            .into_iter()
            .find(|l| l.split_whitespace().next() == Some(n.as_str()))
            .unwrap_or_else(|| panic!("no row for {n}\n{ls}"));
        let fields: Vec<&str> = row.split([' ', ',']).collect();
        assert!(
            fields.contains(&v4.as_str()) && fields.contains(&v6.as_str()),
            "the row of {n} shows {v4} and {v6}\n{ls}"
        );
        // `info -i`, humanized.
        let info = lab.lxu(&["info", "-n", n, "-i"]);
        info.success();
        assert!(
            info.lines()
                .iter()
                .any(|l| l.starts_with("IP:") && l.split_whitespace().nth(1) == Some(v4)),
            "`info -i` shows `IP: {v4}`\n{info}"
        );
    }

    // The host sides, and their removal at stop.
    let veth_a = host_veth(&lab, &a);
    let veth_b = host_veth(&lab, &b);
    assert_ne!(veth_a, veth_b);
    lab.lxu(&["stop", "-n", &a]).success();
    assert_gone_soon(&veth_a, "after a clean stop");
    assert!(
        netutil::link_exists(&veth_b),
        "stopping {a} removed {b}'s veth"
    );
    ping(&lab, &b, BRIDGE_IP);
    lab.lxu(&["stop", "-n", &b, "-k"]).success();
    assert_gone_soon(&veth_b, "after stop -k");

    // A restart gets a veth again (the quota was given back).
    let again = Instant::now();
    lab.start(&a);
    let veth = host_veth(&lab, &a);
    lease(&lab, &a, again);
    lab.lxu(&["stop", "-n", &a, "-k"]).success();
    assert_gone_soon(&veth, "after the second stop");
}

#[test]
fn a_bridge_not_allowed_by_lxc_usernet_is_refused_and_leaves_nothing() {
    let _serial = serial();
    let Some(lab) = lab() else { return };
    let conf = netutil::veth_conf(&lab, "br-nope");
    let name = lab.name("nope");
    lab.create_from(&name, "busybox", &conf).success();
    let before = netutil::user_veths(lab.user.uid);
    for _ in 0..2 {
        let out = lab.lxu(&["start", "-n", &name]);
        out.code_is(1)
            .stderr_has("lxc-usernet")
            .stderr_has("br-nope");
        assert_eq!(lab.state(&name), "STOPPED", "{out}");
        let new = new_veths(&lab, &before);
        assert!(
            new.is_empty(),
            "a refused start must leave no veth on the host: {new:?}\n{out}"
        );
        assert!(
            host::wait_until(Duration::from_secs(2), || host::monitors_of(
                &lab.dir(&name)
            )
            .is_empty()),
            "a refused start must leave no monitor running\n{out}"
        );
        assert!(
            host::wait_until(Duration::from_secs(2), || cgroupfs::payload_dirs(&name)
                .is_empty()),
            "a refused start must leave no cgroups: {:?}\n{out}",
            cgroupfs::payload_dirs(&name)
        );
        assert!(
            !netutil::host_links().iter().any(|l| l == "br-nope"),
            "no bridge may appear"
        );
    }
    // The container is otherwise fine: with an allowed network it starts.
    lab.write_config(
        &name,
        &lab.read_config(&name).replace(
            "lxc.net.0.link = br-nope",
            &format!("lxc.net.0.link = {BRIDGE}"),
        ),
    );
    lab.start(&name);
    host_veth(&lab, &name);
}

#[test]
fn an_empty_network_has_only_loopback() {
    let _serial = serial();
    let Some(lab) = lab() else { return };
    let before = netutil::user_veths(lab.user.uid);
    let name = lab.name("empty");
    lab.create_from(&name, "busybox", &lab.no_net_conf())
        .success();
    lab.start(&name);
    lab.lxu(&["attach", "-n", &name, "--", "ls", "/sys/class/net"])
        .success()
        .stdout_is("lo");
    let lo = lab.sh(&name, "ip addr show lo");
    assert!(lo.contains("127.0.0.1"), "lo is up with 127.0.0.1\n{lo}");
    assert!(
        netutil::ips(&lab, &name).is_empty(),
        "no addresses are reported for a container with only lo"
    );
    assert!(netutil::host_links_of(&lab, &name).is_empty());
    let new = new_veths(&lab, &before);
    assert!(new.is_empty(), "an empty network made host veths: {new:?}");
    // Its own network namespace, not the host's.
    let init = lab.init_pid(&name);
    assert_ne!(
        host::ns_inode(init, "net"),
        host::ns_inode(std::process::id() as i32, "net")
    );
}
