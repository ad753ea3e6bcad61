//! Link, address, route and veth operations against the real kernel, each
//! test in network namespaces it creates (the host's devices are never
//! touched).

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;

use common::namespaces;
use lxu_net::link::Route;
use lxu_net::{create_veth_for, delete_veth, Netlink, VethRequest};

const EEXIST: i32 = 17;

#[test]
fn bridge_veth_addresses_routes_counters() {
    let Some([host, ct]) = namespaces(&["ip"], ["host", "ct"]) else {
        return;
    };
    let ct_mac = [0x00, 0x16, 0x3e, 0x12, 0x34, 0x56];

    // Host side: bridge with an address and a non-default MTU, then a veth
    // whose peer is created directly in the container netns.
    let (pair, bridge_index) = host.run(|| {
        let mut nl = Netlink::open().unwrap();
        let br = nl.create_bridge("lxutbr0", None).unwrap();
        assert_eq!(br.kind.as_deref(), Some("bridge"));
        let dup = nl.create_bridge("lxutbr0", None).unwrap_err();
        assert_eq!(dup.errno(), Some(EEXIST), "{dup}");
        nl.set_mtu(br.index, 1400).unwrap();
        nl.add_address(br.index, IpAddr::V4(Ipv4Addr::new(10, 99, 0, 1)), 24, false)
            .unwrap();
        nl.set_up(br.index, true).unwrap();
        let pair = create_veth_for(&VethRequest {
            netns: ct.fd(),
            bridge: Some("lxutbr0".to_string()),
            host_name: None,
            container_name: Some("eth0".to_string()),
            container_mac: Some(ct_mac),
            mtu: None,
        })
        .unwrap();
        let h = nl.require_link(&pair.host_name).unwrap();
        assert_eq!(h.kind.as_deref(), Some("veth"));
        assert_eq!(h.master, Some(br.index), "attached to the bridge");
        assert!(h.up);
        assert_eq!(h.mtu, 1400, "MTU copied from the bridge");
        assert_eq!(h.mac.unwrap()[0], 0xfe, "host end MAC starts with fe");
        assert_eq!(h.peer_index, Some(pair.container_index));
        assert!(h.peer_netnsid.is_some(), "peer lives in another netns");
        assert_eq!(nl.nsid_of(ct.fd()).unwrap(), h.peer_netnsid);
        (pair, br.index)
    });
    assert_eq!(pair.container_name, "eth0");

    // Independent view through iproute2.
    let shown = host.exec_ok(&["ip", "-o", "link", "show", &pair.host_name]);
    assert!(shown.contains("master lxutbr0"), "{shown}");
    let shown = ct.exec_ok(&["ip", "-o", "link", "show", "eth0"]);
    assert!(shown.contains("00:16:3e:12:34:56"), "{shown}");
    assert!(shown.contains("mtu 1400"), "{shown}");

    // Container side, as the runtime does after entering the netns.
    ct.run(|| {
        let mut nl = Netlink::open().unwrap();
        let lo = nl.require_link("lo").unwrap();
        nl.set_up(lo.index, true).unwrap();
        let eth = nl.require_link("eth0").unwrap();
        assert_eq!(eth.index, pair.container_index);
        nl.add_address(
            eth.index,
            IpAddr::V4(Ipv4Addr::new(10, 99, 0, 2)),
            24,
            false,
        )
        .unwrap();
        let v6: Ipv6Addr = "fd00:99::2".parse().unwrap();
        nl.add_address(eth.index, IpAddr::V6(v6), 64, true).unwrap();
        nl.set_up(eth.index, true).unwrap();
        nl.add_default_route(IpAddr::V4(Ipv4Addr::new(10, 99, 0, 1)), Some(eth.index))
            .unwrap();
        nl.add_route(&Route {
            dest: Some((IpAddr::V4(Ipv4Addr::new(192, 0, 2, 0)), 24)),
            gateway: None,
            oif: Some(eth.index),
        })
        .unwrap();
        let err = nl
            .add_route(&Route {
                dest: Some((IpAddr::V4(Ipv4Addr::new(198, 51, 100, 0)), 24)),
                gateway: Some(IpAddr::V6(v6)),
                oif: None,
            })
            .unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
    });
    let routes = ct.exec_ok(&["ip", "route"]);
    assert!(
        routes.contains("default via 10.99.0.1 dev eth0"),
        "{routes}"
    );
    assert!(routes.contains("192.0.2.0/24 dev eth0"), "{routes}");
    let addrs = ct.exec_ok(&["ip", "-o", "addr", "show", "eth0"]);
    assert!(
        addrs.contains("inet 10.99.0.2/24 brd 10.99.0.255"),
        "{addrs}"
    );
    assert!(addrs.contains("inet6 fd00:99::2/64"), "{addrs}");

    // Traffic across bridge and veth moves the counters.
    ct.exec_ok(&["busybox", "ping", "-c", "3", "-W", "2", "10.99.0.1"]);
    let ifaces = lxu_net::interfaces_in(ct.fd()).unwrap();
    let eth = ifaces.iter().find(|i| i.link.name == "eth0").unwrap();
    assert_eq!(eth.ipv4, vec![(Ipv4Addr::new(10, 99, 0, 2), 24)]);
    assert!(
        eth.ipv6.contains(&("fd00:99::2".parse().unwrap(), 64)),
        "{eth:?}"
    );
    assert!(
        eth.ipv6.iter().all(|(a, _)| a.segments()[0] != 0xfe80),
        "link-local addresses are not listed: {eth:?}"
    );
    assert!(eth.link.tx_bytes >= 3 * 84, "{:?}", eth.link);
    assert!(eth.link.rx_bytes >= 3 * 84, "{:?}", eth.link);
    let lo = ifaces.iter().find(|i| i.link.name == "lo").unwrap();
    assert!(lo.link.loopback && lo.link.up);
    assert!(lo.ipv4.is_empty(), "127.0.0.1 is host scope");

    host.run(|| {
        let mut nl = Netlink::open().unwrap();
        let h = nl.require_link(&pair.host_name).unwrap();
        assert!(h.rx_bytes >= 3 * 84 && h.tx_bytes >= 3 * 84, "{h:?}");
        assert!(delete_veth(&pair.host_name).unwrap());
        assert!(!delete_veth(&pair.host_name).unwrap(), "already gone");
        assert!(nl.link_by_index(bridge_index).unwrap().is_some());
    });
    let left = ct.exec_ok(&["ip", "-o", "link"]);
    assert!(
        !left.contains("eth0"),
        "peer deleted with the host end: {left}"
    );
}

