//! Running a piece of work as root of a fresh user namespace with given id maps.
//!
//! Used wherever files must end up owned by the container's ids or be removed although
//! the caller cannot touch them from outside: building a rootfs, unpacking an image,
//! running an LXC template script, destroying a container.

use std::os::unix::process::ExitStatusExt;

use lxu_config::IdMap;
use lxu_sys::channel::Channel;
use lxu_sys::fork::{clone_into_namespaces, Fork, Namespaces};
use rustix::process::{waitpid, WaitOptions};

use crate::error::{Ended, Error, Result};
use crate::ids::idmap;
use crate::wire::helper::{FromNsHelper, ToHelper};
use crate::wire::{self, RemoteError};

/// How the work in the namespace ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The closure returned `Ok` (or replaced the process and it exited with 0).
    Done,
    /// The closure replaced the process (exec) and that failed or was killed, or the
    /// child ended without an answer.
    Ended(Ended),
}

impl Outcome {
    /// The outcome a process's exit status means.
    pub(crate) fn of(status: std::process::ExitStatus) -> Outcome {
        match (status.code(), status.signal()) {
            (Some(0), _) => Outcome::Done,
            (Some(c), _) => Outcome::Ended(Ended::Exited(c)),
            (None, Some(s)) => Outcome::Ended(Ended::Signaled(s)),
            _ => Outcome::Ended(Ended::Exited(1)),
        }
    }
}

/// Runs `work` in a child process that is root (uid and gid 0) of a new user and mount
/// namespace whose maps are `maps`. `work` may `exec`; then its exit status is returned.
/// Errors returned by `work` come back as [`Error::Remote`].
///
/// The calling process must be single-threaded.
pub(crate) fn run_as_root<F>(maps: &[IdMap], euid: u32, work: F) -> Result<Outcome>
where
    F: FnOnce() -> std::result::Result<(), String>,
{
    let (parent_end, child_end) =
        Channel::pair().map_err(|e| Error::sys("create a socketpair", e))?;
    let ns = Namespaces {
        user: true,
        mount: true,
        ..Namespaces::default()
    };
    // SAFETY: single-threaded (the documented precondition): the callers run in the
    // `lxu` command or the monitor, which start no threads (see the `lxu_sys` docs).
    #[allow(unsafe_code)]
    let cloned = unsafe { clone_into_namespaces(ns) };
    match cloned.map_err(|e| Error::sys("clone a user namespace", e))? {
        Fork::Child => {
            drop(parent_end);
            let (reply, code) = match child_side(&child_end, work) {
                Ok(()) => (FromNsHelper::Done, 0),
                Err(msg) => (FromNsHelper::Failed(RemoteError::new(msg)), 1),
            };
            let _ = wire::send(&child_end, &reply, &[]);
            lxu_sys::exit_immediately(code);
        }
        Fork::Parent(pid) => {
            drop(child_end);
            let result = parent_side(&parent_end, pid.as_raw_nonzero().get(), maps, euid);
            if result.is_err() {
                let _ = lxu_sys::signal::kill(pid.as_raw_nonzero().get(), libc::SIGKILL);
            }
            let reply = match &result {
                Ok(()) => wire::recv::<FromNsHelper>(&parent_end).ok().flatten(),
                Err(_) => None,
            };
            let status = loop {
                match waitpid(Some(pid), WaitOptions::empty()) {
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => return Err(Error::sys("wait for the namespace helper", e)),
                    Ok(s) => break s.map(|(_, s)| s),
                }
            };
            result?;
            match reply {
                Some((FromNsHelper::Done, _)) => return Ok(Outcome::Done),
                Some((FromNsHelper::Failed(e), _)) => return Err(e.into()),
                None => {}
            }
            let raw = status.map(|s| s.as_raw()).unwrap_or(0);
            Ok(Outcome::of(std::process::ExitStatus::from_raw(raw)))
        }
    }
}

fn parent_side(ch: &Channel, pid: i32, maps: &[IdMap], euid: u32) -> Result<()> {
    idmap::write_maps(pid, maps, euid)?;
    wire::send(ch, &ToHelper::MapsWritten, &[])
        .map_err(|e| Error::sys("signal the namespace helper", e))
}

fn child_side<F>(ch: &Channel, work: F) -> std::result::Result<(), String>
where
    F: FnOnce() -> std::result::Result<(), String>,
{
    match wire::recv::<ToHelper>(ch) {
        Ok(Some((ToHelper::MapsWritten, _))) => {}
        _ => lxu_sys::exit_immediately(1),
    }
    become_root().map_err(|e| format!("become root in the user namespace: {e}"))?;
    // The helper must not outlive the lxu command that started it.
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .map_err(|e| e.to_string())?;
    work()
}

/// Switches to uid/gid 0 of the current user namespace and drops supplementary groups
/// (the host's groups would show up as the overflow gid).
pub(crate) fn become_root() -> std::io::Result<()> {
    lxu_sys::creds::setresgid(0, 0, 0)?;
    // setgroups is refused when /proc/self/setgroups says deny (a namespace mapped without
    // a subgid range); dropping groups is then impossible and unnecessary.
    if let Err(e) = lxu_sys::creds::setgroups(&[]) {
        if e.raw_os_error() != Some(libc::EPERM) {
            return Err(e);
        }
    }
    lxu_sys::creds::setresuid(0, 0, 0)?;
    stay_undumpable();
    Ok(())
}

/// A change of effective ids makes the kernel reset "dumpable" to `fs.suid_dumpable` (1 on
/// some hosts): set it off again, so that the container's root can neither ptrace nor open
/// through /proc a process of ours that holds host descriptors until it execs.
pub(crate) fn stay_undumpable() {
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}
