//! The image cache, laid out as `lxc-download` lays it out:
//! `<base>/download/<dist>/<release>/<arch>/<variant>/` holding `build_id`,
//! `rootfs.tar.xz` (kept compressed) and the metadata files extracted flat, plus
//! what vouches for them so the cache can be verified again: the build's signed
//! `SHA256SUMS` (+ `.asc`, and `image.info` when the build has one), or, for
//! repositories without it, the per-file signatures (`rootfs.tar.xz.asc`,
//! `meta.tar.xz` + `.asc`).
//!
//! Next to each cache dir live a lock file (`.<variant>.lxu-lock`), a staging dir
//! for downloads in progress (`.<variant>.lxu-partial`, kept across runs so a
//! transfer can resume) and, briefly, the replacement being assembled
//! (`.<variant>.lxu-new-*`), which is swapped in with one `renameat2` once
//! everything is verified.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, RenameFlags, CWD};
use rustix::io::Errno;

use lxu_progress::Progress;

pub(crate) const BUILD_ID: &str = "build_id";
pub(crate) const ROOTFS: &str = "rootfs.tar.xz";
pub(crate) const META: &str = "meta.tar.xz";

/// Names a metadata tarball may not overwrite in the cache dir.
const RESERVED: &[&str] = &[
    BUILD_ID,
    ROOTFS,
    "rootfs.tar.xz.asc",
    META,
    "meta.tar.xz.asc",
    crate::manifest::SUMS,
    crate::manifest::SUMS_ASC,
    crate::manifest::INFO,
];
const MAX_META_FILE: u64 = 1024 * 1024;
const MAX_META_TOTAL: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot {op} `{path}`")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("bad metadata tarball `{path}`")]
    BadMeta {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("bad metadata tarball `{path}`: xz decoder")]
    MetaDecoder {
        path: PathBuf,
        #[source]
        source: liblzma::stream::Error,
    },
    #[error(
        "bad metadata tarball `{path}`: it needs more than the {limit_mib} MiB of memory \
         allowed to the xz decoder"
    )]
    MetaXzMemLimit { path: PathBuf, limit_mib: u64 },
    #[error("bad metadata tarball `{path}`: `{name}` is too large")]
    MetaTooLarge { path: PathBuf, name: String },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> CacheError + 'a {
    move |source| CacheError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn errno_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> CacheError + 'a {
    move |e| CacheError::Io {
        op,
        path: path.to_path_buf(),
        source: e.into(),
    }
}

/// `/var/cache/lxc` for root, `$HOME/.cache/lxc` otherwise; `LXC_CACHE_PATH`
/// (when set and non-empty) wins, as in LXC 5.
pub(crate) fn cache_base(uid: u32, home: &Path, lxc_cache_path: Option<OsString>) -> PathBuf {
    if let Some(p) = lxc_cache_path.filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if uid == 0 {
        PathBuf::from("/var/cache/lxc")
    } else {
        home.join(".cache/lxc")
    }
}

/// `<base>/download/<dist>/<release>/<arch>/<variant>`.
pub(crate) fn cache_dir(
    base: &Path,
    dist: &str,
    release: &str,
    arch: &str,
    variant: &str,
) -> PathBuf {
    base.join("download")
        .join(dist)
        .join(release)
        .join(arch)
        .join(variant)
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.with_file_name(format!(".{name}.{suffix}"))
}

/// Where downloads for `dir` are staged.
pub fn staging_dir(dir: &Path) -> PathBuf {
    sibling(dir, "lxu-partial")
}

/// An exclusive (download) or shared (in use) `flock` on a cache dir.
#[derive(Debug)]
pub(crate) struct CacheLock {
    file: File,
}

impl CacheLock {
    /// Takes the exclusive lock, waiting (and saying so) when another process holds it.
    pub(crate) fn exclusive(dir: &Path, progress: &Progress) -> Result<CacheLock, CacheError> {
        let parent = dir.parent().unwrap_or(Path::new("/"));
        fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        let path = sibling(dir, "lxu-lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err("open lock file", &path))?;
        match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(Errno::WOULDBLOCK) => {
                progress.step("Waiting for another download of this image to finish...");
                rustix::fs::flock(&file, FlockOperation::LockExclusive)
                    .map_err(errno_err("lock", &path))?;
            }
            Err(e) => return Err(errno_err("lock", &path)(e)),
        }
        Ok(CacheLock { file })
    }

    /// Turns the lock into a shared one: other users may read the cache, no one may
    /// replace it until this lock is dropped.
    pub(crate) fn downgrade(&self) -> Result<(), CacheError> {
        rustix::fs::flock(&self.file, FlockOperation::LockShared).map_err(|e| CacheError::Io {
            op: "downgrade lock on",
            path: PathBuf::from("cache lock"),
            source: e.into(),
        })
    }
}

