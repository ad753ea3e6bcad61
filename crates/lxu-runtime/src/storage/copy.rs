//! `lxu copy` (`lxc-copy`): a full copy of a stopped container under a new name.
//!
//! As LXC does for a directory-backed container: the rootfs is copied with owners, modes,
//! links and extended attributes (inside a user namespace that maps the container's ids
//! and the caller, so files of any container id can be read and made), the new config
//! gets the new name as hostname, fresh MAC addresses and paths into the new directory,
//! `/etc/hostname` is rewritten and `lxc.hook.clone` runs. Either the whole copy exists
//! afterwards or nothing of it does.

use std::path::{Path, PathBuf};

use lxu_config::{Config, ConfigFile, HookType};

use crate::container::Container;
use crate::context::Context;
use crate::error::{ContainerError, Error, Result};
use crate::hooks::{HookSet, RootfsMount};
use crate::ids::idmap;
use crate::start::try_lock;
use crate::storage::create::{as_container_root, clear_failed_create, write_config};
use crate::storage::destroy;

#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// `-N`: the new container's name.
    pub new_name: String,
    /// `-p`: the new container's lxcpath (default: the source's).
    pub new_lxcpath: Option<PathBuf>,
    /// `-K`: keep the hostname (`lxc.uts.name` and /etc/hostname).
    pub keep_name: bool,
    /// `-M`: keep the MAC addresses.
    pub keep_macs: bool,
}

/// Shown how a rootfs copy goes (the CLI draws a bar on a terminal). Called in the
/// process that copies, a child in the container's user namespace for an unprivileged
/// container.
pub trait CopyProgress {
    /// The copy of `from` into `to` starts.
    fn begin(&self, from: &Path, to: &Path);
    /// It has ended, done or failed.
    fn end(&self);
}

/// How a copy differs from its source.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CopyKind {
    pub keep_name: bool,
    pub keep_macs: bool,
    /// Run `lxc.hook.clone` (not for snapshots).
    pub clone_hooks: bool,
}

pub fn copy(
    ctx: &Context,
    src: &Container,
    opts: &CopyOptions,
    progress: &dyn CopyProgress,
) -> Result<Container> {
    let lxcpath = match &opts.new_lxcpath {
        Some(p) if p.is_absolute() => p.clone(),
        Some(p) => std::env::current_dir()
            .map_err(|e| Error::sys("read the current directory", e))?
            .join(p),
        None => src.lxcpath.clone(),
    };
    let dst = Container::at(&lxcpath, &opts.new_name)?;
    let kind = CopyKind {
        keep_name: opts.keep_name,
        keep_macs: opts.keep_macs,
        clone_hooks: true,
    };
    copy_into(ctx, src, &dst, &kind, progress, &|_| Ok(()))?;
    Ok(dst)
}

