//! Publishing builds into a repository directory laid out like
//! images.linuxcontainers.org, and regenerating its indexes.
//!
//! Ordering guarantees (what a client fetching concurrently can see):
//! 1. A build is assembled in a hidden staging directory (hidden names are never
//!    served), every file fsynced, `SHA256SUMS` written last, then the directory
//!    is renamed into place: a build directory is complete or absent.
//! 2. Only then are the indexes rewritten, each by write-temp + fsync + rename,
//!    so an index never names a build whose files are not all there, and never
//!    appears half-written. The index and its `.asc` are two files: they are
//!    prepared first and renamed back to back, which keeps the window in which
//!    a GPG-era client could pair a new index with the old signature to two
//!    renames.
//! 3. Old builds are pruned last; a pruned directory is first renamed to a
//!    hidden name, so it disappears at once rather than file by file.
//!
//! All of this runs under an exclusive lock on `<repo>/.lock`.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::build::BuiltImage;
use crate::error::{io_err, IoError};
use crate::fsutil::{self, sync_dir};
use crate::image_id::{ImageId, ImageIdError};
use crate::info::{self, ImageInfo};
use crate::meta::MAX_COMPAT;
use crate::sign::{SignError, SigningKey};
use crate::ServerError;
use lxu_progress::Progress;

pub(crate) const SUMS: &str = "SHA256SUMS";
const MODES: [&str; 2] = ["system", "user"];

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("cannot sign `{path}`")]
    Sign {
        path: PathBuf,
        #[source]
        source: SignError,
    },
    #[error("build `{id}` is already published at `{path}`")]
    AlreadyPublished { id: String, path: PathBuf },
    #[error("invalid image id")]
    Id(#[from] ImageIdError),
    #[error("artifact name `{name}` is not a plain file name")]
    BadArtifact { name: String },
}

/// What [`publish`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishReport {
    /// The new build directory.
    pub build_dir: PathBuf,
    /// Files written into it (artifacts, `image.info`, `SHA256SUMS`, every `.asc`).
    pub files: Vec<PathBuf>,
    /// Index files that were (re)written, with their `.asc`.
    pub indexes: Vec<PathBuf>,
    /// Build directories removed by pruning.
    pub pruned: Vec<PathBuf>,
}

/// One build directory found in a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedBuild {
    pub id: ImageId,
    pub dir: PathBuf,
    /// Has `SHA256SUMS`, `rootfs.tar.xz` and `meta.tar.xz`.
    pub complete: bool,
    /// The build the indexes list for its image (the newest complete one).
    pub current: bool,
    pub min_compat_system: u8,
    pub min_compat_user: u8,
}

/// Copies `image` into `<repo>/images/<dist>/<release>/<arch>/<variant>/<build>/`,
/// signs every file, writes `SHA256SUMS`, regenerates the indexes and prunes
/// the image's builds beyond the newest `keep` (at least the current one stays).
/// `progress` is told the bytes of each file copied.
pub fn publish(
    repo: &Path,
    image: &BuiltImage,
    meta: ImageId,
    key: &SigningKey,
    keep: usize,
    progress: &Progress,
) -> Result<PublishReport, ServerError> {
    Ok(publish_inner(repo, image, &meta, key, keep, progress)?)
}

/// Lists every build directory of the repository, sorted by id.
pub fn scan(repo: &Path) -> Result<Vec<PublishedBuild>, ServerError> {
    Ok(scan_inner(repo)?)
}

/// Regenerates (and signs) the indexes from what is on disk, e.g. after builds
/// were removed by hand. Returns the index files that changed.
pub fn reindex(repo: &Path, key: &SigningKey) -> Result<Vec<PathBuf>, ServerError> {
    let _lock = lock(repo)?;
    Ok(write_indexes(repo, key)?)
}

fn lock(repo: &Path) -> Result<File, PublishError> {
    fs::create_dir_all(repo).map_err(io_err("create", repo))?;
    let path = repo.join(".lock");
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err("open", &path))?;
    f.lock().map_err(io_err("lock", &path))?;
    Ok(f)
}

