//! Building an image: make a root file system from a [`Recipe`], then pack it
//! into `rootfs.tar.xz` (+ optional `rootfs.tar.zst`) and `meta.tar.xz`.

mod busybox;
mod debian;

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

pub use crate::compress::XzOptions;
use crate::error::{io_err, IoError};
use crate::image_id::{validate_field, ImageId, ImageIdError};
use crate::info::{self, ImageInfo, InfoError};
use crate::meta::{ConfigIncludes, MetaSpec};
use crate::recipe::{host_arch, Recipe};
use crate::tarball::{self, TarError, TarOptions};
use crate::timefmt;
use crate::ServerError;
use lxu_progress::{BarWriter, Progress};

pub(crate) const ROOTFS_XZ: &str = "rootfs.tar.xz";
pub(crate) const ROOTFS_ZST: &str = "rootfs.tar.zst";
pub(crate) const META_XZ: &str = "meta.tar.xz";

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("cannot pack the root file system")]
    Tar(#[from] TarError),
    #[error("`{path}` already exists; remove it or build into another directory")]
    RootfsExists { path: PathBuf },
    #[error("`{command}` failed ({status}); last lines of `{log}`:\n{tail}")]
    Command {
        command: String,
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("cannot run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Busybox(#[from] lxu_busybox::BusyboxError),
    #[error("{what} must run as root")]
    NotRoot { what: &'static str },
    #[error("`{path}` is still mounted inside the root file system")]
    StillMounted { path: PathBuf },
    #[error("invalid serial or release")]
    Field(#[from] ImageIdError),
    #[error("cannot read `{path}`")]
    Info {
        path: PathBuf,
        #[source]
        source: InfoError,
    },
    #[error("build output `{path}` is missing")]
    MissingOutput { path: PathBuf },
}

/// How to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Build serial; `None` = `date -u +%Y%m%d_%H:%M` of `build_time`.
    pub serial: Option<String>,
    /// `None` = now.
    pub build_time: Option<SystemTime>,
    /// Written into `expiry` as build time + this (distrobuilder's default: 30 days).
    pub expiry: Duration,
    pub xz: XzOptions,
    /// Also write `rootfs.tar.zst` at this level.
    pub zstd_level: Option<i32>,
    /// Replaces the recipe's default `create-message`.
    pub create_message: Option<String>,
    /// Leave the unpacked tree in `<out_dir>/rootfs` (for inspection).
    pub keep_rootfs: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            serial: None,
            build_time: None,
            expiry: Duration::from_secs(30 * 86_400),
            xz: XzOptions::default(),
            zstd_level: Some(19),
            create_message: None,
            keep_rootfs: false,
        }
    }
}

/// Figures about one build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildStats {
    pub rootfs_entries: u64,
    /// Uncompressed rootfs tar size.
    pub tar_bytes: u64,
    pub xz_bytes: u64,
    pub zst_bytes: Option<u64>,
    pub meta_bytes: u64,
    pub xz_block_size: u64,
    /// Number of xz blocks (tar size / block size, rounded up).
    pub xz_blocks: u64,
    pub device_nodes: usize,
    /// Time spent making the tree (busybox copy, debootstrap).
    pub rootfs_time: Duration,
    /// Time spent writing the tarballs.
    pub pack_time: Duration,
}

/// A finished build in its output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    pub dir: PathBuf,
    pub info: ImageInfo,
    pub stats: BuildStats,
}

impl BuiltImage {
    pub fn rootfs_xz(&self) -> PathBuf {
        self.dir.join(ROOTFS_XZ)
    }
    pub fn meta_xz(&self) -> PathBuf {
        self.dir.join(META_XZ)
    }
    pub fn rootfs_zst(&self) -> Option<PathBuf> {
        let p = self.dir.join(ROOTFS_ZST);
        self.info.files.iter().any(|f| f == ROOTFS_ZST).then_some(p)
    }

    /// The id this build gets when published as `variant` under its own
    /// dist/release/arch/serial.
    pub fn image_id(&self, variant: &str) -> ImageId {
        ImageId::new(
            &self.info.dist,
            &self.info.release,
            &self.info.arch,
            variant,
            &self.info.serial,
        )
    }

    /// Re-opens a build made earlier (for publishing from another process).
    pub fn load(dir: &Path) -> Result<BuiltImage, BuildError> {
        let path = dir.join(info::FILE_NAME);
        let text = fs::read_to_string(&path).map_err(io_err("read", &path))?;
        let info = ImageInfo::parse(&text).map_err(|source| BuildError::Info {
            path: path.clone(),
            source,
        })?;
        for f in &info.files {
            let p = dir.join(f);
            if !p.is_file() {
                return Err(BuildError::MissingOutput { path: p });
            }
        }
        Ok(BuiltImage {
            dir: dir.to_path_buf(),
            info,
            stats: BuildStats::default(),
        })
    }
}

