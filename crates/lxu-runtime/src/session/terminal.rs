//! The caller's terminal while a session uses it: `lxu attach` with a pty, `lxu console`,
//! and the monitor of `lxu start -F`.

use rustix::termios::{OptionalActions, Termios, Winsize};

/// Standard input's terminal in raw mode, restored when this is dropped.
pub(crate) struct RawTerminal {
    saved: Termios,
}

impl RawTerminal {
    /// Makes stdin's terminal raw; `None` when stdin is not a terminal.
    pub(crate) fn enter() -> Option<RawTerminal> {
        let stdin = rustix::stdio::stdin();
        let saved = rustix::termios::tcgetattr(stdin).ok()?;
        let mut raw = saved.clone();
        raw.make_raw();
        let _ = rustix::termios::tcsetattr(stdin, OptionalActions::Now, &raw);
        Some(RawTerminal { saved })
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ =
            rustix::termios::tcsetattr(rustix::stdio::stdin(), OptionalActions::Now, &self.saved);
    }
}

/// The size of stdin's terminal.
pub(crate) fn size() -> Option<Winsize> {
    rustix::termios::tcgetwinsize(rustix::stdio::stdin()).ok()
}
