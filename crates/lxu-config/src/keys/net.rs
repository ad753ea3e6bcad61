//! The keys of one network interface, `lxc.net.N.<sub>` (LXC 1.0:
//! `lxc.network.<sub>` for the interface the latest `type` line opened).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{suffix_of, Assign, Key};
use crate::error::ConfigError;
use crate::net::addr::{
    check_ipv4_address, check_ipv6_address, check_route, complete_hwaddr, is_hwaddr_template,
};
use crate::net::{NetType, Network};
use crate::values::parse_u32;

pub(crate) const NET_PREFIX: &str = "lxc.net";
/// LXC 1.0's name of [`NET_PREFIX`].
pub(crate) const LEGACY_NET_PREFIX: &str = "lxc.network";

/// One key of a network interface.
pub(crate) struct NetKey {
    /// The part after `lxc.net.N.`.
    pub(crate) name: &'static str,
    /// The part after LXC 1.0's `lxc.network.`, for the keys 1.0 had.
    pub(crate) legacy: Option<&'static str>,
    pub(crate) syntax: &'static str,
    pub(crate) doc: &'static str,
    pub(crate) apply: NetApply,
}

/// What a network key does.
#[derive(Clone, Copy)]
pub(crate) enum NetApply {
    /// `type`: opens the interface (or drops it); the evaluator does that.
    Type,
    /// A setting of an open interface.
    Setting {
        /// Lines add values instead of replacing them.
        list: bool,
        /// The interface type the key is for, if only one.
        only: Option<NetType>,
        /// Applies a non-empty value.
        set: fn(&mut Network, &mut Assign<'_, '_>) -> Result<(), ConfigError>,
        /// What an empty value does.
        clear: fn(&mut Network),
    },
}

impl NetKey {
    pub(crate) fn is_type(&self) -> bool {
        matches!(self.apply, NetApply::Type)
    }
}

/// A setting that replaces the earlier value, for any interface type.
const fn setting(
    set: fn(&mut Network, &mut Assign<'_, '_>) -> Result<(), ConfigError>,
    clear: fn(&mut Network),
) -> NetApply {
    NetApply::Setting {
        list: false,
        only: None,
        set,
        clear,
    }
}

/// A setting for interfaces of one type.
const fn setting_of(
    only: NetType,
    set: fn(&mut Network, &mut Assign<'_, '_>) -> Result<(), ConfigError>,
    clear: fn(&mut Network),
) -> NetApply {
    NetApply::Setting {
        list: false,
        only: Some(only),
        set,
        clear,
    }
}

/// A setting whose lines add up, for interfaces of `only` type if given.
const fn list(
    only: Option<NetType>,
    set: fn(&mut Network, &mut Assign<'_, '_>) -> Result<(), ConfigError>,
    clear: fn(&mut Network),
) -> NetApply {
    NetApply::Setting {
        list: true,
        only,
        set,
        clear,
    }
}

/// Interface names are limited by IFNAMSIZ (16 including the NUL).
fn ifname(a: &Assign<'_, '_>) -> Result<String, ConfigError> {
    a.text_if(a.value.len() <= 15, "interface names are at most 15 bytes")
}

fn gateway<A: std::str::FromStr>(a: &Assign<'_, '_>, reason: &str) -> Result<String, ConfigError> {
    let ok = matches!(a.value, "auto" | "dev") || a.value.parse::<A>().is_ok();
    a.text_if(ok, reason)
}

