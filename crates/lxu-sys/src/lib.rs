//! The one place in lxu where `unsafe` code lives.
//!
//! Everything the rest of lxu needs from the kernel that `rustix` offers as a safe API is
//! used from `rustix` directly. What rustix deliberately leaves out (fork and clone, the
//! process-wide credential calls, `close_range`, signal masks and `signalfd`, `execve` and
//! `execveat`, `_exit`, `seccomp`) is wrapped here, each call with a `SAFETY` note. Other
//! crates deny `unsafe_code`.
//!
//! A wrapper whose soundness depends on its caller is an `unsafe fn` with a `# Safety`
//! section ([`fork::fork`], [`fork::clone_into_namespaces`], [`fd::close_from`],
//! [`mem::release_code_pages`]); each call site says in a `SAFETY` comment why the
//! condition holds there. The compiler checks that no unsafe operation goes without its
//! own `unsafe` block and comment (`unsafe_op_in_unsafe_fn`,
//! `clippy::undocumented_unsafe_blocks`).
//!
//! lxu's processes are single-threaded, which several of those conditions rely on. The
//! only threads in the `lxu` binary are liblzma's xz decoders, which `lxu create -t
//! download` starts and joins inside the unpacking (in a child made by
//! `clone_into_namespaces` when the container has an id map); the image server, which
//! has tokio's threads, forks nothing.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(target_env = "musl")]
pub mod alloc;
pub mod caps;
pub mod channel;
pub mod crash;
pub mod creds;
pub mod exec;
pub mod fd;
pub mod fork;
pub mod fs;
pub mod mem;
pub mod sched;
pub mod seccomp;
pub mod signal;
pub mod term;
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
