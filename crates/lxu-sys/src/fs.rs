//! Replacing a file whole, durably: a reader sees the old file or the new one, never part
//! of the new one, and after a crash the new file is complete or absent.
//!
//! The new contents go to a temporary beside the file, made with `O_EXCL|O_NOFOLLOW` so
//! that nothing planted under its name is followed or reused; it gets its owner and mode
//! while only its creator can open it, is fsynced, renamed over the file, and then the
//! directory is fsynced so that the rename itself survives a crash. Every step works on
//! one descriptor of the directory: a directory renamed or replaced by a link meanwhile
//! cannot send the file somewhere else.

use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{AtFlags, Mode, OFlags};

/// A file system operation that failed: what was done, to which path, and why.
#[derive(Debug, thiserror::Error)]
#[error("{op} `{}`", path.display())]
pub struct FsError {
    pub op: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl FsError {
    fn new(op: &'static str, path: impl Into<PathBuf>, source: impl Into<io::Error>) -> FsError {
        FsError {
            op,
            path: path.into(),
            source: source.into(),
        }
    }
}

/// An open directory that files are replaced in. Cheap to clone: clones share the
/// descriptor.
#[derive(Debug, Clone)]
pub struct Dir(Arc<DirInner>);

#[derive(Debug)]
struct DirInner {
    fd: OwnedFd,
    path: PathBuf,
}

impl Dir {
    /// Opens the directory `path`, following symbolic links.
    pub fn open(path: &Path) -> Result<Dir, FsError> {
        Dir::open_with(path, OFlags::empty())
    }

    /// Opens the directory `path`, refusing a symbolic link as its last component.
    pub fn open_nofollow(path: &Path) -> Result<Dir, FsError> {
        Dir::open_with(path, OFlags::NOFOLLOW)
    }

    fn open_with(path: &Path, extra: OFlags) -> Result<Dir, FsError> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | extra;
        let fd = rustix::fs::open(path, flags, Mode::empty())
            .map_err(|e| FsError::new("open directory", path, e))?;
        Ok(Dir(Arc::new(DirInner {
            fd,
            path: path.to_path_buf(),
        })))
    }

    /// The path the directory was opened by (for messages).
    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// Writes `data` to a temporary beside `name`, ready to replace it: see [`Staged`].
    pub fn stage(
        &self,
        name: impl AsRef<OsStr>,
        data: &[u8],
        how: &Replace,
    ) -> Result<Staged, FsError> {
        let name = name.as_ref().to_os_string();
        let temp = match &how.temp_name {
            Some(t) => t.clone(),
            None => {
                let mut t = OsString::from(".");
                t.push(&name);
                t.push(".lxu-new");
                t
            }
        };
        let file = self.create_temp(&temp, how)?;
        let staged = Staged {
            dir: self.clone(),
            temp,
            name,
            committed: false,
        };
        // On failure, dropping `staged` removes the temporary.
        write_out(file, data, how).map_err(|e| FsError::new("write", staged.temp_path(), e))?;
        Ok(staged)
    }

    /// Replaces the file `name` with `data`: [`stage`](Dir::stage), commit, and fsync of
    /// the directory.
    pub fn replace(
        &self,
        name: impl AsRef<OsStr>,
        data: &[u8],
        how: &Replace,
    ) -> Result<(), FsError> {
        self.stage(name, data, how)?.commit()?;
        self.sync()
    }

    /// fsyncs the directory, so that renames and creations in it are durable.
    pub fn sync(&self) -> Result<(), FsError> {
        rustix::fs::fsync(&self.0.fd).map_err(|e| FsError::new("fsync", self.path(), e))
    }

    /// Creates the temporary; one left by a writer that was killed is removed first (the
    /// callers hold a lock or the directory, so it cannot be another live writer's).
    fn create_temp(&self, temp: &OsStr, how: &Replace) -> Result<std::fs::File, FsError> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        // Only its creator may open it until it has its final owner and mode.
        let mode = Mode::from_raw_mode(if how.umask { how.mode & 0o7777 } else { 0o600 });
        let open = || rustix::fs::openat(&self.0.fd, temp, flags, mode);
        let path = self.path().join(temp);
        let fd = match open() {
            Err(rustix::io::Errno::EXIST) => {
                rustix::fs::unlinkat(&self.0.fd, temp, AtFlags::empty())
                    .map_err(|e| FsError::new("remove", &path, e))?;
                open()
            }
            r => r,
        }
        .map_err(|e| FsError::new("create", &path, e))?;
        Ok(std::fs::File::from(fd))
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.fd.as_fd()
    }
}

/// The contents, owner and mode, then fsync.
fn write_out(mut file: std::fs::File, data: &[u8], how: &Replace) -> io::Result<()> {
    file.write_all(data)?;
    if let Some((uid, gid)) = how.owner {
        rustix::fs::fchown(
            &file,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
        )?;
    }
    // After fchown, which clears set-id bits.
    if !how.umask {
        rustix::fs::fchmod(&file, Mode::from_raw_mode(how.mode & 0o7777))?;
    }
    file.sync_all()
}

