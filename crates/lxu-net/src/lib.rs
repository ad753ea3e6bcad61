//! Networking for lxu containers.
//!
//! - [`link`]: netlink link/address/route operations in any netns
//!   ([`Netlink`] is a synchronous rtnetlink socket, see [`netlink`]);
//! - [`veth`]: veth pairs for root containers ([`create_veth_for`],
//!   [`delete_veth`]);
//! - [`usernet`] and [`nicdb`]: the allowance file and the nics database used
//!   by the setuid helper `lxu-user-nic` for unprivileged containers;
//! - [`bridge`]: `lxu net setup`/`teardown` (bridge, dnsmasq, optional NAT);
//! - [`netns`]: opening and entering network namespaces;
//! - [`reply`]: the line `lxu-user-nic create` answers with.
//!
//! Everything is synchronous; no async runtime, no threads.

pub mod bridge;
mod dnsmasq;
#[doc(hidden)]
pub mod fuzz;
pub mod ifname;
pub mod link;
pub mod netlink;
pub mod netns;
pub mod nicdb;
pub mod reply;
pub mod usernet;
pub mod veth;

pub use link::{Address, Interface, Link, LinkError, Route, VethSpec};
pub use netlink::{Netlink, NetlinkError};
pub use veth::{create_veth_for, delete_veth, VethError, VethPair, VethRequest};

/// Interfaces of the network namespace `netns` with global addresses and
/// byte counters (for `lxu ls --fancy` and `lxu info`). Needs CAP_SYS_ADMIN
/// over `netns`; a caller already inside it uses `Netlink::open()?.interfaces()`.
pub fn interfaces_in(netns: std::os::fd::BorrowedFd<'_>) -> Result<Vec<Interface>, LinkError> {
    Netlink::open_in(netns)?.interfaces()
}