/// Every network key, in the manual's order.
pub(crate) const NET_KEYS: &[NetKey] = &[
    NetKey {
        name: "type",
        legacy: Some("type"),
        syntax: "TYPE",
        doc: "Opens interface N: `veth` (a pair with one end on the host, on the bridge \
              `link`), `empty` (only loopback), `none` (the host's network), `macvlan`, `ipvlan`, \
              `vlan`, `phys`. lxu sets up veth, empty and none; an unprivileged container may \
              have no other type. A later `type` line for N starts the interface afresh; an empty value removes it.",
        apply: NetApply::Type,
    },
    NetKey {
        name: "flags",
        legacy: Some("flags"),
        syntax: "up",
        doc: "`up` brings the interface up when the container starts.",
        apply: setting(
            |n, a| a.text_if(a.value == "up", "the only flag is `up`").map(|_| n.flags_up = true),
            |n| n.flags_up = false,
        ),
    },
    NetKey {
        name: "link",
        legacy: Some("link"),
        syntax: "IFNAME",
        doc: "The host interface: the bridge of a veth, the parent of a macvlan, ipvlan or \
              vlan, the device a phys interface moves into the container.",
        apply: setting(|n, a| ifname(a).map(|v| n.link = Some(v)), |n| n.link = None),
    },
    NetKey {
        name: "name",
        legacy: Some("name"),
        syntax: "IFNAME",
        doc: "The interface's name inside the container (`eth0`, …).",
        apply: setting(|n, a| ifname(a).map(|v| n.name = Some(v)), |n| n.name = None),
    },
    NetKey {
        name: "hwaddr",
        legacy: Some("hwaddr"),
        syntax: "MAC",
        doc: "The MAC address inside the container. Each `x` of a template such as \
              `00:16:3e:xx:xx:xx` becomes a random hex digit (the address stays unicast) each \
              time the file is read; `lxc-create` and `lxc-copy` write the result into the file.",
        apply: setting(set_hwaddr, |n| n.hwaddr = None),
    },
    NetKey {
        name: "mtu",
        legacy: Some("mtu"),
        syntax: "BYTES",
        doc: "The interface's MTU.",
        apply: setting(
            |n, a| {
                let mtu = parse_u32(a.value).ok_or_else(|| a.bad("not a number"))?;
                n.mtu = Some(mtu);
                Ok(())
            },
            |n| n.mtu = None,
        ),
    },
    NetKey {
        name: "ipv4.address",
        legacy: Some("ipv4"),
        syntax: "ADDRESS[/PREFIX] [BROADCAST]",
        doc: "An IPv4 address of the interface; repeatable.",
        apply: list(
            None,
            |n, a| a.parse(check_ipv4_address).map(|_| n.ipv4.push(a.value.to_string())),
            |n| n.ipv4.clear(),
        ),
    },
    NetKey {
        name: "ipv4.gateway",
        legacy: Some("ipv4.gateway"),
        syntax: "ADDRESS|auto|dev",
        doc: "The IPv4 default route: a gateway address, `auto` (the address of the bridge \
              `link`) or `dev` (a route through the interface itself).",
        apply: setting(
            |n, a| {
                gateway::<Ipv4Addr>(a, "expected an IPv4 address, `auto` or `dev`")
                    .map(|v| n.ipv4_gateway = Some(v))
            },
            |n| n.ipv4_gateway = None,
        ),
    },
    NetKey {
        name: "ipv6.address",
        legacy: Some("ipv6"),
        syntax: "ADDRESS[/PREFIX]",
        doc: "An IPv6 address of the interface; repeatable.",
        apply: list(
            None,
            |n, a| a.parse(check_ipv6_address).map(|_| n.ipv6.push(a.value.to_string())),
            |n| n.ipv6.clear(),
        ),
    },
    NetKey {
        name: "ipv6.gateway",
        legacy: Some("ipv6.gateway"),
        syntax: "ADDRESS|auto|dev",
        doc: "The IPv6 default route, like `ipv4.gateway`.",
        apply: setting(
            |n, a| {
                gateway::<Ipv6Addr>(a, "expected an IPv6 address, `auto` or `dev`")
                    .map(|v| n.ipv6_gateway = Some(v))
            },
            |n| n.ipv6_gateway = None,
        ),
    },
    NetKey {
        name: "script.up",
        legacy: Some("script.up"),
        syntax: "COMMAND",
        doc: "A command LXC runs on the host once the interface exists. lxu does not run it.",
        apply: setting(
            |n, a| a.text().map(|v| n.script_up = Some(v)),
            |n| n.script_up = None,
        ),
    },
    NetKey {
        name: "script.down",
        legacy: Some("script.down"),
        syntax: "COMMAND",
        doc: "A command LXC runs on the host before the interface goes. lxu does not run it.",
        apply: setting(
            |n, a| a.text().map(|v| n.script_down = Some(v)),
            |n| n.script_down = None,
        ),
    },
    NetKey {
        name: "l2proxy",
        legacy: None,
        syntax: "0|1",
        doc: "1 answers ARP and NDP for the container's addresses on the `link` interface. lxu checks the value and does not act on it.",
        apply: setting(|n, a| a.bool01().map(|b| n.l2proxy = b), |n| n.l2proxy = false),
    },
    NetKey {
        name: "veth.pair",
        legacy: Some("veth.pair"),
        syntax: "IFNAME",
        doc: "The name of the host end of a veth pair (default: a generated one).",
        apply: setting_of(
            NetType::Veth,
            |n, a| ifname(a).map(|v| n.veth_pair = Some(v)),
            |n| n.veth_pair = None,
        ),
    },
    NetKey {
        name: "veth.mode",
        legacy: None,
        syntax: "bridge|router",
        doc: "`bridge` (the default) puts the host end on the bridge `link`; `router` routes \
              to it instead. lxu checks the value and does not act on it.",
        apply: setting_of(
            NetType::Veth,
            |n, a| a.one_of(&["bridge", "router"]).map(|v| n.veth_mode = Some(v)),
            |n| n.veth_mode = None,
        ),
    },
    NetKey {
        name: "veth.ipv4.route",
        legacy: None,
        syntax: "ADDRESS/PREFIX",
        doc: "A route on the host to the container through the veth; repeatable. lxu checks the value and does not act on it.",
        apply: list(
            Some(NetType::Veth),
            |n, a| {
                a.parse(|v| check_route(v, false))?;
                n.veth_ipv4_routes.push(a.value.to_string());
                Ok(())
            },
            |n| n.veth_ipv4_routes.clear(),
        ),
    },
    NetKey {
        name: "veth.ipv6.route",
        legacy: None,
        syntax: "ADDRESS/PREFIX",
        doc: "The same for IPv6. lxu checks the value and does not act on it.",
        apply: list(
            Some(NetType::Veth),
            |n, a| {
                a.parse(|v| check_route(v, true))?;
                n.veth_ipv6_routes.push(a.value.to_string());
                Ok(())
            },
            |n| n.veth_ipv6_routes.clear(),
        ),
    },
    NetKey {
        name: "veth.vlan.id",
        legacy: None,
        syntax: "none|ID",
        doc: "The VLAN (0 … 4094) of the host end on a VLAN-filtering bridge. lxu checks the value and does not act on it.",
        apply: setting_of(
            NetType::Veth,
            |n, a| {
                let ok = a.value == "none" || parse_u32(a.value).is_some_and(|id| id <= 4094);
                a.text_if(ok, "expected `none` or a VLAN id 0..4094")
                    .map(|v| n.veth_vlan_id = Some(v))
            },
            |n| n.veth_vlan_id = None,
        ),
    },
    NetKey {
        name: "veth.vlan.tagged.id",
        legacy: None,
        syntax: "ID",
        doc: "A VLAN (0 … 4094) the host end carries tagged; repeatable. lxu checks the value and does not act on it.",
        apply: list(
            Some(NetType::Veth),
            |n, a| {
                let id = parse_u32(a.value)
                    .filter(|&id| id <= 4094)
                    .ok_or_else(|| a.bad("expected a VLAN id 0..4094"))?;
                n.veth_vlan_tagged_ids.push(id as u16);
                Ok(())
            },
            |n| n.veth_vlan_tagged_ids.clear(),
        ),
    },
    NetKey {
        name: "veth.n_rxqueues",
        legacy: None,
        syntax: "COUNT",
        doc: "The number of receive queues of the veth pair. lxu checks the value and does not act on it.",
        apply: setting_of(
            NetType::Veth,
            |n, a| queues(a).map(|q| n.veth_n_rxqueues = Some(q)),
            |n| n.veth_n_rxqueues = None,
        ),
    },
    NetKey {
        name: "veth.n_txqueues",
        legacy: None,
        syntax: "COUNT",
        doc: "The number of transmit queues of the veth pair. lxu checks the value and does not act on it.",
        apply: setting_of(
            NetType::Veth,
            |n, a| queues(a).map(|q| n.veth_n_txqueues = Some(q)),
            |n| n.veth_n_txqueues = None,
        ),
    },
    NetKey {
        name: "macvlan.mode",
        legacy: Some("macvlan.mode"),
        syntax: "private|vepa|bridge|passthru",
        doc: "The macvlan mode. lxu checks the value and does not act on it.",
        apply: setting_of(
            NetType::Macvlan,
            |n, a| {
                a.one_of(&["private", "vepa", "bridge", "passthru"])
                    .map(|v| n.macvlan_mode = Some(v))
            },
            |n| n.macvlan_mode = None,
        ),
    },
    NetKey {
        name: "ipvlan.mode",
        legacy: None,
        syntax: "l3|l3s|l2",
        doc: "The ipvlan mode. lxu checks the value and does not act on it.",
        apply: setting_of(
            NetType::Ipvlan,
            |n, a| a.one_of(&["l3", "l3s", "l2"]).map(|v| n.ipvlan_mode = Some(v)),
            |n| n.ipvlan_mode = None,
        ),
    },
    NetKey {
        name: "ipvlan.isolation",
        legacy: None,
        syntax: "bridge|private|vepa",
        doc: "The ipvlan isolation mode. lxu checks the value and does not act on it.",
        apply: setting_of(
            NetType::Ipvlan,
            |n, a| {
                a.one_of(&["bridge", "private", "vepa"])
                    .map(|v| n.ipvlan_isolation = Some(v))
            },
            |n| n.ipvlan_isolation = None,
        ),
    },
    NetKey {
        name: "vlan.id",
        legacy: Some("vlan.id"),
        syntax: "ID",
        doc: "The VLAN id of a vlan interface. lxu checks the value and does not act on it.",
        apply: setting_of(
            NetType::Vlan,
            |n, a| {
                let id = a
                    .value
                    .parse::<u16>()
                    .ok()
                    .filter(|_| a.value.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| a.bad("expected a VLAN id 0..65535"))?;
                n.vlan_id = Some(id);
                Ok(())
            },
            |n| n.vlan_id = None,
        ),
    },
];

