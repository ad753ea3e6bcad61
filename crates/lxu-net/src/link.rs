//! Link, address and route operations over [`Netlink`].
//!
//! All operations act in the network namespace the socket was opened in. To
//! work inside a container, open the socket there (enter its netns first, or
//! use [`Netlink::open_in`]).

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage, AddressScope};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::ifname::format_mac;
use crate::netlink::{Netlink, NetlinkError};
use crate::netns::{self, NetnsError};

const ENODEV: i32 = 19;
const EPERM: i32 = 1;

/// One network device as `ip link` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// `IFLA_INFO_KIND`: "veth", "bridge", ...; `None` for physical devices
    /// and `lo`.
    pub kind: Option<String>,
    pub mac: Option<[u8; 6]>,
    pub mtu: u32,
    pub up: bool,
    pub loopback: bool,
    /// Bridge (or other controller) this device is attached to.
    pub master: Option<u32>,
    /// `IFLA_LINK`: for a veth, the peer's ifindex (in the peer's netns).
    pub peer_index: Option<u32>,
    /// `IFLA_LINK_NETNSID`: the nsid, as seen from this netns, of the netns
    /// holding the peer; `None` when the peer is in the same netns.
    pub peer_netnsid: Option<i32>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_packets: u64,
    pub tx_packets: u64,
}

/// One address of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub index: u32,
    pub addr: IpAddr,
    pub prefix: u8,
    /// Universe (global) scope; link-local and host addresses are false.
    pub global: bool,
}

/// A device with its global addresses, for `lxu ls --fancy` / `lxu info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub link: Link,
    pub ipv4: Vec<(Ipv4Addr, u8)>,
    pub ipv6: Vec<(std::net::Ipv6Addr, u8)>,
}

/// A route to add. `dest: None` is the default route of the gateway's (or,
/// without gateway, IPv4's) family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub dest: Option<(IpAddr, u8)>,
    pub gateway: Option<IpAddr>,
    pub oif: Option<u32>,
}

/// What to create: a veth pair whose peer can be created straight inside
/// another network namespace.
#[derive(Debug, Clone)]
pub struct VethSpec<'a> {
    pub host_name: String,
    pub peer_name: String,
    /// Netns for the peer; `None` keeps it next to the host end.
    pub peer_netns: Option<BorrowedFd<'a>>,
    pub mtu: Option<u32>,
    pub host_mac: Option<[u8; 6]>,
    pub peer_mac: Option<[u8; 6]>,
}

/// Errors of link operations.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error(transparent)]
    Netns(#[from] NetnsError),
    #[error("no network device `{0}`")]
    NoSuchLink(String),
    #[error("address family of gateway `{gateway}` does not match destination `{dest}`")]
    FamilyMismatch { gateway: IpAddr, dest: IpAddr },
}

impl LinkError {
    /// The errno the kernel answered with, if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            LinkError::Netlink(e) => e.errno(),
            _ => None,
        }
    }
}

impl Netlink {
    /// Opens a socket inside the network namespace `netns` (the calling
    /// thread enters it just long enough to create the socket, which needs
    /// CAP_SYS_ADMIN over that namespace).
    pub fn open_in(netns: BorrowedFd<'_>) -> Result<Netlink, LinkError> {
        Ok(netns::run_in(netns, Netlink::open)??)
    }

