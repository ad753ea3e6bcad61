//! Container lifecycle for lxu: create, start, the monitor, state, stop, destroy.
//!
//! The modules are grouped by role:
//! - [`start`]: `lxu start` and the start path: the plan decided before the container
//!   exists, the clone into namespaces, the container's init up to the exec of its command;
//! - `monitor`: the process that owns a running container (its init, ptys, host-side
//!   resources such as cgroups and veths, and the command socket);
//! - `session`: ways into a running container ([`attach`], [`console`]);
//! - `control`: verbs that act on a container through its monitor ([`stop`], [`freeze`],
//!   [`cgroup`], [`autostart`]);
//! - `storage`: its directory and rootfs ([`create`], [`copy`], [`snapshot`], [`destroy`],
//!   [`layout`]);
//! - `ids`: host users, subordinate ids and id maps ([`users`], [`idmap`]);
//! - `setup`: root's one-time host setup for a user ([`setup_user`]);
//! - `hooks`: LXC's `lxc.hook.*` programs.

pub mod container;
pub mod context;
pub mod error;
pub mod list;
pub mod start;
pub mod state;

mod control;
pub(crate) mod hooks;
mod ids;
mod monitor;
mod random;
mod session;
mod setup;
mod storage;
mod wire;

pub use control::{autostart, cgroup, freeze, stop};
pub use ids::{idmap, users};
pub use session::{attach, console};
pub use setup::user as setup_user;
pub use storage::{copy, create, destroy, layout, snapshot};

pub use container::Container;
pub use context::Context;
pub use error::{Error, Result};
pub use monitor::{net::NetError, resources::ResourceError};
pub use state::{State, Status};
pub use wire::{RemoteError, WireError};
#[cfg(test)]
mod test_support;
