//! `lxu freeze` / `lxu unfreeze` (`lxc-freeze`, `lxc-unfreeze`).

use crate::container::Container;
use crate::error::Result;
use crate::monitor::socket::connect_running;
use crate::wire::monitor::Request;

/// `lxu freeze` / `lxu unfreeze`: through the monitor, which owns the freezer cgroup.
pub fn freeze(c: &Container, freeze: bool) -> Result<()> {
    c.ensure_exists()?;
    let req = if freeze {
        Request::Freeze
    } else {
        Request::Unfreeze
    };
    connect_running(c)?.request(&req)?;
    Ok(())
}