/// What a recipe hands to the packer.
pub(crate) struct Rootfs {
    pub release: String,
    pub includes: ConfigIncludes,
    pub extra_config: Vec<String>,
    pub templates: Vec<String>,
    pub create_message: String,
    pub owner: Option<(u32, u32)>,
    /// Lowest compat level for the user index, when higher than the config's.
    pub min_compat_user: Option<u8>,
}

/// Builds `recipe` into `out_dir`: `rootfs.tar.xz`, `meta.tar.xz`, optionally
/// `rootfs.tar.zst`, and `image.info`. The tree is made in `<out_dir>/rootfs`,
/// which must not exist yet. `progress` is told each step and the bytes packed.
pub fn build(
    recipe: &Recipe,
    out_dir: &Path,
    opts: &BuildOptions,
    progress: &Progress,
) -> Result<BuiltImage, ServerError> {
    Ok(build_inner(recipe, out_dir, opts, progress)?)
}

fn build_inner(
    recipe: &Recipe,
    out_dir: &Path,
    opts: &BuildOptions,
    progress: &Progress,
) -> Result<BuiltImage, BuildError> {
    fs::create_dir_all(out_dir).map_err(io_err("create", out_dir))?;
    let rootfs_dir = out_dir.join("rootfs");
    if fs::symlink_metadata(&rootfs_dir).is_ok() {
        return Err(BuildError::RootfsExists { path: rootfs_dir });
    }
    let build_time = opts.build_time.unwrap_or_else(SystemTime::now);
    let build_secs = timefmt::unix_seconds(build_time);
    let serial = opts
        .serial
        .clone()
        .unwrap_or_else(|| timefmt::serial(build_time));
    validate_field("build", &serial)?;
    let (arch, personality) = host_arch();

    let started = Instant::now();
    let made = match recipe {
        Recipe::Busybox(r) => {
            progress.step("Making the root file system from busybox");
            busybox::make(r, &rootfs_dir, build_secs)
        }
        Recipe::Debian(r) => {
            progress.step(&format!(
                "Running debootstrap (its output goes to `{}`)",
                out_dir.join(debian::LOG).display()
            ));
            debian::make(r, &rootfs_dir, out_dir)
        }
    };
    let rootfs = match made {
        Ok(r) => r,
        Err(e) => {
            remove_tree(&rootfs_dir);
            return Err(e);
        }
    };
    validate_field("release", &rootfs.release)?;
    let rootfs_time = started.elapsed();

    let started = Instant::now();
    let packed = pack(&rootfs_dir, out_dir, opts, rootfs.owner, progress);
    if !opts.keep_rootfs {
        remove_tree(&rootfs_dir);
    }
    let (mut stats, device_nodes) = packed?;
    stats.rootfs_time = rootfs_time;

    let expiry = build_secs + opts.expiry.as_secs();
    let create_message = opts.create_message.clone().unwrap_or_else(|| {
        rootfs
            .create_message
            .replace("{arch}", arch)
            .replace("{serial}", &serial)
    });
    let spec = MetaSpec {
        includes: rootfs.includes.clone(),
        personality: personality.to_string(),
        extra_config: rootfs.extra_config.clone(),
        templates: rootfs.templates.clone(),
        excludes_user: device_nodes,
        create_message,
        expiry,
    };
    let meta_path = out_dir.join(META_XZ);
    stats.meta_bytes = write_meta(&spec, &meta_path, &opts.xz, build_secs)?;
    stats.pack_time = started.elapsed();

    let mut files = vec![ROOTFS_XZ.to_string(), META_XZ.to_string()];
    if stats.zst_bytes.is_some() {
        files.push(ROOTFS_ZST.to_string());
    } else {
        // A stale .zst from an earlier build in the same directory must not be
        // published with this one.
        let _ = fs::remove_file(out_dir.join(ROOTFS_ZST));
    }
    let min_compat = rootfs.includes.min_compat();
    let info = ImageInfo {
        dist: recipe.dist().to_string(),
        release: rootfs.release,
        arch: arch.to_string(),
        variant: None,
        serial,
        build_time: build_secs,
        expiry,
        min_compat_system: min_compat,
        min_compat_user: rootfs.min_compat_user.unwrap_or(min_compat).max(min_compat),
        files,
    };
    let info_path = out_dir.join(info::FILE_NAME);
    fs::write(&info_path, info.render()).map_err(io_err("write", &info_path))?;
    Ok(BuiltImage {
        dir: out_dir.to_path_buf(),
        info,
        stats,
    })
}

