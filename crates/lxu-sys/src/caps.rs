//! Capability bounding set.

use std::io;

/// Removes one capability from the calling thread's bounding set (`PR_CAPBSET_DROP`).
/// Dropping a capability the kernel does not know is not an error.
pub fn drop_bounding(cap: u32) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
    if r == -1 {
        let e = crate::last_error();
        if e.raw_os_error() == Some(libc::EINVAL) {
            return Ok(());
        }
        return Err(e);
    }
    Ok(())
}

/// Highest capability number this kernel knows.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}
