//! Issue 11 findings 3 and 7 replayed against prepare(): files of another build
//! swapped in, an old index replayed, oversized downloads, xz bombs and GNU sparse
//! members, each served by the loopback test server.

mod common;

use common::*;
use lxu_download::index::IndexEntry;
use lxu_download::ImageError;

const OLD: &str = "20240101_05:24";
const NEW: &str = "20240201_05:24";

/// The files of a build with a signed SHA256SUMS (without image.info).
const BUILD_FILES: [&str; 6] = [
    "rootfs.tar.xz",
    "rootfs.tar.xz.asc",
    "meta.tar.xz",
    "meta.tar.xz.asc",
    "SHA256SUMS",
    "SHA256SUMS.asc",
];

impl Fixture {
    /// A bound build whose files say which build they are; `expiry` 1000 makes every
    /// later run consult the index.
    fn publish(&self, build: &str, expiry: u64) -> IndexEntry {
        let e = self.repo.publish(
            "debian",
            "bookworm",
            build,
            &small_rootfs(build),
            &meta_tarball(expiry, &format!("built {build}\n")),
        );
        self.repo.add_sums(&e, true);
        e
    }

    /// Serves the files `names` of build `from` in place of build `to`'s.
    fn swap_in(&self, from: &IndexEntry, to: &IndexEntry, names: &[&str]) {
        for n in names {
            let file = |e: &IndexEntry| self.repo.file(&format!("{}{n}", e.path));
            std::fs::copy(file(from), file(to)).unwrap();
        }
    }
}

fn marker(img: &lxu_download::CachedImage) -> String {
    let t = tempfile::tempdir().unwrap();
    let opts = lxu_download::UnpackOptions {
        excludes: vec!["./dev/null".into()],
        preserve_owner: false,
        xz_threads: Some(1),
    };
    lxu_download::unpack::unpack_file(&img.rootfs_tarball, t.path(), &opts, None).unwrap();
    std::fs::read_to_string(t.path().join("etc/marker")).unwrap()
}

#[test]
fn bound_repository_downloads_without_warnings_and_keeps_the_manifest() {
    let f = Fixture::new();
    let e = f.publish(OLD, FUTURE);
    f.repo.write_index(&[e]);
    let (img, out) = f.prepare(&deb());
    let img = img.unwrap();
    assert_eq!(
        out,
        "Downloading the image index\nDownloading the rootfs\nDownloading the metadata\nThe image cache is now ready\n"
    );
    assert_eq!(marker(&img), OLD);
    for name in ["SHA256SUMS", "SHA256SUMS.asc", "image.info", "build_id"] {
        assert!(f.dir().join(name).is_file(), "{name} missing in cache");
    }
    // SHA256SUMS vouches for the files: their own signatures are not fetched.
    assert!(f.server.hits("rootfs.tar.xz.asc").is_empty());
    assert_eq!(f.server.hits("//SHA256SUMS.asc").len(), 1);
    assert_eq!(f.server.hits("//image.info").len(), 1);

    drop(img);
    // A cache file changed behind lxu's back is caught by the kept SHA256SUMS.
    std::fs::write(f.dir().join("rootfs.tar.xz"), small_rootfs("evil")).unwrap();
    let (img, out) = f.prepare(&deb());
    assert!(
        out.starts_with(
            "The cached copy cannot be verified (rootfs.tar.xz does not match its SHA256SUMS)"
        ),
        "{out}"
    );
    assert_eq!(marker(&img.unwrap()), OLD);
}

