//! pid 1 of `lxu execute`, doing what `lxc-init` does for LXC's application containers:
//! the command runs as its child, signals sent to the container go on to the command,
//! orphans are reaped, and the container ends with the command's exit status.

use lxu_sys::signal::SignalFd;
use rustix::event::{poll, PollFd, PollFlags};
use rustix::process::{wait, WaitOptions};

/// Signals passed on towards the container's command: by the monitor to init (SIGWINCH
/// excepted, it resizes the console) and by this reaper to the command; the rest keep pid
/// 1's default (ignored).
pub(crate) const FORWARDED: [i32; 10] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGPWR,
    libc::SIGWINCH,
    libc::SIGCONT,
    libc::SIGALRM,
];

/// Runs until `main` (the command's pid) has ended; never returns.
pub fn run(main: i32) -> ! {
    let _ = rustix::thread::set_name(c"lxu-init");
    let mut watched = FORWARDED.to_vec();
    watched.push(libc::SIGCHLD);
    let Ok(sigfd) = SignalFd::new(&watched) else {
        lxu_sys::exit_immediately(126);
    };
    loop {
        // Reaped before waiting: the command may have ended before SIGCHLD was blocked.
        loop {
            match wait(WaitOptions::NOHANG) {
                Ok(Some((pid, status))) if pid.as_raw_nonzero().get() == main => {
                    // Exiting ends the pid namespace: whatever the command left behind
                    // is killed by the kernel.
                    let code = match (status.exit_status(), status.terminating_signal()) {
                        (Some(c), _) => c,
                        (None, Some(s)) => 128 + s,
                        _ => 1,
                    };
                    lxu_sys::exit_immediately(code);
                }
                Ok(Some(_)) => continue,
                Err(rustix::io::Errno::INTR) => continue,
                Ok(None) | Err(_) => break,
            }
        }
        let mut fds = [PollFd::new(&sigfd, PollFlags::IN)];
        let _ = poll(&mut fds, None);
        while let Ok(Some((sig, _))) = sigfd.read() {
            if sig != libc::SIGCHLD {
                let _ = lxu_sys::signal::kill(main, sig);
            }
        }
    }
}
