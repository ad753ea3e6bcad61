//! Executing a program from an open descriptor.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// An `argv` or `envp` array built ahead of time, so that exec in a forked child
/// allocates nothing.
pub struct CStrArray {
    _strings: Vec<CString>,
    /// Pointers into `_strings` (their heap buffers do not move with the `Vec`), then null.
    ptrs: Vec<*const libc::c_char>,
}

impl CStrArray {
    pub fn new(strings: Vec<CString>) -> CStrArray {
        let mut ptrs: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        CStrArray {
            _strings: strings,
            ptrs,
        }
    }

    /// The array without its first `n` entries (still null-terminated).
    fn from(&self, n: usize) -> *const *const libc::c_char {
        self.ptrs[n.min(self.ptrs.len() - 1)..].as_ptr()
    }
}

/// `execveat(fd, "", argv, envp, AT_EMPTY_PATH)`: runs the file `fd` refers to (a sealed
/// memfd), with no path lookup at all. Returns only on failure.
pub fn execveat_fd(fd: BorrowedFd<'_>, argv: &CStrArray, envp: &CStrArray) -> io::Error {
    // SAFETY: both arrays are null-terminated arrays of NUL-terminated strings that live
    // for the call (owned by the `CStrArray`s), and the empty path is a static C string.
    // The call either replaces the process image or returns -1 without touching memory.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv.from(0),
            envp.from(0),
            libc::AT_EMPTY_PATH,
        )
    };
    crate::last_error()
}

/// `execve(path, argv[skip..], envp)`. Returns only on failure.
pub fn execve(path: &CStr, argv: &CStrArray, skip: usize, envp: &CStrArray) -> io::Error {
    // SAFETY: as for `execveat_fd`.
    unsafe { libc::execve(path.as_ptr(), argv.from(skip), envp.from(0)) };
    crate::last_error()
}