fn publish_inner(
    repo: &Path,
    image: &BuiltImage,
    id: &ImageId,
    key: &SigningKey,
    keep: usize,
    progress: &Progress,
) -> Result<PublishReport, PublishError> {
    id.validate()?;
    let _lock = lock(repo)?;
    let image_dir = repo.join(id.image_dir());
    let build_dir = repo.join(id.build_dir());
    if fs::symlink_metadata(&build_dir).is_ok() {
        return Err(PublishError::AlreadyPublished {
            id: id.to_string(),
            path: build_dir,
        });
    }
    fs::create_dir_all(&image_dir).map_err(io_err("create", &image_dir))?;
    // Any staging directory left here is from a crashed publish (we hold the lock).
    remove_hidden_children(&image_dir)?;
    let staging = image_dir.join(format!(".staging-{}-{}", id.build, std::process::id()));
    fs::create_dir(&staging).map_err(io_err("create", &staging))?;

    let result = stage_build(&staging, image, id, key, progress);
    let staged = match result {
        Ok(files) => files,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    sync_dir(&staging).map_err(io_err("sync", &staging))?;
    fs::rename(&staging, &build_dir).map_err(io_err("move the staged build to", &build_dir))?;
    sync_dir(&image_dir).map_err(io_err("sync", &image_dir))?;

    let indexes = write_indexes(repo, key)?;
    let pruned = prune(&image_dir, keep)?;
    Ok(PublishReport {
        files: staged.iter().map(|n| build_dir.join(n)).collect(),
        build_dir,
        indexes,
        pruned,
    })
}

/// Writes the artifacts, `image.info`, `SHA256SUMS` and their signatures into
/// `staging`. Returns the names written.
fn stage_build(
    staging: &Path,
    image: &BuiltImage,
    id: &ImageId,
    key: &SigningKey,
    progress: &Progress,
) -> Result<Vec<String>, PublishError> {
    let mut sums: BTreeMap<String, String> = BTreeMap::new();
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    let mut written = Vec::new();
    for name in &image.info.files {
        if name.contains('/') || name.starts_with('.') || name == SUMS || name == info::FILE_NAME {
            return Err(PublishError::BadArtifact { name: name.clone() });
        }
        let src = image.dir.join(name);
        let dst = staging.join(name);
        let (sum, size, sig) = copy_hash_sign(&src, &dst, key, progress)?;
        write_durable(&staging.join(format!("{name}.asc")), sig.as_bytes())?;
        sums.insert(name.clone(), sum);
        sizes.insert(name.clone(), size);
        written.push(name.clone());
        written.push(format!("{name}.asc"));
    }
    let info = ImageInfo {
        dist: id.dist.clone(),
        release: id.release.clone(),
        arch: id.arch.clone(),
        variant: Some(id.variant.clone()),
        serial: id.build.clone(),
        ..image.info.clone()
    };
    // image.info names the build and, listed in the signed SHA256SUMS, binds every
    // file to it; the sizes let clients stop an oversized download early.
    let mut info_text = info.render();
    for (name, size) in &sizes {
        info_text.push_str(&format!("size.{name}={size}\n"));
    }
    let info_path = staging.join(info::FILE_NAME);
    write_signed(&info_path, info_text.as_bytes(), key)?;
    sums.insert(
        info::FILE_NAME.to_string(),
        hex(&Sha256::digest(info_text.as_bytes())),
    );
    written.push(info::FILE_NAME.into());
    written.push(format!("{}.asc", info::FILE_NAME));

    // sha256sum(1) format; written last, it marks the build complete.
    let text: String = sums.iter().map(|(n, s)| format!("{s}  {n}\n")).collect();
    write_signed(&staging.join(SUMS), text.as_bytes(), key)?;
    written.push(SUMS.into());
    written.push(format!("{SUMS}.asc"));
    Ok(written)
}

/// One read of `src` feeds the copy, the SHA-256, the size and the signature.
fn copy_hash_sign(
    src: &Path,
    dst: &Path,
    key: &SigningKey,
    progress: &Progress,
) -> Result<(String, u64, String), PublishError> {
    let input = File::open(src).map_err(io_err("open", src))?;
    let len = input.metadata().map_err(io_err("stat", src))?.len();
    let name = src.file_name().unwrap_or_default().to_string_lossy();
    let bar = progress.bar(Some(len), &name);
    let mut input = BufReader::with_capacity(1 << 20, input);
    let mut out = create_file(dst)?;
    let mut sha = Sha256::new();
    let mut signer = key.signer().map_err(|source| PublishError::Sign {
        path: src.to_path_buf(),
        source,
    })?;
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err("read", src)(e).into()),
        };
        out.write_all(&buf[..n]).map_err(io_err("write", dst))?;
        sha.update(&buf[..n]);
        size += n as u64;
        signer.write_all(&buf[..n]).map_err(io_err("hash", src))?;
        bar.inc(n as u64);
    }
    bar.finish();
    out.sync_all().map_err(io_err("sync", dst))?;
    let sig = signer.finish().map_err(|source| PublishError::Sign {
        path: src.to_path_buf(),
        source,
    })?;
    Ok((hex(&sha.finalize()), size, sig))
}