fn set_hwaddr(n: &mut Network, a: &mut Assign<'_, '_>) -> Result<(), ConfigError> {
    if !is_hwaddr_template(a.value) {
        return Err(a.bad("not a MAC address or template like `00:16:3e:xx:xx:xx`"));
    }
    let mac = complete_hwaddr(a.value, a.ctx.rng);
    n.hwaddr = Some(mac.clone());
    a.recorded = Some(mac);
    Ok(())
}

fn queues(a: &Assign<'_, '_>) -> Result<u32, ConfigError> {
    parse_u32(a.value)
        .filter(|&n| n > 0 && n <= i32::MAX as u32)
        .ok_or_else(|| a.bad("expected a positive number"))
}

/// The key after `lxc.net.N.`.
pub(crate) fn net_key(name: &str) -> Option<&'static NetKey> {
    NET_KEYS.iter().find(|k| k.name == name)
}

/// The key after LXC 1.0's `lxc.network.`.
pub(crate) fn legacy_net_key(name: &str) -> Option<&'static NetKey> {
    NET_KEYS.iter().find(|k| k.legacy == Some(name))
}

/// Which interface an `lxc.net*`/`lxc.network*` key addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NetTarget {
    /// `lxc.net` / `lxc.network`: every interface.
    All,
    /// `lxc.net.N.*`.
    Index(u32),
    /// 1.0 `lxc.network.<sub>`: the interface the latest `type` line opened.
    Last,
    /// Late-1.x `lxc.network.N.<sub>`: the N-th interface opened by a legacy `type` line.
    LegacyOrdinal(u32),
}

