//! The monitor's side of creating the container's init: clone into new namespaces, write
//! the id maps, let the child run (see `init`), collect its ptys, and learn whether it
//! reached exec (the messages and their order: `crate::wire`).

use std::os::fd::OwnedFd;

use lxu_config::{HookType, IdMap};
use lxu_sys::channel::Channel;
use lxu_sys::fork::{clone_into_namespaces, Fork, Namespaces};
use rustix::process::{pidfd_open, waitpid, Pid, PidfdFlags, WaitOptions};

use crate::error::{Error, Result};
use crate::ids::idmap;
use crate::start::init;
use crate::start::plan::Plan;
use crate::wire::init::{FromInit, Go, ToInit};
use crate::wire::{self, RecvError};

/// A container init that has executed `lxc.init.cmd`.
pub(crate) struct Spawned {
    pub(crate) pid: Pid,
    pub(crate) pidfd: OwnedFd,
    pub(crate) console: Option<OwnedFd>,
    pub(crate) ttys: Vec<OwnedFd>,
    /// `O_PATH` descriptor of the container's devpts root (for attach's ptys).
    pub(crate) devpts: Option<OwnedFd>,
    /// A netlink socket inside the container's network namespace.
    pub(crate) netlink: Option<OwnedFd>,
}

/// Work the monitor does on the fresh child before letting it continue (cgroup
/// placement, network devices), given the child's pid; it returns what init must know.
/// The second argument waits until the child has its own network namespace (it makes
/// one itself, while the monitor works: creating a network namespace is the costliest
/// part of the clone).
pub(crate) type BeforeGo<'a> = dyn FnMut(Pid, &mut dyn FnMut() -> Result<()>) -> Result<Go> + 'a;

/// Creates the container's init. On error the child is killed and reaped.
pub(crate) fn spawn(
    plan: &Plan,
    maps: &[IdMap],
    euid: u32,
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
    lxu_sys::crash::point("monitor.init-cloned");
    match handshake(plan, maps, euid, pid, &parent_end, before_go) {
        Ok(s) => Ok(s),
        Err(e) => {
            let _ = lxu_sys::signal::kill(pid.as_raw_nonzero().get(), libc::SIGKILL);
            while let Err(rustix::io::Errno::INTR) = waitpid(Some(pid), WaitOptions::empty()) {}
            Err(e)
        }
    }
}

/// The next message from init; `None` when its end closed.
fn recv(ch: &Channel) -> Result<Option<(FromInit, Vec<OwnedFd>)>> {
    wire::recv(ch).map_err(|e: RecvError| e.into_error("read from the container's init"))
}

fn handshake(
    plan: &Plan,
    maps: &[IdMap],
    euid: u32,
    pid: Pid,
    ch: &Channel,
    before_go: &mut BeforeGo<'_>,
) -> Result<Spawned> {
    let died = || Error::InitDied {
        name: plan.name.clone(),
    };
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
        match recv(ch) {
            Ok(Some((FromInit::NetnsReady, _))) => {
                netns_ready = true;
                Ok(())
            }
            Ok(Some((FromInit::Failed(e), _))) => Err(e.into()),
            _ => Err(died()),
        }
    };
    let go = before_go(pid, &mut wait_netns);
    if let Some(p) = pending {
        p.wait()?;
        lxu_sys::crash::point("monitor.idmaps-written");
    }
    if let Err(e) = wire::send(ch, &ToInit::Go(go?), &[]) {
        // The child failed before the go-ahead: its message says why.
        while let Ok(Some((m, _))) = recv(ch) {
            if let FromInit::Failed(err) = m {
                return Err(err.into());
            }
        }
        return Err(Error::sys("start the container's init", e));
    }
    lxu_sys::crash::point("monitor.go-sent");
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
        let Some((msg, fds)) = recv(ch)? else {
            return if reached_exec {
                Ok(spawned)
            } else {
                Err(died())
            };
        };
        match msg {
            FromInit::Failed(e) => return Err(e.into()),
            FromInit::NetnsReady => {}
            FromInit::Exec => reached_exec = true,
            FromInit::Ptys {
                console,
                ttys,
                netlink,
            } => {
                let mut fds = fds.into_iter();
                if console {
                    spawned.console = fds.next();
                }
                spawned.ttys = fds.by_ref().take(ttys as usize).collect();
                spawned.devpts = fds.next();
                if netlink {
                    spawned.netlink = fds.next();
                }
                start_host_hooks(plan, pid, ch)?;
            }
        }
    }
}

/// `lxc.hook.start-host`: init waits before pivot_root and exec for these host-side
/// hooks.
fn start_host_hooks(plan: &Plan, pid: Pid, ch: &Channel) -> Result<()> {
    if !plan.hooks.has(HookType::StartHost) {
        return Ok(());
    }
    let env = [("LXC_PID".to_string(), pid.as_raw_nonzero().to_string())];
    plan.hooks
        .run(HookType::StartHost, &env, false, &[])
        .map_err(|reason| Error::Hook {
            name: plan.name.clone(),
            reason,
        })?;
    wire::send(ch, &ToInit::Continue, &[])
        .map_err(|e| Error::sys("let the container's init continue", e))
}
