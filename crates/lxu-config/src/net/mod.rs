//! One network interface (`lxc.net.N.*`, 1.0 `lxc.network.*`).

use crate::error::{ConfigError, Location};
use crate::keys::NetSub;
use crate::values::{parse_bool01, parse_u32};
use addr::{
    check_ipv4_address, check_ipv6_address, check_route, complete_hwaddr, is_hwaddr_template,
};

pub(crate) mod addr;

/// `lxc.net.N.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetType {
    /// Loopback only.
    Empty,
    Veth,
    Vlan,
    Macvlan,
    Ipvlan,
    Phys,
    /// Share the host's network namespace.
    None,
}

impl NetType {
    pub fn parse(v: &str) -> Option<NetType> {
        Some(match v {
            "empty" => NetType::Empty,
            "veth" => NetType::Veth,
            "vlan" => NetType::Vlan,
            "macvlan" => NetType::Macvlan,
            "ipvlan" => NetType::Ipvlan,
            "phys" => NetType::Phys,
            "none" => NetType::None,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NetType::Empty => "empty",
            NetType::Veth => "veth",
            NetType::Vlan => "vlan",
            NetType::Macvlan => "macvlan",
            NetType::Ipvlan => "ipvlan",
            NetType::Phys => "phys",
            NetType::None => "none",
        }
    }
}

/// Interface names are limited by IFNAMSIZ (16 including the NUL).
const IFNAME_MAX: usize = 15;

/// One configured interface; only exists once its `type` line was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub index: u32,
    pub kind: NetType,
    /// Where the `type` line was.
    pub loc: Location,
    pub link: Option<String>,
    pub flags_up: bool,
    pub name: Option<String>,
    /// Concrete MAC (templates already completed).
    pub hwaddr: Option<String>,
    pub mtu: Option<u32>,
    pub veth_pair: Option<String>,
    /// `bridge` (default for veth) or `router`.
    pub veth_mode: Option<String>,
    pub veth_ipv4_routes: Vec<String>,
    pub veth_ipv6_routes: Vec<String>,
    /// `none` or 0..=4094.
    pub veth_vlan_id: Option<String>,
    pub veth_vlan_tagged_ids: Vec<u16>,
    pub veth_n_rxqueues: Option<u32>,
    pub veth_n_txqueues: Option<u32>,
    /// `addr/prefix [broadcast]` as written.
    pub ipv4: Vec<String>,
    /// An address, `auto` or `dev`.
    pub ipv4_gateway: Option<String>,
    pub ipv6: Vec<String>,
    pub ipv6_gateway: Option<String>,
    pub script_up: Option<String>,
    pub script_down: Option<String>,
    pub vlan_id: Option<u16>,
    pub macvlan_mode: Option<String>,
    pub ipvlan_mode: Option<String>,
    pub ipvlan_isolation: Option<String>,
    pub l2proxy: bool,
}

impl Network {
    pub(crate) fn new(index: u32, kind: NetType, loc: Location) -> Network {
        Network {
            index,
            kind,
            loc,
            link: None,
            flags_up: false,
            name: None,
            hwaddr: None,
            mtu: None,
            veth_pair: None,
            veth_mode: None,
            veth_ipv4_routes: Vec::new(),
            veth_ipv6_routes: Vec::new(),
            veth_vlan_id: None,
            veth_vlan_tagged_ids: Vec::new(),
            veth_n_rxqueues: None,
            veth_n_txqueues: None,
            ipv4: Vec::new(),
            ipv4_gateway: None,
            ipv6: Vec::new(),
            ipv6_gateway: None,
            script_up: None,
            script_down: None,
            vlan_id: None,
            macvlan_mode: None,
            ipvlan_mode: None,
            ipvlan_isolation: None,
            l2proxy: false,
        }
    }

