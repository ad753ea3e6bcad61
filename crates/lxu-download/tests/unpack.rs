//! The unpacker against crafted tarballs, on the real filesystem.

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use common::*;
use lxu_download::unpack::{unpack_file, unpack_reader, UnpackError, UnpackOptions};
use lxu_test_support::{is_root, skip};

fn opts(excludes: &[&str]) -> UnpackOptions {
    let mut o = UnpackOptions::new(excludes.iter().map(|s| s.to_string()).collect());
    o.xz_threads = Some(2);
    o
}

/// A temp dir with `rootfs/` inside and a sibling `outside/` that must stay empty.
struct Area {
    dir: tempfile::TempDir,
}

impl Area {
    fn new() -> Area {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rootfs")).unwrap();
        std::fs::create_dir(dir.path().join("outside")).unwrap();
        Area { dir }
    }
    fn rootfs(&self) -> std::path::PathBuf {
        self.dir.path().join("rootfs")
    }
    fn outside(&self) -> std::path::PathBuf {
        self.dir.path().join("outside")
    }
    fn outside_is_empty(&self) -> bool {
        std::fs::read_dir(self.outside()).unwrap().next().is_none()
            && std::fs::read_dir(self.dir.path()).unwrap().count() == 2
    }
    fn unpack(
        &self,
        tar: Vec<u8>,
        excludes: &[&str],
    ) -> Result<lxu_download::UnpackStats, UnpackError> {
        unpack_reader(tar.as_slice(), &self.rootfs(), &opts(excludes), "test.tar")
    }
}

#[test]
fn regular_tree_with_owners_modes_times_and_links() {
    let a = Area::new();
    let mut t = Tar::new();
    t.dir("./", 0o755)
        .dir("./etc/", 0o755)
        .file_owned("./etc/shadow", b"root:*:", 0o640, 0, 42, 1_600_000_000)
        .dir("./usr/", 0o755)
        .dir("./usr/bin/", 0o755)
        .file_owned("./usr/bin/su", b"ELF", 0o4755, 0, 0, 1_600_000_001)
        .file_owned("./usr/bin/wall", b"ELF", 0o2755, 0, 5, 1_600_000_002)
        .hardlink("./usr/bin/su2", "./usr/bin/su")
        .symlink("./bin", "usr/bin")
        .symlink("./etc/resolv.conf", "/run/resolv.conf")
        .dir("./ro/", 0o555)
        .file("./ro/inside", b"x", 0o444)
        .dir("./home/", 0o755)
        .dir("./home/u/", 0o700)
        .file_owned("./home/u/.profile", b"p", 0o600, 1000, 1000, 1_600_000_003)
        .fifo("./run-fifo")
        .file("./deep/auto/created/file", b"implicit parents", 0o644);
    let stats = a.unpack(t.tar(), &[]).unwrap();
    assert_eq!(stats.files, 6);
    assert_eq!(stats.dirs, 6, "the rootfs itself is not counted");
    assert_eq!(stats.symlinks, 2);
    assert_eq!(stats.hardlinks, 1);
    assert_eq!(stats.fifos, 1);
    assert_eq!(stats.bytes, 7 + 3 + 3 + 1 + 1 + 16);

    let r = a.rootfs();
    let m = |p: &str| std::fs::symlink_metadata(r.join(p)).unwrap();
    assert_eq!(m("usr/bin/su").mode() & 0o7777, 0o4755);
    assert_eq!(m("usr/bin/wall").mode() & 0o7777, 0o2755);
    assert_eq!(m("usr/bin/su").ino(), m("usr/bin/su2").ino());
    assert_eq!(m("etc/shadow").mtime(), 1_600_000_000);
    assert_eq!(
        std::fs::read_link(r.join("bin")).unwrap(),
        Path::new("usr/bin")
    );
    assert_eq!(
        std::fs::read_link(r.join("etc/resolv.conf")).unwrap(),
        Path::new("/run/resolv.conf")
    );
    assert_eq!(
        m("ro").mode() & 0o7777,
        0o555,
        "directory modes are applied last"
    );
    assert_eq!(
        m("ro").mtime(),
        1_700_000_000,
        "directory mtimes survive their children"
    );
    assert_eq!(m("home/u").mode() & 0o777, 0o700);
    assert!(m("run-fifo").file_type().is_fifo());
    assert_eq!(
        std::fs::read(r.join("deep/auto/created/file")).unwrap(),
        b"implicit parents"
    );
    assert!(
        r.join("dev/pts").is_dir(),
        "mkdir -p dev/pts as lxc-download does"
    );
    if is_root() {
        assert_eq!((m("etc/shadow").uid(), m("etc/shadow").gid()), (0, 42));
        assert_eq!(
            (m("home/u/.profile").uid(), m("home/u/.profile").gid()),
            (1000, 1000)
        );
        assert_eq!(
            m("usr/bin/su").mode() & 0o4000,
            0o4000,
            "set-uid survives chown"
        );
    }
    assert!(a.outside_is_empty());
}

