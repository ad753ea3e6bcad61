//! veth pairs for containers started by root, who needs no helper and no
//! quota: create the pair with the peer directly in the container's netns.

use std::os::fd::BorrowedFd;

use crate::ifname;
use crate::link::{Link, LinkError, VethSpec};
use crate::netlink::Netlink;

const EEXIST: i32 = 17;
/// Attempts at a free random host name before giving up.
const NAME_ATTEMPTS: usize = 8;

/// What the container's veth should look like.
#[derive(Debug, Clone)]
pub struct VethRequest<'a> {
    /// The container's network namespace.
    pub netns: BorrowedFd<'a>,
    /// Bridge to attach the host end to (`lxc.net.N.link`); its MTU is
    /// copied unless `mtu` is set.
    pub bridge: Option<String>,
    /// Host-side name (`lxc.net.N.veth.pair`); random `vethXXXXXX` if unset.
    pub host_name: Option<String>,
    /// Container-side name (`lxc.net.N.name`); `eth%d` (kernel picks) if
    /// unset.
    pub container_name: Option<String>,
    /// Container-side MAC (`lxc.net.N.hwaddr`).
    pub container_mac: Option<[u8; 6]>,
    /// `lxc.net.N.mtu`
    pub mtu: Option<u32>,
}

/// The pair as created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VethPair {
    pub host_name: String,
    pub host_index: u32,
    pub container_name: String,
    pub container_index: u32,
}

/// Errors of veth creation.
#[derive(Debug, thiserror::Error)]
pub enum VethError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("invalid interface name `{0}`")]
    BadName(String),
    #[error("bridge `{0}` does not exist")]
    NoBridge(String),
    #[error("`{0}` is not a bridge")]
    NotABridge(String),
    #[error("cannot generate a random interface name")]
    Random(#[source] std::io::Error),
    #[error("no free random interface name after {NAME_ATTEMPTS} attempts")]
    NoFreeName,
}

/// Looks up `name` and checks it is a Linux bridge.
pub fn require_bridge(nl: &mut Netlink, name: &str) -> Result<Link, VethError> {
    let link = nl
        .link_by_name(name)?
        .ok_or_else(|| VethError::NoBridge(name.to_string()))?;
    if link.kind.as_deref() != Some("bridge") {
        return Err(VethError::NotABridge(name.to_string()));
    }
    Ok(link)
}

/// Creates a veth pair for a root container: host end in the calling
/// thread's netns (MAC `fe:…`, attached to the bridge, up), peer created
/// directly in `req.netns`.
pub fn create_veth_for(req: &VethRequest<'_>) -> Result<VethPair, VethError> {
    for name in [&req.host_name, &req.bridge].into_iter().flatten() {
        if !ifname::is_valid(name) {
            return Err(VethError::BadName(name.clone()));
        }
    }
    let container_name = req.container_name.as_deref().unwrap_or("eth%d");
    if !ifname::is_valid_template(container_name) {
        return Err(VethError::BadName(container_name.to_string()));
    }
    let mut nl = Netlink::open().map_err(LinkError::from)?;
    let bridge = match &req.bridge {
        Some(b) => Some(require_bridge(&mut nl, b)?),
        None => None,
    };
    let mtu = req.mtu.or(bridge.as_ref().map(|b| b.mtu));
    let host_mac = ifname::random_mac(Some(0xfe)).map_err(VethError::Random)?;

    let mut attempts = 0;
    let host_name = loop {
        attempts += 1;
        let name = match &req.host_name {
            Some(n) => n.clone(),
            None => format!(
                "veth{}",
                ifname::random_suffix(6).map_err(VethError::Random)?
            ),
        };
        let spec = VethSpec {
            host_name: name.clone(),
            peer_name: container_name.to_string(),
            peer_netns: Some(req.netns),
            mtu,
            host_mac: Some(host_mac),
            peer_mac: req.container_mac,
        };
        match nl.create_veth(&spec) {
            Ok(()) => break name,
            // Only a random host name that collided may be retried; a chosen
            // name, or a container name taken inside the netns, is reported.
            Err(e)
                if e.errno() == Some(EEXIST)
                    && req.host_name.is_none()
                    && nl.link_by_name(&name)?.is_some() =>
            {
                if attempts >= NAME_ATTEMPTS {
                    return Err(VethError::NoFreeName);
                }
            }
            Err(e) => return Err(e.into()),
        }
    };

    let host = nl.require_link(&host_name)?;
    let finish = |nl: &mut Netlink| -> Result<VethPair, VethError> {
        if let Some(b) = &bridge {
            nl.set_master(host.index, Some(b.index))?;
        }
        nl.set_up(host.index, true)?;
        let peer_index = host
            .peer_index
            .ok_or_else(|| LinkError::NoSuchLink(format!("peer of {host_name}")))?;
        let mut inside = Netlink::open_in(req.netns)?;
        let peer = inside
            .link_by_index(peer_index)?
            .ok_or_else(|| LinkError::NoSuchLink(format!("peer of {host_name}")))?;
        Ok(VethPair {
            host_name: host_name.clone(),
            host_index: host.index,
            container_name: peer.name,
            container_index: peer.index,
        })
    };
    match finish(&mut nl) {
        Ok(pair) => Ok(pair),
        Err(e) => {
            let _ = nl.delete_link(host.index);
            Err(e)
        }
    }
}

/// Deletes the veth whose host end is `host_name` (the peer goes with it).
/// Returns false when no such device exists.
pub fn delete_veth(host_name: &str) -> Result<bool, VethError> {
    if !ifname::is_valid(host_name) {
        return Err(VethError::BadName(host_name.to_string()));
    }
    let mut nl = Netlink::open().map_err(LinkError::from)?;
    match nl.link_by_name(host_name)? {
        Some(l) => {
            nl.delete_link(l.index)?;
            Ok(true)
        }
        None => Ok(false),
    }
}
