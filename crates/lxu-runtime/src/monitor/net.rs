//! A container's veth devices: created by the monitor on the host side (through the
//! setuid `lxu-user-nic` for an unprivileged caller, over netlink for root), configured
//! by init inside its own network namespace.
//!
//! Host devices go away by themselves: a veth pair is destroyed with the network
//! namespace of its container end, which dies with the container's last process, also
//! when the monitor was killed. The helper's line for the device in `/run/lxu/nics` does
//! not: when init has ended, the monitor (which keeps the namespace alive) has the helper
//! delete each device and its line explicitly ([`delete_with_helper`]); only after a
//! crash is a line left for the helper's next run to cull.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use lxu_config::{Config, Location, NetType};
use lxu_net::reply::{NicCreated, ReplyError};
use lxu_net::Netlink;

use crate::error::{Chain, Result};
use crate::wire::init::Nic;

/// A container's veths could not be planned or made.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("{name}: lxc.net.{index}: {problem} (config line {loc})")]
    Config {
        name: String,
        index: u32,
        problem: String,
        loc: Location,
    },
    #[error("{name}: lxc.net.{index}.link is not set (the bridge the veth joins)")]
    NoLink { name: String, index: u32 },
    #[error("{name}: open `{path}`")]
    Netns {
        name: String,
        path: String,
        #[source]
        source: lxu_net::netns::NetnsError,
    },
    #[error("{name}: lxc.net.{index}: create a veth on {bridge}")]
    Veth {
        name: String,
        index: u32,
        bridge: String,
        #[source]
        source: lxu_net::VethError,
    },
    /// The setuid helper could not be run (the error is part of the message: the hint
    /// comes after it).
    #[error("{name}: lxc.net.{index}: run `{}`: {error} (install it setuid root: ./x install)", helper.display())]
    RunHelper {
        name: String,
        index: u32,
        helper: PathBuf,
        error: std::io::Error,
    },
    /// The helper refused; `said` is what it printed.
    #[error("{name}: lxc.net.{index}: cannot create a veth on {bridge}: {said}")]
    Helper {
        name: String,
        index: u32,
        bridge: String,
        said: String,
    },
    #[error("{name}: unexpected answer from {}", helper.display())]
    HelperReply {
        name: String,
        helper: PathBuf,
        #[source]
        source: ReplyError,
    },
}

/// One `lxc.net.N` of type veth, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NetPlan {
    pub(crate) index: u32,
    pub(crate) link: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) mac: Option<[u8; 6]>,
    pub(crate) mtu: Option<u32>,
    pub(crate) up: bool,
    pub(crate) ipv4: Vec<(Ipv4Addr, u8)>,
    pub(crate) ipv4_gateway: Option<String>,
    pub(crate) ipv6: Vec<(Ipv6Addr, u8)>,
    pub(crate) ipv6_gateway: Option<String>,
    pub(crate) veth_pair: Option<String>,
}