/// Finding 3 (a): the index names build NEW; the server hands out the rootfs of
/// build OLD, properly signed by the same key. The old client checked it against
/// its own `.asc` only and cached OLD's rootfs as build NEW.
#[test]
fn rootfs_of_another_build_is_refused_and_the_cache_is_untouched() {
    let f = Fixture::new();
    let old = f.publish(OLD, 1_000);
    f.repo.write_index(std::slice::from_ref(&old));
    f.prepare(&deb()).0.unwrap();
    let before = snapshot(&f.dir());

    let new = f.publish(NEW, FUTURE);
    f.repo.write_index(&[old.clone(), new.clone()]);
    f.swap_in(&old, &new, &["rootfs.tar.xz", "rootfs.tar.xz.asc"]);
    let (r, _) = f.prepare(&deb());
    let err = r.unwrap_err();
    let msg = shown(&err);
    assert!(matches!(err, ImageError::HashMismatch { .. }), "{msg}");
    assert!(
        msg.contains(&format!("{NEW}//rootfs.tar.xz` does not match the signed")),
        "{msg}"
    );
    assert_eq!(snapshot(&f.dir()), before, "cache changed");
    assert!(
        !lxu_download::cache::staging_dir(&f.dir()).exists(),
        "a refused download was kept for resuming"
    );

    // The whole build directory of OLD served as NEW's (its SHA256SUMS and
    // image.info are genuine too): image.info names the wrong build.
    f.swap_in(&old, &new, &BUILD_FILES);
    f.swap_in(&old, &new, &["image.info", "image.info.asc"]);
    let (r, _) = f.prepare(&deb());
    let err = r.unwrap_err();
    let msg = shown(&err);
    assert!(matches!(err, ImageError::WrongBuild { .. }), "{msg}");
    assert!(
        msg.contains(&format!(
            "names debian bookworm amd64 default build {OLD}, but the signed index chose \
             debian bookworm amd64 default build {NEW}"
        )),
        "{msg}"
    );
    assert_eq!(snapshot(&f.dir()), before, "cache changed");

    // Removing SHA256SUMS to fall back to per-file signatures is refused too: the
    // cached build was bound.
    std::fs::remove_file(f.repo.file(&format!("{}SHA256SUMS", new.path))).unwrap();
    let (r, _) = f.prepare(&deb());
    let err = r.unwrap_err();
    assert!(matches!(err, ImageError::LostBinding { .. }), "{err}");
    assert!(shown(&err).contains("--allow-downgrade"), "{err}");
    assert_eq!(snapshot(&f.dir()), before, "cache changed");
}

/// Finding 3 (b): after NEW was cached, the server replays the old signed index
/// (naming OLD) with OLD's files.
#[test]
fn replayed_old_index_is_refused_unless_allow_downgrade() {
    let f = Fixture::new();
    let old = f.publish(OLD, 1_000);
    let new = f.publish(NEW, 1_000);
    f.repo.write_index(&[old.clone(), new]);
    assert_eq!(f.prepare(&deb()).0.unwrap().build_id, NEW);
    let before = snapshot(&f.dir());

    f.repo.write_index(&[old]);
    for extra in [&[][..], &["--flush-cache"]] {
        let (r, _) = f.prepare(&with(extra));
        let err = r.unwrap_err();
        assert!(
            matches!(err, ImageError::Rollback { .. }),
            "{extra:?}: {err}"
        );
        assert_eq!(
            shown(&err),
            format!(
                "the index offers build {OLD} of `debian bookworm amd64 default`, older than \
                 the cached build {NEW}: refusing a downgrade (a replayed old index looks like \
                 this; --allow-downgrade accepts it)"
            )
        );
        assert_eq!(snapshot(&f.dir()), before, "{extra:?}: cache changed");
    }
    let (r, _) = f.prepare(&with(&["--allow-downgrade"]));
    let img = r.unwrap();
    assert_eq!(img.build_id, OLD);
    assert_eq!(marker(&img), OLD);
}

/// Finding 7: a rootfs larger than the size in the signed image.info is cut off as
/// soon as it passes that size, whether or not the server announces its length.
#[test]
fn download_larger_than_its_signed_size_is_refused_early() {
    let f = Fixture::new();
    let e = f.publish(OLD, FUTURE);
    f.repo.write_index(std::slice::from_ref(&e));
    let rootfs = f.repo.file(&format!("{}rootfs.tar.xz", e.path));
    let signed = std::fs::metadata(&rootfs).unwrap().len();
    let mut big = std::fs::read(&rootfs).unwrap();
    big.resize(8 << 20, 0);
    std::fs::write(&rootfs, &big).unwrap();
    let want = format!(
        "{OLD}//rootfs.tar.xz` is larger than the {signed} bytes allowed for it by the signed \
         image.info: download aborted"
    );

    // Announced length: refused before the body is read.
    let msg = f.failure(&deb());
    assert!(msg.ends_with(&want), "{msg}");
    assert_eq!(f.server.hits("//rootfs.tar.xz").len(), 1, "retried");

    // No announced length: refused as soon as the signed size is passed.
    f.server.without_length("rootfs.tar.xz");
    let msg = f.failure(&deb());
    assert!(msg.ends_with(&want), "{msg}");
    assert!(!f.dir().exists(), "nothing cached");
    assert!(!lxu_download::cache::staging_dir(&f.dir()).exists());
}

