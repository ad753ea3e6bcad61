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
//! lxu up to this change made the directory the caller's, mode 0750: `lxu fix-layout`
//! brings such a directory (and its snapshots') to this layout.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use lxu_config::{Config, IdKind, IdMap};

use crate::container::Container;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::idmap;
use crate::userns::{self, Outcome};

/// The mode LXC gives a container directory.
pub const DIR_MODE: u32 = 0o770;

/// The owner and group a container directory gets, or `None` when it stays the caller's.
fn wanted_owner(ctx: &Context, dir: &Path, maps: &[IdMap]) -> Result<Option<(u32, u32)>> {
    if maps.is_empty() {
        return Ok(None);
    }
    let root = |kind: IdKind| {
        idmap::host_id(maps, kind, 0).ok_or_else(|| {
            Error::Msg(format!(
                "`{}`: lxc.idmap maps no {} to the container's root (0), so the directory cannot be given to it",
                dir.display(),
                if kind == IdKind::Uid { "uid" } else { "gid" }
            ))
        })
    };
    let uid = root(IdKind::Uid)?;
    let gid = if ctx.is_root() {
        root(IdKind::Gid)?
    } else {
        ctx.egid
    };
    Ok(Some((uid, gid)))
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
/// one is an error, so that of two creates of one name exactly one goes on.
pub fn make_dir(ctx: &Context, c: &Container, maps: &[IdMap]) -> Result<()> {
    std::fs::create_dir_all(&c.lxcpath).map_err(|e| Error::io("create", &c.lxcpath, e))?;
    // 0700 until the owner and group are right; the mode is set explicitly afterwards, as
    // the umask must not decide it.
    match std::fs::DirBuilder::new().mode(0o700).create(&c.dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Exists {
                name: c.name.clone(),
                lxcpath: c.lxcpath.clone(),
            })
        }
        Err(e) => return Err(Error::io("create", &c.dir, e)),
    }
    let result = open_dir(&c.dir).and_then(|f| lay_out(ctx, &c.dir, &f, maps));
    if result.is_err() {
        // Still empty and still the caller's when giving it away failed.
        let _ = std::fs::remove_dir(&c.dir);
    }
    result
}

/// Gives the caller's directory `f` (at `dir`) the caller's group, mode 0770 and, for a
/// container with maps, the container root as owner.
fn lay_out(ctx: &Context, dir: &Path, f: &std::fs::File, maps: &[IdMap]) -> Result<()> {
    let meta = f.metadata().map_err(|e| Error::io("stat", dir, e))?;
    let want = wanted_owner(ctx, dir, maps)?;
    // A setgid lxcpath hands its own group down; the directory is for the caller's group.
    let group = want.map_or(ctx.egid, |(_, g)| g);
    if meta.gid() != group && !ctx.is_root() {
        std::os::unix::fs::fchown(f, None, Some(group))
            .map_err(|e| Error::sys(format!("chgrp `{}` to gid {group}", dir.display()), e))?;
    }
    f.set_permissions(std::fs::Permissions::from_mode(DIR_MODE))
        .map_err(|e| Error::io("chmod", dir, e))?;
    let Some((uid, gid)) = want else {
        return Ok(());
    };
    if ctx.is_root() {
        return std::os::unix::fs::fchown(f, Some(uid), Some(gid))
            .map_err(|e| Error::sys(format!("chown `{}` to {uid}:{gid}", dir.display()), e));
    }
    // Only root of a user namespace that maps both the container's root and the caller may
    // hand the directory over.
    let (ns_maps, _, ns_gid) = idmap::with_caller(maps, ctx.euid, ctx.egid);
    let outcome = userns::run_as_root(&ns_maps, ctx.euid, || {
        std::os::unix::fs::fchown(f, Some(0), Some(ns_gid))
            .map_err(|e| format!("chown `{}` to the container's root: {e}", dir.display()))
    })?;
    match outcome {
        Outcome::Done => Ok(()),
        Outcome::Exited(code) => Err(Error::Msg(format!(
            "give `{}` to the container's root: helper exited with status {code}",
            dir.display()
        ))),
        Outcome::Signaled(s) => Err(Error::Msg(format!(
            "give `{}` to the container's root: helper killed by signal {s}",
            dir.display()
        ))),
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
    for s in crate::snapshot::list(c)? {
        out.push(fix_one(ctx, &Container::at(&s.dir, &s.name)?)?);
    }
    Ok(out)
}

fn fix_one(ctx: &Context, c: &Container) -> Result<Fixed> {
    let maps = Config::load(&c.config_path())?.idmaps;
    let f = open_dir(&c.dir)?;
    let meta = f.metadata().map_err(|e| Error::io("stat", &c.dir, e))?;
    let want = wanted_owner(ctx, &c.dir, &maps)?;
    let (uid, gid) = want.unwrap_or((ctx.euid, ctx.egid));
    let mode = meta.mode() & 0o7777;
    if meta.uid() == uid && (meta.uid() != ctx.euid || mode == DIR_MODE && meta.gid() == gid) {
        return Ok(Fixed::Already { dir: c.dir.clone() });
    }
    if meta.uid() != ctx.euid {
        return Err(Error::Msg(format!(
            "{}: `{}` belongs to uid {}, neither you nor the container's root ({uid}); only its owner can change it",
            c.name,
            c.dir.display(),
            meta.uid()
        )));
    }
    lay_out(ctx, &c.dir, &f, &maps)?;
    Ok(Fixed::Changed {
        dir: c.dir.clone(),
        uid,
        gid,
    })
}