/// The host side of one created pair, and what init must apply inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Created {
    pub(crate) host: String,
    /// The bridge it joined.
    pub(crate) bridge: String,
    /// Made by the setuid helper (which recorded it in its database).
    pub(crate) by_helper: bool,
    pub(crate) inside: Nic,
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<u8> = s
        .split(':')
        .map(|p| u8::from_str_radix(p, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    parts.try_into().ok()
}

fn parse_cidr<T: std::str::FromStr>(s: &str, max: u8) -> Option<(T, u8)> {
    let first = s.split_whitespace().next()?;
    let (a, p) = first.split_once('/').unwrap_or((first, ""));
    let prefix = if p.is_empty() { max } else { p.parse().ok()? };
    (prefix <= max).then_some((a.parse().ok()?, prefix))
}

/// The veth interfaces of a config (other types are handled elsewhere or refused).
pub(crate) fn plan(config: &Config, name: &str) -> Result<Vec<NetPlan>> {
    let mut out = Vec::new();
    for n in config.networks.iter().filter(|n| n.kind == NetType::Veth) {
        let bad = |problem: String| NetError::Config {
            name: name.to_string(),
            index: n.index,
            problem,
            loc: n.loc.clone(),
        };
        let mac = match &n.hwaddr {
            Some(h) => Some(
                parse_mac(h).ok_or_else(|| bad(format!("hwaddr `{h}` is not a MAC address")))?,
            ),
            None => None,
        };
        let ipv4 = n
            .ipv4
            .iter()
            .map(|a| {
                parse_cidr::<Ipv4Addr>(a, 32).ok_or_else(|| bad(format!("bad ipv4.address `{a}`")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ipv6 = n
            .ipv6
            .iter()
            .map(|a| {
                parse_cidr::<Ipv6Addr>(a, 128).ok_or_else(|| bad(format!("bad ipv6.address `{a}`")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.push(NetPlan {
            index: n.index,
            link: n.link.clone(),
            name: n.name.clone(),
            mac,
            mtu: n.mtu,
            up: n.flags_up,
            ipv4,
            ipv4_gateway: n.ipv4_gateway.clone(),
            ipv6,
            ipv6_gateway: n.ipv6_gateway.clone(),
            veth_pair: n.veth_pair.clone(),
        });
    }
    Ok(out)
}

/// The bridge's own addresses on the host (for `gateway = auto`).
fn bridge_addresses(bridge: &str) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
    let Ok(mut nl) = Netlink::open() else {
        return (None, None);
    };
    let Ok(ifs) = nl.interfaces() else {
        return (None, None);
    };
    let Some(i) = ifs.into_iter().find(|i| i.link.name == bridge) else {
        return (None, None);
    };
    (i.ipv4.first().map(|a| a.0), i.ipv6.first().map(|a| a.0))
}

fn resolve_gateways(p: &NetPlan) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
    let auto = match &p.link {
        Some(b)
            if p.ipv4_gateway.as_deref() == Some("auto")
                || p.ipv6_gateway.as_deref() == Some("auto") =>
        {
            bridge_addresses(b)
        }
        _ => (None, None),
    };
    let g4 = match p.ipv4_gateway.as_deref() {
        Some("auto") => auto.0,
        Some(g) => g.parse().ok(),
        None => None,
    };
    let g6 = match p.ipv6_gateway.as_deref() {
        Some("auto") => auto.1,
        Some(g) => g.parse().ok(),
        None => None,
    };
    (g4, g6)
}

/// Creates the host side of every veth for init `pid`, adding each to `out` as soon as
/// it exists (so that a failure half-way still knows what to delete).
pub(crate) fn create(
    plans: &[NetPlan],
    pid: i32,
    euid: u32,
    helper: &Path,
    lxcpath: &Path,
    name: &str,
    out: &mut Vec<Created>,
) -> Result<()> {
    for p in plans {
        let Some(bridge) = &p.link else {
            return Err(NetError::NoLink {
                name: name.to_string(),
                index: p.index,
            }
            .into());
        };
        let (host, container) = if euid == 0 {
            create_as_root(p, pid, bridge, name)?
        } else {
            create_with_helper(p, pid, bridge, helper, lxcpath, name)?
        };
        let (gateway4, gateway6) = resolve_gateways(p);
        out.push(Created {
            host,
            bridge: bridge.clone(),
            by_helper: euid != 0,
            inside: Nic {
                ifname: container,
                gateway4,
                gateway6,
            },
        });
    }
    Ok(())
}

/// Has the setuid helper delete each device it made, and its database line, while
/// `netns` (the container's network namespace, which this descriptor keeps alive after
/// init's end) still holds the peers: `delete` checks that the caller administers the
/// namespace and that the device's peer lives there. The namespace reaches the helper as
/// its standard input, named `/proc/self/fd/0`: the helper opens the path as the
/// caller, and the monitor's own /proc entries are closed to the caller (it is not
/// dumpable), the helper's own descriptors are not.
///
/// The helper is not waited for: deleting a veth whose peer is in another namespace makes
/// the kernel wait for the network stack to quiesce (12-23 ms here, 28 ms more per `lxu
/// stop -k` when the monitor waited), work it otherwise did in the background after the
/// namespace died. The helper keeps the device's line until the device is gone (it does
/// not hold its database lock meanwhile, so a restart's `create` is not queued behind it);
/// a `create` at the full allowance waits for such a dying device. The monitor reaps the
/// helper if it still runs (a reboot), else it is reparented when the monitor exits.
///
/// Failures are not reported: the device still goes with the namespace, and the helper
/// culls a line without a device on its next run.
pub(crate) fn delete_with_helper(
    created: &[Created],
    netns: &OwnedFd,
    helper: &Path,
    lxcpath: &Path,
    name: &str,
) {
    for c in created.iter().filter(|c| c.by_helper) {
        let Ok(fd) = netns.try_clone() else {
            return;
        };
        let _ = Command::new(helper)
            .arg("delete")
            .arg(lxcpath)
            .arg(name)
            .arg("/proc/self/fd/0")
            .arg("veth")
            .arg(&c.bridge)
            .arg(&c.host)
            .env_clear()
            .stdin(Stdio::from(fd))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }
}

fn create_as_root(
    p: &NetPlan,
    pid: i32,
    bridge: &str,
    name: &str,
) -> Result<(String, String), NetError> {
    let path = format!("/proc/{pid}/ns/net");
    let netns =
        lxu_net::netns::open_checked(Path::new(&path)).map_err(|source| NetError::Netns {
            name: name.to_string(),
            path: path.clone(),
            source,
        })?;
    let pair = lxu_net::create_veth_for(&lxu_net::VethRequest {
        netns: netns.as_fd(),
        bridge: Some(bridge.to_string()),
        host_name: p.veth_pair.clone(),
        container_name: p.name.clone(),
        container_mac: p.mac,
        mtu: p.mtu,
    })
    .map_err(|source| NetError::Veth {
        name: name.to_string(),
        index: p.index,
        bridge: bridge.to_string(),
        source,
    })?;
    Ok((pair.host_name, pair.container_name))
}

fn create_with_helper(
    p: &NetPlan,
    pid: i32,
    bridge: &str,
    helper: &Path,
    lxcpath: &Path,
    name: &str,
) -> Result<(String, String), NetError> {
    let mut cmd = Command::new(helper);
    cmd.arg("create")
        .arg(lxcpath)
        .arg(name)
        .arg(pid.to_string())
        .arg("veth")
        .arg(bridge);
    if let Some(n) = &p.name {
        cmd.arg(n);
    }
    let out = cmd
        .env_clear()
        .output()
        .map_err(|error| NetError::RunHelper {
            name: name.to_string(),
            index: p.index,
            helper: helper.to_path_buf(),
            error,
        })?;
    if !out.status.success() {
        return Err(NetError::Helper {
            name: name.to_string(),
            index: p.index,
            bridge: bridge.to_string(),
            said: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let nic: NicCreated = String::from_utf8_lossy(&out.stdout)
        .parse()
        .map_err(|source| NetError::HelperReply {
            name: name.to_string(),
            helper: helper.to_path_buf(),
            source,
        })?;
    Ok((nic.host_name, nic.container_name))
}

/// In init, right after creating the container's network namespace: a netlink socket in
/// it, with loopback up. Needs no id map, so init does it while the map helpers run.
pub(crate) fn open_inside() -> std::result::Result<Netlink, String> {
    let mut nl = Netlink::open().map_err(|e| format!("open netlink: {}", Chain(&e)))?;
    if let Ok(Some(lo)) = nl.link_by_name("lo") {
        nl.set_up(lo.index, true)
            .map_err(|e| format!("bring up lo: {}", Chain(&e)))?;
    }
    Ok(nl)
}

/// In init, inside the container's network namespace, once the monitor has moved the
/// veths in: each one's MAC, MTU, addresses, state and default routes.
pub(crate) fn configure_inside(
    nl: &mut Netlink,
    plans: &[NetPlan],
    nics: &[Nic],
) -> std::result::Result<(), String> {
    for (p, nic) in plans.iter().zip(nics) {
        let ifname = nic.ifname.as_str();
        let fail = |what: &str, e: &dyn std::error::Error| {
            format!("lxc.net.{} ({ifname}): {what}: {}", p.index, Chain(e))
        };
        let link = nl
            .require_link(ifname)
            .map_err(|e| fail("find the device", &e))?;
        if let Some(mac) = p.mac {
            nl.set_mac(link.index, mac)
                .map_err(|e| fail("set hwaddr", &e))?;
        }
        if let Some(mtu) = p.mtu {
            nl.set_mtu(link.index, mtu)
                .map_err(|e| fail("set mtu", &e))?;
        }
        for (a, pre) in &p.ipv4 {
            nl.add_address(link.index, IpAddr::V4(*a), *pre, false)
                .map_err(|e| fail(&format!("add {a}/{pre}"), &e))?;
        }
        for (a, pre) in &p.ipv6 {
            nl.add_address(link.index, IpAddr::V6(*a), *pre, true)
                .map_err(|e| fail(&format!("add {a}/{pre}"), &e))?;
        }
        if p.up || !p.ipv4.is_empty() || !p.ipv6.is_empty() {
            nl.set_up(link.index, true)
                .map_err(|e| fail("bring up", &e))?;
        }
        if let Some(g) = nic.gateway4 {
            nl.add_default_route(IpAddr::V4(g), Some(link.index))
                .map_err(|e| fail(&format!("default route via {g}"), &e))?;
        }
        if let Some(g) = nic.gateway6 {
            nl.add_default_route(IpAddr::V6(g), Some(link.index))
                .map_err(|e| fail(&format!("default route via {g}"), &e))?;
        }
    }
    Ok(())
}

/// Facts for `info`/`ls`: the container's interfaces and global addresses (read through
/// a netlink socket that lives in its namespace), and the host veths' counters.
pub(crate) fn info_facts(
    inside: Option<&mut Netlink>,
    hosts: &[String],
    out: &mut Vec<(String, String)>,
) {
    let mut fact = |k: &str, v: String| out.push((k.to_string(), v));
    if let Some(nl) = inside {
        if let Ok(ifs) = nl.interfaces() {
            for i in ifs {
                fact("interface", i.link.name);
                if i.link.loopback {
                    continue;
                }
                for (a, _) in &i.ipv4 {
                    fact("ipv4", a.to_string());
                }
                for (a, _) in &i.ipv6 {
                    fact("ipv6", a.to_string());
                }
            }
        }
    }
    if !hosts.is_empty() {
        if let Ok(mut nl) = Netlink::open() {
            for h in hosts {
                if let Ok(Some(l)) = nl.link_by_name(h) {
                    // The host end receives what the container sends.
                    fact("link", format!("{h} {} {}", l.rx_bytes, l.tx_bytes));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_and_cidrs() {
        assert_eq!(
            parse_mac("00:16:3e:ab:0c:ff"),
            Some([0, 0x16, 0x3e, 0xab, 0x0c, 0xff])
        );
        assert_eq!(parse_mac("00:16:3e:ab:0c"), None);
        assert_eq!(
            parse_cidr::<Ipv4Addr>("10.0.3.5/24 10.0.3.255", 32),
            Some((Ipv4Addr::new(10, 0, 3, 5), 24))
        );
        assert_eq!(
            parse_cidr::<Ipv4Addr>("10.0.3.5", 32),
            Some((Ipv4Addr::new(10, 0, 3, 5), 32))
        );
        assert_eq!(parse_cidr::<Ipv4Addr>("10.0.3.5/33", 32), None);
    }
}
