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

    /// The flags as `rustix` namespace types, for `setns` through a pidfd.
    pub fn thread_name_spaces(&self) -> rustix::thread::ThreadNameSpaceType {
        use rustix::thread::ThreadNameSpaceType as T;
        let mut t = T::empty();
        let pairs = [
            (self.user, T::USER),
            (self.mount, T::MOUNT),
            (self.pid, T::PROCESS_ID),
            (self.uts, T::HOST_NAME_AND_NIS_DOMAIN_NAME),
            (self.ipc, T::INTER_PROCESS_COMMUNICATION),
            (self.net, T::NETWORK),
            (self.cgroup, T::CONTROL_GROUP),
        ];
        for (on, flag) in pairs {
            if on {
                t |= flag;
            }
        }
        t
    }
}

/// `fork(2)`.
///
/// The caller must be single-threaded or only do async-signal-safe work in the child
/// before `exec`/`_exit`; all lxu processes that fork are single-threaded.
pub fn fork() -> io::Result<Fork> {
    // SAFETY: fork has no memory-safety preconditions of its own; the documented
    // constraint (single-threaded caller) is part of this function's contract.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(crate::last_error()),
        0 => Ok(Fork::Child),
        // SAFETY: the kernel returned a positive pid.
        p => Ok(Fork::Parent(unsafe { Pid::from_raw_unchecked(p) })),
    }
}

/// `clone(2)` with fork semantics (no new stack, SIGCHLD to the parent on exit) into
/// new namespaces. With a new pid namespace the child is its pid 1.
///
/// A raw clone, because glibc's `clone()` wrapper wants a separate stack and a function
/// pointer, and `unshare(CLONE_NEWPID)` would need a second fork to get a pid-1 process.
/// The caller must be single-threaded: glibc's cached thread id is stale in the child,
/// which is harmless for code that does not use pthread APIs keyed on it.
pub fn clone_into_namespaces(ns: Namespaces) -> io::Result<Fork> {
    let flags = ns.clone_flags() | libc::SIGCHLD as libc::c_ulong;
    // SAFETY: with a null stack pointer, clone behaves like fork: the child continues on
    // a copy-on-write copy of the caller's stack. No tid pointers are passed.
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
    match ret {
        -1 => Err(crate::last_error()),
        0 => Ok(Fork::Child),
        // SAFETY: the kernel returned a positive pid.
        p => Ok(Fork::Parent(unsafe { Pid::from_raw_unchecked(p as i32) })),
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
