//! The one place in lxu where `unsafe` code lives.
//!
//! Everything the rest of lxu needs from the kernel that `rustix` offers as a safe API is
//! used from `rustix` directly. What rustix deliberately leaves out (fork and clone, the
//! process-wide credential calls, `close_range`, signal masks and `signalfd`, `execve` and
//! `execveat`, `_exit`, `seccomp`) is wrapped here, each call with a `SAFETY` note. Other
//! crates deny `unsafe_code`.
//!
//! Processes that call [`fork::clone_into_namespaces`] must be single-threaded: the child
//! of a raw `clone` only gets the calling thread, and glibc's view of threads is not
//! updated (the same constraint youki documents for `clone3`).

#[cfg(target_env = "musl")]
pub mod alloc;
pub mod caps;
pub mod channel;
pub mod creds;
pub mod exec;
pub mod fd;
pub mod fork;
pub mod mem;
pub mod sched;
pub mod seccomp;
pub mod signal;
pub mod time;

pub use rustix;

/// Terminates the calling process at once, without running atexit handlers or flushing
/// stdio buffers shared with the parent (the right exit for a forked child).
pub fn exit_immediately(code: i32) -> ! {
    // SAFETY: `_exit` has no preconditions; it never returns.
    unsafe { libc::_exit(code) }
}

/// The last OS error as an `std::io::Error`.
pub(crate) fn last_error() -> std::io::Error {
    std::io::Error::last_os_error()
}
