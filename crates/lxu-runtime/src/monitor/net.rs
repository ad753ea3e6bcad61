//! A container's veth devices: created by the monitor on the host side (through the
//! setuid `lxu-user-nic` for an unprivileged caller, over netlink for root), configured
//! by init inside its own network namespace.
//!
//! Host devices go away by themselves: a veth pair is destroyed with the network
//! namespace of its container end, which dies with the container's last process, also
//! when the monitor was killed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::Command;

use lxu_config::{Config, NetType};
use lxu_net::Netlink;

use crate::error::{Error, Result};

/// One `lxc.net.N` of type veth, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetPlan {
    pub index: u32,
    pub link: Option<String>,
    pub name: Option<String>,
    pub mac: Option<[u8; 6]>,
    pub mtu: Option<u32>,
    pub up: bool,
    pub ipv4: Vec<(Ipv4Addr, u8)>,
    pub ipv4_gateway: Option<String>,
    pub ipv6: Vec<(Ipv6Addr, u8)>,
    pub ipv6_gateway: Option<String>,
    pub veth_pair: Option<String>,
}

/// The host side of one created pair, and what init must apply inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub host: String,
    pub container: String,
    /// Gateways resolved on the host (`auto` = the bridge's address).
    pub gateway4: Option<Ipv4Addr>,
    pub gateway6: Option<Ipv6Addr>,
}

pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
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
pub fn plan(config: &Config, name: &str) -> Result<Vec<NetPlan>> {
    let mut out = Vec::new();
    for n in config.networks.iter().filter(|n| n.kind == NetType::Veth) {
        let bad = |what: &str| {
            Error::Msg(format!(
                "{name}: lxc.net.{}: {what} (config line {})",
                n.index, n.loc
            ))
        };
        let mac = match &n.hwaddr {
            Some(h) => Some(
                parse_mac(h).ok_or_else(|| bad(&format!("hwaddr `{h}` is not a MAC address")))?,
            ),
            None => None,
        };
        let ipv4 = n
            .ipv4
            .iter()
            .map(|a| {
                parse_cidr::<Ipv4Addr>(a, 32).ok_or_else(|| bad(&format!("bad ipv4.address `{a}`")))
            })
            .collect::<Result<Vec<_>>>()?;
        let ipv6 = n
            .ipv6
            .iter()
            .map(|a| {
                parse_cidr::<Ipv6Addr>(a, 128)
                    .ok_or_else(|| bad(&format!("bad ipv6.address `{a}`")))
            })
            .collect::<Result<Vec<_>>>()?;
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

/// Creates the host side of every veth for init `pid`.
pub fn create(
    plans: &[NetPlan],
    pid: i32,
    euid: u32,
    helper: &Path,
    lxcpath: &Path,
    name: &str,
) -> Result<Vec<Created>> {
    let mut out = Vec::new();
    for p in plans {
        let Some(bridge) = &p.link else {
            return Err(Error::Msg(format!(
                "{name}: lxc.net.{}.link is not set (the bridge the veth joins)",
                p.index
            )));
        };
        let (host, container) = if euid == 0 {
            create_as_root(p, pid, bridge, name)?
        } else {
            create_with_helper(p, pid, bridge, helper, lxcpath, name)?
        };
        let (gateway4, gateway6) = resolve_gateways(p);
        out.push(Created {
            host,
            container,
            gateway4,
            gateway6,
        });
    }
    Ok(out)
}

fn create_as_root(p: &NetPlan, pid: i32, bridge: &str, name: &str) -> Result<(String, String)> {
    let path = format!("/proc/{pid}/ns/net");
    let netns = lxu_net::netns::open_checked(Path::new(&path))
        .map_err(|e| Error::Msg(format!("{name}: open `{path}`: {e}")))?;
    let pair = lxu_net::create_veth_for(&lxu_net::VethRequest {
        netns: netns.as_fd(),
        bridge: Some(bridge.to_string()),
        host_name: p.veth_pair.clone(),
        container_name: p.name.clone(),
        container_mac: p.mac,
        mtu: p.mtu,
    })
    .map_err(|e| {
        Error::Msg(format!(
            "{name}: lxc.net.{}: create a veth on {bridge}: {e}",
            p.index
        ))
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
) -> Result<(String, String)> {
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
    let out = cmd.env_clear().output().map_err(|e| {
        Error::Msg(format!(
            "{name}: lxc.net.{}: run `{}`: {e} (install it setuid root: ./x install)",
            p.index,
            helper.display()
        ))
    })?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(Error::Msg(format!(
            "{name}: lxc.net.{}: cannot create a veth on {bridge}: {msg}",
            p.index
        )));
    }
    // `<container ifname>:<container ifindex>:<host veth>:<host ifindex>`
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let f: Vec<&str> = text.split(':').collect();
    if f.len() != 4 {
        return Err(Error::Msg(format!(
            "{name}: unexpected answer from {}: `{text}`",
            helper.display()
        )));
    }
    Ok((f[2].to_string(), f[0].to_string()))
}

/// Text for the `go` message: per device `container,gw4,gw6` (`-` for none).
pub fn encode(created: &[Created]) -> String {
    created
        .iter()
        .map(|c| {
            format!(
                "{},{},{}",
                c.container,
                c.gateway4.map_or("-".into(), |g| g.to_string()),
                c.gateway6.map_or("-".into(), |g| g.to_string())
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// In init, right after creating the container's network namespace: a netlink socket in
/// it, with loopback up. Needs no id map, so init does it while the map helpers run.
pub fn open_inside() -> std::result::Result<Netlink, String> {
    let mut nl = Netlink::open().map_err(|e| format!("open netlink: {e}"))?;
    if let Ok(Some(lo)) = nl.link_by_name("lo") {
        nl.set_up(lo.index, true)
            .map_err(|e| format!("bring up lo: {e}"))?;
    }
    Ok(nl)
}

/// In init, inside the container's network namespace, once the monitor has moved the
/// veths in: each one's MAC, MTU, addresses, state and default routes.
pub fn configure_inside(
    nl: &mut Netlink,
    plans: &[NetPlan],
    go: &str,
) -> std::result::Result<(), String> {
    for (p, dev) in plans.iter().zip(go.split_whitespace()) {
        let mut f = dev.split(',');
        let ifname = f.next().unwrap_or_default();
        let gw4: Option<Ipv4Addr> = f.next().and_then(|g| g.parse().ok());
        let gw6: Option<Ipv6Addr> = f.next().and_then(|g| g.parse().ok());
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            format!("lxc.net.{} ({ifname}): {what}: {e}", p.index)
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
        if let Some(g) = gw4 {
            nl.add_default_route(IpAddr::V4(g), Some(link.index))
                .map_err(|e| fail(&format!("default route via {g}"), &e))?;
        }
        if let Some(g) = gw6 {
            nl.add_default_route(IpAddr::V6(g), Some(link.index))
                .map_err(|e| fail(&format!("default route via {g}"), &e))?;
        }
    }
    Ok(())
}

/// `key value` lines for `info`/`ls`: the container's interfaces and global addresses
/// (read through a netlink socket that lives in its namespace), and the host veths'
/// counters.
pub fn info_lines(inside: Option<&mut Netlink>, hosts: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(nl) = inside {
        if let Ok(ifs) = nl.interfaces() {
            for i in ifs {
                out.push(format!("interface {}", i.link.name));
                if i.link.loopback {
                    continue;
                }
                out.extend(i.ipv4.iter().map(|(a, _)| format!("ipv4 {a}")));
                out.extend(i.ipv6.iter().map(|(a, _)| format!("ipv6 {a}")));
            }
        }
    }
    if !hosts.is_empty() {
        if let Ok(mut nl) = Netlink::open() {
            for h in hosts {
                if let Ok(Some(l)) = nl.link_by_name(h) {
                    // The host end receives what the container sends.
                    out.push(format!("link {h} {} {}", l.rx_bytes, l.tx_bytes));
                }
            }
        }
    }
    out
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
        let created = vec![Created {
            host: "veth1".into(),
            container: "eth0".into(),
            gateway4: Some(Ipv4Addr::new(10, 0, 3, 1)),
            gateway6: None,
        }];
        assert_eq!(encode(&created), "eth0,10.0.3.1,-");
    }
}
