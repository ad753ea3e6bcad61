//! `lxu stop` of a container whose monitor speaks another version of the command
//! protocol (an lxu upgraded while the container ran). The monitor is not asked anything:
//! a request it would decode differently could do something else. Its init, found as the
//! monitor's child that is pid 1 of its own pid namespace, is signalled directly, as the
//! monitor itself would (the halt signal, or SIGKILL); the monitor then sees init end,
//! cleans up as after any stop and exits, which is what we wait for.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::process::{pidfd_open, Pid, PidfdFlags};

use crate::container::Container;
use crate::control::stop::{StopOptions, Stopped};
use crate::error::{Error, Result};

/// How long a kill may take to end the container before we say so.
const KILL_WAIT: Duration = Duration::from_secs(30);

/// Stops `c`, whose monitor (pid `monitor`) speaks another protocol version; `refusal` is
/// the error that said so, returned when the stop cannot be done without the monitor.
pub(crate) fn stop(
    c: &Container,
    monitor: i32,
    opts: &StopOptions,
    refusal: Error,
) -> Result<Stopped> {
    // A reboot needs the monitor to start the container again: only it can.
    if opts.reboot {
        return Err(refusal);
    }
    let Some(mon) = open_pidfd(monitor) else {
        return Ok(Stopped::Stopped);
    };
    let Some((init_pid, init)) = init_of(monitor) else {
        // No init: the monitor is ending the container already.
        return wait_gone(c, &mon, Some(KILL_WAIT)).map(|()| Stopped::Stopped);
    };
    let halt = if opts.kill {
        libc::SIGKILL
    } else {
        c.load_config()
            .ok()
            .and_then(|cfg| cfg.signal_halt)
            .unwrap_or(libc::SIGPWR)
    };
    send(c, &init, init_pid, halt)?;
    if opts.nowait {
        return Ok(Stopped::Requested);
    }
    let limit = if opts.kill {
        Some(KILL_WAIT)
    } else {
        u64::try_from(opts.timeout).ok().map(Duration::from_secs)
    };
    match wait_gone(c, &mon, limit) {
        Err(Error::StopTimeout { .. }) if !opts.kill && !opts.nokill => {
            send(c, &init, init_pid, libc::SIGKILL)?;
            wait_gone(c, &mon, Some(KILL_WAIT))?;
        }
        r => r?,
    }
    Ok(Stopped::Stopped)
}

fn open_pidfd(pid: i32) -> Option<OwnedFd> {
    pidfd_open(Pid::from_raw(pid)?, PidfdFlags::empty()).ok()
}

fn send(c: &Container, init: &OwnedFd, pid: i32, sig: i32) -> Result<()> {
    match lxu_sys::signal::pidfd_send(init.as_fd(), sig) {
        Ok(_) => Ok(()),
        Err(e) => Err(Error::sys(
            format!("signal {sig} to the init (pid {pid}) of {}", c.name),
            e,
        )),
    }
}

/// `Name:\tvalue` of a /proc/PID/status text.
fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(str::trim)
}

/// Whether a /proc/PID/status text is of a child of `monitor` that is pid 1 of a pid
/// namespace below ours: the container's init.
pub(crate) fn is_init_of(status: &str, monitor: i32) -> bool {
    let parent = status_field(status, "PPid").and_then(|p| p.parse::<i32>().ok());
    let ns: Vec<&str> = status_field(status, "NSpid")
        .map(|v| v.split_whitespace().collect())
        .unwrap_or_default();
    parent == Some(monitor) && ns.len() >= 2 && ns.last() == Some(&"1")
}

/// The container's init among the monitor's children, with a pidfd opened on it and
/// checked afterwards to still be that process (pids are reused).
fn init_of(monitor: i32) -> Option<(i32, OwnedFd)> {
    let read = |pid: i32| std::fs::read_to_string(format!("/proc/{pid}/status")).ok();
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        if !read(pid).is_some_and(|s| is_init_of(&s, monitor)) {
            continue;
        }
        let fd = open_pidfd(pid)?;
        if read(pid).is_some_and(|s| is_init_of(&s, monitor)) {
            return Some((pid, fd));
        }
    }
    None
}

/// Waits until the monitor (`mon`, a pidfd) has exited; `None` waits forever.
fn wait_gone(c: &Container, mon: &OwnedFd, limit: Option<Duration>) -> Result<()> {
    let end = limit.map(|l| Instant::now() + l);
    loop {
        let left = end.map(|e| e.saturating_duration_since(Instant::now()));
        if left.is_some_and(|l| l.is_zero()) {
            return Err(Error::StopTimeout {
                name: c.name.clone(),
                secs: limit.map_or(0, |l| l.as_secs()),
            });
        }
        let ts = left.map(|l| Timespec {
            tv_sec: l.as_secs() as i64,
            tv_nsec: l.subsec_nanos() as i64,
        });
        let mut fds = [PollFd::new(mon, PollFlags::IN)];
        match poll(&mut fds, ts.as_ref()) {
            Ok(0) | Err(rustix::io::Errno::INTR) => continue,
            Ok(_) => return Ok(()),
            Err(e) => return Err(Error::sys("wait for the monitor to exit", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_is_the_monitors_child_that_is_pid_1_below() {
        let st = |ppid: i32, nspid: &str| format!("Name:\tinit\nPPid:\t{ppid}\nNSpid:\t{nspid}\n");
        assert!(is_init_of(&st(500, "501\t1"), 500));
        assert!(!is_init_of(&st(500, "501\t1"), 499), "another monitor's");
        assert!(
            !is_init_of(&st(500, "501"), 500),
            "a child in the monitor's own pid namespace"
        );
        assert!(!is_init_of(&st(500, "501\t7"), 500), "not pid 1 there");
        assert!(!is_init_of("Name:\tx\n", 500));
    }
}
