//! The caller's terminal while a session uses it: `lxu attach` with a pty, `lxu console`,
//! and the monitor of `lxu start -F`.

use lxu_sys::term::RawMode;
use rustix::termios::Winsize;

/// Standard input's terminal in raw mode until the value is dropped; `None` when stdin
/// is not a terminal.
pub(crate) fn raw() -> Option<RawMode<'static>> {
    RawMode::enter(rustix::stdio::stdin())
}

/// The size of stdin's terminal.
pub(crate) fn size() -> Option<Winsize> {
    rustix::termios::tcgetwinsize(rustix::stdio::stdin()).ok()
}