fn create_file(path: &Path) -> Result<File, PublishError> {
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .map_err(io_err("create", path))?;
    Ok(f)
}

fn write_durable(path: &Path, data: &[u8]) -> Result<(), PublishError> {
    let mut f = create_file(path)?;
    f.write_all(data).map_err(io_err("write", path))?;
    f.sync_all().map_err(io_err("sync", path))?;
    Ok(())
}

fn write_signed(path: &Path, data: &[u8], key: &SigningKey) -> Result<(), PublishError> {
    write_durable(path, data)?;
    let sig = key.sign_reader(data).map_err(|source| PublishError::Sign {
        path: path.to_path_buf(),
        source,
    })?;
    let mut asc = path.as_os_str().to_owned();
    asc.push(".asc");
    write_durable(Path::new(&asc), sig.as_bytes())
}

/// Index file name for a mode and compat level (level 5 is unsuffixed).
pub(crate) fn index_name(mode: &str, level: u8) -> String {
    if level >= MAX_COMPAT {
        format!("index-{mode}")
    } else {
        format!("index-{mode}.{level}")
    }
}

/// The text of every index file, by name.
fn render_indexes(builds: &[PublishedBuild]) -> BTreeMap<String, String> {
    let mut current: Vec<&PublishedBuild> = builds.iter().filter(|b| b.current).collect();
    current.sort_by(|a, b| a.id.cmp(&b.id));
    let mut out = BTreeMap::new();
    for mode in MODES {
        for level in 1..=MAX_COMPAT {
            let text: String = current
                .iter()
                .filter(|b| {
                    let min = if mode == "system" {
                        b.min_compat_system
                    } else {
                        b.min_compat_user
                    };
                    min <= level
                })
                .map(|b| b.id.index_line())
                .collect();
            out.insert(index_name(mode, level), text);
        }
    }
    out
}

fn write_indexes(repo: &Path, key: &SigningKey) -> Result<Vec<PathBuf>, PublishError> {
    let builds = scan_inner(repo)?;
    let dir = repo.join("meta/1.0");
    fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
    let mut changed = Vec::new();
    for (name, text) in render_indexes(&builds) {
        let path = dir.join(&name);
        let asc = dir.join(format!("{name}.asc"));
        if fs::read(&path).ok().as_deref() == Some(text.as_bytes()) && asc.is_file() {
            continue;
        }
        let sig = key
            .sign_reader(text.as_bytes())
            .map_err(|source| PublishError::Sign {
                path: path.clone(),
                source,
            })?;
        // Both files complete and durable before either becomes visible.
        let index =
            fsutil::prepare(&path, text.as_bytes(), 0o644).map_err(io_err("write", &path))?;
        let signature =
            fsutil::prepare(&asc, sig.as_bytes(), 0o644).map_err(io_err("write", &asc))?;
        index.commit().map_err(io_err("replace", &path))?;
        signature.commit().map_err(io_err("replace", &asc))?;
        changed.push(path);
        changed.push(asc);
    }
    sync_dir(&dir).map_err(io_err("sync", &dir))?;
    Ok(changed)
}

fn prune(image_dir: &Path, keep: usize) -> Result<Vec<PathBuf>, PublishError> {
    let mut complete: Vec<(String, PathBuf)> = list_visible_dirs(image_dir)?
        .into_iter()
        .filter(|(_, p)| is_complete(p))
        .collect();
    complete.sort();
    let keep = keep.max(1);
    let excess = complete.len().saturating_sub(keep);
    let mut pruned = Vec::new();
    // The newest builds are at the end; the current (indexed) one is the last.
    for (name, path) in complete.into_iter().take(excess) {
        let hidden = image_dir.join(format!(".pruning-{name}"));
        fs::rename(&path, &hidden).map_err(io_err("hide", &path))?;
        fs::remove_dir_all(&hidden).map_err(io_err("remove", &hidden))?;
        pruned.push(path);
    }
    if !pruned.is_empty() {
        sync_dir(image_dir).map_err(io_err("sync", image_dir))?;
    }
    Ok(pruned)
}

