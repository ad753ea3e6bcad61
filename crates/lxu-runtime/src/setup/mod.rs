//! Host setup done once by root for a user (`lxu setup-user`).

pub(crate) mod as_user;
pub mod moving;
mod shift;
pub mod user;