    /// Applies one subkey other than `type`. Returns the value to record (the
    /// completed MAC for hwaddr templates).
    pub(crate) fn apply(
        &mut self,
        sub: NetSub,
        key: &str,
        value: &str,
        loc: &Location,
        rng: &mut dyn FnMut() -> u8,
    ) -> Result<String, ConfigError> {
        let bad = |reason: &str| ConfigError::bad(loc, key, value, reason);
        let opt = |v: &str| (!v.is_empty()).then(|| v.to_string());
        let ifname = |v: &str| -> Result<Option<String>, ConfigError> {
            if v.len() > IFNAME_MAX {
                return Err(bad("interface names are at most 15 bytes"));
            }
            Ok(opt(v))
        };
        let need = |t: NetType| -> Result<(), ConfigError> {
            if value.is_empty() || self.kind == t {
                Ok(())
            } else {
                Err(bad(&format!(
                    "only valid for `{}` interfaces, this one is `{}`",
                    t.as_str(),
                    self.kind.as_str()
                )))
            }
        };
        let empty = value.is_empty();
        match sub {
            NetSub::Type => unreachable!("type is handled by the caller"),
            NetSub::Flags => {
                self.flags_up = match value {
                    "" => false,
                    "up" => true,
                    _ => return Err(bad("the only flag is `up`")),
                }
            }
            NetSub::Hwaddr => {
                if empty {
                    self.hwaddr = None;
                } else {
                    if !is_hwaddr_template(value) {
                        return Err(bad(
                            "not a MAC address or template like `00:16:3e:xx:xx:xx`",
                        ));
                    }
                    let mac = complete_hwaddr(value, rng);
                    self.hwaddr = Some(mac.clone());
                    return Ok(mac);
                }
            }
            NetSub::Ipv4Address => {
                if empty {
                    self.ipv4.clear();
                } else {
                    check_ipv4_address(value).map_err(|r| bad(&r))?;
                    self.ipv4.push(value.to_string());
                }
            }
            NetSub::Ipv6Address => {
                if empty {
                    self.ipv6.clear();
                } else {
                    check_ipv6_address(value).map_err(|r| bad(&r))?;
                    self.ipv6.push(value.to_string());
                }
            }
            NetSub::Ipv4Gateway => {
                if !matches!(value, "" | "auto" | "dev") {
                    value
                        .parse::<std::net::Ipv4Addr>()
                        .map_err(|_| bad("expected an IPv4 address, `auto` or `dev`"))?;
                }
                self.ipv4_gateway = opt(value);
            }
            NetSub::Ipv6Gateway => {
                if !matches!(value, "" | "auto" | "dev") {
                    value
                        .parse::<std::net::Ipv6Addr>()
                        .map_err(|_| bad("expected an IPv6 address, `auto` or `dev`"))?;
                }
                self.ipv6_gateway = opt(value);
            }
            NetSub::Link => {
                // `eth+` style patterns for phys may be long only if the prefix is.
                self.link = ifname(value)?;
            }
            NetSub::L2proxy => {
                self.l2proxy = if empty {
                    false
                } else {
                    parse_bool01(value).ok_or_else(|| bad("expected 0 or 1"))?
                }
            }
            NetSub::MacvlanMode => {
                need(NetType::Macvlan)?;
                if !matches!(value, "" | "private" | "vepa" | "bridge" | "passthru") {
                    return Err(bad("expected private, vepa, bridge or passthru"));
                }
                self.macvlan_mode = opt(value);
            }
            NetSub::IpvlanMode => {
                need(NetType::Ipvlan)?;
                if !matches!(value, "" | "l3" | "l3s" | "l2") {
                    return Err(bad("expected l3, l3s or l2"));
                }
                self.ipvlan_mode = opt(value);
            }
            NetSub::IpvlanIsolation => {
                need(NetType::Ipvlan)?;
                if !matches!(value, "" | "bridge" | "private" | "vepa") {
                    return Err(bad("expected bridge, private or vepa"));
                }
                self.ipvlan_isolation = opt(value);
            }
            NetSub::Mtu => {
                self.mtu = if empty {
                    None
                } else {
                    Some(parse_u32(value).ok_or_else(|| bad("not a number"))?)
                }
            }
            NetSub::Name => self.name = ifname(value)?,
            NetSub::ScriptUp => self.script_up = opt(value),
            NetSub::ScriptDown => self.script_down = opt(value),
            NetSub::VlanId => {
                need(NetType::Vlan)?;
                self.vlan_id = if empty {
                    None
                } else {
                    Some(
                        value
                            .parse::<u16>()
                            .ok()
                            .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
                            .ok_or_else(|| bad("expected a VLAN id 0..65535"))?,
                    )
                }
            }
            NetSub::VethMode => {
                need(NetType::Veth)?;
                if !matches!(value, "" | "bridge" | "router") {
                    return Err(bad("expected bridge or router"));
                }
                self.veth_mode = opt(value);
            }
            NetSub::VethNRxqueues | NetSub::VethNTxqueues => {
                need(NetType::Veth)?;
                let n = if empty {
                    None
                } else {
                    Some(
                        parse_u32(value)
                            .filter(|&n| n > 0 && n <= i32::MAX as u32)
                            .ok_or_else(|| bad("expected a positive number"))?,
                    )
                };
                if sub == NetSub::VethNRxqueues {
                    self.veth_n_rxqueues = n;
                } else {
                    self.veth_n_txqueues = n;
                }
            }
            NetSub::VethPair => {
                need(NetType::Veth)?;
                self.veth_pair = ifname(value)?;
            }
            NetSub::VethIpv4Route | NetSub::VethIpv6Route => {
                need(NetType::Veth)?;
                let v6 = sub == NetSub::VethIpv6Route;
                let list = if v6 {
                    &mut self.veth_ipv6_routes
                } else {
                    &mut self.veth_ipv4_routes
                };
                if empty {
                    list.clear();
                } else {
                    check_route(value, v6).map_err(|r| bad(&r))?;
                    list.push(value.to_string());
                }
            }
            NetSub::VethVlanId => {
                need(NetType::Veth)?;
                if !empty && value != "none" && parse_u32(value).is_none_or(|n| n > 4094) {
                    return Err(bad("expected `none` or a VLAN id 0..4094"));
                }
                self.veth_vlan_id = opt(value);
            }
            NetSub::VethVlanTaggedId => {
                need(NetType::Veth)?;
                if empty {
                    self.veth_vlan_tagged_ids.clear();
                } else {
                    let id = parse_u32(value)
                        .filter(|&n| n <= 4094)
                        .ok_or_else(|| bad("expected a VLAN id 0..4094"))?;
                    self.veth_vlan_tagged_ids.push(id as u16);
                }
            }
        }
        Ok(value.to_string())
    }
}
