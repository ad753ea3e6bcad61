//! `lxu stop`.

use crate::container::Container;
use crate::error::{Error, Result};
use crate::monitor::socket::connect_monitor;
use crate::wire::monitor::{Request, StopMode};

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
    let before = match crate::state::status(c) {
        Ok(s) => s.pid,
        Err(
            e @ Error::OtherVersion {
                monitor: Some(m), ..
            },
        ) => return crate::control::other_version::stop(c, m, opts, e),
        Err(e) => return Err(e),
    };
    let Some(conn) = connect_monitor(c)? else {
        clear_leftovers(c);
        return Ok(Stopped::NotRunning);
    };
    let mode = if opts.kill {
        StopMode::Kill
    } else if opts.reboot {
        StopMode::Reboot
    } else {
        StopMode::Halt
    };
    let req = Request::Stop {
        mode,
        timeout: opts.timeout,
        nokill: opts.nokill,
    };
    lxu_sys::crash::point("stop.connected");
    match conn.request(&req) {
        Ok(_) => {}
        // The monitor went away between connect and request: it is stopping anyway.
        Err(Error::MonitorClosed { .. }) => return Ok(Stopped::Stopped),
        Err(e) => return Err(e),
    }
    lxu_sys::crash::point("stop.requested");
    if opts.nowait {
        return Ok(Stopped::Requested);
    }
    if opts.reboot {
        return wait_reboot(c, before, opts.timeout);
    }
    conn.wait_closed()?;
    Ok(Stopped::Stopped)
}

/// What a monitor killed with SIGKILL (or a host that lost its power) leaves of a
/// container that is not running: its dead socket and its cgroup directories. Its
/// processes die with it (init's parent-death signal), except in a frozen cgroup, where
/// the pending SIGKILL waits for a thaw: they are thawed and killed here. Only with the
/// container's lock, so that nothing a concurrent start just made goes; best effort: the
/// next start takes over whatever stays.
pub(crate) fn clear_leftovers(c: &Container) {
    if let Ok(Some(_lock)) = crate::start::try_lock(c) {
        clear_leftovers_locked(c);
    }
}

/// `clear_leftovers` for a caller that holds the container's lock.
pub(crate) fn clear_leftovers_locked(c: &Container) {
    let sock = c.socket_path();
    if sock.symlink_metadata().is_ok() {
        let _ = std::fs::remove_file(&sock);
    }
    let Ok(h) = lxu_cgroup::Hierarchies::detect() else {
        return;
    };
    let d = h.delegation(rustix::process::geteuid().as_raw());
    let Ok(mut cg) = lxu_cgroup::ContainerCgroup::open(&h, &d, &c.name) else {
        return;
    };
    if cg.is_empty() {
        return;
    }
    if !cg.procs().unwrap_or_default().is_empty() {
        let _ = cg.thaw();
        let _ = cg.kill_all(lxu_cgroup::Signal::KILL);
    }
    let _ = cg.remove();
}

/// After a reboot request: waits until a new init runs (the monitor restarts the
/// container when init dies of SIGHUP, which is how a guest's reboot(2) ends in a pid
/// namespace). LXC's `lxc-stop -r` waits the same way and does not kill on timeout.
fn wait_reboot(c: &Container, before: Option<i32>, timeout: i64) -> Result<Stopped> {
    let deadline = (timeout >= 0)
        .then(|| std::time::Instant::now() + std::time::Duration::from_secs(timeout as u64));
    loop {
        let st = crate::state::status(c)?;
        if st.state == crate::state::State::Running && st.pid.is_some() && st.pid != before {
            return Ok(Stopped::Requested);
        }
        if st.state == crate::state::State::Stopped {
            return Err(Error::RebootStopped {
                name: c.name.clone(),
            });
        }
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Err(Error::RebootTimeout {
                name: c.name.clone(),
                timeout,
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
