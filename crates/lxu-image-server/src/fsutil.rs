//! Durable file replacement: a reader sees either the old or the new file, never a
//! prefix of the new one, and after a crash the new file is either complete or absent.

use std::io;
use std::path::{Path, PathBuf};

use lxu_sys::fs::{Dir, Replace, Staged};

/// The hidden temporary name used while `path` is being written. Hidden names are
/// never served, so a half-written file cannot be fetched by a client.
pub fn temp_path_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// A complete, fsynced temporary file waiting to replace its target. Preparing
/// several files first and committing them back to back keeps the window in
/// which a reader can see a mix of old and new as small as a few renames.
/// Dropped uncommitted, the temporary is removed.
#[derive(Debug)]
pub struct Prepared(Staged);

/// Writes `data` (created with `mode`, less the umask) to the hidden temporary name of
/// `target` and fsyncs it.
pub fn prepare(target: &Path, data: &[u8], mode: u32) -> io::Result<Prepared> {
    let tmp = temp_path_for(target);
    let how = Replace::creation_mode(mode).temp_name(tmp.file_name().unwrap_or_default());
    let staged = lxu_sys::fs::stage_file(target, data, &how).map_err(|e| e.source)?;
    Ok(Prepared(staged))
}

impl Prepared {
    /// Renames the temporary file over the target. The caller fsyncs the
    /// directory once all renames are done.
    pub fn commit(self) -> io::Result<()> {
        self.0.commit().map_err(|e| e.source)
    }
}

/// fsyncs a directory so that renames and creations inside it are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    Dir::open(dir).and_then(|d| d.sync()).map_err(|e| e.source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn commit_replaces_by_rename_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("index-user");
        prepare(&p, b"one\n", 0o644).unwrap().commit().unwrap();
        let ino1 = fs::metadata(&p).unwrap().ino();
        let next = prepare(&p, b"two\n", 0o644).unwrap();
        // Until the commit, readers still see the old content.
        assert_eq!(fs::read(&p).unwrap(), b"one\n");
        next.commit().unwrap();
        sync_dir(dir.path()).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two\n");
        // A rename gives a new inode; an in-place rewrite would keep it.
        assert_ne!(ino1, fs::metadata(&p).unwrap().ino());
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("index-user")]);
    }

    #[test]
    fn dropped_preparation_leaves_target_alone() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("index-system");
        fs::write(&p, b"old\n").unwrap();
        drop(prepare(&p, b"new\n", 0o644).unwrap());
        assert_eq!(fs::read(&p).unwrap(), b"old\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temp_name_is_hidden_and_in_same_dir() {
        let t = temp_path_for(Path::new("/r/meta/1.0/index-system"));
        assert_eq!(t.parent(), Some(Path::new("/r/meta/1.0")));
        assert!(t
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".index-system.tmp-"));
    }
}