/// Finding 7 without a manifest (an LXC-style repository): per-kind caps.
#[test]
fn huge_downloads_without_a_manifest_hit_the_cap() {
    let f = Fixture::new();
    let e = f.repo.publish(
        "debian",
        "bookworm",
        OLD,
        &small_rootfs(OLD),
        &meta_tarball(FUTURE, "m"),
    );
    f.repo.write_index(std::slice::from_ref(&e));

    // A rootfs announced at 5 GiB is refused without reading any of it.
    f.server.claim_length("//rootfs.tar.xz", 5 << 30);
    let msg = f.failure(&deb());
    assert!(
        msg.ends_with(
            "//rootfs.tar.xz` is larger than the 4294967296 bytes allowed for it (the cap for \
             rootfs.tar.xz): download aborted"
        ),
        "{msg}"
    );
    assert_eq!(f.server.hits("//rootfs.tar.xz").len(), 1, "retried");

    // A metadata tarball of 80 MiB sent without a length stops at the 64 MiB cap.
    let f = Fixture::new();
    let mut meta = meta_tarball(FUTURE, "m");
    meta.resize(80 << 20, 0);
    let e = f
        .repo
        .publish("debian", "bookworm", OLD, &small_rootfs(OLD), &meta);
    f.repo.write_index(std::slice::from_ref(&e));
    f.server.without_length("meta.tar.xz");
    let msg = f.failure(&deb());
    assert!(
        msg.ends_with(
            "//meta.tar.xz` is larger than the 67108864 bytes allowed for it (the cap for \
             meta.tar.xz): download aborted"
        ),
        "{msg}"
    );
    assert!(!f.dir().exists(), "nothing cached");
}

/// Finding 7: a metadata tarball whose xz header asks for a 4 GiB dictionary.
#[test]
fn xz_bomb_metadata_is_refused_with_a_clear_error() {
    let f = Fixture::new();
    let mut t = Tar::new();
    t.file("./config-user", b"lxc.arch = x86_64\n", 0o644);
    let meta = xz_bomb(&t.tar());
    let e = f
        .repo
        .publish("debian", "bookworm", OLD, &small_rootfs(OLD), &meta);
    f.repo.add_sums(&e, true);
    f.repo.write_index(&[e]);
    let msg = f.failure(&deb());
    assert!(
        msg.ends_with(
            "meta.tar.xz`: it needs more than the 1024 MiB of memory allowed to the xz decoder"
        ),
        "{msg}"
    );
    assert!(!f.dir().exists(), "nothing cached");
}

/// LXC's repositories sign a SHA256SUMS that names no build (no image.info). They
/// work, with a warning; the files are still bound to each other, and an older
/// build's whole directory served for a newer build is caught by the time of its
/// signature.
#[test]
fn lxc_style_sums_without_image_info() {
    let f = Fixture::new();
    let old = f.repo.publish(
        "debian",
        "bookworm",
        OLD,
        &small_rootfs(OLD),
        &meta_tarball(1_000, "m"),
    );
    f.repo.add_sums(&old, false);
    f.repo.write_index(std::slice::from_ref(&old));
    let (img, out) = f.prepare(&deb());
    assert_eq!(marker(&img.unwrap()), OLD);
    let sums_url = format!("{}/{}/SHA256SUMS", f.server.url(), old.path);
    assert!(
        out.contains(&format!(
            "WARNING: `{sums_url}` lists no image.info naming its build: the files are bound \
             to each other but not to build {OLD}\n"
        )),
        "{out}"
    );
    assert!(f.dir().join("SHA256SUMS").is_file());
    let before = snapshot(&f.dir());

    // A later build (its serial in the future, so any signature made today predates
    // it) whose directory holds OLD's files, SHA256SUMS and signatures included.
    const LATE: &str = "20990101_00:00";
    let late = f.repo.publish(
        "debian",
        "bookworm",
        LATE,
        &small_rootfs(LATE),
        &meta_tarball(FUTURE, "m"),
    );
    f.repo.add_sums(&late, false);
    f.swap_in(&old, &late, &BUILD_FILES);
    f.repo.write_index(std::slice::from_ref(&late));
    let msg = f.failure(&deb());
    assert!(
        // The year of today's signature.
        msg.contains("SHA256SUMS` was signed on 20")
            && msg.ends_with(&format!(
                "UTC, before build {LATE} was made: it belongs to an older build"
            )),
        "{msg}"
    );
    assert_eq!(snapshot(&f.dir()), before, "cache changed");
}
