//! One network interface (`lxc.net.N.*`, 1.0 `lxc.network.*`).

pub(crate) mod addr;

use crate::error::Location;

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
    pub(crate) fn parse(v: &str) -> Option<NetType> {
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

    pub(crate) fn as_str(self) -> &'static str {
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
}