#[test]
fn rename_mac_mtu_master_and_errors_inside_a_netns() {
    let Some([ns]) = namespaces(&["ip"], ["edit"]) else {
        return;
    };
    ns.run(|| {
        let mut nl = Netlink::open().unwrap();
        nl.create_veth(&lxu_net::VethSpec {
            host_name: "lxua".to_string(),
            peer_name: "lxub".to_string(),
            peer_netns: None,
            mtu: Some(1300),
            host_mac: None,
            peer_mac: None,
        })
        .unwrap();
        let a = nl.require_link("lxua").unwrap();
        let b = nl.require_link("lxub").unwrap();
        assert_eq!((a.mtu, b.mtu), (1300, 1300));
        assert_eq!(a.peer_netnsid, None, "peer in the same netns");
        nl.rename(a.index, "lxuc").unwrap();
        assert!(nl.link_by_name("lxua").unwrap().is_none());
        nl.rename(b.index, "eth%d").unwrap();
        assert_eq!(nl.link_by_index(b.index).unwrap().unwrap().name, "eth0");
        nl.set_mac(a.index, [0x02, 1, 2, 3, 4, 5]).unwrap();
        nl.set_mtu(a.index, 1280).unwrap();
        let a2 = nl.link_by_index(a.index).unwrap().unwrap();
        assert_eq!(a2.mac, Some([0x02, 1, 2, 3, 4, 5]));
        assert_eq!(a2.mtu, 1280);
        let br = nl
            .create_bridge("lxubr", Some([0x00, 0x16, 0x3e, 0, 0, 7]))
            .unwrap();
        assert_eq!(br.mac, Some([0x00, 0x16, 0x3e, 0, 0, 7]));
        nl.set_master(a.index, Some(br.index)).unwrap();
        assert_eq!(
            nl.link_by_index(a.index).unwrap().unwrap().master,
            Some(br.index)
        );
        nl.set_master(a.index, None).unwrap();
        assert_eq!(nl.link_by_index(a.index).unwrap().unwrap().master, None);
        // Renaming onto an existing name fails with the kernel's errno and
        // names the operation.
        let e = nl.rename(a.index, "eth0").unwrap_err();
        assert_eq!(e.errno(), Some(EEXIST));
        assert!(e.to_string().contains("rename network device"), "{e}");
        assert!(
            nl.may_administer().unwrap(),
            "root administers its own netns"
        );
        nl.delete_link(a.index).unwrap();
        assert!(nl.link_by_index(b.index).unwrap().is_none());
        let e = nl.delete_link(a.index).unwrap_err();
        assert_eq!(e.errno(), Some(19), "ENODEV: {e}");
    });
}

