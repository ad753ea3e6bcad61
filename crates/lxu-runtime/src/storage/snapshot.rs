//! `lxu snapshot` (`lxc-snapshot`): LXC's snapshots of a directory-backed container,
//! which are full copies (LXC too makes a "copy-clone" of a directory rootfs).
//!
//! Layout as LXC 1.1+: `<lxcpath>/<name>/snaps/snapN/` is an ordinary container directory
//! (`config` with the name and MAC addresses kept, the rootfs), plus `ts` (local time
//! `YYYY:MM:DD HH:MM:SS`, no newline) and an optional `comment`.

use std::path::{Path, PathBuf};

use lxu_config::Config;

use crate::container::Container;
use crate::context::Context;
use crate::error::{ContainerError, Error, Result};
use crate::ids::idmap;
use crate::start::try_lock;
use crate::storage::copy::{copy_into, CopyKind, CopyProgress};
use crate::storage::create::{as_container_root, write_config};
use crate::storage::destroy;

/// One snapshot as `lxc-snapshot -L` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub name: String,
    /// The `snaps` directory it is in.
    pub dir: PathBuf,
    pub ts: String,
    pub comment: Option<String>,
}

fn snaps_dir(c: &Container) -> PathBuf {
    c.dir.join("snaps")
}

fn snap(c: &Container, name: &str) -> Result<Container> {
    let s = Container::at(&snaps_dir(c), name)?;
    if !s.exists() {
        let problem = ContainerError::NoSnapshot {
            snapshot: name.to_string(),
            dir: snaps_dir(c),
        };
        return Err(Error::container(&c.name, problem));
    }
    Ok(s)
}

/// Takes a snapshot `snapN` (the lowest free N) of the stopped container `c`; `comment`
/// is a file whose text is kept with it. Returns the snapshot's name.
pub fn create(
    ctx: &Context,
    c: &Container,
    comment: Option<&Path>,
    progress: &dyn CopyProgress,
) -> Result<String> {
    c.ensure_exists()?;
    if crate::state::status(c)?.state.is_active() {
        let what = "snapshot a running container";
        return Err(Error::container(&c.name, ContainerError::Active { what }));
    }
    let comment = comment
        .map(|p| std::fs::read_to_string(p).map_err(|e| Error::io("read comment file", p, e)))
        .transpose()?;
    clear_failed(ctx, c)?;
    let dir = snaps_dir(c);
    let taken: Vec<String> = list(c)?.into_iter().map(|s| s.name).collect();
    let name = (0..)
        .map(|n| format!("snap{n}"))
        .find(|n| !taken.contains(n) && !dir.join(n).exists())
        .expect("an unbounded range has a free name");
    let s = Container::at(&dir, &name)?;
    let kind = CopyKind {
        keep_name: true,
        keep_macs: true,
        clone_hooks: false,
    };
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let ts = match lxu_sys::time::local(secs) {
        Some((y, mo, d, h, mi, se)) => format!("{y:04}:{mo:02}:{d:02} {h:02}:{mi:02}:{se:02}"),
        None => String::new(),
    };
    // Written while the snapshot is still marked `partial`: a snapshot is listed with
    // its timestamp and comment or not at all.
    let extras = |s: &Container| -> Result<()> {
        std::fs::write(s.dir.join("ts"), &ts)
            .map_err(|e| Error::io("write", s.dir.join("ts"), e))?;
        if let Some(text) = &comment {
            std::fs::write(s.dir.join("comment"), text)
                .map_err(|e| Error::io("write", s.dir.join("comment"), e))?;
        }
        lxu_sys::crash::point("snapshot.extras-written");
        Ok(())
    };
    copy_into(ctx, c, &s, &kind, progress, &extras)?;
    Ok(name)
}

/// Removes the snapshots of `c` that a snapshot or a snapshot destroy killed half-way left
/// (marked `partial`, unlisted): their names become free and `c` can be destroyed.
pub(crate) fn clear_failed(ctx: &Context, c: &Container) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(snaps_dir(c)) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Ok(s) = Container::at(&snaps_dir(c), &name) {
            crate::storage::create::clear_failed_create(ctx, &s)?;
        }
    }
    Ok(())
}

/// The snapshots of `c`, in index order.
pub fn list(c: &Container) -> Result<Vec<Snapshot>> {
    let dir = snaps_dir(c);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", &dir, e)),
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        // A snapshot still being made has its `partial` marker.
        if !path.join("config").is_file() || path.join("partial").exists() {
            continue;
        }
        out.push(Snapshot {
            ts: std::fs::read_to_string(path.join("ts")).unwrap_or_default(),
            comment: std::fs::read_to_string(path.join("comment")).ok(),
            name,
            dir: dir.clone(),
        });
    }
    out.sort_by_key(|s| {
        let n: u64 = s
            .name
            .strip_prefix("snap")
            .and_then(|n| n.parse().ok())
            .unwrap_or(u64::MAX);
        (n, s.name.clone())
    });
    Ok(out)
}

