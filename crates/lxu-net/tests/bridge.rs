//! `lxu net setup`/`teardown` against the real kernel and dnsmasq, inside
//! private network namespaces with a private state directory.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::namespaces;
use lxu_net::bridge::{self, BridgeConfig, Ipv6Setting};
use lxu_net::{create_veth_for, VethRequest};

fn state_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
    d
}

fn pid_alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s.rsplit_once(") ").unwrap().1.starts_with('Z'),
        Err(_) => false,
    }
}

/// Kills the test's dnsmasq when the test ends, also when an assertion fails before the
/// teardown under test stops it: it would outlive the test's network namespace.
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if pid_alive(self.0) {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(self.0).unwrap(),
                rustix::process::Signal::KILL,
            );
        }
    }
}

fn read_pid(dir: &Path, br: &str) -> i32 {
    fs::read_to_string(dir.join(format!("dnsmasq.{br}.pid")))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn setup_is_idempotent_serves_dhcp_and_tears_down() {
    let Some([host, client]) = namespaces(&["ip", "dnsmasq", "busybox"], ["brhost", "brcli"])
    else {
        return;
    };
    let state = state_dir();
    let cfg = BridgeConfig {
        name: "lxutbr1".to_string(),
        state_dir: state.path().to_path_buf(),
        ..BridgeConfig::default()
    };

    let first = host.run(|| bridge::setup(&cfg).unwrap());
    let joined = first.changes.join("\n");
    for want in [
        "created bridge lxutbr1",
        "added 10.0.3.1/24",
        "set lxutbr1 up",
        "started dnsmasq",
    ] {
        assert!(joined.contains(want), "missing {want:?} in {joined}");
    }
    assert!(
        !joined.contains("NAT") && !joined.contains("forwarding"),
        "{joined}"
    );
    let pid = read_pid(state.path(), "lxutbr1");
    let _dnsmasq = KillOnDrop(pid);
    assert!(pid_alive(pid));

    let addrs = host.exec_ok(&["ip", "-o", "addr", "show", "lxutbr1"]);
    assert!(addrs.contains("inet 10.0.3.1/24 brd 10.0.3.255"), "{addrs}");
    let ula = fs::read_to_string(state.path().join("lxutbr1.ula")).unwrap();
    let ula_addr = ula.trim().split('/').next().unwrap().to_string();
    assert!(
        ula.starts_with("fd") && ula.trim().ends_with("::1/64"),
        "{ula}"
    );
    assert!(addrs.contains(&format!("inet6 {}", ula.trim())), "{addrs}");
    let link = host.exec_ok(&["ip", "-o", "link", "show", "lxutbr1"]);
    assert!(
        link.contains("00:16:3e:00:00:00") && link.contains(",UP"),
        "{link}"
    );
    let sockets = host.exec_ok(&["cat", "/proc/net/udp"]);
    assert!(
        sockets.contains(":0035") && sockets.contains(":0043"),
        "dns+dhcp: {sockets}"
    );

    // Second run: nothing to do, same dnsmasq.
    let second = host.run(|| bridge::setup(&cfg).unwrap());
    assert!(second.changes.is_empty(), "{:?}", second.changes);
    assert_eq!(read_pid(state.path(), "lxutbr1"), pid);

    // A client on the bridge gets a lease in the configured range.
    let pair = host.run(|| {
        create_veth_for(&VethRequest {
            netns: client.fd(),
            bridge: Some("lxutbr1".to_string()),
            host_name: None,
            container_name: Some("eth0".to_string()),
            container_mac: Some([0x00, 0x16, 0x3e, 0xaa, 0xbb, 0xcc]),
            mtu: None,
        })
        .unwrap()
    });
    client.exec_ok(&["ip", "link", "set", "eth0", "up"]);
    let out = client.exec(&[
        "busybox",
        "udhcpc",
        "-i",
        "eth0",
        "-f",
        "-q",
        "-n",
        "-t",
        "10",
        "-T",
        "1",
        "-s",
        "/bin/true",
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("lease of 10.0.3."), "{text}");
    let leases = fs::read_to_string(state.path().join("dnsmasq.lxutbr1.leases")).unwrap();
    assert!(leases.contains("00:16:3e:aa:bb:cc 10.0.3."), "{leases}");
    // IPv6 router advertisements give the client an address in the ULA /64.
    let prefix = ula_addr.trim_end_matches("::1");
    let mut got_v6 = String::new();
    for _ in 0..50 {
        got_v6 = client.exec_ok(&["ip", "-6", "-o", "addr", "show", "eth0"]);
        if got_v6.contains(prefix) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(
        got_v6.contains(prefix),
        "no SLAAC address from {ula}: {got_v6}"
    );

    // Teardown keeps a bridge that still has ports, unless forced.
    let down = host.run(|| bridge::teardown(&cfg, false).unwrap());
    assert!(
        down.changes.iter().any(|c| c.contains("stopped dnsmasq")),
        "{down:?}"
    );
    assert!(down.kept[0].contains(&pair.host_name), "{down:?}");
    assert!(!pid_alive(pid), "dnsmasq stopped");
    assert!(!state.path().join("dnsmasq.lxutbr1.pid").exists());
    host.exec_ok(&["ip", "link", "show", "lxutbr1"]);
    let forced = host.run(|| bridge::teardown(&cfg, true).unwrap());
    assert_eq!(forced.changes, vec!["deleted bridge lxutbr1".to_string()]);
    assert!(!host
        .exec(&["ip", "link", "show", "lxutbr1"])
        .status
        .success());
    let again = host.run(|| bridge::teardown(&cfg, false).unwrap());
    assert!(
        again.changes.is_empty() && again.kept.is_empty(),
        "{again:?}"
    );
}

#[test]
fn nat_only_when_asked_and_removed_at_teardown() {
    let Some([host]) = namespaces(&["ip", "nft"], ["nat"]) else {
        return;
    };
    let state = state_dir();
    let host_forward_before = fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let cfg = BridgeConfig {
        name: "lxutbr2".to_string(),
        ipv4: Some("10.0.5.1/24".parse().unwrap()),
        ipv6: Ipv6Setting::Fixed("fd42:1:2::1/64".parse().unwrap()),
        nat: true,
        dnsmasq: None,
        state_dir: state.path().to_path_buf(),
        ..BridgeConfig::default()
    };
    assert_eq!(
        host.exec_ok(&["cat", "/proc/sys/net/ipv4/ip_forward"])
            .trim(),
        "0"
    );
    let rep = host.run(|| bridge::setup(&cfg).unwrap());
    assert!(
        rep.changes
            .iter()
            .any(|c| c == "added NAT table lxu_lxutbr2 for 10.0.5.0/24"),
        "{rep:?}"
    );
    let table = host.exec_ok(&["nft", "list", "table", "ip", "lxu_lxutbr2"]);
    assert!(
        table.contains("ip saddr 10.0.5.0/24 ip daddr != 10.0.5.0/24 counter")
            && table.contains("masquerade"),
        "{table}"
    );
    assert_eq!(
        host.exec_ok(&["cat", "/proc/sys/net/ipv4/ip_forward"])
            .trim(),
        "1"
    );
    let addrs = host.exec_ok(&["ip", "-o", "addr", "show", "lxutbr2"]);
    assert!(addrs.contains("inet6 fd42:1:2::1/64"), "{addrs}");
    let again = host.run(|| bridge::setup(&cfg).unwrap());
    assert!(again.changes.is_empty(), "{again:?}");

    let down = host.run(|| bridge::teardown(&cfg, false).unwrap());
    assert!(
        down.changes.iter().any(|c| c.contains("removed NAT table")),
        "{down:?}"
    );
    assert!(!host
        .exec(&["nft", "list", "table", "ip", "lxu_lxutbr2"])
        .status
        .success());
    assert_eq!(
        host.exec_ok(&["cat", "/proc/sys/net/ipv4/ip_forward"])
            .trim(),
        "0",
        "forwarding restored"
    );
    // The host namespace was never touched.
    assert_eq!(
        fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        host_forward_before
    );
}

#[test]
fn setup_without_nat_never_runs_nft() {
    let Some([host]) = namespaces(&["ip"], ["nonat"]) else {
        return;
    };
    let state = state_dir();
    let cfg = BridgeConfig {
        name: "lxutbr3".to_string(),
        ipv6: Ipv6Setting::Off,
        dnsmasq: None,
        state_dir: state.path().to_path_buf(),
        ..BridgeConfig::default()
    };
    // With PATH emptied, any attempt to run nft would fail the setup.
    let rep = host.run(|| {
        let saved = std::env::var_os("PATH");
        std::env::set_var("PATH", "/nonexistent");
        let r = bridge::setup(&cfg);
        if let Some(p) = saved {
            std::env::set_var("PATH", p);
        }
        r.unwrap()
    });
    assert_eq!(rep.changes.len(), 3, "{rep:?}");
    assert_eq!(
        host.exec_ok(&["cat", "/proc/sys/net/ipv4/ip_forward"])
            .trim(),
        "0"
    );
    // An existing non-bridge device of that name is refused, not replaced.
    host.exec_ok(&[
        "ip", "link", "add", "lxutbr4", "type", "veth", "peer", "name", "lxutp4",
    ]);
    let other = BridgeConfig {
        name: "lxutbr4".to_string(),
        ..cfg.clone()
    };
    let err = host.run(|| bridge::setup(&other).unwrap_err());
    assert_eq!(err.to_string(), "`lxutbr4` exists but is not a bridge");
}