#[test]
fn multipart_dump_returns_every_link() {
    let Some([ns]) = namespaces(&["ip"], ["many"]) else {
        return;
    };
    // 300 links make a dump far larger than one 32 KiB chunk.
    let script: String = (0..150)
        .map(|i| format!("link add lxuv{i} type veth peer name lxup{i}\n"))
        .collect();
    let batch = std::env::temp_dir().join(format!("lxu-net-batch-{}", std::process::id()));
    std::fs::write(&batch, script).unwrap();
    let out = ns.exec(&["ip", "-batch", batch.to_str().unwrap()]);
    let _ = std::fs::remove_file(&batch);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (links, addrs) = ns.run(|| {
        let mut nl = Netlink::open().unwrap();
        (nl.links().unwrap(), nl.interfaces().unwrap())
    });
    assert_eq!(links.len(), 301, "300 veth ends + lo");
    for i in 0..150 {
        assert!(links.iter().any(|l| l.name == format!("lxuv{i}")));
        assert!(links.iter().any(|l| l.name == format!("lxup{i}")));
    }
    assert_eq!(addrs.len(), 301);
}

#[test]
fn peer_name_taken_in_target_netns_is_reported_not_retried() {
    let Some([host, ct]) = namespaces(&["ip"], ["h2", "c2"]) else {
        return;
    };
    ct.exec_ok(&["ip", "link", "add", "eth0", "type", "bridge"]);
    let err = host.run(|| {
        create_veth_for(&VethRequest {
            netns: ct.fd(),
            bridge: None,
            host_name: None,
            container_name: Some("eth0".to_string()),
            container_mac: None,
            mtu: None,
        })
        .unwrap_err()
    });
    assert!(err.to_string().contains("create veth pair"), "{err}");
    let left = host.exec_ok(&["ip", "-o", "link"]);
    assert!(!left.contains("veth"), "nothing left behind: {left}");
    // Missing bridge is refused before anything is created.
    let err = host.run(|| {
        create_veth_for(&VethRequest {
            netns: ct.fd(),
            bridge: Some("nobr0".to_string()),
            host_name: None,
            container_name: None,
            container_mac: None,
            mtu: None,
        })
        .unwrap_err()
    });
    assert_eq!(err.to_string(), "bridge `nobr0` does not exist");
    // A named host end and the `eth%d` default.
    let pair = host.run(|| {
        create_veth_for(&VethRequest {
            netns: ct.fd(),
            bridge: None,
            host_name: Some("vethlxutest".to_string()),
            container_name: None,
            container_mac: None,
            mtu: Some(1450),
        })
        .unwrap()
    });
    assert_eq!(pair.host_name, "vethlxutest");
    assert_eq!(pair.container_name, "eth1", "eth0 is taken");
    let shown = ct.exec_ok(&["ip", "-o", "link", "show", "eth1"]);
    assert!(shown.contains("mtu 1450"), "{shown}");
}

#[test]
fn netns_helpers_check_nsfs_and_restore_the_thread() {
    let Some([ns]) = namespaces(&["ip"], ["nsfs"]) else {
        return;
    };
    let err = lxu_net::netns::open_checked(std::path::Path::new("/etc/hostname")).unwrap_err();
    assert!(err.to_string().contains("not a namespace file"), "{err}");
    std::thread::spawn(move || {
        let before = lxu_net::netns::current().unwrap();
        let inside = lxu_net::netns::run_in(ns.fd(), || {
            let here = lxu_net::netns::current().unwrap();
            lxu_net::netns::same(here.as_fd(), ns.fd())
        })
        .unwrap();
        assert!(inside, "ran inside the target");
        let after = lxu_net::netns::current().unwrap();
        assert!(
            lxu_net::netns::same(before.as_fd(), after.as_fd()),
            "restored"
        );
    })
    .join()
    .unwrap();
}