/// Removes snapshot `name` of `c`, or every snapshot for `ALL`.
pub fn destroy(ctx: &Context, c: &Container, name: &str) -> Result<()> {
    c.ensure_exists()?;
    clear_failed(ctx, c)?;
    if name == "ALL" {
        for s in list(c)? {
            destroy_one(ctx, c, &s.name)?;
        }
        return Ok(());
    }
    destroy_one(ctx, c, name)
}

fn destroy_one(ctx: &Context, c: &Container, name: &str) -> Result<()> {
    let s = snap(c, name)?;
    let maps = Config::load(&s.config_path())
        .map(|cfg| cfg.idmaps)
        .unwrap_or_default();
    destroy::remove_dir(ctx, &s, &maps)
}

/// Restores snapshot `name` of `c`: into `c` itself when `new_name` is `None` or `c`'s
/// name (the rootfs and config are replaced, the snapshots stay), else as a new
/// container in `c`'s lxcpath, made like `lxc-copy` makes one.
pub fn restore(
    ctx: &Context,
    c: &Container,
    name: &str,
    new_name: Option<&str>,
    progress: &dyn CopyProgress,
) -> Result<()> {
    c.ensure_exists()?;
    let s = snap(c, name)?;
    if let Some(n) = new_name.filter(|n| *n != c.name) {
        let dst = Container::at(&c.lxcpath, n)?;
        let kind = CopyKind {
            keep_name: false,
            keep_macs: false,
            clone_hooks: true,
        };
        return copy_into(ctx, &s, &dst, &kind, progress, &|_| Ok(()));
    }
    let Some(_lock) = try_lock(c)? else {
        let what = "restore a snapshot into a running container";
        return Err(Error::container(&c.name, ContainerError::Active { what }));
    };
    // The snapshot is copied beside the rootfs first; only then do the two trade places,
    // so a failed copy leaves the container as it was.
    let tmp = Container::at(&c.dir, "restore")?;
    if tmp.dir.exists() {
        let maps = Config::load(&tmp.config_path())
            .map(|cfg| cfg.idmaps)
            .unwrap_or_default();
        destroy::remove_dir(ctx, &tmp, &maps)?;
    }
    let kind = CopyKind {
        keep_name: true,
        keep_macs: true,
        clone_hooks: false,
    };
    copy_into(ctx, &s, &tmp, &kind, progress, &|_| Ok(()))?;
    lxu_sys::crash::point("snapshot.restore-copied");
    let cfg = Config::load(&tmp.config_path())?;
    let maps = cfg.idmaps.clone();
    let result = (|| -> Result<()> {
        let text = std::fs::read_to_string(tmp.config_path())
            .map_err(|e| Error::io("read", tmp.config_path(), e))?;
        let text = crate::storage::copy::moved_paths(&text, &tmp.dir, &c.dir);
        // After the exchange `new` holds the old rootfs, removed with the rest of `tmp`.
        let (rootfs, new) = (c.dir.join("rootfs"), tmp.dir.join("rootfs"));
        let (ns_maps, _, _) = idmap::with_caller(&maps, ctx.euid, ctx.egid);
        as_container_root(ctx, &maps, &ns_maps, || {
            // One atomic exchange: whenever this dies, the container has a whole rootfs
            // (a rename away and another into place would leave it none in between).
            let flags = if rootfs.symlink_metadata().is_ok() {
                rustix::fs::RenameFlags::EXCHANGE
            } else {
                rustix::fs::RenameFlags::NOREPLACE
            };
            rustix::fs::renameat_with(rustix::fs::CWD, &new, rustix::fs::CWD, &rootfs, flags)
                .map_err(|e| {
                    let what = format!("swap `{}` and `{}`", new.display(), rootfs.display());
                    Error::sys(what, std::io::Error::from(e))
                })?;
            lxu_sys::crash::point("snapshot.restore-swapped");
            Ok(())
        })?;
        // Killed before this, the container runs the snapshot's rootfs with its own
        // config; `snapshot -r` again makes both the snapshot's.
        write_config(c, &text)?;
        lxu_sys::crash::point("snapshot.restore-config-written");
        Ok(())
    })();
    let _ = destroy::remove_dir(ctx, &tmp, &maps);
    result.map_err(|e| Error::Restore {
        name: c.name.clone(),
        snapshot: name.to_string(),
        source: Box::new(e),
    })
}