#[test]
fn dot_dot_member_is_refused() {
    let a = Area::new();
    let mut t = Tar::new();
    t.dir("./", 0o755).file("../outside/evil", b"x", 0o644);
    let err = a.unpack(t.tar(), &[]).unwrap_err();
    assert!(matches!(err, UnpackError::UnsafePath { .. }), "{err}");
    assert_eq!(
        shown(&err),
        "unsafe member name `../outside/evil` in the tarball (contains `..`)"
    );
    let mut t = Tar::new();
    t.file("etc/../../outside/evil", b"x", 0o644);
    assert!(matches!(
        a.unpack(t.tar(), &[]),
        Err(UnpackError::UnsafePath { .. })
    ));
    assert!(a.outside_is_empty());
}

#[test]
fn absolute_names_land_inside() {
    let a = Area::new();
    let outside = a.outside().join("abs");
    let mut t = Tar::new();
    t.file(outside.to_str().unwrap(), b"x", 0o644).file(
        "/etc/passwd",
        b"root:x:0:0::/root:/bin/sh\n",
        0o644,
    );
    a.unpack(t.tar(), &[]).unwrap();
    assert!(a.rootfs().join("etc/passwd").is_file());
    assert!(a
        .rootfs()
        .join(outside.strip_prefix("/").unwrap())
        .is_file());
    assert!(a.outside_is_empty());
}

#[test]
fn symlink_out_then_file_through_it_stays_inside() {
    let a = Area::new();
    let out = a.outside();
    // Absolute symlink to the outside dir, relative symlink climbing above the root.
    let mut t = Tar::new();
    t.dir("./", 0o755)
        .symlink("./abs", out.to_str().unwrap())
        .symlink("./up", "../../../../../../../..")
        .file("./up/escaped", b"x", 0o644);
    a.unpack(t.tar(), &[]).unwrap();
    assert!(
        a.rootfs().join("escaped").is_file(),
        "`..` above the root resolves to the root"
    );
    let mut t = Tar::new();
    t.file("./abs/escaped", b"x", 0o644);
    // The symlink's target does not exist inside the rootfs.
    let err = a.unpack(t.tar(), &[]).unwrap_err();
    assert!(matches!(err, UnpackError::NotDirectory { .. }), "{err}");
    // With the target present inside, the file goes there.
    std::fs::create_dir_all(a.rootfs().join(out.strip_prefix("/").unwrap())).unwrap();
    let mut t = Tar::new();
    t.file("./abs/escaped", b"x", 0o644);
    a.unpack(t.tar(), &[]).unwrap();
    assert!(a
        .rootfs()
        .join(out.strip_prefix("/").unwrap())
        .join("escaped")
        .is_file());
    assert!(a.outside_is_empty());
}

