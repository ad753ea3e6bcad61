//! `lxu freeze` / `lxu unfreeze` (`lxc-freeze`, `lxc-unfreeze`).

use crate::container::Container;
use crate::error::{Error, Result};
use crate::monitor::protocol::connect_monitor;

/// `lxu freeze` / `lxu unfreeze`: through the monitor, which owns the freezer cgroup.
pub fn freeze(c: &Container, freeze: bool) -> Result<()> {
    c.ensure_exists()?;
    let Some(conn) = connect_monitor(c)? else {
        return Err(Error::NotRunning {
            name: c.name.clone(),
        });
    };
    conn.request(if freeze { "freeze" } else { "unfreeze" })?;
    Ok(())
}