fn remove_hidden_children(dir: &Path) -> Result<(), PublishError> {
    for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        if entry.file_name().as_encoded_bytes().starts_with(b".") {
            let p = entry.path();
            tracing::info!(path = %p.display(), "removing leftover from an interrupted publish");
            if p.is_dir() {
                fs::remove_dir_all(&p).map_err(io_err("remove", &p))?;
            } else {
                fs::remove_file(&p).map_err(io_err("remove", &p))?;
            }
        }
    }
    Ok(())
}

fn is_complete(build_dir: &Path) -> bool {
    [SUMS, crate::build::ROOTFS_XZ, crate::build::META_XZ]
        .iter()
        .all(|f| build_dir.join(f).is_file())
}

/// Non-hidden subdirectories with UTF-8 names.
fn list_visible_dirs(dir: &Path) -> Result<Vec<(String, PathBuf)>, PublishError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("list", dir)(e).into()),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err("list", dir))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.')
            || !entry
                .file_type()
                .map_err(io_err("stat", &entry.path()))?
                .is_dir()
        {
            continue;
        }
        out.push((name, entry.path()));
    }
    out.sort();
    Ok(out)
}

fn scan_inner(repo: &Path) -> Result<Vec<PublishedBuild>, PublishError> {
    let mut builds = Vec::new();
    for (dist, d1) in list_visible_dirs(&repo.join("images"))? {
        for (release, d2) in list_visible_dirs(&d1)? {
            for (arch, d3) in list_visible_dirs(&d2)? {
                for (variant, d4) in list_visible_dirs(&d3)? {
                    let mut image_builds = Vec::new();
                    for (build, dir) in list_visible_dirs(&d4)? {
                        let id = ImageId::new(&dist, &release, &arch, &variant, &build);
                        if id.validate().is_err() {
                            continue;
                        }
                        let info = fs::read_to_string(dir.join(info::FILE_NAME))
                            .ok()
                            .and_then(|t| ImageInfo::parse(&t).ok());
                        let (sys, user) = info.map_or((MAX_COMPAT, MAX_COMPAT), |i| {
                            (i.min_compat_system, i.min_compat_user)
                        });
                        image_builds.push(PublishedBuild {
                            id,
                            complete: is_complete(&dir),
                            dir,
                            current: false,
                            min_compat_system: sys,
                            min_compat_user: user,
                        });
                    }
                    if let Some(newest) = image_builds
                        .iter_mut()
                        .filter(|b| b.complete)
                        .max_by(|a, b| a.id.build.cmp(&b.id.build))
                    {
                        newest.current = true;
                    }
                    builds.extend(image_builds);
                }
            }
        }
    }
    builds.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(builds)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pb(dist: &str, build: &str, current: bool, sys: u8, user: u8) -> PublishedBuild {
        PublishedBuild {
            id: ImageId::new(dist, "r", "amd64", "default", build),
            dir: PathBuf::new(),
            complete: true,
            current,
            min_compat_system: sys,
            min_compat_user: user,
        }
    }

    #[test]
    fn indexes_list_current_builds_by_compat_level() {
        let builds = vec![
            pb("debian", "20250101_00:00", false, 1, 1),
            pb("debian", "20250102_00:00", true, 1, 2),
            pb("busybox", "20250102_00:00", true, 5, 5),
        ];
        let idx = render_indexes(&builds);
        assert_eq!(idx.len(), 10);
        assert_eq!(
            idx["index-system"],
            "busybox;r;amd64;default;20250102_00:00;/images/busybox/r/amd64/default/20250102_00:00/\n\
             debian;r;amd64;default;20250102_00:00;/images/debian/r/amd64/default/20250102_00:00/\n"
        );
        assert_eq!(idx["index-system.4"].lines().count(), 1);
        assert!(idx["index-system.1"].starts_with("debian;"));
        assert_eq!(idx["index-user.1"], "");
        assert!(idx["index-user.2"].starts_with("debian;"));
    }

    #[test]
    fn index_names() {
        assert_eq!(index_name("user", 5), "index-user");
        assert_eq!(index_name("system", 1), "index-system.1");
    }
}
