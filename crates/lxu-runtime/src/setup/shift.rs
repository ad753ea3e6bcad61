//! Shifting the owners of a container's files from an old block of host ids to a new one
//! (`lxu setup-user --move-ids`).
//!
//! Runs as root of a user namespace whose maps hold exactly three things (see
//! `moving::helper_maps`): the user's own uid and gid at namespace id 0, the container's
//! old host ids at [`OLD`] + container id and the new block at [`NEW`] + container id. In
//! that namespace the shift is the same for every container: id `x` in `OLD..NEW` becomes
//! `x + (NEW - OLD)`. Both bases lie above 65534, the id unmapped owners show as, so a file
//! of an id outside the maps (root's, say) is never taken for one of the old block.
//!
//! Every step is idempotent, so a run killed half-way is finished by the next: files
//! already in the new block are left alone. The one thing a chown loses for good is a
//! regular file's set-id bits and file capability (the kernel clears both): they are
//! written first to the file's `user.lxu.shift` attribute and put back from there, also
//! by the next run if this one is killed between the two steps.

use std::ffi::{CStr, OsStr};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

/// Namespace id of the container's id 0 in its old host block.
pub(crate) const OLD: u32 = 1 << 20;
/// Namespace id of the container's id 0 in its new host block.
pub(crate) const NEW: u32 = 2 << 20;

const ACL_ACCESS: &CStr = c"system.posix_acl_access";
const ACL_DEFAULT: &CStr = c"system.posix_acl_default";
const CAPS: &CStr = c"security.capability";
/// Where a file's set-id bits and file capability wait while its owner changes.
const PENDING: &CStr = c"user.lxu.shift";

/// The id `id` becomes: ids of the old block move to the new one, others stay.
pub(crate) fn shifted(id: u32) -> Option<u32> {
    (OLD..NEW).contains(&id).then(|| id + (NEW - OLD))
}

/// An ACL xattr (`system.posix_acl_*`: a version word, then 8-byte entries of tag, perms
/// and id) with the ids of named-user and named-group entries shifted; `None` when no
/// entry changes or the value is not an ACL.
pub(crate) fn shifted_acl(value: &[u8]) -> Option<Vec<u8>> {
    const ACL_USER: u16 = 0x02;
    const ACL_GROUP: u16 = 0x08;
    if value.len() < 4 || !(value.len() - 4).is_multiple_of(8) {
        return None;
    }
    let mut out = value.to_vec();
    let mut changed = false;
    for e in out[4..].chunks_exact_mut(8) {
        let tag = u16::from_le_bytes([e[0], e[1]]);
        if tag != ACL_USER && tag != ACL_GROUP {
            continue;
        }
        let id = u32::from_le_bytes([e[4], e[5], e[6], e[7]]);
        if let Some(new) = shifted(id) {
            e[4..8].copy_from_slice(&new.to_le_bytes());
            changed = true;
        }
    }
    changed.then_some(out)
}

/// A `security.capability` value as it must be written back after the chown: a version 2
/// capability (no root id: root of our namespace or the host's, which apply in the
/// container) becomes version 3 for the container's new root; a version 3 one of the old
/// block gets the shifted root id; others are kept as they are.
pub(crate) fn shifted_caps(value: &[u8]) -> Vec<u8> {
    const REVISION_MASK: u32 = 0xff00_0000;
    const REVISION_3: u32 = 0x0300_0000;
    const V2_SIZE: usize = 20;
    const V3_SIZE: usize = 24;
    let magic = |v: &[u8]| u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
    match value.len() {
        V2_SIZE => {
            let mut out = value.to_vec();
            let m = (magic(value) & !REVISION_MASK) | REVISION_3;
            out[0..4].copy_from_slice(&m.to_le_bytes());
            out.extend_from_slice(&NEW.to_le_bytes());
            out
        }
        V3_SIZE => {
            let mut out = value.to_vec();
            let root = u32::from_le_bytes([value[20], value[21], value[22], value[23]]);
            if let Some(new) = shifted(root) {
                out[20..24].copy_from_slice(&new.to_le_bytes());
            }
            out
        }
        _ => value.to_vec(),
    }
}

/// What a shift did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Files (of any type) looked at.
    pub seen: u64,
    /// Files whose owner, group or ACL changed.
    pub changed: u64,
}

/// Shifts every file below `top` (included), on `top`'s file system only, never following a
/// symbolic link; `skip` names entries of `top` not to descend into (they are shifted
/// themselves).
pub(crate) fn shift_tree(top: &Path, skip: &[&str]) -> Result<Tally, String> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::open(top, flags, Mode::empty())
        .map_err(|e| format!("open `{}`: {e}", top.display()))?;
    let st = rustix::fs::fstat(&fd).map_err(|e| format!("stat `{}`: {e}", top.display()))?;
    let mut tally = Tally::default();
    shift_open(&fd, &st, top, &mut tally)?;
    walk(&fd, st.st_dev, top, skip, &mut tally)?;
    Ok(tally)
}

