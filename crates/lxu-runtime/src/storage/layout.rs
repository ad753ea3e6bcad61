//! The container directory `<lxcpath>/<name>` as LXC lays it out, so that LXC's tools can
//! use a container lxu made and the other way round.
//!
//! For a container with id maps LXC gives the directory to the container's root (the host
//! uid that uid 0 of the container maps to) and the caller's group, mode 0770: LXC opens
//! the rootfs below it both as the caller (group) and as root of the container's user
//! namespace (owner), which cannot search a directory of the caller's mode 0750. A
//! privileged caller (root) gives it the container root's uid and gid. A container without
//! maps keeps the caller as owner, mode 0770.
//!
//! One exception: when the caller's primary group is shared with other accounts, group
//! access would let them swap the config (and run hooks as the caller), so the caller keeps
//! the directory and the container root's gid becomes its group, mode 0770; LXC runs that
//! too, since it opens the rootfs as the caller and as root of the container.
//!
//! Older lxu versions made the directory the caller's, mode 0750: `lxu fix-layout` brings
//! such a directory (and its snapshots') to this layout.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use lxu_config::{Config, IdKind, IdMap};

use crate::container::Container;
use crate::context::Context;
use crate::error::{Chain, ContainerError, Error, Result};
use crate::ids::idmap;
use crate::ids::userns::{self, Outcome};

/// The mode LXC gives a container directory.
pub(crate) const DIR_MODE: u32 = 0o770;

/// Whether group `gid` reaches beyond `user`: another account has it as its primary group or
/// /etc/group lists another member. Such a group must not get write access to the
/// directory: its members could swap the config and have their hooks run as the owner.
fn group_is_shared(passwd: &str, group: &str, gid: u32, user: &str) -> bool {
    let field = |line: &str, i: usize| line.split(':').nth(i).map(str::to_string);
    let other_primary = passwd.lines().any(|l| {
        field(l, 0).is_some_and(|n| n != user)
            && field(l, 3).and_then(|g| g.parse::<u32>().ok()) == Some(gid)
    });
    let other_member = group.lines().any(|l| {
        field(l, 2).and_then(|g| g.parse::<u32>().ok()) == Some(gid)
            && field(l, 3).is_some_and(|m| m.split(',').any(|m| !m.is_empty() && m != user))
    });
    other_primary || other_member
}

/// The owner and group a container directory gets, or `None` when it stays the caller's
/// (no id maps).
fn wanted_owner(ctx: &Context, dir: &Path, maps: &[IdMap]) -> Result<Option<(u32, u32)>> {
    if maps.is_empty() {
        return Ok(None);
    }
    let root = |kind: IdKind| {
        idmap::host_id(maps, kind, 0).ok_or_else(|| Error::NoRootId {
            dir: dir.to_path_buf(),
            kind: if kind == IdKind::Uid { "uid" } else { "gid" },
        })
    };
    if ctx.is_root() {
        return Ok(Some((root(IdKind::Uid)?, root(IdKind::Gid)?)));
    }
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    if group_is_shared(
        &read("/etc/passwd"),
        &read("/etc/group"),
        ctx.egid,
        &ctx.user.name,
    ) {
        // Not LXC's layout, but one LXC runs as well: the caller owns the directory and
        // the container's root gets in through its group, which no other user has.
        return Ok(Some((ctx.euid, root(IdKind::Gid)?)));
    }
    Ok(Some((root(IdKind::Uid)?, ctx.egid)))
}

/// Opens a container directory without following a symlink in its place: the ownership
/// changes below act on what was opened, not on whatever the path names later.
fn open_dir(dir: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(dir)
        .map_err(|e| Error::io("open", dir, e))
}