fn pack(
    rootfs: &Path,
    out_dir: &Path,
    opts: &BuildOptions,
    owner: Option<(u32, u32)>,
    progress: &Progress,
) -> Result<(BuildStats, Vec<String>), BuildError> {
    progress.step("Packing the root file system");
    let estimate = tarball::estimate_size(rootfs).map_err(io_err("measure", rootfs))?;
    let block_size = opts.xz.effective_block_size(estimate);
    let xz_path = out_dir.join(ROOTFS_XZ);
    let xz_file = File::create(&xz_path).map_err(io_err("create", &xz_path))?;
    let xz = opts
        .xz
        .encoder(BufWriter::with_capacity(1 << 20, xz_file), estimate)
        .map_err(io_err("start xz for", &xz_path))?;
    let zst_path = out_dir.join(ROOTFS_ZST);
    let zst = match opts.zstd_level {
        Some(level) => {
            let f = File::create(&zst_path).map_err(io_err("create", &zst_path))?;
            Some(
                crate::compress::zstd_encoder(
                    BufWriter::with_capacity(1 << 20, f),
                    level,
                    opts.xz.effective_threads(),
                )
                .map_err(io_err("start zstd for", &zst_path))?,
            )
        }
        None => None,
    };
    let mut tee = crate::compress::Tee { a: xz, b: zst };
    let tar_opts = TarOptions {
        owner,
        xattrs: true,
    };
    let bar = progress.bar(Some(estimate), ROOTFS_XZ);
    let packing = BarWriter {
        inner: &mut tee,
        bar: &bar,
    };
    let tar_stats = tarball::write_tree(rootfs, packing, &tar_opts)?;
    bar.finish();
    let xz_bytes = finish(tee.a.finish(), &xz_path)?;
    let zst_bytes = match tee.b {
        Some(enc) => Some(finish(enc.finish(), &zst_path)?),
        None => None,
    };
    let stats = BuildStats {
        rootfs_entries: tar_stats.entries,
        tar_bytes: tar_stats.bytes,
        xz_bytes,
        zst_bytes,
        xz_block_size: block_size,
        xz_blocks: tar_stats.bytes.div_ceil(block_size),
        device_nodes: tar_stats.device_nodes.len(),
        ..BuildStats::default()
    };
    if !tar_stats.skipped.is_empty() {
        tracing::warn!(entries = ?tar_stats.skipped, "sockets left out of the rootfs tarball");
    }
    Ok((stats, tar_stats.device_nodes))
}

fn finish(result: io::Result<BufWriter<File>>, path: &Path) -> Result<u64, BuildError> {
    let w = result.map_err(io_err("compress into", path))?;
    let f = w
        .into_inner()
        .map_err(|e| IoError::new("write", path, e.into_error()))?;
    Ok(f.metadata().map_err(io_err("stat", path))?.len())
}

fn write_meta(spec: &MetaSpec, path: &Path, xz: &XzOptions, mtime: u64) -> Result<u64, BuildError> {
    let f = File::create(path).map_err(io_err("create", path))?;
    let enc = XzOptions {
        threads: 1,
        ..xz.clone()
    }
    .encoder(BufWriter::new(f), 0)
    .map_err(io_err("start xz for", path))?;
    let enc = spec.write_tar(enc, mtime).map_err(io_err("write", path))?;
    finish(enc.finish(), path)
}

/// Best-effort removal of a scratch tree. Refuses (and leaves it) if anything
/// is mounted inside: `remove_dir_all` would descend into the mount.
fn remove_tree(dir: &Path) {
    if fs::symlink_metadata(dir).is_err() {
        return;
    }
    match mounts_under(dir) {
        Ok(m) if m.is_empty() => {
            if let Err(e) = fs::remove_dir_all(dir) {
                tracing::warn!(path = %dir.display(), error = %e, "cannot remove build tree");
            }
        }
        Ok(m) => {
            tracing::warn!(path = %dir.display(), mounts = ?m, "build tree has mounts, left in place")
        }
        Err(e) => {
            tracing::warn!(path = %dir.display(), error = %e, "cannot read mountinfo, build tree left in place")
        }
    }
}

/// Mount points at or below `dir`, from /proc/self/mountinfo.
pub(crate) fn mounts_under(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let dir = fs::canonicalize(dir)?;
    let text = fs::read_to_string("/proc/self/mountinfo")?;
    Ok(text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(lxu_config::decode_octal)
        .map(PathBuf::from)
        .filter(|p| p.starts_with(&dir))
        .collect())
}

/// Runs `cmd`, sending its output to `log`; on failure the error carries the
/// log's last lines.
pub(crate) fn run_logged(mut cmd: std::process::Command, log: &Path) -> Result<(), BuildError> {
    let command = format!("{cmd:?}");
    let log_file = File::create(log).map_err(io_err("create", log))?;
    let log_err = log_file.try_clone().map_err(io_err("duplicate", log))?;
    let status = cmd
        .stdout(log_file)
        .stderr(log_err)
        .stdin(std::process::Stdio::null())
        .status()
        .map_err(|source| BuildError::Spawn {
            command: command.clone(),
            source,
        })?;
    if status.success() {
        return Ok(());
    }
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    Err(BuildError::Command {
        command,
        status: status.to_string(),
        log: log.to_path_buf(),
        tail,
    })
}

/// Writes a file with a mode, for recipes that assemble a tree by hand.
pub(crate) fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<(), BuildError> {
    use std::os::unix::fs::PermissionsExt;
    let mut f = File::create(path).map_err(io_err("create", path))?;
    f.write_all(data).map_err(io_err("write", path))?;
    f.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_err("chmod", path))?;
    Ok(())
}
