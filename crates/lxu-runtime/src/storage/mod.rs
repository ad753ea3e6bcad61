//! A container's directory and root filesystem: create (templates), copy, snapshot,
//! destroy, and LXC's on-disk layout.

pub(crate) mod busybox;
pub mod copy;
pub mod create;
pub mod destroy;
pub mod layout;
pub mod snapshot;