/// Makes the container's directory (and its lxcpath) laid out as LXC does; an existing
/// one is an error, so that of two creates of one name exactly one goes on. The directory
/// is born holding the container's lock (returned, held until the caller is done) and the
/// `partial` marker, made before anything else: whenever the process dies from here on,
/// the directory says it is half-made, is not listed, and the next create of the name
/// removes it.
pub(crate) fn make_dir(ctx: &Context, c: &Container, maps: &[IdMap]) -> Result<std::fs::File> {
    std::fs::create_dir_all(&c.lxcpath).map_err(|e| Error::io("create", &c.lxcpath, e))?;
    // 0700 until the owner and group are right; the mode is set explicitly afterwards, as
    // the umask must not decide it.
    let mkdir = || std::fs::DirBuilder::new().mode(0o700).create(&c.dir);
    let mut made = mkdir();
    if made
        .as_ref()
        .is_err_and(|e| e.kind() == std::io::ErrorKind::AlreadyExists)
        && clear_unmarked_leftover(c)
    {
        made = mkdir();
    }
    match made {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Exists {
                name: c.name.clone(),
                lxcpath: c.lxcpath.clone(),
            })
        }
        Err(e) => return Err(Error::io("create", &c.dir, e)),
    }
    let result = (|| {
        let lock = crate::start::try_lock(c)?.ok_or_else(|| Error::Busy {
            name: c.name.clone(),
        })?;
        std::fs::write(c.partial_path(), b"")
            .map_err(|e| Error::io("create", c.partial_path(), e))?;
        let f = open_dir(&c.dir)?;
        let want = wanted_owner(ctx, &c.dir, maps)?;
        lay_out(ctx, &c.dir, &f, maps, want)?;
        Ok(lock)
    })();
    if result.is_err() {
        // Still the caller's when giving it away failed: only our two files are in it.
        let _ = std::fs::remove_file(c.partial_path());
        let _ = std::fs::remove_file(c.lock_path());
        let _ = std::fs::remove_dir(&c.dir);
    }
    result
}

/// Removes what a create killed between making the directory and marking it `partial`
/// leaves: the directory, empty or holding only an unheld lock file. Whether it did.
fn clear_unmarked_leftover(c: &Container) -> bool {
    let Ok(entries) = std::fs::read_dir(&c.dir) else {
        return false;
    };
    let lock = c.lock_path();
    for e in entries {
        match e {
            Ok(e) if e.path() == lock => {}
            _ => return false,
        }
    }
    if lock.exists() {
        let Ok(Some(_held)) = crate::start::try_lock(c) else {
            return false;
        };
        let _ = std::fs::remove_file(&lock);
    }
    std::fs::remove_dir(&c.dir).is_ok()
}

/// Gives the directory `f` (at `dir`) the owner and group `want` and mode 0770. The
/// directory belongs to the caller or to the container's root: an unprivileged caller
/// changes it as root of a user namespace that maps both (and the caller's group).
fn lay_out(
    ctx: &Context,
    dir: &Path,
    f: &std::fs::File,
    maps: &[IdMap],
    want: Option<(u32, u32)>,
) -> Result<()> {
    let mode = std::fs::Permissions::from_mode(DIR_MODE);
    let Some((uid, gid)) = want else {
        return f
            .set_permissions(mode)
            .map_err(|e| Error::io("chmod", dir, e));
    };
    if ctx.is_root() {
        std::os::unix::fs::fchown(f, Some(uid), Some(gid))
            .map_err(|e| Error::sys(format!("chown `{}` to {uid}:{gid}", dir.display()), e))?;
        return f
            .set_permissions(mode)
            .map_err(|e| Error::io("chmod", dir, e));
    }
    let (ns_maps, _, _) = idmap::with_caller(maps, ctx.euid, ctx.egid);
    let ns = |kind: IdKind, host: u32| {
        ns_maps
            .iter()
            .find(|m| m.kind == kind && host >= m.hostid && host - m.hostid < m.count)
            .map(|m| m.nsid + (host - m.hostid))
    };
    let (Some(ns_uid), Some(ns_gid)) = (ns(IdKind::Uid, uid), ns(IdKind::Gid, gid)) else {
        return Err(Error::NotMappable {
            dir: dir.to_path_buf(),
            uid,
            gid,
        });
    };
    // chown first: it clears set-id bits, which the mode then leaves off anyway.
    let outcome = userns::run_as_root(&ns_maps, ctx.euid, || {
        let chown = std::os::unix::fs::fchown(f, Some(ns_uid), Some(ns_gid))
            .map_err(|e| Error::sys(format!("chown `{}` to {uid}:{gid}", dir.display()), e));
        chown
            .and_then(|()| {
                f.set_permissions(mode)
                    .map_err(|e| Error::io("chmod", dir, e))
            })
            .map_err(|e| Chain(&e).to_string())
    })?;
    match outcome {
        Outcome::Done => Ok(()),
        Outcome::Ended(ended) => Err(Error::NotGiven {
            dir: dir.to_path_buf(),
            uid,
            gid,
            ended,
        }),
    }
}

