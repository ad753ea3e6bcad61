//! Verbs that act on an existing container through its monitor or its files: stop,
//! freeze, cgroup, autostart.

pub mod autostart;
pub mod cgroup;
pub mod freeze;
mod other_version;
pub mod stop;
