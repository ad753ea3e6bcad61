//! The monitor's side of creating the container's init: clone into new namespaces, write
//! the id maps, let the child run (see `init`), collect its ptys, and learn whether it
//! reached exec.

use std::os::fd::OwnedFd;

use lxu_config::{HookType, IdMap};
use lxu_sys::channel::Channel;
use lxu_sys::fork::{clone_into_namespaces, Fork, Namespaces};
use rustix::process::{pidfd_open, waitpid, Pid, PidfdFlags, WaitOptions};

use crate::error::{Error, Result};
use crate::ids::idmap;
use crate::start::init;
use crate::start::plan::Plan;

/// A container init that has executed `lxc.init.cmd`.
pub struct Spawned {
    pub pid: Pid,
    pub pidfd: OwnedFd,
    pub console: Option<OwnedFd>,
    pub ttys: Vec<OwnedFd>,
    /// `O_PATH` descriptor of the container's devpts root (for attach's ptys).
    pub devpts: Option<OwnedFd>,
    /// A netlink socket inside the container's network namespace.
    pub netlink: Option<OwnedFd>,
}

/// Work the monitor does on the fresh child before letting it continue (cgroup
/// placement, network devices), given the child's pid.
/// The second argument waits until the child has its own network namespace (it makes
/// one itself, while the monitor works: creating a network namespace is the costliest
/// part of the clone).
pub type BeforeGo<'a> = dyn FnMut(Pid, &mut dyn FnMut() -> Result<()>) -> Result<String> + 'a;

/// Creates the container's init. On error the child is killed and reaped.
pub fn spawn(
    plan: &Plan,
    maps: &[IdMap],
    euid: u32,
    new_netns: bool,
    before_go: &mut BeforeGo<'_>,
) -> Result<Spawned> {
    let (parent_end, child_end) =
        Channel::pair().map_err(|e| Error::sys("create a socketpair", e))?;
    let ns = Namespaces {
        user: plan.userns,
        mount: true,
        pid: true,
        uts: true,
        ipc: true,
        // init makes its network namespace itself, in parallel with the monitor.
        net: false,
        cgroup: false,
    };
    let _ = new_netns;
    // SAFETY: single-threaded: the monitor is the `lxu` process of `start -F`/`execute`
    // or its forked child, and neither starts threads (see the `lxu_sys` crate docs).
    #[allow(unsafe_code)]
    let cloned = unsafe { clone_into_namespaces(ns) };
    let pid = match cloned.map_err(|e| Error::sys("clone the container's init", e))? {
        Fork::Child => {
            drop(parent_end);
            init::run(plan, child_end);
        }
        Fork::Parent(pid) => pid,
    };
    drop(child_end);
    match handshake(plan, maps, euid, pid, &parent_end, before_go) {
        Ok(s) => Ok(s),
        Err(e) => {
            let _ = lxu_sys::signal::kill(pid.as_raw_nonzero().get(), libc::SIGKILL);
            while let Err(rustix::io::Errno::INTR) = waitpid(Some(pid), WaitOptions::empty()) {}
            Err(e)
        }
    }
}

fn handshake(
    plan: &Plan,
    maps: &[IdMap],
    euid: u32,
    pid: Pid,
    ch: &Channel,
    before_go: &mut BeforeGo<'_>,
) -> Result<Spawned> {
    // Open the pidfd while the child cannot have been reaped: no pid reuse race.
    let pidfd =
        pidfd_open(pid, PidfdFlags::empty()).map_err(|e| Error::sys("open a pidfd for init", e))?;
    // The map helpers run while the monitor places the child in its cgroups and makes
    // its network devices.
    let pending = if plan.userns {
        Some(idmap::start_maps(pid.as_raw_nonzero().get(), maps, euid)?)
    } else {
        None
    };
    let mut netns_ready = !plan.own_netns;
    let mut wait_netns = || -> Result<()> {
        if netns_ready {
            return Ok(());
        }
        match ch.recv() {
            Ok(Some((m, _))) if m == b"netns" => {
                netns_ready = true;
                Ok(())
            }
            Ok(Some((m, _))) if m.starts_with(b"err") => {
                Err(Error::Msg(String::from_utf8_lossy(&m[3..]).into_owned()))
            }
            _ => Err(Error::Msg(format!(
                "{}: the container's init died during setup",
                plan.name
            ))),
        }
    };
    let go = before_go(pid, &mut wait_netns);
    if let Some(p) = pending {
        p.wait()?;
    }
    let net = go?;
    if let Err(e) = ch.send(format!("go {net}").as_bytes(), &[]) {
        // The child failed before the go-ahead: its message says why.
        while let Ok(Some((m, _))) = ch.recv() {
            if let Some(err) = m.strip_prefix(b"err") {
                return Err(Error::Msg(String::from_utf8_lossy(err).into_owned()));
            }
        }
        return Err(Error::sys("start the container's init", e));
    }
    let mut spawned = Spawned {
        pid,
        pidfd,
        console: None,
        ttys: Vec::new(),
        devpts: None,
        netlink: None,
    };
    let mut reached_exec = false;
    loop {
        let msg = ch
            .recv()
            .map_err(|e| Error::sys("read from the container's init", e))?;
        let Some((msg, fds)) = msg else {
            if reached_exec {
                return Ok(spawned);
            }
            return Err(Error::Msg(format!(
                "{}: the container's init died during setup",
                plan.name
            )));
        };
        if let Some(err) = msg.strip_prefix(b"err") {
            return Err(Error::Msg(String::from_utf8_lossy(err).into_owned()));
        }
        if msg == b"netns" {
            continue;
        }
        if msg == b"exec" {
            reached_exec = true;
            continue;
        }
        if let Some(rest) = msg.strip_prefix(b"ptys ") {
            let text = String::from_utf8_lossy(rest);
            let mut it = text.split_whitespace();
            let console = it.next() == Some("1");
            let ttys: usize = it.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            let mut fds = fds.into_iter();
            if console {
                spawned.console = fds.next();
            }
            for _ in 0..ttys {
                if let Some(fd) = fds.next() {
                    spawned.ttys.push(fd);
                }
            }
            spawned.devpts = fds.next();
            if it.next() == Some("1") {
                spawned.netlink = fds.next();
            }
            if plan.hooks.has(HookType::StartHost) {
                // init waits before pivot_root and exec for these host-side hooks.
                let env = [("LXC_PID".to_string(), pid.as_raw_nonzero().to_string())];
                plan.hooks
                    .run(HookType::StartHost, &env, false, &[])
                    .map_err(|e| Error::Msg(format!("{}: {e}", plan.name)))?;
                ch.send(b"cont", &[])
                    .map_err(|e| Error::sys("let the container's init continue", e))?;
            }
        }
    }
}
