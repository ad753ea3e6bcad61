//! Each tar member made into a node below the rootfs directory fd: parents
//! resolved inside the root, the node created without following anything, then
//! owner, mode, extended attributes and times applied to it.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{
    AtFlags, FileType, Gid, Mode, OFlags, ResolveFlags, Timespec, Timestamps, Uid, XattrFlags,
};
use rustix::io::Errno;

use super::{Corruption, Excludes, UnpackError, UnpackOptions, UnpackStats};

/// Refuses member names with a `..` component, as GNU tar refuses such members.
fn check_name(raw: &[u8]) -> Result<(), UnpackError> {
    if raw.split(|b| *b == b'/').any(|c| c == b"..") {
        return Err(UnpackError::UnsafePath { name: lossy(raw) });
    }
    Ok(())
}

/// Member name → relative components; leading `/`, empty and `.` components dropped.
fn raw_components(raw: &[u8]) -> Vec<&[u8]> {
    raw.split(|b| *b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .collect()
}

fn join(c: &[&[u8]]) -> Vec<u8> {
    c.join(&b'/')
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn resolve_flags() -> ResolveFlags {
    ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS
}

fn is_nospace(e: Errno) -> bool {
    e == Errno::NOSPC || e == Errno::DQUOT
}

struct Pending {
    path: Vec<u8>,
    mode: u32,
    mtime: Timespec,
}

struct Meta {
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: Timespec,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// One unpack in progress: the rootfs directory, what was made so far.
pub(super) struct Unpacker<'o> {
    root: OwnedFd,
    opts: &'o UnpackOptions,
    excludes: Excludes,
    stats: UnpackStats,
    deferred_dirs: Vec<Pending>,
    /// Members not created (excluded or devices), so hard links to them are skipped too.
    skipped: HashSet<Vec<u8>>,
    /// The last parent directory resolved, reused while entries stay in it.
    parent_cache: Option<(Vec<u8>, OwnedFd)>,
    buf: Vec<u8>,
    label: String,
}

impl<'o> Unpacker<'o> {
    pub(super) fn new(root: OwnedFd, opts: &'o UnpackOptions, label: &str) -> Unpacker<'o> {
        Unpacker {
            root,
            opts,
            excludes: Excludes::new(&opts.excludes),
            stats: UnpackStats::default(),
            deferred_dirs: Vec::new(),
            skipped: HashSet::new(),
            parent_cache: None,
            buf: vec![0u8; 256 * 1024],
            label: label.to_string(),
        }
    }

    fn fs_err(&self, op: &'static str, path: &[u8], e: Errno) -> UnpackError {
        if is_nospace(e) {
            UnpackError::NoSpace { path: lossy(path) }
        } else {
            UnpackError::Fs {
                op,
                path: lossy(path),
                source: e.into(),
            }
        }
    }

    fn corrupt(&self, source: impl Into<Corruption>) -> UnpackError {
        UnpackError::Corrupt {
            tarball: self.label.clone(),
            source: source.into(),
        }
    }

    fn bad_pax(&self, field: &'static str) -> UnpackError {
        self.corrupt(Corruption::BadPax { field })
    }

    /// Makes every member of the tar stream `decoded`, then `dev/pts`, then applies
    /// the directories' modes and times.
    pub(super) fn run(mut self, decoded: Box<dyn Read + '_>) -> Result<UnpackStats, UnpackError> {
        // tar reads 512-byte headers; without a buffer each would be one call into
        // the (multi-threaded) decoder, with its locking, tens of thousands of times.
        let mut archive = tar::Archive::new(BufReader::with_capacity(1 << 20, decoded));
        let entries = archive.entries().map_err(|e| self.corrupt(e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| self.corrupt(e))?;
            self.entry(&mut entry)?;
            // In the user-namespace child of a create: kills only it.
            lxu_sys::crash::point("create.rootfs-unpacking");
        }
        self.parent_cache = None;
        // `mkdir -p $rootfs/dev/pts` in lxc-download.
        self.mkdir_all(&[b"dev".as_slice(), b"pts".as_slice()], b"dev/pts")?;
        self.finish_dirs()?;
        Ok(self.stats)
    }

    /// Another descriptor of the rootfs directory.
    fn root_dir(&self) -> Result<OwnedFd, UnpackError> {
        self.root
            .try_clone()
            .map_err(|e| self.fs_err("open", b".", Errno::from_io_error(&e).unwrap_or(Errno::IO)))
    }

    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), UnpackError> {
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            return Ok(());
        }
        let raw_name = entry.path_bytes().into_owned();
        check_name(&raw_name)?;
        let comps = raw_components(&raw_name);
        let path = join(&comps);

        if self.excludes.matches(&raw_name) {
            self.stats.skipped_excludes += 1;
            self.skipped.insert(path);
            return Ok(());
        }
        if kind.is_character_special() || kind.is_block_special() {
            // mknod is refused in a user namespace; LXC bind-mounts /dev instead.
            self.stats.skipped_devices += 1;
            self.skipped.insert(path);
            return Ok(());
        }

        let meta = self.meta(entry)?;
        if comps.is_empty() {
            // `./`: the rootfs itself gets the owner and mode of the archive's root.
            if kind.is_dir() {
                self.own(self.root.as_fd(), None, &meta, b".")?;
                self.deferred_dirs.push(Pending {
                    path: Vec::new(),
                    mode: meta.mode,
                    mtime: meta.mtime,
                });
            }
            return Ok(());
        }
        let name = comps[comps.len() - 1];
        let (parent_path, parent_fd) = self.take_parent(&comps[..comps.len() - 1], &path)?;
        let parent = parent_fd.as_fd();

        if kind.is_dir() {
            self.make_dir(parent, name, &path, &meta)?;
            self.stats.dirs += 1;
        } else if kind.is_symlink() {
            let target = entry
                .link_name_bytes()
                .map(|t| t.into_owned())
                .unwrap_or_default();
            if target.is_empty() {
                return Err(self.corrupt(Corruption::NoSymlinkTarget { name: lossy(&path) }));
            }
            self.replace(parent, name, &path, false)?;
            rustix::fs::symlinkat(target.as_slice(), parent, name)
                .map_err(|e| self.fs_err("create symlink", &path, e))?;
            self.own(parent, Some(name), &meta, &path)?;
            self.set_times(parent, Some(name), meta.mtime, &path)?;
            self.stats.symlinks += 1;
        } else if kind.is_hard_link() {
            self.hard_link(entry, parent, name, &path)?;
        } else if kind.is_fifo() {
            self.replace(parent, name, &path, false)?;
            rustix::fs::mknodat(parent, name, FileType::Fifo, Mode::from_raw_mode(0o600), 0)
                .map_err(|e| self.fs_err("create fifo", &path, e))?;
            self.own(parent, Some(name), &meta, &path)?;
            rustix::fs::chmodat(
                parent,
                name,
                Mode::from_raw_mode(meta.mode),
                AtFlags::empty(),
            )
            .map_err(|e| self.fs_err("chmod", &path, e))?;
            self.set_times(parent, Some(name), meta.mtime, &path)?;
            self.stats.fifos += 1;
        } else if kind.is_gnu_sparse() {
            // The tar parser expands the holes into real zeros: a few header bytes
            // could claim any size.
            let size = entry.header().as_gnu().and_then(|g| g.real_size().ok());
            return Err(UnpackError::Sparse {
                tarball: self.label.clone(),
                name: lossy(&path),
                size: size.unwrap_or_else(|| entry.size()),
            });
        } else if kind.is_file() || kind.is_contiguous() {
            self.regular_file(entry, parent, name, &path, &meta)?;
        } else {
            // Unknown member types carry nothing we can create faithfully.
            return Err(self.corrupt(Corruption::UnsupportedType {
                name: lossy(&path),
                kind: format!("{kind:?}"),
            }));
        }
        // Keep the parent for the next member unless this one replaced a directory on
        // its path.
        let replaced = parent_path == path
            || (parent_path.starts_with(&path) && parent_path.get(path.len()) == Some(&b'/'));
        if !replaced {
            self.parent_cache = Some((parent_path, parent_fd));
        }
        Ok(())
    }

    fn meta<R: Read>(&self, entry: &mut tar::Entry<'_, R>) -> Result<Meta, UnpackError> {
        let h = entry.header();
        let mut m = Meta {
            mode: h.mode().map_err(|e| self.corrupt(e))? & 0o7777,
            uid: h.uid().map_err(|e| self.corrupt(e))?,
            gid: h.gid().map_err(|e| self.corrupt(e))?,
            mtime: Timespec {
                tv_sec: h.mtime().unwrap_or(0) as i64,
                tv_nsec: 0,
            },
            xattrs: Vec::new(),
        };
        if let Some(pax) = entry.pax_extensions().map_err(|e| self.corrupt(e))? {
            for ext in pax {
                let ext = ext.map_err(|e| self.corrupt(e))?;
                let key = ext.key_bytes();
                let val = ext.value_bytes();
                if let Some(attr) = key.strip_prefix(b"SCHILY.xattr.") {
                    m.xattrs.push((attr.to_vec(), val.to_vec()));
                    continue;
                }
                let text = std::str::from_utf8(val).unwrap_or("");
                match key {
                    b"uid" => m.uid = text.parse().map_err(|_| self.bad_pax("uid"))?,
                    b"gid" => m.gid = text.parse().map_err(|_| self.bad_pax("gid"))?,
                    b"mtime" => {
                        let (s, frac) = text.split_once('.').unwrap_or((text, ""));
                        m.mtime.tv_sec = s.parse().map_err(|_| self.bad_pax("mtime"))?;
                        let digits: String = frac.chars().take(9).collect();
                        m.mtime.tv_nsec = if digits.is_empty() {
                            0
                        } else {
                            format!("{digits:0<9}").parse().unwrap_or(0)
                        };
                    }
                    _ => {}
                }
            }
        }
        Ok(m)
    }

    /// Opens (creating as needed) the directory holding a member. The fd is moved
    /// out of the one-entry cache and handed back by `entry` when still valid.
    fn take_parent(
        &mut self,
        dir: &[&[u8]],
        entry: &[u8],
    ) -> Result<(Vec<u8>, OwnedFd), UnpackError> {
        let path = join(dir);
        if let Some((cached, fd)) = self.parent_cache.take() {
            if cached == path {
                return Ok((path, fd));
            }
        }
        let fd = if dir.is_empty() {
            self.root_dir()?
        } else {
            self.mkdir_all(dir, entry)?
        };
        Ok((path, fd))
    }

    fn open_dir(&self, path: &[u8]) -> Result<OwnedFd, Errno> {
        rustix::fs::openat2(
            &self.root,
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            resolve_flags(),
        )
    }

    /// `mkdir -p` inside the root; missing directories get 0755 like GNU tar's.
    fn mkdir_all(&self, dir: &[&[u8]], entry: &[u8]) -> Result<OwnedFd, UnpackError> {
        let full = join(dir);
        match self.open_dir(&full) {
            Ok(fd) => return Ok(fd),
            Err(Errno::NOENT) => {}
            Err(Errno::NOTDIR) | Err(Errno::LOOP) => {
                return Err(UnpackError::NotDirectory {
                    path: lossy(&full),
                    entry: lossy(entry),
                })
            }
            Err(e) => return Err(self.fs_err("open", &full, e)),
        }
        let mut cur = self.root_dir()?;
        for i in 0..dir.len() {
            let prefix = join(&dir[..=i]);
            let next = match self.open_dir(&prefix) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => {
                    match rustix::fs::mkdirat(&cur, dir[i], Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(self.fs_err("create directory", &prefix, e)),
                    }
                    self.open_dir(&prefix).map_err(|e| match e {
                        Errno::NOENT | Errno::NOTDIR | Errno::LOOP => UnpackError::NotDirectory {
                            path: lossy(&prefix),
                            entry: lossy(entry),
                        },
                        e => self.fs_err("open", &prefix, e),
                    })?
                }
                Err(Errno::NOTDIR) | Err(Errno::LOOP) => {
                    return Err(UnpackError::NotDirectory {
                        path: lossy(&prefix),
                        entry: lossy(entry),
                    })
                }
                Err(e) => return Err(self.fs_err("open", &prefix, e)),
            };
            cur = next;
        }
        Ok(cur)
    }

    /// Clears the way for a new node: removes a non-directory, or an empty directory
    /// when the new node is not a directory itself.
    fn replace(
        &self,
        parent: BorrowedFd<'_>,
        name: &[u8],
        path: &[u8],
        keep_dir: bool,
    ) -> Result<(), UnpackError> {
        let st = match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => return Ok(()),
            Err(e) => return Err(self.fs_err("stat", path, e)),
        };
        let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
        if is_dir {
            if keep_dir {
                return Ok(());
            }
            rustix::fs::unlinkat(parent, name, AtFlags::REMOVEDIR).map_err(|e| {
                if e == Errno::NOTEMPTY || e == Errno::EXIST {
                    UnpackError::Fs {
                        op: "replace non-empty directory",
                        path: lossy(path),
                        source: e.into(),
                    }
                } else {
                    self.fs_err("remove directory", path, e)
                }
            })
        } else {
            rustix::fs::unlinkat(parent, name, AtFlags::empty())
                .map_err(|e| self.fs_err("remove", path, e))
        }
    }

    fn make_dir(
        &mut self,
        parent: BorrowedFd<'_>,
        name: &[u8],
        path: &[u8],
        meta: &Meta,
    ) -> Result<(), UnpackError> {
        match rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(0o700)) {
            Ok(()) => {}
            Err(Errno::EXIST) => {
                self.replace(parent, name, path, true)?;
                match rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(0o700)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(self.fs_err("create directory", path, e)),
                }
            }
            Err(e) => return Err(self.fs_err("create directory", path, e)),
        }
        let fd = rustix::fs::openat(
            parent,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| self.fs_err("open directory", path, e))?;
        self.own(fd.as_fd(), None, meta, path)?;
        self.xattrs(fd.as_fd(), meta, path)?;
        self.deferred_dirs.push(Pending {
            path: path.to_vec(),
            mode: meta.mode,
            mtime: meta.mtime,
        });
        Ok(())
    }

    fn regular_file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        parent: BorrowedFd<'_>,
        name: &[u8],
        path: &[u8],
        meta: &Meta,
    ) -> Result<(), UnpackError> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mode = Mode::from_raw_mode(0o600);
        let fd = match rustix::fs::openat(parent, name, flags, mode) {
            Ok(fd) => fd,
            Err(Errno::EXIST) => {
                self.replace(parent, name, path, false)?;
                rustix::fs::openat(parent, name, flags, mode)
                    .map_err(|e| self.fs_err("create", path, e))?
            }
            Err(e) => return Err(self.fs_err("create", path, e)),
        };
        let mut file = File::from(fd);
        loop {
            let n = match entry.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.corrupt(e)),
            };
            if let Err(e) = file.write_all(&self.buf[..n]) {
                let errno = Errno::from_io_error(&e).unwrap_or(Errno::IO);
                return Err(self.fs_err("write", path, errno));
            }
            self.stats.bytes += n as u64;
        }
        self.own(file.as_fd(), None, meta, path)?;
        // After chown, which clears set-id bits.
        rustix::fs::fchmod(&file, Mode::from_raw_mode(meta.mode))
            .map_err(|e| self.fs_err("chmod", path, e))?;
        // After chown too, which drops security.capability.
        self.xattrs(file.as_fd(), meta, path)?;
        self.set_times(file.as_fd(), None, meta.mtime, path)?;
        self.stats.files += 1;
        Ok(())
    }

    fn hard_link<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        parent: BorrowedFd<'_>,
        name: &[u8],
        path: &[u8],
    ) -> Result<(), UnpackError> {
        let raw_target = entry
            .link_name_bytes()
            .map(|t| t.into_owned())
            .unwrap_or_default();
        if check_name(&raw_target).is_err() {
            return Err(UnpackError::UnsafeLink {
                name: lossy(path),
                target: lossy(&raw_target),
            });
        }
        let tcomps = raw_components(&raw_target);
        let tpath = join(&tcomps);
        if tcomps.is_empty() {
            return Err(UnpackError::UnsafeLink {
                name: lossy(path),
                target: lossy(&raw_target),
            });
        }
        if self.skipped.contains(&tpath) || self.excludes.matches(&raw_target) {
            self.stats.skipped_excludes += 1;
            self.skipped.insert(path.to_vec());
            return Ok(());
        }
        if tpath == path {
            return Ok(());
        }
        let tdir = join(&tcomps[..tcomps.len() - 1]);
        let tparent = if tdir.is_empty() {
            self.root_dir()?
        } else {
            self.open_dir(&tdir).map_err(|e| match e {
                Errno::NOENT | Errno::NOTDIR => UnpackError::MissingLinkTarget {
                    name: lossy(path),
                    target: lossy(&tpath),
                },
                e => self.fs_err("open", &tdir, e),
            })?
        };
        let tname = tcomps[tcomps.len() - 1];
        self.replace(parent, name, path, false)?;
        // No AT_SYMLINK_FOLLOW: a symlink target is linked as the symlink itself.
        rustix::fs::linkat(&tparent, tname, parent, name, AtFlags::empty()).map_err(
            |e| match e {
                Errno::NOENT => UnpackError::MissingLinkTarget {
                    name: lossy(path),
                    target: lossy(&tpath),
                },
                e => self.fs_err("create hard link", path, e),
            },
        )?;
        self.stats.hardlinks += 1;
        Ok(())
    }

    fn own(
        &self,
        fd: BorrowedFd<'_>,
        name: Option<&[u8]>,
        meta: &Meta,
        path: &[u8],
    ) -> Result<(), UnpackError> {
        if !self.opts.preserve_owner {
            return Ok(());
        }
        let (Ok(uid), Ok(gid)) = (u32::try_from(meta.uid), u32::try_from(meta.gid)) else {
            return Err(self.corrupt(Corruption::OwnerOutOfRange { name: lossy(path) }));
        };
        if uid == u32::MAX || gid == u32::MAX {
            return Err(self.corrupt(Corruption::OwnerUnset { name: lossy(path) }));
        }
        let (u, g) = (Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)));
        let res = match name {
            Some(n) => rustix::fs::chownat(fd, n, u, g, AtFlags::SYMLINK_NOFOLLOW),
            None => rustix::fs::fchown(fd, u, g),
        };
        res.map_err(|e| UnpackError::Chown {
            path: lossy(path),
            uid,
            gid,
            source: e.into(),
        })
    }

    fn xattrs(&mut self, fd: BorrowedFd<'_>, meta: &Meta, path: &[u8]) -> Result<(), UnpackError> {
        for (k, v) in &meta.xattrs {
            match rustix::fs::fsetxattr(fd, k.as_slice(), v, XattrFlags::empty()) {
                Ok(()) => {}
                Err(Errno::OPNOTSUPP) | Err(Errno::PERM) | Err(Errno::ACCESS)
                    if k.starts_with(b"security.") || k.starts_with(b"trusted.") =>
                {
                    self.stats.skipped_xattrs += 1
                }
                Err(Errno::OPNOTSUPP) => self.stats.skipped_xattrs += 1,
                Err(e) => return Err(self.fs_err("set extended attribute on", path, e)),
            }
        }
        Ok(())
    }

    fn set_times(
        &self,
        fd: BorrowedFd<'_>,
        name: Option<&[u8]>,
        t: Timespec,
        path: &[u8],
    ) -> Result<(), UnpackError> {
        let times = Timestamps {
            last_access: t,
            last_modification: t,
        };
        let res = match name {
            Some(n) => rustix::fs::utimensat(fd, n, &times, AtFlags::SYMLINK_NOFOLLOW),
            None => rustix::fs::futimens(fd, &times),
        };
        res.map_err(|e| self.fs_err("set times of", path, e))
    }

    /// Directory modes and times go last: a read-only directory must still receive
    /// its children, and creating them would change its mtime.
    fn finish_dirs(&mut self) -> Result<(), UnpackError> {
        let pending = std::mem::take(&mut self.deferred_dirs);
        for p in pending.iter().rev() {
            let fd = if p.path.is_empty() {
                self.root_dir()?
            } else {
                // If a later member replaced a component by a symlink, leave it be.
                match rustix::fs::openat2(
                    &self.root,
                    p.path.as_slice(),
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                    resolve_flags() | ResolveFlags::NO_SYMLINKS,
                ) {
                    Ok(fd) => fd,
                    Err(Errno::LOOP) | Err(Errno::NOTDIR) | Err(Errno::NOENT) => continue,
                    Err(e) => return Err(self.fs_err("open directory", &p.path, e)),
                }
            };
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(p.mode))
                .map_err(|e| self.fs_err("chmod", &p.path, e))?;
            self.set_times(fd.as_fd(), None, p.mtime, &p.path)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names() {
        assert_eq!(raw_components(b"./usr/bin/"), vec![&b"usr"[..], b"bin"]);
        assert_eq!(
            raw_components(b"/etc//passwd"),
            vec![&b"etc"[..], b"passwd"]
        );
        assert!(raw_components(b"./").is_empty());
        assert!(check_name(b"./a..b/c").is_ok());
        assert!(matches!(
            check_name(b"a/../../b"),
            Err(UnpackError::UnsafePath { .. })
        ));
        assert!(matches!(
            check_name(b".."),
            Err(UnpackError::UnsafePath { .. })
        ));
        assert_eq!(raw_components(b"./a/./b//c"), vec![&b"a"[..], b"b", b"c"]);
    }
}
