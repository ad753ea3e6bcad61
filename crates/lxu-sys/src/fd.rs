//! File descriptor housekeeping.

use std::io;
use std::os::fd::RawFd;

/// Marks every descriptor from `first` upwards close-on-exec, so that none of them reaches
/// a program this process (or a child it forks) executes.
///
/// Nothing is closed: descriptors that Rust objects own stay valid until the exec, which
/// makes this the safe choice for a process that keeps running Rust code until it execs.
/// Uses `close_range(first, ~0, CLOSE_RANGE_CLOEXEC)` (Linux 5.11) and falls back to
/// setting `FD_CLOEXEC` on each descriptor listed in `/proc/self/fd`.
pub fn cloexec_from(first: RawFd) -> io::Result<()> {
    let Ok(first) = u32::try_from(first) else {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    };
    match close_range(first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) {
        // EINVAL: a kernel with close_range but without the flag (5.9, 5.10).
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EINVAL)) => {
            cloexec_listed(first)
        }
        r => r,
    }
}

/// [`cloexec_from`] for kernels without `CLOSE_RANGE_CLOEXEC`: each descriptor that
/// `/proc/self/fd` lists.
fn cloexec_listed(first: u32) -> io::Result<()> {
    for fd in open_descriptors(first, u32::MAX)? {
        // SAFETY: fcntl with F_GETFD/F_SETFD only reads and sets the descriptor's
        // close-on-exec flag; an integer that is not an open descriptor (the read_dir
        // descriptor, closed by now) gives EBADF, which is ignored.
        unsafe {
            let flags = libc::fcntl(fd as RawFd, libc::F_GETFD);
            if flags != -1 {
                libc::fcntl(fd as RawFd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
    Ok(())
}

/// Closes every descriptor from `first` upwards, except those in `keep`.
///
/// Uses `close_range(2)` (Linux 5.9) between the kept descriptors and falls back to walking
/// `/proc/self/fd` when the call is missing. For a process that will exec, prefer
/// [`cloexec_from`], which is safe.
///
/// # Safety
///
/// No descriptor in the range, other than those in `keep`, may be owned or borrowed by
/// anything that is used or dropped afterwards (an `OwnedFd`, a `File`, a socket, a cache
/// in a static): once closed, its number may be handed out again for an unrelated file,
/// which the stale owner would then read, write or close. The usual way to meet this is to
/// call it in a process that never returns to the frames holding such owners and ends with
/// `execve` or [`exit_immediately`](crate::exit_immediately).
///
/// # References
///  - [Linux]
///
/// [Linux]: https://man7.org/linux/man-pages/man2/close_range.2.html
pub unsafe fn close_from(first: RawFd, keep: &[RawFd]) -> io::Result<()> {
    let mut keep: Vec<RawFd> = keep.iter().copied().filter(|&k| k >= first).collect();
    keep.sort_unstable();
    keep.dedup();
    let mut start = first;
    for &k in &keep {
        if k > start {
            // SAFETY: passed on from the caller, who vouches for the whole range.
            unsafe { close_all(start as u32, (k - 1) as u32)? };
        }
        start = k + 1;
    }
    // SAFETY: as above.
    unsafe { close_all(start as u32, u32::MAX) }
}

/// Closes the descriptors `first..=last`.
///
/// # Safety
///
/// As for [`close_from`], for this range.
unsafe fn close_all(first: u32, last: u32) -> io::Result<()> {
    match close_range(first, last, 0) {
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {}
        r => return r,
    }
    for fd in open_descriptors(first, last)? {
        // SAFETY: the caller vouches that nothing owns these descriptors any more; an
        // integer that is not open (the read_dir descriptor, closed by now) gives EBADF,
        // which is ignored.
        unsafe { libc::close(fd as RawFd) };
    }
    Ok(())
}

/// `close_range(first, last, flags)`. With flags 0 it closes descriptors, which is up to
/// the caller to allow (see [`close_from`]).
fn close_range(first: u32, last: u32, flags: libc::c_uint) -> io::Result<()> {
    // SAFETY: close_range takes integers only and touches no memory. With
    // CLOSE_RANGE_CLOEXEC it only sets flags; without, closing is what the callers
    // (`close_all`) vouch for.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, last, flags) };
    if r == 0 {
        Ok(())
    } else {
        Err(crate::last_error())
    }
}

/// The descriptors in `first..=last` that `/proc/self/fd` lists.
fn open_descriptors(first: u32, last: u32) -> io::Result<Vec<u32>> {
    Ok(std::fs::read_dir("/proc/self/fd")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd >= first && fd <= last)
        .collect())
}

/// Turns a received descriptor of a netlink socket into a `netlink_sys::Socket`.
///
/// A netlink socket keeps the network namespace it was created in, so a socket made
/// inside a container and passed out lets the monitor read the container's interfaces
/// without entering its namespaces.
pub fn netlink_socket(fd: std::os::fd::OwnedFd) -> netlink_sys::Socket {
    use std::os::fd::{FromRawFd, IntoRawFd};
    // SAFETY: `fd` is an owned, open descriptor; ownership moves into the socket, which
    // closes it on drop. The caller vouches that it is a netlink socket (it came from
    // our own init process); if not, netlink calls on it fail with errors, no UB.
    unsafe { netlink_sys::Socket::from_raw_fd(fd.into_raw_fd()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn cloexec(fd: &impl AsRawFd) -> bool {
        // SAFETY: F_GETFD on a descriptor the caller owns only reads its flags.
        let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
        flags != -1 && flags & libc::FD_CLOEXEC != 0
    }

    #[test]
    fn cloexec_from_marks_descriptors_and_closes_none() {
        for mark in [cloexec_from, |fd| cloexec_listed(fd as u32)] {
            marks_and_keeps_open(mark);
        }
    }

    fn marks_and_keeps_open(mark: fn(RawFd) -> io::Result<()>) {
        let (a, b) = rustix::pipe::pipe().unwrap();
        assert!(!cloexec(&a) && !cloexec(&b));
        let first = a.as_raw_fd().min(b.as_raw_fd());
        mark(first).unwrap();
        assert!(cloexec(&a) && cloexec(&b));
        // Still open and usable.
        rustix::io::write(&b, b"x").unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(rustix::io::read(&a, &mut buf).unwrap(), 1);
    }
}
