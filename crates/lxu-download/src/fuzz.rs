//! Bodies of the `cargo fuzz` targets (`fuzz/`), shared with the corpus tests that run
//! on stable (`tests/fuzz_corpus.rs`), so CI replays every corpus input and crash
//! through the same code. Not an API.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::index::{self, ListFilter};
use crate::manifest::{serial_time, BuildInfo, Sums};
use crate::meta::{self, Mode};
use crate::unpack::{unpack_reader, Excludes, UnpackOptions};

/// The `index` target: an index that parses serializes back to the same entries, and
/// the lookups used for `--list` and for "no such image" errors take whatever it holds.
pub fn index(data: &[u8]) {
    let Ok(idx) = index::parse_bytes(data) else {
        return;
    };
    let again = index::parse(&index::serialize(&idx.entries)).expect("a serialized index parses");
    assert_eq!(again, idx, "the index does not survive serialization");
    let _ = idx.listing(&ListFilter::default());
    for e in idx.entries.iter().take(4) {
        let _ = idx.select(&e.dist, &e.release, &e.arch, &e.variant);
        let _ = idx.alternatives(&e.dist, &e.release, "none", &e.variant);
        let _ = idx.alternatives(&e.dist, "none", &e.arch, &e.variant);
        let f = ListFilter {
            dist: Some(&e.dist),
            release: None,
            arch: Some(&e.arch),
            variant: None,
        };
        let _ = idx.listing(&f);
    }
    let _ = idx.alternatives("none", "none", "none", "none");
}

/// The `manifest` target: `SHA256SUMS`, `image.info` and build serials.
pub fn manifest(data: &[u8]) {
    if let Ok(sums) = Sums::parse(data) {
        for name in sums.files.keys() {
            let h = sums.get(name).expect("a listed name is found");
            assert!(h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }
    if let Ok(info) = BuildInfo::parse(data) {
        let _ = info.describe();
        let _ = serial_time(&info.serial);
    }
    let _ = serial_time(&String::from_utf8_lossy(data));
}

/// Metadata files the `meta` input is split into (at NUL bytes), in order.
const META_FILES: [&str; 7] = [
    "config",
    "fstab",
    "excludes-user",
    "templates",
    "create-message",
    "expiry",
    "config-user",
];

/// The `meta` target: an image's metadata directory, read in both modes, and its
/// exclude patterns matched against its template paths (the patterns are shell
/// wildcards a server chooses, so matching must stay cheap on any of them).
pub fn meta(data: &[u8]) {
    let dir = tempfile::tempdir().expect("scratch directory");
    for (name, part) in META_FILES.iter().zip(data.split(|b| *b == 0)) {
        fs::write(dir.path().join(name), part).expect("scratch file");
    }
    for mode in [Mode::User, Mode::System] {
        let _ = meta::read_expiry(dir.path(), mode, 7);
        if let Ok(m) = meta::read(dir.path(), mode, 7) {
            let ex = Excludes::new(&m.excludes);
            for t in m.templates.iter().chain(&m.excludes).take(16) {
                let _ = ex.matches(t.as_bytes());
            }
        }
    }
}

/// What the `unpack` target's scratch directory holds besides the rootfs; nothing may
/// change it.
const CANARY: &[u8] = b"outside the rootfs\n";

/// The `unpack` target: a tarball (plain, xz or zstd, by magic) unpacked into a fresh
/// rootfs, next to a directory it must not reach. Whatever the tarball holds (`..`
/// names, symlinks or hard links out, a symlink replacing a directory, absolute names),
/// nothing outside the rootfs may be created or written, and the rootfs stays a
/// directory. Symlinks in seed inputs point at `../outside` and `../../outside` so a
/// breakout would land where this looks.
pub fn unpack(data: &[u8]) {
    let base = tempfile::tempdir().expect("scratch directory");
    let rootfs = base.path().join("rootfs");
    let outside = base.path().join("outside");
    fs::create_dir(&rootfs).expect("rootfs");
    fs::create_dir(&outside).expect("outside");
    fs::write(outside.join("canary"), CANARY).expect("canary");
    let opts = UnpackOptions {
        excludes: vec!["./dev/*".into(), "./etc/excluded".into()],
        preserve_owner: false,
        xz_threads: Some(1),
    };
    let _ = unpack_reader(data, &rootfs, &opts, "fuzz.tar");

    let rootfs_meta = fs::symlink_metadata(&rootfs).expect("rootfs still exists");
    assert!(rootfs_meta.is_dir(), "the rootfs was replaced");
    assert_eq!(
        names(base.path()),
        ["outside", "rootfs"],
        "written next to the rootfs"
    );
    assert_eq!(names(&outside), ["canary"], "written outside the rootfs");
    let canary = fs::symlink_metadata(outside.join("canary")).expect("canary");
    assert!(canary.is_file(), "the canary was replaced");
    // A hard link to it from the rootfs would let the container write it later.
    assert_eq!(canary.nlink(), 1, "the canary was linked into the rootfs");
    assert_eq!(fs::read(outside.join("canary")).expect("canary"), CANARY);
    // Members may make directories without search permission; the cleanup needs it.
    open_up(&rootfs);
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("read scratch directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn open_up(dir: &Path) {
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            open_up(&e.path());
        }
    }
}
