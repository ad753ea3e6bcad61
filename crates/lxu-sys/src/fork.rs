//! fork and clone with new namespaces.

use std::io;

use rustix::process::Pid;

/// Which side of a fork we are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fork {
    Parent(Pid),
    Child,
}

/// Namespace flags for [`clone_into_namespaces`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Namespaces {
    pub user: bool,
    pub mount: bool,
    pub pid: bool,
    pub uts: bool,
    pub ipc: bool,
    pub net: bool,
    pub cgroup: bool,
}

impl Namespaces {
    fn clone_flags(&self) -> libc::c_ulong {
        let mut f: libc::c_int = 0;
        let pairs = [
            (self.user, libc::CLONE_NEWUSER),
            (self.mount, libc::CLONE_NEWNS),
            (self.pid, libc::CLONE_NEWPID),
            (self.uts, libc::CLONE_NEWUTS),
            (self.ipc, libc::CLONE_NEWIPC),
            (self.net, libc::CLONE_NEWNET),
            (self.cgroup, libc::CLONE_NEWCGROUP),
        ];
        for (on, flag) in pairs {
            if on {
                f |= flag;
            }
        }
        f as libc::c_ulong
    }
}

/// The result of a fork-like system call: -1 with `errno`, 0 in the child, else the
/// child's pid.
fn forked(ret: libc::c_long) -> io::Result<Fork> {
    match ret {
        -1 => Err(crate::last_error()),
        0 => Ok(Fork::Child),
        // The kernel returns pids as positive `pid_t`s, so the value fits and is not 0.
        p => Pid::from_raw(p as libc::pid_t)
            .map(Fork::Parent)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL)),
    }
}

/// `fork()`—Creates a child process that continues as a copy of the calling one.
///
/// The C library's `fork`, so its fork handlers run (glibc's leave the allocator usable in
/// the child).
///
/// # Safety
///
/// The child has only the thread that called `fork`. If the process has other threads,
/// then until it calls `execve` or [`exit_immediately`](crate::exit_immediately) the child
/// must not use anything they may have been using at that instant: a lock one of them held
/// stays locked in the child for ever, and data it was changing stays half-changed.
/// Async-signal-safe functions are fine, and so is glibc's `malloc`, which its `fork`
/// resets (Rust's global allocator is not always the C library's: lxu's musl builds use
/// `lxu_sys::alloc`).
///
/// # References
///  - [Linux]
///
/// [Linux]: https://man7.org/linux/man-pages/man2/fork.2.html
pub unsafe fn fork() -> io::Result<Fork> {
    // SAFETY: `fork` takes no arguments and touches no memory of ours; what the child may
    // do afterwards is this function's own contract, passed on to the caller.
    let pid = unsafe { libc::fork() };
    forked(pid.into())
}

/// `clone(flags | SIGCHLD, NULL)`—Creates a child process in new namespaces, with fork
/// semantics: no new stack, `SIGCHLD` to the parent when it ends. With a new pid namespace
/// the child is its pid 1.
///
/// A raw system call, because the C library's `clone()` wants a separate stack and a
/// function to run, and `unshare(CLONE_NEWPID)` would need a second fork to get a pid-1
/// process.
///
/// The C library does not know of the new process: its fork handlers do not run, and its
/// record of the current thread still holds the parent's thread id. Nothing lxu runs in
/// the child uses that id (glibc's `raise` asks the kernel; musl's `raise`, and with it
/// `abort` after a panic, signals the stale id: in a child without a new pid namespace a
/// panic sends `SIGABRT` to the parent).
///
/// # Safety
///
/// The calling process must be single-threaded: with the fork handlers skipped, a lock any
/// other thread held (the allocator's too) stays locked in the child.
///
/// # References
///  - [Linux]
///
/// [Linux]: https://man7.org/linux/man-pages/man2/clone.2.html
pub unsafe fn clone_into_namespaces(ns: Namespaces) -> io::Result<Fork> {
    let flags = ns.clone_flags() | libc::SIGCHLD as libc::c_ulong;
    // SAFETY: with a null stack pointer, clone behaves like fork: the child continues on
    // a copy-on-write copy of the caller's stack. No tid or TLS pointers are passed, so
    // the kernel writes nothing into our memory. The single-threaded caller is this
    // function's contract.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0 as libc::c_ulong,
        )
    };
    forked(ret)
}

/// Whether this process may create `ns` (tried in a child that exits at once). Safe in any
/// process: the child calls nothing but `_exit`, so no lock another thread holds matters.
pub fn can_create(ns: Namespaces) -> bool {
    // SAFETY: the child only calls `_exit` (no allocator, no locks), which is sound even
    // when the caller has other threads.
    match unsafe { clone_into_namespaces(ns) } {
        Ok(Fork::Child) => crate::exit_immediately(0),
        Ok(Fork::Parent(pid)) => matches!(
            rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty()),
            Ok(Some((_, st))) if st.exit_status() == Some(0)
        ),
        Err(_) => false,
    }
}

/// `unshare(2)`.
pub fn unshare(ns: Namespaces) -> io::Result<()> {
    // SAFETY: unshare only changes kernel-side state of the calling thread; namespace
    // flags that affect the whole process (user) require a single-threaded caller, which
    // the kernel checks itself (EINVAL).
    let r = unsafe { libc::unshare(ns.clone_flags() as libc::c_int) };
    if r == -1 {
        Err(crate::last_error())
    } else {
        Ok(())
    }
}
