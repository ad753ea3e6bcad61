//! Safe extraction of a rootfs tarball (`tar --anchored --exclude… --numeric-owner
//! -xpJf` in `lxc-download`).
//!
//! Meant to run inside the container's user namespace as its root. The `tar` crate
//! only parses; every node is created (in `members.rs`) relative to a directory fd of
//! the rootfs, with parents resolved by `openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS)`
//! and the last component created with `O_EXCL`/`O_NOFOLLOW`-style calls, so no
//! member name, symlink or hard link can reach outside the rootfs.

mod decode;
mod exclude;
mod members;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustix::fs::{Mode, OFlags};

pub(crate) use decode::MemlimitTap;
pub(crate) use decode::XZ_MEMLIMIT;
pub(crate) use exclude::Excludes;

use lxu_progress::{Bar, BarReader};
use members::Unpacker;

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("cannot open `{path}`")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("corrupt or unreadable tarball `{tarball}`")]
    Corrupt {
        tarball: String,
        #[source]
        source: Corruption,
    },
    #[error(
        "`{tarball}` needs more than the {limit_mib} MiB of memory allowed to the xz \
         decoder (its dictionary is too large): refusing it"
    )]
    XzMemLimit { tarball: String, limit_mib: u64 },
    #[error(
        "tarball `{tarball}` has a GNU sparse member `{name}` (expanding to {size} bytes): \
         sparse members are refused, an image has no use for them"
    )]
    Sparse {
        tarball: String,
        name: String,
        size: u64,
    },
    #[error("unsafe member name `{name}` in the tarball (contains `..`)")]
    UnsafePath { name: String },
    #[error("hard link `{name}` points outside the rootfs (`{target}`)")]
    UnsafeLink { name: String, target: String },
    #[error("hard link `{name}`: target `{target}` does not exist in the rootfs")]
    MissingLinkTarget { name: String, target: String },
    #[error("cannot write `{path}` in the rootfs: No space left on device")]
    NoSpace { path: String },
    #[error("`{path}` in the rootfs is not a directory (needed for `{entry}`)")]
    NotDirectory { path: String, entry: String },
    #[error("cannot {op} `{path}` in the rootfs")]
    Fs {
        op: &'static str,
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot chown `{path}` to {uid}:{gid} in the rootfs")]
    Chown {
        path: String,
        uid: u32,
        gid: u32,
        #[source]
        source: io::Error,
    },
}

/// What is wrong with a tarball that cannot be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum Corruption {
    #[error(transparent)]
    Read(#[from] io::Error),
    #[error("xz decoder")]
    XzDecoder(#[source] liblzma::stream::Error),
    #[error("zstd decoder")]
    ZstdDecoder(#[source] io::Error),
    #[error("symlink `{name}` has no target")]
    NoSymlinkTarget { name: String },
    #[error("member `{name}` has unsupported type {kind}")]
    UnsupportedType { name: String, kind: String },
    #[error("bad pax {field}")]
    BadPax { field: &'static str },
    #[error("owner of `{name}` is out of range")]
    OwnerOutOfRange { name: String },
    #[error("owner of `{name}` is -1")]
    OwnerUnset { name: String },
}

/// How to unpack.
#[derive(Debug, Clone)]
pub struct UnpackOptions {
    /// `excludes-user` lines.
    pub excludes: Vec<String>,
    /// Apply the numeric uid/gid of each member (GNU tar does as root).
    pub preserve_owner: bool,
    /// Decoder threads for multi-block xz (`None`: the number of CPUs).
    pub xz_threads: Option<u32>,
}

impl UnpackOptions {
    /// Owners are applied when running as (namespace) root, like GNU tar.
    pub fn new(excludes: Vec<String>) -> UnpackOptions {
        UnpackOptions {
            excludes,
            preserve_owner: rustix::process::geteuid().is_root(),
            xz_threads: None,
        }
    }
}

/// What an unpack did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnpackStats {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    pub fifos: u64,
    pub skipped_devices: u64,
    pub skipped_excludes: u64,
    /// Extended attributes that could not be set (EPERM/EOPNOTSUPP) and were skipped.
    pub skipped_xattrs: u64,
    /// Bytes of regular file content written.
    pub bytes: u64,
}

/// Opens a tarball (xz, zstd or plain, told apart by magic bytes) and unpacks it.
/// `bar`, when given, advances with the compressed bytes read.
pub fn unpack_file(
    tarball: &Path,
    rootfs: &Path,
    opts: &UnpackOptions,
    bar: Option<&Bar>,
) -> Result<UnpackStats, UnpackError> {
    let f = File::open(tarball).map_err(|source| UnpackError::Open {
        path: tarball.into(),
        source,
    })?;
    if let Some(b) = bar {
        if let Ok(m) = f.metadata() {
            b.set_length(m.len());
        }
    }
    let label = tarball.display().to_string();
    match bar {
        Some(b) => unpack_reader(BarReader { inner: f, bar: b }, rootfs, opts, &label),
        None => unpack_reader(f, rootfs, opts, &label),
    }
}

/// Decompresses (by magic) and unpacks a tarball stream into `rootfs`.
pub fn unpack_reader<'r, R: Read + 'r>(
    reader: R,
    rootfs: &Path,
    opts: &UnpackOptions,
    label: &str,
) -> Result<UnpackStats, UnpackError> {
    let corrupt = |source| UnpackError::Corrupt {
        tarball: label.to_string(),
        source,
    };
    let memlimit_hit = Arc::new(AtomicBool::new(false));
    let decoded = decode::decompress(reader, opts.xz_threads, &memlimit_hit).map_err(corrupt)?;
    let root = rustix::fs::open(
        rootfs,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| UnpackError::Open {
        path: rootfs.into(),
        source: e.into(),
    })?;
    let unpacker = Unpacker::new(root, opts, label);
    match unpacker.run(decoded) {
        Ok(stats) => Ok(stats),
        Err(_) if memlimit_hit.load(Ordering::Relaxed) => Err(UnpackError::XzMemLimit {
            tarball: label.to_string(),
            limit_mib: XZ_MEMLIMIT >> 20,
        }),
        Err(e) => Err(e),
    }
}
