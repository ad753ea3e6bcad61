//! File descriptor housekeeping.

use std::io;

/// Closes every descriptor from `first` upwards, except those in `keep`.
///
/// Uses `close_range(2)` (Linux 5.9) between the kept descriptors and falls back to walking
/// `/proc/self/fd` when the call is missing.
pub fn close_from(first: i32, keep: &[i32]) -> io::Result<()> {
    let mut keep: Vec<i32> = keep.iter().copied().filter(|&k| k >= first).collect();
    keep.sort_unstable();
    keep.dedup();
    let mut start = first;
    for &k in &keep {
        if k > start {
            close_range(start as u32, (k - 1) as u32)?;
        }
        start = k + 1;
    }
    close_range(start as u32, u32::MAX)
}

fn close_range(first: u32, last: u32) -> io::Result<()> {
    // SAFETY: close_range only closes descriptors; Rust objects that own descriptors in
    // this range must not be used afterwards, which callers guarantee by calling this just
    // before exec in a forked child.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0 as libc::c_uint) };
    if r == 0 {
        return Ok(());
    }
    let err = crate::last_error();
    if err.raw_os_error() != Some(libc::ENOSYS) {
        return Err(err);
    }
    let fds: Vec<u32> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd >= first && fd <= last)
        .collect();
    for fd in fds {
        // SAFETY: as above; errors (EBADF for the read_dir descriptor) are ignored.
        unsafe { libc::close(fd as i32) };
    }
    Ok(())
}

/// Marks a descriptor close-on-exec or not.
pub fn set_cloexec(fd: std::os::fd::BorrowedFd<'_>, on: bool) -> io::Result<()> {
    use rustix::io::{fcntl_getfd, fcntl_setfd, FdFlags};
    let mut flags = fcntl_getfd(fd)?;
    flags.set(FdFlags::CLOEXEC, on);
    fcntl_setfd(fd, flags)?;
    Ok(())
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