/// The cached build id, if the cache dir holds a complete image.
pub(crate) fn cached_build(dir: &Path) -> Option<String> {
    if !dir.join(ROOTFS).is_file() {
        return None;
    }
    let id = fs::read_to_string(dir.join(BUILD_ID)).ok()?;
    let id = id.trim_end_matches('\n').to_string();
    (!id.is_empty()).then_some(id)
}

/// Removes the cache dir (`--flush-cache`).
pub(crate) fn flush(dir: &Path) -> Result<(), CacheError> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("remove", dir)(e)),
    }
}

/// Prepares the staging dir for `build`: a leftover of the same build is kept (so
/// its partial files resume), anything else is discarded.
pub(crate) fn open_staging(dir: &Path, build: &str) -> Result<PathBuf, CacheError> {
    let staging = staging_dir(dir);
    let marker = staging.join("build");
    let same = fs::read_to_string(&marker).is_ok_and(|b| b == build);
    if !same {
        discard_staging(dir)?;
        fs::create_dir_all(&staging).map_err(io_err("create", &staging))?;
        fs::write(&marker, build).map_err(io_err("write", &marker))?;
    }
    Ok(staging)
}

/// Forgets downloads in progress (after a failed verification they are poison).
pub(crate) fn discard_staging(dir: &Path) -> Result<(), CacheError> {
    flush(&staging_dir(dir))
}

/// Moves verified downloads from the staging dir into a new cache dir, extracts
/// the metadata, writes `build_id` and swaps the result in for the old cache dir.
/// `extra` names the staged files that vouch for the image (signatures,
/// `SHA256SUMS`). Until the swap nothing of the old cache dir changes.
pub(crate) fn install(
    dir: &Path,
    staging: &Path,
    build: &str,
    extra: &[&str],
) -> Result<(), CacheError> {
    let parent = dir.parent().unwrap_or(Path::new("/"));
    fs::create_dir_all(parent).map_err(io_err("create", parent))?;
    let prefix = new_prefix(dir);
    let new = tempfile::Builder::new()
        .prefix(&prefix)
        .tempdir_in(parent)
        .map_err(io_err("create a directory in", parent))?;
    for n in [ROOTFS, META].iter().chain(extra) {
        let (from, to) = (staging.join(n), new.path().join(n));
        fs::rename(&from, &to).map_err(io_err("move", &from))?;
    }
    extract_meta(&new.path().join(META), new.path())?;
    let id = new.path().join(BUILD_ID);
    fs::write(&id, format!("{build}\n")).map_err(io_err("write", &id))?;
    fs::set_permissions(new.path(), fs::Permissions::from_mode(0o755))
        .map_err(io_err("chmod", new.path()))?;

    let new = new.keep();
    lxu_sys::crash::point("download.cache-assembled");
    let swapped = rustix::fs::renameat_with(CWD, &new, CWD, dir, RenameFlags::EXCHANGE);
    match swapped {
        Ok(()) => {
            // `new` now names the old cache.
            lxu_sys::crash::point("download.cache-swapped");
            fs::remove_dir_all(&new).map_err(io_err("remove old cache", &new))?;
        }
        Err(Errno::NOENT) => {
            if let Err(e) = rustix::fs::renameat_with(CWD, &new, CWD, dir, RenameFlags::NOREPLACE) {
                let _ = fs::remove_dir_all(&new);
                return Err(errno_err("install", dir)(e));
            }
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&new);
            return Err(errno_err("install", dir)(e));
        }
    }
    discard_staging(dir)
}

/// The name prefix of the replacement of `dir` being assembled.
fn new_prefix(dir: &Path) -> String {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.lxu-new-")
}

/// Removes replacements (or swapped-out old copies) a download killed during
/// [`install`] left beside the cache dir `dir`. The caller holds the exclusive lock, so no
/// other process is assembling one; each would otherwise keep a whole image's space, and
/// a create that uses the cache as it is never gets to `install`.
pub(crate) fn discard_stale_new(dir: &Path) -> Result<(), CacheError> {
    let (parent, prefix) = (dir.parent().unwrap_or(Path::new("/")), new_prefix(dir));
    let Ok(entries) = fs::read_dir(parent) else {
        return Ok(());
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            let p = e.path();
            fs::remove_dir_all(&p).map_err(io_err("remove stale", &p))?;
        }
    }
    Ok(())
}

/// Extracts the metadata tarball flat into `into`: regular files at its top level
/// only, none of the cache's own names, bounded sizes.
pub(crate) fn extract_meta(tarball: &Path, into: &Path) -> Result<(), CacheError> {
    let f = File::open(tarball).map_err(io_err("open", tarball))?;
    let stream = liblzma::stream::Stream::new_stream_decoder(crate::unpack::XZ_MEMLIMIT, 0)
        .map_err(|source| CacheError::MetaDecoder {
            path: tarball.to_path_buf(),
            source,
        })?;
    let hit = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let dec = crate::unpack::MemlimitTap {
        inner: liblzma::read::XzDecoder::new_stream(f, stream),
        hit: hit.clone(),
    };
    let result = extract_meta_from(dec, tarball, into);
    if result.is_err() && hit.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(CacheError::MetaXzMemLimit {
            path: tarball.to_path_buf(),
            limit_mib: crate::unpack::XZ_MEMLIMIT >> 20,
        });
    }
    result
}

