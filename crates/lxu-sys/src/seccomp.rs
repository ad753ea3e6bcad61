//! Installing a seccomp filter.

use std::io;

/// One classic BPF instruction, as `struct sock_filter`.
pub type SockFilter = libc::sock_filter;

/// Makes a `struct sock_filter`.
pub fn insn(code: u16, jt: u8, jf: u8, k: u32) -> SockFilter {
    libc::sock_filter { code, jt, jf, k }
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, 0, prog)` for the calling thread. The kernel refuses
/// it (EACCES) unless the thread has CAP_SYS_ADMIN in its user namespace or has set
/// no_new_privs. It allocates nothing, so a forked child of a threaded process may call it.
pub fn set_filter(prog: &[SockFilter]) -> io::Result<()> {
    let len = u16::try_from(prog.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "seccomp filter too long"))?;
    let fprog = libc::sock_fprog {
        len,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `fprog` points to `len` valid instructions that outlive the call; the kernel
    // copies them and does not write through the pointer.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0 as libc::c_ulong,
            &fprog as *const libc::sock_fprog,
        )
    };
    if r == -1 {
        return Err(crate::last_error());
    }
    Ok(())
}