/// What `fix-layout` did to one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fixed {
    /// Given to `uid`:`gid`, mode 0770.
    Changed { dir: PathBuf, uid: u32, gid: u32 },
    /// Already owned as LXC would own it.
    Already { dir: PathBuf },
}

/// Brings the directory of `c` and of each of its snapshots to LXC's layout (see the
/// module): for directories made by older lxu versions, which LXC cannot start.
pub fn fix(ctx: &Context, c: &Container) -> Result<Vec<Fixed>> {
    c.ensure_exists()?;
    let mut out = vec![fix_one(ctx, c)?];
    for s in crate::storage::snapshot::list(c)? {
        out.push(fix_one(ctx, &Container::at(&s.dir, &s.name)?)?);
    }
    Ok(out)
}

fn fix_one(ctx: &Context, c: &Container) -> Result<Fixed> {
    let maps = Config::load(&c.config_path())?.idmaps;
    let f = open_dir(&c.dir)?;
    let meta = f.metadata().map_err(|e| Error::io("stat", &c.dir, e))?;
    let want = wanted_owner(ctx, &c.dir, &maps)?;
    let (uid, gid) = want.unwrap_or((ctx.euid, meta.gid()));
    if (meta.uid(), meta.gid(), meta.mode() & 0o7777) == (uid, gid, DIR_MODE) {
        return Ok(Fixed::Already { dir: c.dir.clone() });
    }
    // Only a directory of the caller's or of this container's root is ours to change.
    let root_uid = idmap::host_id(&maps, IdKind::Uid, 0);
    if meta.uid() != ctx.euid && Some(meta.uid()) != root_uid {
        let problem = ContainerError::NotOwner {
            dir: c.dir.clone(),
            uid: meta.uid(),
        };
        return Err(Error::container(&c.name, problem));
    }
    lay_out(ctx, &c.dir, &f, &maps, want)?;
    Ok(Fixed::Changed {
        dir: c.dir.clone(),
        uid,
        gid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\n\
                          bob:x:1002:100::/home/bob:/bin/sh\ncarol:x:1003:100::/home/carol:/bin/sh\n\
                          dave:x:1004:1004::/home/dave:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nusers:x:100:\nalice:x:1001:\ndave:x:1004:dave,eve\n";

    #[test]
    fn a_private_group_is_not_shared() {
        assert!(!group_is_shared(PASSWD, GROUP, 1001, "alice"));
    }

    #[test]
    fn a_primary_group_of_another_account_is_shared() {
        assert!(group_is_shared(PASSWD, GROUP, 100, "bob"));
    }

    #[test]
    fn a_group_listing_another_member_is_shared() {
        assert!(group_is_shared(PASSWD, GROUP, 1004, "dave"));
        assert!(!group_is_shared(PASSWD, "dave:x:1004:dave\n", 1004, "dave"));
    }
}
