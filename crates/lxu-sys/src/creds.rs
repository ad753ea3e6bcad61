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

/// `getgroups(2)` for the calling process.
pub fn getgroups() -> io::Result<Vec<u32>> {
    Ok(rustix::process::getgroups()?
        .into_iter()
        .map(|g| g.as_raw())
        .collect())
}

/// `getresuid(2)` and `getresgid(2)`: (real, effective, saved) of each.
pub fn getres_ids() -> io::Result<([u32; 3], [u32; 3])> {
    let (mut ru, mut eu, mut su) = (0, 0, 0);
    let (mut rg, mut eg, mut sg) = (0, 0, 0);
    // SAFETY: each pointer refers to a live local of type uid_t/gid_t (u32).
    check(unsafe { libc::getresuid(&mut ru, &mut eu, &mut su) })?;
    // SAFETY: as above.
    check(unsafe { libc::getresgid(&mut rg, &mut eg, &mut sg) })?;
    Ok(([ru, eu, su], [rg, eg, sg]))
}

/// Turns the whole process into `uid`/`gid` with exactly `groups` as its supplementary
/// groups, for good: real, effective and saved ids (and with them the filesystem ids) all
/// change, which also empties the capability sets of a root process. Meant for a forked
/// child of root that must touch files a user controls with no more rights than that user.
///
/// Checked afterwards: the ids read back as asked, and a way back to uid 0 is refused.
pub fn become_user(uid: u32, gid: u32, groups: &[u32]) -> io::Result<()> {
    // Groups first and uid last: once the uid changes, the right to change the others is gone.
    setgroups(groups)?;
    setresgid(gid, gid, gid)?;
    setresuid(uid, uid, uid)?;
    let (u, g) = getres_ids()?;
    let mut have = getgroups()?;
    have.sort_unstable();
    let mut want = groups.to_vec();
    want.sort_unstable();
    want.dedup();
    have.dedup();
    if u != [uid; 3] || g != [gid; 3] || have != want {
        return Err(io::Error::other(format!(
            "after dropping to uid {uid} gid {gid}: uids {u:?}, gids {g:?}, groups {have:?}"
        )));
    }
    if uid != 0 && setresuid(0, 0, 0).is_ok() {
        return Err(io::Error::other(format!(
            "after dropping to uid {uid}, the process could become root again"
        )));
    }
    Ok(())
}