fn walk(
    dir: &OwnedFd,
    dev: u64,
    path: &Path,
    skip: &[&str],
    tally: &mut Tally,
) -> Result<(), String> {
    let at = |name: &CStr| path.join(OsStr::from_bytes(name.to_bytes()));
    let names: Vec<std::ffi::CString> = rustix::fs::Dir::read_from(dir)
        .map_err(|e| format!("list `{}`: {e}", path.display()))?
        .map(|e| e.map(|e| e.file_name().to_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("list `{}`: {e}", path.display()))?;
    for name in names {
        if matches!(name.to_bytes(), b"." | b"..") {
            continue;
        }
        let p = at(&name);
        let st = match rustix::fs::statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            // Removed meanwhile: nothing left to shift.
            Err(Errno::NOENT) => continue,
            Err(e) => return Err(format!("stat `{}`: {e}", p.display())),
        };
        // Another file system mounted here is not the container's.
        if st.st_dev != dev {
            continue;
        }
        let ft = FileType::from_raw_mode(st.st_mode);
        match ft {
            FileType::Directory | FileType::RegularFile => {
                let mut flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                flags |= if ft == FileType::Directory {
                    OFlags::DIRECTORY
                } else {
                    // A FIFO swapped in meanwhile must not block the open.
                    OFlags::NONBLOCK | OFlags::NOCTTY
                };
                let fd = match rustix::fs::openat(dir, &name, flags, Mode::empty()) {
                    Ok(fd) => fd,
                    Err(Errno::NOENT) => continue,
                    Err(e) if !needs_shift(&st) => {
                        // Not ours to change (of an id outside the maps): left alone.
                        let _ = e;
                        tally.seen += 1;
                        continue;
                    }
                    Err(e) => return Err(format!("open `{}`: {e}", p.display())),
                };
                let now =
                    rustix::fs::fstat(&fd).map_err(|e| format!("stat `{}`: {e}", p.display()))?;
                // Replaced between the stat and the open: the next run gets it.
                if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) {
                    continue;
                }
                shift_open(&fd, &now, &p, tally)?;
                let skipped = path_is_skipped(&name, skip);
                if ft == FileType::Directory && !skipped {
                    walk(&fd, dev, &p, &[], tally)?;
                }
            }
            _ => {
                tally.seen += 1;
                let (u, g) = (shifted(st.st_uid), shifted(st.st_gid));
                if u.is_none() && g.is_none() {
                    continue;
                }
                let own = |id: Option<u32>| id.map(rustix::fs::Uid::from_raw);
                let grp = |id: Option<u32>| id.map(rustix::fs::Gid::from_raw);
                match rustix::fs::chownat(dir, &name, own(u), grp(g), AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(()) => tally.changed += 1,
                    Err(Errno::NOENT) => {}
                    Err(e) => return Err(format!("chown `{}`: {e}", p.display())),
                }
            }
        }
    }
    Ok(())
}

fn path_is_skipped(name: &CStr, skip: &[&str]) -> bool {
    skip.iter().any(|s| s.as_bytes() == name.to_bytes())
}

fn needs_shift(st: &Stat) -> bool {
    shifted(st.st_uid).is_some() || shifted(st.st_gid).is_some()
}

/// The value of attribute `name` of `fd`, `None` when it has none (or the file system
/// keeps no such attributes).
fn get_xattr(fd: impl AsFd, name: &CStr) -> Result<Option<Vec<u8>>, Errno> {
    let mut buf = vec![0u8; 256];
    loop {
        match rustix::fs::fgetxattr(&fd, name, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf));
            }
            Err(Errno::RANGE) if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            Err(Errno::NODATA | Errno::NOTSUP) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}

fn set_xattr(fd: impl AsFd, name: &CStr, value: &[u8]) -> Result<(), Errno> {
    rustix::fs::fsetxattr(&fd, name, value, rustix::fs::XattrFlags::empty())
}

