//! `lxu destroy`: remove a container's directory, including files owned by the
//! container's ids, which the caller cannot unlink from outside the user namespace.

use std::path::{Path, PathBuf};

use lxu_config::{Config, ConfigFile, IdMap};

use crate::container::Container;
use crate::context::Context;
use crate::control::stop::{self, StopOptions};
use crate::error::{Chain, Error, Result};
use crate::ids::idmap;
use crate::ids::userns::{self, Outcome};
use crate::start::try_lock;
use crate::state::{self, State};

pub fn destroy(ctx: &Context, c: &Container, force: bool) -> Result<()> {
    if !c.exists() && !c.partial_path().exists() {
        c.ensure_exists()?;
    }
    let st = state::status(c)?;
    if st.state != State::Stopped {
        if !force {
            return Err(Error::Running {
                name: c.name.clone(),
            });
        }
        stop::stop(
            c,
            &StopOptions {
                kill: true,
                ..StopOptions::default()
            },
        )?;
    }
    let Some(_lock) = try_lock(c)? else {
        return Err(Error::Running {
            name: c.name.clone(),
        });
    };
    crate::storage::snapshot::clear_failed(ctx, c)?;
    let snaps = c.dir.join("snaps");
    if std::fs::read_dir(&snaps)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
    {
        let name = c.name.clone();
        return Err(Error::Destroy {
            name: name.clone(),
            source: Box::new(Error::HasSnapshots { name }),
        });
    }
    // A directory already marked `partial` is a create or destroy that died half-way:
    // its hooks ran (or it never was a container), only the removal is left to finish.
    if !c.partial_path().exists() {
        destroy_hooks(c)?;
    }
    remove_dir(ctx, c, &maps_of(c))
}

/// `lxc.hook.destroy`, on the host as the caller, while the container's files still exist;
/// a failing hook stops the destroy (as in LXC), a config that no longer parses runs none.
fn destroy_hooks(c: &Container) -> Result<()> {
    use crate::hooks::{HookSet, RootfsMount};
    let Ok(cfg) = Config::load(&c.config_path()) else {
        return Ok(());
    };
    if !cfg
        .hooks
        .iter()
        .any(|(t, _)| *t == lxu_config::HookType::Destroy)
    {
        return Ok(());
    }
    let rootfs = c.rootfs_dir(&cfg).unwrap_or_else(|| c.dir.join("rootfs"));
    HookSet::new(
        &c.name,
        &cfg,
        &c.config_path(),
        &rootfs,
        &RootfsMount::InPlace,
    )
    .run(lxu_config::HookType::Destroy, &[], false, &[])
    .map_err(|message| Error::Destroy {
        name: c.name.clone(),
        source: Box::new(Error::Child { message }),
    })
}

/// The id maps a container's files are owned by, even from a config that no longer
/// parses (a destroy must still work then).
fn maps_of(c: &Container) -> Vec<IdMap> {
    if let Ok(cfg) = Config::load(&c.config_path()) {
        return cfg.idmaps;
    }
    let Ok(text) = std::fs::read_to_string(c.config_path()) else {
        return Vec::new();
    };
    let lines: String = text
        .lines()
        .filter(|l| {
            let k = l.trim_start();
            k.starts_with("lxc.idmap") || k.starts_with("lxc.id_map")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    ConfigFile::parse_str(&lines, &c.config_path())
        .ok()
        .and_then(|f| Config::from_file(&f).ok())
        .map(|c| c.idmaps)
        .unwrap_or_default()
}

/// Removes the container directory. With id maps the removal runs as root of a user
/// namespace that maps both the container's ids and the caller, so every file can go.
///
/// The directory is marked `partial` first and the marker goes last, so a destroy killed
/// half-way leaves a directory that is not listed as a container and that the next create
/// or destroy of the name finishes removing.
pub(crate) fn remove_dir(ctx: &Context, c: &Container, maps: &[IdMap]) -> Result<()> {
    // Best effort: on a full or read-only filesystem the removal itself says what failed
    // (an empty file needs no data block, so a full disk rarely refuses it).
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(c.partial_path());
    lxu_sys::crash::point("destroy.marked");
    if maps.is_empty() {
        return remove_marked(&c.dir).map_err(|e| Error::io("remove", e.0, e.1));
    }
    let (ns_maps, _, _) = idmap::with_caller(maps, ctx.euid, ctx.egid);
    let dir = c.dir.clone();
    let outcome = userns::run_as_root(&ns_maps, ctx.euid, || {
        remove_marked(&dir).map_err(|(path, e)| Chain(&Error::io("remove", path, e)).to_string())
    })?;
    match outcome {
        Outcome::Done => Ok(()),
        Outcome::Ended(_) => Err(Error::NotRemoved { dir: c.dir.clone() }),
    }
}

/// Removes a directory marked `partial`: the rootfs first (one top-level entry at a time,
/// so a crash point can stop it half-way), then the other files, the config, the marker
/// and the directory. What is already gone is skipped, so a second run finishes a first one.
fn remove_marked(dir: &Path) -> std::result::Result<(), (PathBuf, std::io::Error)> {
    let gone = |r: std::io::Result<()>, p: &Path| match r {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err((p.to_path_buf(), e)),
        _ => Ok(()),
    };
    let remove_any = |p: &Path| {
        let r = match p.symlink_metadata() {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
            Ok(_) => std::fs::remove_file(p),
            Err(e) => Err(e),
        };
        gone(r, p)
    };
    let rootfs = dir.join("rootfs");
    if rootfs.symlink_metadata().is_ok_and(|m| m.is_dir()) {
        let entries = std::fs::read_dir(&rootfs).map_err(|e| (rootfs.clone(), e))?;
        for e in entries {
            let e = e.map_err(|e| (rootfs.clone(), e))?;
            remove_any(&e.path())?;
            lxu_sys::crash::point("destroy.rootfs-entry");
        }
        gone(std::fs::remove_dir(&rootfs), &rootfs)?;
    }
    lxu_sys::crash::point("destroy.rootfs-removed");
    // The config goes after everything else but the marker: it names the id maps the
    // next run needs to remove files of the container's ids (a `restore` scratch copy).
    let (partial, config) = (dir.join("partial"), dir.join("config"));
    let entries = std::fs::read_dir(dir).map_err(|e| (dir.to_path_buf(), e))?;
    for e in entries {
        let e = e.map_err(|e| (dir.to_path_buf(), e))?;
        if e.path() != partial && e.path() != config {
            remove_any(&e.path())?;
        }
    }
    gone(std::fs::remove_file(&config), &config)?;
    lxu_sys::crash::point("destroy.config-removed");
    gone(std::fs::remove_file(&partial), &partial)?;
    gone(std::fs::remove_dir(dir), dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A second run finishes what a first, killed one left: whatever is already gone is
    /// skipped, and the marker goes last.
    #[test]
    fn removal_finishes_what_a_killed_one_left() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("c1");
        std::fs::create_dir_all(dir.join("rootfs/etc")).unwrap();
        std::fs::create_dir_all(dir.join("restore/rootfs/bin")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.join("rootfs/link")).unwrap();
        for f in ["config", "partial", "lxu.lock", "rootfs/etc/hostname"] {
            std::fs::write(dir.join(f), b"x").unwrap();
        }
        remove_marked(&dir).unwrap();
        assert!(!dir.exists());
        assert!(Path::new("/etc/passwd").exists(), "followed a link out");

        // Killed after the rootfs and config went: only the marker is left.
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("partial"), b"").unwrap();
        remove_marked(&dir).unwrap();
        assert!(!dir.exists());
    }
}