fn extract_meta_from(dec: impl Read, tarball: &Path, into: &Path) -> Result<(), CacheError> {
    let bad = |source| CacheError::BadMeta {
        path: tarball.to_path_buf(),
        source,
    };
    let mut archive = tar::Archive::new(dec);
    let mut total = 0u64;
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let raw = entry.path_bytes().into_owned();
        let comps: Vec<&[u8]> = raw
            .split(|b| *b == b'/')
            .filter(|c| !c.is_empty() && *c != b".")
            .collect();
        let [name] = comps.as_slice() else { continue };
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        if name == ".." || RESERVED.contains(&name) {
            continue;
        }
        let size = entry.size();
        total += size;
        if size > MAX_META_FILE || total > MAX_META_TOTAL {
            return Err(CacheError::MetaTooLarge {
                path: tarball.to_path_buf(),
                name: name.to_string(),
            });
        }
        let path = into.join(name);
        let mut out = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(io_err("write", &path))?;
        let mut buf = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(MAX_META_FILE)
            .read_to_end(&mut buf)
            .map_err(bad)?;
        out.write_all(&buf).map_err(io_err("write", &path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_and_dir() {
        assert_eq!(
            cache_base(0, Path::new("/root"), None),
            PathBuf::from("/var/cache/lxc")
        );
        assert_eq!(
            cache_base(1000, Path::new("/home/u"), None),
            PathBuf::from("/home/u/.cache/lxc")
        );
        assert_eq!(
            cache_base(1000, Path::new("/home/u"), Some("/tmp/c".into())),
            PathBuf::from("/tmp/c")
        );
        assert_eq!(
            cache_base(1000, Path::new("/h"), Some("".into())),
            PathBuf::from("/h/.cache/lxc")
        );
        let d = cache_dir(Path::new("/c"), "debian", "bookworm", "amd64", "default");
        assert_eq!(
            d,
            PathBuf::from("/c/download/debian/bookworm/amd64/default")
        );
        assert_eq!(
            staging_dir(&d),
            PathBuf::from("/c/download/debian/bookworm/amd64/.default.lxu-partial")
        );
    }

    #[test]
    fn staging_survives_only_for_the_same_build() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("download/d/r/a/v");
        let s = open_staging(&dir, "1").unwrap();
        fs::write(s.join("rootfs.tar.xz"), "part").unwrap();
        let s = open_staging(&dir, "1").unwrap();
        assert!(s.join("rootfs.tar.xz").exists());
        let s = open_staging(&dir, "2").unwrap();
        assert!(!s.join("rootfs.tar.xz").exists());
    }

    #[test]
    fn lock_is_exclusive_across_open_file_descriptions() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("download/d/r/a/v");
        let p = Progress::quiet();
        let held = CacheLock::exclusive(&dir, &p).unwrap();
        let other = File::open(sibling(&dir, "lxu-lock")).unwrap();
        assert_eq!(
            rustix::fs::flock(&other, FlockOperation::NonBlockingLockShared),
            Err(Errno::WOULDBLOCK)
        );
        held.downgrade().unwrap();
        rustix::fs::flock(&other, FlockOperation::NonBlockingLockShared).unwrap();
        rustix::fs::flock(&other, FlockOperation::Unlock).unwrap();
        assert_eq!(
            rustix::fs::flock(&other, FlockOperation::NonBlockingLockExclusive),
            Err(Errno::WOULDBLOCK)
        );
        drop(held);
        rustix::fs::flock(&other, FlockOperation::NonBlockingLockExclusive).unwrap();
    }

    /// A download killed between assembling the new cache dir and swapping it in (or
    /// before removing the swapped-out old one) leaves a `.<variant>.lxu-new-*` dir: the
    /// next install removes it, and keeps the staging dir and the cache itself.
    #[test]
    fn install_removes_what_a_killed_install_left() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("default");
        let stale = t.path().join(".default.lxu-new-abc123");
        fs::create_dir_all(stale.join("sub")).unwrap();
        fs::write(stale.join(ROOTFS), b"old").unwrap();
        let staging = staging_dir(&dir);
        fs::create_dir_all(&staging).unwrap();
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(ROOTFS), b"cached").unwrap();
        discard_stale_new(&dir).unwrap();
        assert!(!stale.exists());
        assert!(staging.is_dir());
        assert_eq!(fs::read(dir.join(ROOTFS)).unwrap(), b"cached");
    }
}
