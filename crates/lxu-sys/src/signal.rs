//! Signal masks, dispositions and `signalfd`.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

fn sigset(signals: &[i32]) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the zeroed set; sigaddset writes into it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// Blocks `signals` for the calling thread (the whole process when single-threaded).
fn block(signals: &[i32]) -> io::Result<()> {
    let set = sigset(signals);
    // SAFETY: set is a valid, initialised sigset_t; the old mask is not requested.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    Ok(())
}

/// Unblocks every signal and resets every handled signal to its default disposition.
///
/// Blocked signals and ignored dispositions survive `execve`, so a child must call this
/// before it executes the container's init or an attached command.
pub fn reset_all() -> io::Result<()> {
    let empty = sigset(&[]);
    // SAFETY: valid empty set.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: SIG_DFL is always a valid disposition; errors for reserved signal
        // numbers (used by glibc internally) are ignored on purpose.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    Ok(())
}

/// Sets a signal to be ignored.
pub fn ignore(sig: i32) {
    // SAFETY: SIG_IGN is a valid disposition for any catchable signal.
    unsafe { libc::signal(sig, libc::SIG_IGN) };
}

/// A `signalfd` reading the given (blocked) signals.
pub struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    /// Blocks `signals` and returns a non-blocking, close-on-exec signalfd for them.
    pub fn new(signals: &[i32]) -> io::Result<SignalFd> {
        block(signals)?;
        let set = sigset(signals);
        // SAFETY: -1 asks for a new descriptor; set is valid.
        let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
        if fd == -1 {
            return Err(crate::last_error());
        }
        // SAFETY: the kernel returned a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(SignalFd { fd })
    }

    /// Reads one pending signal, if any: `(signal number, sending pid)`.
    pub fn read(&self) -> io::Result<Option<(i32, i32)>> {
        // SAFETY: signalfd_siginfo is plain old data; zeroed is a valid value.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: the buffer is exactly one signalfd_siginfo long and writable.
        let n = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                &mut info as *mut _ as *mut libc::c_void,
                size,
            )
        };
        if n == -1 {
            let e = crate::last_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                return Ok(None);
            }
            return Err(e);
        }
        if n as usize != size {
            return Ok(None);
        }
        Ok(Some((info.ssi_signo as i32, info.ssi_pid as i32)))
    }
}

impl AsFd for SignalFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Sends `sig` to a process by pid; `Ok(false)` if it no longer exists.
pub fn kill(pid: i32, sig: i32) -> io::Result<bool> {
    // SAFETY: plain system call wrapper with integer arguments.
    let r = unsafe { libc::kill(pid, sig) };
    sent(r.into())
}

/// The result of a system call that sends a signal: `Ok(false)` when the target is gone.
fn sent(r: libc::c_long) -> io::Result<bool> {
    if r == 0 {
        return Ok(true);
    }
    let e = crate::last_error();
    if e.raw_os_error() == Some(libc::ESRCH) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Sends `sig` through a pidfd, which cannot hit a recycled pid.
pub fn pidfd_send(pidfd: BorrowedFd<'_>, sig: i32) -> io::Result<bool> {
    // SAFETY: the pidfd is a valid open descriptor; no siginfo is passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null_mut::<libc::siginfo_t>(),
            0 as libc::c_uint,
        )
    };
    sent(r)
}

/// Name of a signal number ("SIGTERM"), for messages.
pub fn name(sig: i32) -> String {
    let fixed = [
        (libc::SIGHUP, "SIGHUP"),
        (libc::SIGINT, "SIGINT"),
        (libc::SIGQUIT, "SIGQUIT"),
        (libc::SIGKILL, "SIGKILL"),
        (libc::SIGUSR1, "SIGUSR1"),
        (libc::SIGUSR2, "SIGUSR2"),
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGPWR, "SIGPWR"),
        (libc::SIGCONT, "SIGCONT"),
        (libc::SIGSTOP, "SIGSTOP"),
        (libc::SIGCHLD, "SIGCHLD"),
        (libc::SIGSEGV, "SIGSEGV"),
        (libc::SIGABRT, "SIGABRT"),
        (libc::SIGPIPE, "SIGPIPE"),
        (libc::SIGALRM, "SIGALRM"),
    ];
    for (n, s) in fixed {
        if n == sig {
            return s.to_string();
        }
    }
    let rtmin = libc::SIGRTMIN();
    if sig >= rtmin && sig <= libc::SIGRTMAX() {
        return format!("SIGRTMIN+{}", sig - rtmin);
    }
    format!("signal {sig}")
}