/// How the new file is made: its mode, owner and temporary name.
#[derive(Debug, Clone)]
pub struct Replace {
    mode: u32,
    /// The mode is a creation mode that the process umask trims (as `open(2)`'s), not
    /// set exactly.
    umask: bool,
    owner: Option<(u32, u32)>,
    temp_name: Option<OsString>,
}

impl Replace {
    /// The new file gets exactly `mode` (its permission bits), whatever the umask.
    pub fn mode(mode: u32) -> Replace {
        Replace {
            mode,
            umask: false,
            owner: None,
            temp_name: None,
        }
    }

    /// The new file is created with `mode` less the process umask, as `open(2)` makes it.
    pub fn creation_mode(mode: u32) -> Replace {
        Replace {
            umask: true,
            ..Replace::mode(mode)
        }
    }

    /// The new file belongs to `uid`/`gid` (the caller's ids otherwise).
    pub fn owner(self, uid: u32, gid: u32) -> Replace {
        Replace {
            owner: Some((uid, gid)),
            ..self
        }
    }

    /// The temporary's name in the directory (`.NAME.lxu-new` otherwise). A name of its
    /// own per process lets writers that hold no common lock run side by side.
    pub fn temp_name(self, name: impl Into<OsString>) -> Replace {
        Replace {
            temp_name: Some(name.into()),
            ..self
        }
    }
}

/// A complete, fsynced temporary waiting to replace its file. Preparing several files
/// first and committing them back to back keeps short the time in which a reader can
/// see a mix of old and new ones. Dropped uncommitted, the temporary is removed.
#[derive(Debug)]
pub struct Staged {
    dir: Dir,
    temp: OsString,
    name: OsString,
    committed: bool,
}

impl Staged {
    /// Renames the temporary over the file. The directory is not fsynced: call
    /// [`Dir::sync`] once every file is committed.
    pub fn commit(mut self) -> Result<(), FsError> {
        let d = &self.dir.0.fd;
        rustix::fs::renameat(d, &self.temp, d, &self.name)
            .map_err(|e| FsError::new("rename", self.dir.path().join(&self.name), e))?;
        self.committed = true;
        Ok(())
    }

    fn temp_path(&self) -> PathBuf {
        self.dir.path().join(&self.temp)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = rustix::fs::unlinkat(&self.dir.0.fd, &self.temp, AtFlags::empty());
        }
    }
}

/// Replaces the file `path` with `data` in its directory (followed if a link): see
/// [`Dir::replace`].
pub fn replace_file(path: &Path, data: &[u8], how: &Replace) -> Result<(), FsError> {
    let (dir, name) = split(path)?;
    Dir::open(dir)?.replace(name, data, how)
}

/// Stages `data` to replace the file `path` in its directory (followed if a link): see
/// [`Dir::stage`].
pub fn stage_file(path: &Path, data: &[u8], how: &Replace) -> Result<Staged, FsError> {
    let (dir, name) = split(path)?;
    Dir::open(dir)?.stage(name, data, how)
}

/// The directory and the name of a file path (`.` for a bare name).
fn split(path: &Path) -> Result<(&Path, &OsStr), FsError> {
    let Some(name) = path.file_name() else {
        let e = io::Error::new(io::ErrorKind::InvalidInput, "not a file path");
        return Err(FsError::new("replace", path, e));
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Ok((dir, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn names(dir: &Path) -> Vec<OsString> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_by_rename_with_the_mode_and_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("config");
        std::fs::write(&p, "old").unwrap();
        let ino = std::fs::metadata(&p).unwrap().ino();
        replace_file(&p, b"new", &Replace::mode(0o640)).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        let m = std::fs::metadata(&p).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o640);
        assert_ne!(m.ino(), ino, "a rename gives a new inode");
        assert_eq!(names(d.path()), vec![OsString::from("config")]);
    }

    #[test]
    fn a_leftover_temporary_is_replaced_and_a_link_there_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, d.path().join(".f.lxu-new")).unwrap();
        replace_file(&d.path().join("f"), b"data", &Replace::mode(0o600)).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(d.path().join("f")).unwrap(), "data");
        assert_eq!(names(d.path()), vec![OsString::from("f"), "victim".into()]);
    }

    #[test]
    fn staged_files_appear_on_commit_and_vanish_when_dropped() {
        let d = tempfile::tempdir().unwrap();
        let dir = Dir::open(d.path()).unwrap();
        std::fs::write(d.path().join("a"), "old").unwrap();
        let how = Replace::creation_mode(0o644).temp_name(".a.tmp-1");
        let a = dir.stage("a", b"new", &how).unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join("a")).unwrap(), "old");
        let b = dir.stage("b", b"b", &Replace::mode(0o644)).unwrap();
        a.commit().unwrap();
        drop(b);
        dir.sync().unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join("a")).unwrap(), "new");
        assert_eq!(names(d.path()), vec![OsString::from("a")]);
    }

    #[test]
    fn errors_name_the_operation_and_the_path() {
        let e =
            replace_file(Path::new("/nonexistent/dir/f"), b"", &Replace::mode(0o600)).unwrap_err();
        assert_eq!(e.to_string(), "open directory `/nonexistent/dir`");
        assert_eq!(e.source.kind(), io::ErrorKind::NotFound);
    }
}
