//! Container lifecycle for lxu: create, start, the monitor, state, stop, destroy.

pub mod as_user;
pub mod attach;
pub mod autostart;
pub mod busybox;
pub mod console;
pub mod container;
pub mod context;
pub mod copy;
pub mod create;
pub mod destroy;
pub mod error;
pub mod hooks;
pub mod idmap;
pub mod init;
pub mod layout;
pub mod limits;
pub mod list;
pub mod lxc_hooks;
pub mod monitor;
pub mod mountopts;
pub mod mounts;
pub mod net;
pub mod plan;
pub mod protocol;
pub mod random;
pub mod reaper;
pub mod ring;
pub mod sealed_exec;
pub mod security;
pub mod setup_user;
pub mod snapshot;
pub mod spawn;
pub mod start;
pub mod state;
pub mod stop;
pub mod userns;
pub mod users;

pub use container::Container;
pub use context::Context;
pub use error::{Error, Result};
pub use state::{State, Status};
#[cfg(test)]
mod test_support;