/// Shifts one opened directory or regular file: owner, group, ACLs, and for a regular
/// file its set-id bits and file capability kept across the chown (see the module).
fn shift_open(fd: &OwnedFd, st: &Stat, path: &Path, tally: &mut Tally) -> Result<(), String> {
    tally.seen += 1;
    let err = |what: &str, e: Errno| format!("{what} `{}`: {e}", path.display());
    let regular = FileType::from_raw_mode(st.st_mode) == FileType::RegularFile;
    let mut changed = false;
    if regular {
        // Left by a run killed between the chown and putting these back.
        if let Some(p) = get_xattr(fd, PENDING).map_err(|e| err("read attributes of", e))? {
            restore_pending(fd, &p).map_err(|e| err("restore mode and capability of", e))?;
            changed = true;
        }
    }
    let (u, g) = (shifted(st.st_uid), shifted(st.st_gid));
    if u.is_some() || g.is_some() {
        let caps = if regular {
            get_xattr(fd, CAPS).map_err(|e| err("read the file capability of", e))?
        } else {
            None
        };
        let special = st.st_mode & 0o6000 != 0;
        let pending = (regular && (special || caps.is_some())).then(|| {
            let mut v = (st.st_mode & 0o7777).to_le_bytes().to_vec();
            if let Some(c) = &caps {
                v.extend_from_slice(&shifted_caps(c));
            }
            v
        });
        // Without user attributes (some file systems) the bits are still put back below;
        // only a kill in between would lose them.
        let journaled = match &pending {
            Some(p) => set_xattr(fd, PENDING, p).is_ok(),
            None => false,
        };
        rustix::fs::fchown(
            fd,
            u.map(rustix::fs::Uid::from_raw),
            g.map(rustix::fs::Gid::from_raw),
        )
        .map_err(|e| err("chown", e))?;
        lxu_sys::crash::point("setup-user.file-chowned");
        match &pending {
            Some(p) => {
                restore_pending(fd, p).map_err(|e| err("restore mode and capability of", e))?
            }
            None if special => rustix::fs::fchmod(fd, Mode::from_raw_mode(st.st_mode & 0o7777))
                .map_err(|e| err("chmod", e))?,
            None => {}
        }
        if journaled {
            rustix::fs::fremovexattr(fd, PENDING).map_err(|e| err("remove attribute of", e))?;
        }
        changed = true;
    } else if regular && changed {
        rustix::fs::fremovexattr(fd, PENDING).map_err(|e| err("remove attribute of", e))?;
    }
    let acls: &[&CStr] = if regular {
        &[ACL_ACCESS]
    } else {
        &[ACL_ACCESS, ACL_DEFAULT]
    };
    for name in acls {
        let Some(v) = get_xattr(fd, name).map_err(|e| err("read the ACL of", e))? else {
            continue;
        };
        if let Some(new) = shifted_acl(&v) {
            set_xattr(fd, name, &new).map_err(|e| err("set the ACL of", e))?;
            changed = true;
        }
    }
    if changed {
        tally.changed += 1;
    }
    Ok(())
}

/// Puts back a `user.lxu.shift` value: the mode word, then the capability if any.
fn restore_pending(fd: &OwnedFd, value: &[u8]) -> Result<(), Errno> {
    if value.len() < 4 {
        return Ok(());
    }
    let mode = u32::from_le_bytes([value[0], value[1], value[2], value[3]]);
    if value.len() > 4 {
        set_xattr(fd, CAPS, &value[4..])?;
    }
    // After the capability: setting one does not clear set-id bits, a chmod never
    // clears a capability.
    rustix::fs::fchmod(fd, Mode::from_raw_mode(mode & 0o7777))
}

/// Where a container's files are, for [`shift_tree`]: its directory, and its rootfs when
/// that lies elsewhere.
pub(crate) fn trees(dir: &Path, rootfs: Option<PathBuf>) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if let Some(r) = rootfs.filter(|r| !r.starts_with(dir)) {
        out.push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ids_of_the_old_block_move() {
        assert_eq!(shifted(OLD), Some(NEW));
        assert_eq!(shifted(OLD + 65535), Some(NEW + 65535));
        assert_eq!(shifted(0), None);
        assert_eq!(
            shifted(65534),
            None,
            "the overflow id is never a shifted one"
        );
        assert_eq!(shifted(NEW), None, "shifting twice changes nothing");
    }

    #[test]
    fn acl_entries_of_named_users_and_groups_move() {
        let entry = |tag: u16, perm: u16, id: u32| {
            let mut v = tag.to_le_bytes().to_vec();
            v.extend(perm.to_le_bytes());
            v.extend(id.to_le_bytes());
            v
        };
        let acl = |entries: &[Vec<u8>]| {
            let mut v = 2u32.to_le_bytes().to_vec();
            for e in entries {
                v.extend(e);
            }
            v
        };
        let owner = entry(0x01, 6, u32::MAX);
        let before = acl(&[
            owner.clone(),
            entry(0x02, 4, OLD + 33),
            entry(0x08, 5, OLD + 4),
            entry(0x08, 5, 7),
        ]);
        let after = acl(&[
            owner.clone(),
            entry(0x02, 4, NEW + 33),
            entry(0x08, 5, NEW + 4),
            entry(0x08, 5, 7),
        ]);
        assert_eq!(shifted_acl(&before), Some(after.clone()));
        assert_eq!(shifted_acl(&after), None, "idempotent");
        assert_eq!(shifted_acl(&[1, 2, 3]), None);
    }

    #[test]
    fn capabilities_get_the_new_root() {
        let mut v2 = 0x0200_0001u32.to_le_bytes().to_vec();
        v2.extend([0xff; 16]);
        let v3 = shifted_caps(&v2);
        assert_eq!(v3.len(), 24);
        assert_eq!(&v3[0..4], &0x0300_0001u32.to_le_bytes());
        assert_eq!(&v3[4..20], &v2[4..20]);
        assert_eq!(&v3[20..24], &NEW.to_le_bytes());
        let mut old = v3.clone();
        old[20..24].copy_from_slice(&OLD.to_le_bytes());
        assert_eq!(shifted_caps(&old), v3);
        assert_eq!(shifted_caps(&v3), v3, "idempotent");
    }
}
