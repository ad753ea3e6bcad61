//! Cgroups for lxu containers, unprivileged first, on cgroup v1, hybrid and
//! pure v2 hosts, by plain file writes.
//!
//! Flow for the runtime's monitor (running as the user, parent of init):
//! [`Hierarchies::detect`], [`Hierarchies::delegation`] (warn once with
//! [`Delegation::warning`]), [`ContainerCgroup::create`], `attach(init)` while
//! init still has the user's uid, `apply` the `lxc.cgroup*` keys, and at the
//! end `kill_all` and `remove`. Root prepares a user once per boot with
//! [`delegate_user`].

mod container;
mod delegation;
mod detect;
mod error;
mod freezer;
mod fsutil;
mod settings;
mod setup;
mod stats;

pub use container::{remove_dirs, CgroupPath, ContainerCgroup, MONITOR_LEAF, PAYLOAD_PREFIX};
pub use delegation::{
    BaseSource, CgroupVersion, Delegation, DelegationState, HierarchyDelegation, USER_DIR,
};
pub use detect::{Hierarchies, V1Hierarchy, V2Hierarchy};
pub use error::CgroupError;
pub use freezer::{FreezerState, Signal};
pub use settings::{Applied, Skipped, Written};
pub use setup::{delegate_user, enter_user_subtree, undelegate_user, Change, SESSION_LEAF};
pub use stats::{Limit, Stats};
