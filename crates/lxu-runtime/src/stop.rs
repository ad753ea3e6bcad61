//! `lxu stop`.

use crate::container::Container;
use crate::error::{Error, Result};
use crate::protocol::connect_monitor;

#[derive(Debug, Clone)]
pub struct StopOptions {
    /// `-k`: kill at once.
    pub kill: bool,
    /// `-t`: seconds to wait for a clean halt before killing (-1: forever).
    pub timeout: i64,
    /// `--nokill`: never kill; fail if the timeout passes.
    pub nokill: bool,
    /// `-W`: send the request and return.
    pub nowait: bool,
    /// `-r`: reboot.
    pub reboot: bool,
}

impl Default for StopOptions {
    fn default() -> Self {
        StopOptions {
            kill: false,
            timeout: 60,
            nokill: false,
            nowait: false,
            reboot: false,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    Stopped,
    NotRunning,
    Requested,
}

/// Stops the container; returns when nothing of it is left (the monitor exits only
/// after init, and with it the whole pid namespace, is gone).
pub fn stop(c: &Container, opts: &StopOptions) -> Result<Stopped> {
    c.ensure_exists()?;
    let Some(conn) = connect_monitor(c)? else {
        return Ok(Stopped::NotRunning);
    };
    let mode = if opts.kill {
        "kill"
    } else if opts.reboot {
        "reboot"
    } else {
        "halt"
    };
    let req = format!("stop {mode} {} {}", opts.timeout, u8::from(opts.nokill));
    match conn.request(&req) {
        Ok(_) => {}
        // The monitor went away between connect and request: it is stopping anyway.
        Err(Error::Msg(m)) if m.contains("closed the connection") => return Ok(Stopped::Stopped),
        Err(e) => return Err(e),
    }
    if opts.nowait || opts.reboot {
        return Ok(Stopped::Requested);
    }
    conn.wait_closed()?;
    Ok(Stopped::Stopped)
}

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