    /// All devices in this namespace.
    pub fn links(&mut self) -> Result<Vec<Link>, LinkError> {
        let msgs = self.dump(RouteNetlinkMessage::GetLink(LinkMessage::default()), || {
            "list network devices".to_string()
        })?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(parse_link(&l)),
                _ => None,
            })
            .collect())
    }

    /// The device called `name`, if it exists.
    pub fn link_by_name(&mut self, name: &str) -> Result<Option<Link>, LinkError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.get_link(msg, || format!("look up network device `{name}`"))
    }

    /// The device with ifindex `index`, if it exists.
    pub fn link_by_index(&mut self, index: u32) -> Result<Option<Link>, LinkError> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        self.get_link(msg, || format!("look up network device #{index}"))
    }

    fn get_link(
        &mut self,
        msg: LinkMessage,
        op: impl Fn() -> String,
    ) -> Result<Option<Link>, LinkError> {
        match self.request(RouteNetlinkMessage::GetLink(msg), 0, op) {
            Ok(msgs) => Ok(msgs.iter().find_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(parse_link(l)),
                _ => None,
            })),
            Err(e) if e.errno() == Some(ENODEV) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Like [`Netlink::link_by_name`] but a missing device is an error.
    pub fn require_link(&mut self, name: &str) -> Result<Link, LinkError> {
        self.link_by_name(name)?
            .ok_or_else(|| LinkError::NoSuchLink(name.to_string()))
    }

    /// Creates a bridge, optionally with a fixed MAC. Fails with EEXIST if a
    /// device of that name exists.
    pub fn create_bridge(&mut self, name: &str, mac: Option<[u8; 6]>) -> Result<Link, LinkError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        if let Some(mac) = mac {
            msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
        }
        msg.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            || format!("create bridge `{name}`"),
        )?;
        self.require_link(name)
    }

    /// Creates a veth pair. The peer is created directly in
    /// `spec.peer_netns` when given (no window where it sits in this netns).
    pub fn create_veth(&mut self, spec: &VethSpec<'_>) -> Result<(), LinkError> {
        // One end: name, MTU and MAC.
        let end = |name: &str, mac: Option<[u8; 6]>| {
            let mut m = LinkMessage::default();
            m.attributes.push(LinkAttribute::IfName(name.to_owned()));
            m.attributes.extend(spec.mtu.map(LinkAttribute::Mtu));
            m.attributes
                .extend(mac.map(|mac| LinkAttribute::Address(mac.to_vec())));
            m
        };
        let mut peer = end(&spec.peer_name, spec.peer_mac);
        if let Some(fd) = spec.peer_netns {
            peer.attributes.push(LinkAttribute::NetNsFd(fd.as_raw_fd()));
        }
        let mut msg = end(&spec.host_name, spec.host_mac);
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
        ]));
        self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            || format!("create veth pair `{}`/`{}`", spec.host_name, spec.peer_name),
        )?;
        Ok(())
    }

    /// Deletes a device (for a veth, both ends go).
    pub fn delete_link(&mut self, index: u32) -> Result<(), LinkError> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        self.request(RouteNetlinkMessage::DelLink(msg), 0, || {
            format!("delete network device #{index}")
        })?;
        Ok(())
    }

    fn set_link(
        &mut self,
        index: u32,
        edit: impl FnOnce(&mut LinkMessage),
        op: impl Fn() -> String,
    ) -> Result<(), LinkError> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        edit(&mut msg);
        self.request(RouteNetlinkMessage::SetLink(msg), 0, op)?;
        Ok(())
    }

    /// `ip link set <dev> up|down`
    pub fn set_up(&mut self, index: u32, up: bool) -> Result<(), LinkError> {
        self.set_link(
            index,
            |m| {
                m.header.change_mask = LinkFlags::Up;
                m.header.flags = if up {
                    LinkFlags::Up
                } else {
                    LinkFlags::empty()
                };
            },
            || {
                format!(
                    "set network device #{index} {}",
                    if up { "up" } else { "down" }
                )
            },
        )
    }

    /// `ip link set <dev> name <name>`; `name` may be a template like `eth%d`.
    pub fn rename(&mut self, index: u32, name: &str) -> Result<(), LinkError> {
        self.set_link(
            index,
            |m| m.attributes.push(LinkAttribute::IfName(name.to_string())),
            || format!("rename network device #{index} to `{name}`"),
        )
    }

    /// `ip link set <dev> address <mac>`
    pub fn set_mac(&mut self, index: u32, mac: [u8; 6]) -> Result<(), LinkError> {
        self.set_link(
            index,
            |m| m.attributes.push(LinkAttribute::Address(mac.to_vec())),
            || format!("set MAC of network device #{index} to {}", format_mac(&mac)),
        )
    }

    /// `ip link set <dev> mtu <mtu>`
    pub fn set_mtu(&mut self, index: u32, mtu: u32) -> Result<(), LinkError> {
        self.set_link(
            index,
            |m| m.attributes.push(LinkAttribute::Mtu(mtu)),
            || format!("set MTU of network device #{index} to {mtu}"),
        )
    }

    /// `ip link set <dev> master <bridge>`, or `nomaster` with `None`.
    pub fn set_master(&mut self, index: u32, master: Option<u32>) -> Result<(), LinkError> {
        self.set_link(
            index,
            |m| {
                m.attributes
                    .push(LinkAttribute::Controller(master.unwrap_or(0)))
            },
            || match master {
                Some(b) => format!("attach network device #{index} to bridge #{b}"),
                None => format!("detach network device #{index} from its bridge"),
            },
        )
    }

    /// `ip addr add <addr>/<prefix> dev <index>` (IPv4 also gets the
    /// broadcast address, like `broadcast +`). `nodad` skips IPv6 duplicate
    /// address detection so the address is usable at once.
    pub fn add_address(
        &mut self,
        index: u32,
        addr: IpAddr,
        prefix: u8,
        nodad: bool,
    ) -> Result<(), LinkError> {
        let mut msg = AddressMessage::default();
        msg.header.index = index;
        msg.header.prefix_len = prefix;
        match addr {
            IpAddr::V4(v4) => {
                msg.header.family = AddressFamily::Inet;
                msg.attributes.push(AddressAttribute::Local(addr));
                msg.attributes.push(AddressAttribute::Address(addr));
                if prefix < 31 {
                    let host_bits = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
                    let bcast = Ipv4Addr::from(u32::from(v4) | host_bits);
                    msg.attributes.push(AddressAttribute::Broadcast(bcast));
                }
            }
            IpAddr::V6(_) => {
                msg.header.family = AddressFamily::Inet6;
                msg.attributes.push(AddressAttribute::Address(addr));
                if nodad {
                    msg.attributes
                        .push(AddressAttribute::Flags(AddressFlags::Nodad));
                }
            }
        }
        self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            || format!("add address {addr}/{prefix} to network device #{index}"),
        )?;
        Ok(())
    }

    /// All addresses of all devices in this namespace.
    pub fn addresses(&mut self) -> Result<Vec<Address>, LinkError> {
        let msgs = self.dump(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            || "list addresses".to_string(),
        )?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => parse_address(&a),
                _ => None,
            })
            .collect())
    }

    /// `ip route add ...` in the main table.
    pub fn add_route(&mut self, route: &Route) -> Result<(), LinkError> {
        let family_of = |ip: &IpAddr| match ip {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        if let (Some((dest, _)), Some(gw)) = (route.dest, route.gateway) {
            if family_of(&dest) != family_of(&gw) {
                return Err(LinkError::FamilyMismatch { gateway: gw, dest });
            }
        }
        let mut header = RouteHeader {
            table: RouteHeader::RT_TABLE_MAIN,
            protocol: RouteProtocol::Boot,
            kind: RouteType::Unicast,
            scope: if route.gateway.is_some() {
                RouteScope::Universe
            } else {
                RouteScope::Link
            },
            ..Default::default()
        };
        header.address_family = route
            .dest
            .map(|(d, _)| family_of(&d))
            .or(route.gateway.as_ref().map(family_of))
            .unwrap_or(AddressFamily::Inet);
        let mut msg = RouteMessage::default();
        if let Some((dest, prefix)) = route.dest {
            header.destination_prefix_length = prefix;
            msg.attributes
                .push(RouteAttribute::Destination(RouteAddress::from(dest)));
        }
        if let Some(gw) = route.gateway {
            msg.attributes
                .push(RouteAttribute::Gateway(RouteAddress::from(gw)));
        }
        if let Some(oif) = route.oif {
            msg.attributes.push(RouteAttribute::Oif(oif));
        }
        msg.header = header;
        let describe = || {
            let dest = route
                .dest
                .map_or("default".to_string(), |(d, p)| format!("{d}/{p}"));
            let via = route.gateway.map_or(String::new(), |g| format!(" via {g}"));
            let dev = route.oif.map_or(String::new(), |o| format!(" dev #{o}"));
            format!("add route {dest}{via}{dev}")
        };
        self.request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            describe,
        )?;
        Ok(())
    }

    /// `ip route add default via <gateway> [dev <oif>]`
    pub fn add_default_route(
        &mut self,
        gateway: IpAddr,
        oif: Option<u32>,
    ) -> Result<(), LinkError> {
        self.add_route(&Route {
            dest: None,
            gateway: Some(gateway),
            oif,
        })
    }

    /// Devices with their global addresses and byte counters.
    pub fn interfaces(&mut self) -> Result<Vec<Interface>, LinkError> {
        let links = self.links()?;
        let addrs = self.addresses()?;
        Ok(links
            .into_iter()
            .map(|link| {
                let mine = addrs.iter().filter(|a| a.index == link.index && a.global);
                let mut ipv4 = Vec::new();
                let mut ipv6 = Vec::new();
                for a in mine {
                    match a.addr {
                        IpAddr::V4(v4) => ipv4.push((v4, a.prefix)),
                        IpAddr::V6(v6) => ipv6.push((v6, a.prefix)),
                    }
                }
                Interface { link, ipv4, ipv6 }
            })
            .collect())
    }

    /// The nsid this namespace uses for the namespace `fd`, if one is
    /// assigned (the kernel assigns one when, e.g., a veth peer lives there).
    pub fn nsid_of(&mut self, fd: BorrowedFd<'_>) -> Result<Option<i32>, LinkError> {
        let mut msg = NsidMessage::default();
        msg.attributes
            .push(NsidAttribute::Fd(fd.as_raw_fd() as u32));
        let replies = self.request(RouteNetlinkMessage::GetNsId(msg), 0, || {
            "look up network namespace id".to_string()
        })?;
        Ok(replies.iter().find_map(|m| match m {
            RouteNetlinkMessage::NewNsId(n) => n.attributes.iter().find_map(|a| match a {
                NsidAttribute::Id(id) if *id >= 0 => Some(*id),
                _ => None,
            }),
            _ => None,
        }))
    }

    /// Whether the credentials that opened this socket (and the current
    /// thread's) hold CAP_NET_ADMIN over its namespace. Probed with a no-op
    /// change of `lo`, which the kernel gates on exactly that capability and
    /// which changes nothing when allowed.
    pub fn may_administer(&mut self) -> Result<bool, LinkError> {
        // Found by flag, not name: the namespace's owner may have renamed it.
        let lo = self
            .links()?
            .into_iter()
            .find(|l| l.loopback)
            .ok_or_else(|| LinkError::NoSuchLink("loopback".to_string()))?;
        match self.set_link(
            lo.index,
            |_| {},
            || "probe CAP_NET_ADMIN via the loopback device".to_string(),
        ) {
            Ok(()) => Ok(true),
            Err(e) if e.errno() == Some(EPERM) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn parse_link(msg: &LinkMessage) -> Link {
    let mut link = Link {
        index: msg.header.index,
        name: String::new(),
        kind: None,
        mac: None,
        mtu: 0,
        up: msg.header.flags.contains(LinkFlags::Up),
        loopback: msg.header.flags.contains(LinkFlags::Loopback),
        master: None,
        peer_index: None,
        peer_netnsid: None,
        rx_bytes: 0,
        tx_bytes: 0,
        rx_packets: 0,
        tx_packets: 0,
    };
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Mtu(m) => link.mtu = *m,
            LinkAttribute::Address(a) if a.len() == 6 => {
                let mut mac = [0u8; 6];
                mac.copy_from_slice(a);
                link.mac = Some(mac);
            }
            LinkAttribute::Controller(c) if *c != 0 => link.master = Some(*c),
            LinkAttribute::Link(l) if *l != 0 => link.peer_index = Some(*l),
            LinkAttribute::LinkNetNsId(id) if *id >= 0 => link.peer_netnsid = Some(*id),
            LinkAttribute::Stats64(s) => {
                link.rx_bytes = s.rx_bytes;
                link.tx_bytes = s.tx_bytes;
                link.rx_packets = s.rx_packets;
                link.tx_packets = s.tx_packets;
            }
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    if let LinkInfo::Kind(k) = info {
                        link.kind = Some(k.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    link
}

fn parse_address(msg: &AddressMessage) -> Option<Address> {
    // IFA_LOCAL is the interface's own address on point-to-point links;
    // IFA_ADDRESS otherwise. Prefer LOCAL as `ip addr` does.
    let mut addr = None;
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(a) => addr = Some(*a),
            AddressAttribute::Address(a) if addr.is_none() => addr = Some(*a),
            _ => {}
        }
    }
    Some(Address {
        index: msg.header.index,
        addr: addr?,
        prefix: msg.header.prefix_len,
        global: msg.header.scope == AddressScope::Universe,
    })
}