/// Parses a network index the way LXC does (decimal digits, below `i32::MAX`).
fn parse_index(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u32>().ok().filter(|&n| n < i32::MAX as u32)
}

/// `None` if `key` is not under `lxc.net` or `lxc.network`; `Some(None)` if it is
/// but names no key.
pub(super) fn classify(key: &str) -> Option<Option<(Key<'_>, bool)>> {
    if let Some(part) = suffix_of(key, NET_PREFIX) {
        return Some(current(part).map(|k| (k, false)));
    }
    if let Some(part) = suffix_of(key, LEGACY_NET_PREFIX) {
        return Some(legacy(part).map(|k| (k, true)));
    }
    None
}

/// `lxc.net`, `lxc.net.N`, `lxc.net.N.<sub>`.
fn current(part: Option<&str>) -> Option<Key<'static>> {
    let Some(tail) = part else {
        return Some(Key::Net {
            target: NetTarget::All,
            sub: None,
        });
    };
    let (idx, sub) = match tail.split_once('.') {
        Some((i, s)) => (i, Some(s)),
        None => (tail, None),
    };
    let target = NetTarget::Index(parse_index(idx)?);
    let sub = match sub {
        Some(s) => Some(net_key(s)?),
        None => None,
    };
    Some(Key::Net { target, sub })
}

/// 1.0 `lxc.network`, `lxc.network.<sub>`; late 1.x `lxc.network.N.<sub>`.
fn legacy(part: Option<&str>) -> Option<Key<'static>> {
    let Some(tail) = part else {
        return Some(Key::Net {
            target: NetTarget::All,
            sub: None,
        });
    };
    let (target, sub) = if tail.as_bytes()[0].is_ascii_digit() {
        let (idx, sub) = tail.split_once('.')?;
        (NetTarget::LegacyOrdinal(parse_index(idx)?), sub)
    } else {
        (NetTarget::Last, tail)
    };
    Some(Key::Net {
        target,
        sub: Some(legacy_net_key(sub)?),
    })
}