#[test]
fn hard_links_cannot_reach_outside() {
    let a = Area::new();
    std::fs::write(a.dir.path().join("secret"), b"s").unwrap();
    let secret = a.dir.path().join("secret");
    let mut t = Tar::new();
    t.hardlink("./h", "../secret");
    let err = a.unpack(t.tar(), &[]).unwrap_err();
    assert!(matches!(err, UnpackError::UnsafeLink { .. }), "{err}");

    let mut t = Tar::new();
    t.hardlink("./h", secret.to_str().unwrap());
    let err = a.unpack(t.tar(), &[]).unwrap_err();
    assert!(
        matches!(err, UnpackError::MissingLinkTarget { .. }),
        "{err}"
    );

    // Through a symlink pointing at the real parent directory.
    let mut t = Tar::new();
    t.symlink("./sl", a.dir.path().to_str().unwrap())
        .hardlink("./h", "sl/secret");
    let err = a.unpack(t.tar(), &[]).unwrap_err();
    assert!(
        matches!(err, UnpackError::MissingLinkTarget { .. }),
        "{err}"
    );

    assert_eq!(std::fs::metadata(&secret).unwrap().nlink(), 1);
    std::fs::remove_file(&secret).unwrap();
    assert!(a.outside_is_empty());
}

#[test]
fn duplicate_entry_turning_a_directory_into_a_symlink() {
    let a = Area::new();
    let out = a.outside();
    // Empty directory replaced by a symlink to the outside: later members resolve inside.
    let mut t = Tar::new();
    t.dir("./d/", 0o755)
        .symlink("./d", "../../../../../../../../../..")
        .file("./d/through", b"x", 0o644)
        .symlink("./e", out.to_str().unwrap());
    a.unpack(t.tar(), &[]).unwrap();
    assert!(std::fs::symlink_metadata(a.rootfs().join("d"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(a.rootfs().join("through").is_file());

    // A non-empty directory is not replaced.
    let a = Area::new();
    let mut t = Tar::new();
    t.dir("./d/", 0o755)
        .file("./d/x", b"x", 0o644)
        .symlink("./d", out.to_str().unwrap())
        .file("./d/y", b"y", 0o644);
    let err = a.unpack(t.tar(), &[]).unwrap_err();
    assert!(
        shown(&err).starts_with("cannot replace non-empty directory `d`"),
        "{err}"
    );
    assert!(a.outside_is_empty());

    // A file replaced by a directory and a directory mode applied by path only when
    // the path is still free of symlinks.
    let a = Area::new();
    let mut t = Tar::new();
    t.file("./f", b"x", 0o644)
        .dir("./f/", 0o711)
        .dir("./g/", 0o700)
        .symlink("./g", "f");
    a.unpack(t.tar(), &[]).unwrap();
    assert_eq!(
        std::fs::metadata(a.rootfs().join("f"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o711
    );
    assert!(a.outside_is_empty());
}

#[test]
fn devices_are_skipped_and_counted_and_excludes_honoured() {
    let a = Area::new();
    let mut t = Tar::new();
    t.dir("./", 0o755)
        .dir("./dev/", 0o755)
        .device("./dev/null", false)
        .device("./dev/zero", false)
        .device("./dev/sda", true)
        .dir("./var/", 0o755)
        .dir("./var/cache/", 0o755)
        .file("./var/cache/big", b"cache", 0o644)
        .file("./var/keep", b"k", 0o644)
        .hardlink("./var/cache2", "./var/cache/big")
        .file("./dev/console-log", b"c", 0o644);
    let stats = a.unpack(t.tar(), &["./dev/null", "./var/cache"]).unwrap();
    assert_eq!(stats.skipped_devices, 2, "{stats:?}");
    assert_eq!(stats.skipped_excludes, 4, "{stats:?}");
    assert!(!a.rootfs().join("dev/null").exists());
    assert!(!a.rootfs().join("dev/zero").exists());
    assert!(!a.rootfs().join("var/cache").exists());
    assert!(!a.rootfs().join("var/cache2").exists());
    assert!(a.rootfs().join("var/keep").exists());
    assert!(a.rootfs().join("dev/console-log").exists());
}

#[test]
fn xattrs_are_applied_or_skipped() {
    let a = Area::new();
    let mut t = Tar::new();
    t.file_pax(
        "./with-xattr",
        b"x",
        &[
            ("SCHILY.xattr.user.lxu", b"yes"),
            ("SCHILY.xattr.security.bogus", b"no"),
            ("mtime", b"1500000000.5"),
        ],
    );
    let stats = a.unpack(t.tar(), &[]).unwrap();
    let p = a.rootfs().join("with-xattr");
    assert_eq!(std::fs::metadata(&p).unwrap().mtime(), 1_500_000_000);
    assert_eq!(std::fs::metadata(&p).unwrap().mtime_nsec(), 500_000_000);
    let mut buf = [0u8; 16];
    match rustix::fs::getxattr(&p, "user.lxu", &mut buf) {
        Ok(n) => assert_eq!(&buf[..n], b"yes"),
        Err(e) => {
            assert_eq!(e, rustix::io::Errno::OPNOTSUPP);
            assert!(stats.skipped_xattrs >= 1);
        }
    }
}

#[test]
fn xz_multiblock_zstd_and_plain_inputs() {
    let mut t = Tar::new();
    let payload: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    t.dir("./", 0o755).file("./payload", &payload, 0o644);
    let tar = t.tar();
    let dir = tempfile::tempdir().unwrap();

    // xz with several blocks (what `xz -T0` or our image server writes).
    let stream = liblzma::stream::MtStreamBuilder::new()
        .threads(2)
        .block_size(1 << 20)
        .preset(1)
        .encoder()
        .unwrap();
    let mut enc = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
    std::io::Write::write_all(&mut enc, &tar).unwrap();
    let xz_mt = enc.finish().unwrap();
    let zst = zstd::stream::encode_all(tar.as_slice(), 3).unwrap();

    for (name, data) in [
        ("rootfs.tar.xz", xz_mt),
        ("rootfs.tar.zst", zst),
        ("rootfs.tar", tar.clone()),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, data).unwrap();
        let a = Area::new();
        let stats = unpack_file(&file, &a.rootfs(), &opts(&[]), None).unwrap();
        assert_eq!(stats.bytes, payload.len() as u64, "{name}");
        assert_eq!(
            std::fs::read(a.rootfs().join("payload")).unwrap(),
            payload,
            "{name}"
        );
    }

    // Corruption is reported as such, naming the tarball.
    let bad = dir.path().join("bad.tar.xz");
    let mut data = common::xz(&tar);
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    std::fs::write(&bad, data).unwrap();
    let a = Area::new();
    let err = unpack_file(&bad, &a.rootfs(), &opts(&[]), None).unwrap_err();
    assert!(matches!(err, UnpackError::Corrupt { .. }), "{err}");
    assert!(shown(&err).contains("bad.tar.xz"), "{err}");
}

/// The child half of `full_disk_is_a_clear_error`: runs in a private mount namespace
/// with a 64 KiB tmpfs at `LXU_ENOSPC_DIR`.
#[test]
#[ignore = "run by full_disk_is_a_clear_error in a private mount namespace"]
fn enospc_child() {
    let dir = std::env::var_os("LXU_ENOSPC_DIR").expect("LXU_ENOSPC_DIR");
    let rootfs = Path::new(&dir).join("rootfs");
    std::fs::create_dir(&rootfs).unwrap();
    let mut t = Tar::new();
    let big = vec![7u8; 1 << 20];
    t.dir("./", 0o755)
        .file("./small", b"ok", 0o644)
        .file("./usr-lib-big", &big, 0o644);
    let err = unpack_reader(t.xz().as_slice(), &rootfs, &opts(&[]), "big.tar.xz").unwrap_err();
    assert!(matches!(err, UnpackError::NoSpace { .. }), "{err}");
    assert_eq!(
        shown(&err),
        "cannot write `usr-lib-big` in the rootfs: No space left on device"
    );
    println!("ENOSPC-CHILD-OK");
}

#[test]
fn full_disk_is_a_clear_error() {
    if !is_root() {
        return skip("needs root for a tmpfs mount");
    }
    let exe = std::env::current_exe().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = r#"mount -t tmpfs -o size=64k lxu-enospc "$LXU_ENOSPC_DIR" && exec "$0" --exact enospc_child --ignored --nocapture"#;
    let out = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", script])
        .arg(&exe)
        .env("LXU_ENOSPC_DIR", dir.path())
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => return skip(format!("cannot run unshare: {e}")),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("unshare failed") {
        return skip(format!("unshare -m refused: {stderr}"));
    }
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("ENOSPC-CHILD-OK"), "{stdout}\n{stderr}");
    // The tmpfs lived only in the child's namespace.
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn a_member_never_writes_through_an_existing_symlink() {
    let a = Area::new();
    let target = a.outside().join("victim");
    std::fs::write(&target, b"original").unwrap();
    let mut t = Tar::new();
    t.symlink("./f", target.to_str().unwrap())
        .file("./f", b"replaced", 0o644)
        .symlink("./h", target.to_str().unwrap())
        .file("./g", b"g", 0o644)
        .hardlink("./h", "./g")
        .symlink("./p", target.to_str().unwrap())
        .fifo("./p");
    a.unpack(t.tar(), &[]).unwrap();
    let r = a.rootfs();
    assert_eq!(std::fs::read(r.join("f")).unwrap(), b"replaced");
    assert!(!std::fs::symlink_metadata(r.join("f"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::metadata(r.join("h")).unwrap().ino(),
        std::fs::metadata(r.join("g")).unwrap().ino()
    );
    assert!(std::fs::symlink_metadata(r.join("p"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(std::fs::read(&target).unwrap(), b"original");
    std::fs::remove_file(&target).unwrap();
    assert!(a.outside_is_empty());
}

/// Issue 11 finding 7: an xz stream whose header claims a 4 GiB dictionary is
/// refused before the decoder allocates it, with an error that says why.
#[test]
fn xz_bomb_is_refused_by_the_memory_limit() {
    let a = Area::new();
    let mut t = Tar::new();
    t.dir("./", 0o755).file("./etc-marker", b"x", 0o644);
    let bomb = xz_bomb(&t.tar());
    let err = a.unpack(bomb, &[]).unwrap_err();
    assert!(matches!(err, UnpackError::XzMemLimit { .. }), "{err}");
    assert_eq!(
        shown(&err),
        "`test.tar` needs more than the 1024 MiB of memory allowed to the xz decoder \
         (its dictionary is too large): refusing it"
    );
    assert!(!a.rootfs().join("etc-marker").exists());
}

/// Issue 11 finding 7: a GNU sparse member declares its expanded size in a header;
/// expanding it wrote that many real zeros. It is refused, naming the member.
#[test]
fn gnu_sparse_member_is_refused() {
    let a = Area::new();
    let mut t = Tar::new();
    t.dir("./", 0o755)
        .file("./before", b"ok", 0o644)
        .gnu_sparse("./huge", 64 << 20)
        .file("./after", b"ok", 0o644);
    let err = a.unpack(t.xz(), &[]).unwrap_err();
    assert!(matches!(err, UnpackError::Sparse { .. }), "{err}");
    assert_eq!(
        shown(&err),
        "tarball `test.tar` has a GNU sparse member `huge` (expanding to 67108864 bytes): \
         sparse members are refused, an image has no use for them"
    );
    assert!(!a.rootfs().join("huge").exists());
    assert!(!a.rootfs().join("after").exists());
}
