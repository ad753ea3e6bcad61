//! User and group ids: the host's users and their subordinate ranges, a user namespace's
//! id maps, and running work as root of a fresh user namespace.

pub mod idmap;
pub(crate) mod userns;
pub mod users;