/// Copies the stopped container `src` to the new container `dst`. `finish` adds to the
/// copy before its `partial` marker goes (a snapshot's timestamp), so that either all of
/// it is there or it is not listed.
pub(crate) fn copy_into(
    ctx: &Context,
    src: &Container,
    dst: &Container,
    kind: &CopyKind,
    progress: &dyn CopyProgress,
    finish: &dyn Fn(&Container) -> Result<()>,
) -> Result<()> {
    src.ensure_exists()?;
    // Held for the whole copy: the source cannot start (and change) meanwhile.
    let Some(_src_lock) = try_lock(src)? else {
        let what = "copy a running container";
        return Err(Error::container(&src.name, ContainerError::Active { what }));
    };
    if dst.exists() {
        return Err(Error::Exists {
            name: dst.name.clone(),
            lxcpath: dst.lxcpath.clone(),
        });
    }
    clear_failed_create(ctx, dst)?;
    let file = ConfigFile::read(&src.config_path())?;
    let cfg = Config::from_file(&file)?;
    let src_rootfs = src.rootfs_dir(&cfg).ok_or_else(|| {
        let config = src.config_path();
        Error::container(&src.name, ContainerError::NotCopyable { config })
    })?;
    let maps = cfg.idmaps.clone();
    if !ctx.is_root() {
        if maps.is_empty() {
            return Err(Error::container(&src.name, ContainerError::RootOnly));
        }
        idmap::check_allowed(&maps, &ctx.user, ctx.euid)?;
    }
    let lock = crate::storage::layout::make_dir(ctx, dst, &maps)?;
    lxu_sys::crash::point("copy.dir-made");
    let result = (|| -> Result<()> {
        let new_rootfs = dst.dir.join("rootfs");
        let mut rng = crate::random::Rng::new();
        let text = new_config(&file.render(), src, dst, kind, &mut || rng.byte())?;
        write_config(dst, &text)?;
        lxu_sys::crash::point("copy.config-written");
        let new_cfg = Config::load(&dst.config_path())?;
        let hooks = HookSet::new(
            &dst.name,
            &new_cfg,
            &dst.config_path(),
            &new_rootfs,
            &RootfsMount::InPlace,
        );
        let (ns_maps, _, _) = idmap::with_caller(&maps, ctx.euid, ctx.egid);
        let (old, new) = (src.name.clone(), dst.name.clone());
        // The hostname the rootfs knows (a snapshot keeps its container's).
        let old_host = cfg.uts_name.clone().unwrap_or_else(|| old.clone());
        as_container_root(ctx, &maps, &ns_maps, || {
            copy_tree(&src_rootfs, &new_rootfs, progress)?;
            // In the user-namespace child: kills only it, the parent must clean up.
            lxu_sys::crash::point("copy.rootfs-copied");
            if !kind.keep_name {
                rename_host(&new_rootfs, &old_host, &new)?;
            }
            if !kind.clone_hooks {
                return Ok(());
            }
            let env = [("LXC_SRC_NAME".to_string(), old.clone())];
            hooks
                .run(HookType::Clone, &env, false, &[])
                .map_err(|message| Error::Child { message })
        })?;
        finish(dst)?;
        lxu_sys::crash::point("copy.before-done");
        std::fs::remove_file(dst.partial_path())
            .map_err(|e| Error::io("remove", dst.partial_path(), e))?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = destroy::remove_dir(ctx, dst, &maps);
        drop(lock);
        return Err(Error::Copy {
            from: src.name.clone(),
            to: dst.name.clone(),
            source: Box::new(e),
        });
    }
    Ok(())
}

/// The source's config for the copy: paths into the source's directory point into the
/// new one, `lxc.uts.name` is the new name, and every MAC address is new (LXC's
/// `00:16:3e` prefix), unless kept.
fn new_config(
    text: &str,
    src: &Container,
    dst: &Container,
    kind: &CopyKind,
    rng: &mut dyn FnMut() -> u8,
) -> Result<String> {
    let (old_dir, new_dir) = (src.dir.display().to_string(), dst.dir.display().to_string());
    let out = map_values(text, |key, value| {
        if key == "lxc.uts.name" && !kind.keep_name {
            dst.name.clone()
        } else if key.ends_with(".hwaddr") && !kind.keep_macs {
            "00:16:3e:xx:xx:xx".to_string()
        } else {
            replace_dir(value, &old_dir, &new_dir)
        }
    });
    let mut f = ConfigFile::parse_str(&out, &dst.config_path())?;
    f.randomize_hwaddrs(rng);
    Ok(f.render())
}

/// Config text with paths into `old` pointing into `new` (values only; comments kept).
pub(crate) fn moved_paths(text: &str, old: &Path, new: &Path) -> String {
    let (old, new) = (old.display().to_string(), new.display().to_string());
    map_values(text, |_, value| replace_dir(value, &old, &new))
}

/// Config text with each `key = value` line's value replaced by `f(current key name,
/// value)`; comments and other lines as they were.
fn map_values(text: &str, mut f: impl FnMut(&str, &str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let t = line.trim_start();
        match t.split_once('=').filter(|_| !t.starts_with('#')) {
            Some((k, v)) => {
                let k = k.trim();
                let key = lxu_config::canonical_key(k).unwrap_or_else(|| k.to_string());
                out.push_str(&format!("{k} = {}", f(&key, v.trim())));
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// `value` with the source's directory replaced where it is a whole path component
/// prefix (`/x/c1/rootfs` → `/y/c2/rootfs`, but not `/x/c10`).
fn replace_dir(value: &str, old: &str, new: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find(old) {
        let after = &rest[i + old.len()..];
        let whole = after.is_empty() || after.starts_with('/') || after.starts_with(':');
        out.push_str(&rest[..i]);
        out.push_str(if whole { new } else { old });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Copies a rootfs with everything `cp -a` keeps (owners, modes, times, hard and soft
/// links, extended attributes such as file capabilities).
fn copy_tree(from: &Path, to: &Path, progress: &dyn CopyProgress) -> Result<()> {
    progress.begin(from, to);
    let out = std::process::Command::new("cp")
        .arg("-a")
        .arg("--")
        .arg(from)
        .arg(to)
        .stdin(std::process::Stdio::null())
        .output();
    progress.end();
    let out = out.map_err(|e| Error::sys("run cp", e))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().take(3).collect();
    Err(Error::CopyTree {
        from: from.to_path_buf(),
        to: to.to_path_buf(),
        said: lines.join(" / "),
    })
}

/// `/etc/hostname` of the copy names it, if it named the source (as LXC's clonehostname).
fn rename_host(rootfs: &Path, old: &str, new: &str) -> Result<()> {
    let p = rootfs.join("etc/hostname");
    // Not through a symlink: the rootfs is the container's, its links may point anywhere.
    let real = |p: &Path, dir: bool| {
        std::fs::symlink_metadata(p).is_ok_and(|m| if dir { m.is_dir() } else { m.is_file() })
    };
    if !real(&rootfs.join("etc"), true) || !real(&p, false) {
        return Ok(());
    }
    let text = std::fs::read_to_string(&p).map_err(|e| Error::io("read", &p, e))?;
    if text.trim() != old {
        return Ok(());
    }
    std::fs::write(&p, format!("{new}\n")).map_err(|e| Error::io("write", &p, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_paths_touch_values_only() {
        let t = "# /l/c1/snaps/snap0 made this\nlxc.rootfs.path = dir:/l/c1/snaps/snap0/rootfs\nlxc.uts.name = c1\n";
        assert_eq!(
            moved_paths(t, Path::new("/l/c1/snaps/snap0"), Path::new("/l/c1")),
            "# /l/c1/snaps/snap0 made this\nlxc.rootfs.path = dir:/l/c1/rootfs\nlxc.uts.name = c1\n"
        );
    }

    #[test]
    fn paths_into_the_source_directory_move() {
        assert_eq!(
            replace_dir("dir:/l/c1/rootfs", "/l/c1", "/m/c2"),
            "dir:/l/c1/rootfs".replace("/l/c1", "/m/c2")
        );
        assert_eq!(
            replace_dir("/l/c10/rootfs", "/l/c1", "/m/c2"),
            "/l/c10/rootfs"
        );
        assert_eq!(replace_dir("/l/c1", "/l/c1", "/m/c2"), "/m/c2");
        assert_eq!(replace_dir("/other", "/l/c1", "/m/c2"), "/other");
    }

    #[test]
    fn the_copys_config_has_its_name_new_macs_and_its_paths() {
        let src = Container::at(Path::new("/l"), "c1").unwrap();
        let dst = Container::at(Path::new("/m"), "c2").unwrap();
        let text = "# made by a template\nlxc.rootfs.path = dir:/l/c1/rootfs\nlxc.utsname = c1\n\
                    lxc.net.0.type = veth\nlxc.net.0.hwaddr = 00:16:3e:12:34:56\n\
                    lxc.mount.entry = /l/c10 opt none bind 0 0\n";
        let mut rng = || 0x0e;
        let out = new_config(text, &src, &dst, &CopyKind::default(), &mut rng).unwrap();
        assert!(out.starts_with("# made by a template\n"), "{out}");
        assert!(
            out.contains("lxc.rootfs.path = dir:/m/c2/rootfs\n"),
            "{out}"
        );
        assert!(out.contains("lxc.utsname = c2\n"), "{out}");
        assert!(
            out.contains("lxc.mount.entry = /l/c10 opt none bind 0 0\n"),
            "{out}"
        );
        let mac = out
            .lines()
            .find_map(|l| l.strip_prefix("lxc.net.0.hwaddr = "))
            .unwrap();
        assert!(
            mac.starts_with("00:16:3e:") && mac != "00:16:3e:12:34:56",
            "{mac}"
        );
        assert!(!mac.contains('x'));

        let keep = CopyKind {
            keep_name: true,
            keep_macs: true,
            ..CopyKind::default()
        };
        let out = new_config(text, &src, &dst, &keep, &mut rng).unwrap();
        assert!(
            out.contains("lxc.utsname = c1\n") && out.contains("00:16:3e:12:34:56"),
            "{out}"
        );
    }
}
