//! Process-wide credential changes.
//!
//! rustix only offers the thread-level system calls on purpose; glibc's wrappers signal
//! every thread so the whole process changes identity, which is what we want.

use std::io;

fn check(r: libc::c_int) -> io::Result<()> {
    if r == -1 {
        Err(crate::last_error())
    } else {
        Ok(())
    }
}

/// `setresuid(2)` for the whole process.
pub fn setresuid(r: u32, e: u32, s: u32) -> io::Result<()> {
    // SAFETY: plain system call wrapper with integer arguments.
    check(unsafe { libc::setresuid(r, e, s) })
}

/// `setresgid(2)` for the whole process.
pub fn setresgid(r: u32, e: u32, s: u32) -> io::Result<()> {
    // SAFETY: plain system call wrapper with integer arguments.
    check(unsafe { libc::setresgid(r, e, s) })
}

/// `setgroups(2)` for the whole process.
pub fn setgroups(groups: &[u32]) -> io::Result<()> {
    // SAFETY: the pointer and length describe a live slice of gid_t (u32).
    check(unsafe { libc::setgroups(groups.len(), groups.as_ptr()) })
}

/// `setfsuid(2)`; returns the previous fsuid. The call cannot report failure, so callers
/// that depend on it must check the result with a second call, as bubblewrap does.
pub fn setfsuid(uid: u32) -> u32 {
    // SAFETY: plain system call wrapper with an integer argument.
    unsafe { libc::setfsuid(uid) as u32 }
}

/// `getgroups(2)` for the calling process.
pub fn getgroups() -> io::Result<Vec<u32>> {
    Ok(rustix::process::getgroups()?
        .into_iter()
        .map(|g| g.as_raw())
        .collect())
}
