//! Terminal modes.

use std::os::fd::BorrowedFd;

use rustix::termios::{tcgetattr, tcsetattr, OptionalActions, Termios};

/// A terminal in raw mode (no echo, no line editing, no signals from keys) for as long as
/// this value lives; dropping it gives the terminal its earlier mode back, on every way
/// out of the scope that holds it.
#[derive(Debug)]
pub struct RawMode<'fd> {
    fd: BorrowedFd<'fd>,
    saved: Termios,
}

impl<'fd> RawMode<'fd> {
    /// Switches the terminal `fd` to raw mode; `None` when `fd` is not a terminal.
    pub fn enter(fd: BorrowedFd<'fd>) -> Option<RawMode<'fd>> {
        let saved = tcgetattr(fd).ok()?;
        let mut raw = saved.clone();
        raw.make_raw();
        let _ = tcsetattr(fd, OptionalActions::Now, &raw);
        Some(RawMode { fd, saved })
    }
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        let _ = tcsetattr(self.fd, OptionalActions::Now, &self.saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::termios::LocalModes;

    #[test]
    fn raw_until_dropped() {
        let Ok(master) =
            rustix::pty::openpt(rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY)
        else {
            eprintln!("skipped: no pty");
            return;
        };
        rustix::pty::unlockpt(&master).unwrap();
        let name = rustix::pty::ptsname(&master, Vec::new()).unwrap();
        let pts = rustix::fs::open(
            name.as_c_str(),
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        let echo = |fd| {
            tcgetattr(fd)
                .unwrap()
                .local_modes
                .contains(LocalModes::ECHO)
        };
        assert!(echo(&pts));
        let raw = RawMode::enter(std::os::fd::AsFd::as_fd(&pts)).unwrap();
        assert!(!echo(&pts));
        drop(raw);
        assert!(echo(&pts));
        let null = std::fs::File::open("/dev/null").unwrap();
        assert!(RawMode::enter(std::os::fd::AsFd::as_fd(&null)).is_none());
    }
}
