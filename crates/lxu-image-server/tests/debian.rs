//! The debian recipe against a real mirror: minutes of debootstrap, so it only
//! runs when asked:
//! `cargo test --release -p lxu-image-server --test debian -- --ignored --nocapture`
//! (LXU_DEBIAN_MIRROR overrides the mirror.)

mod common;

use std::fs;
use std::time::Instant;

use common::*;
use lxu_image_server::{build, publish, BuildOptions, DebianRecipe, Progress, Recipe};

#[test]
#[ignore = "runs debootstrap against a package mirror (minutes, network)"]
fn debian_minbase_image() {
    if !is_root() {
        return skip("debootstrap needs root");
    }
    if !have("debootstrap") {
        return skip("debootstrap not installed");
    }
    let tmp = tempfile::tempdir_in("/var/tmp").unwrap();
    let mut recipe = DebianRecipe::default();
    if let Ok(m) = std::env::var("LXU_DEBIAN_MIRROR") {
        recipe.mirror = m;
    }
    let opts = BuildOptions {
        serial: Some("20250401_00:00".into()),
        zstd_level: Some(19),
        ..BuildOptions::default()
    };
    let t = Instant::now();
    let img = build(
        &Recipe::Debian(recipe),
        &tmp.path().join("out"),
        &opts,
        &Progress::quiet(),
    )
    .unwrap();
    let s = &img.stats;
    eprintln!(
        "debian bookworm minbase: total {:?} (debootstrap {:?}, pack {:?}); {} entries, tar {:.1} MiB, \
         rootfs.tar.xz {:.1} MiB in {} blocks of {} MiB, rootfs.tar.zst {:.1} MiB, meta {} B, {} device nodes",
        t.elapsed(),
        s.rootfs_time,
        s.pack_time,
        s.rootfs_entries,
        s.tar_bytes as f64 / 1048576.0,
        s.xz_bytes as f64 / 1048576.0,
        s.xz_blocks,
        s.xz_block_size >> 20,
        s.zst_bytes.unwrap_or(0) as f64 / 1048576.0,
        s.meta_bytes,
        s.device_nodes
    );
    let rootfs = img.rootfs_xz();
    let blocks = xz_blocks(&rootfs);
    eprintln!("xz --list: {blocks} blocks");
    assert!(blocks >= 4);
    assert!(s.device_nodes > 0, "debootstrap makes /dev nodes");

    let m = tmp.path().join("meta");
    untar(&img.meta_xz(), &m, &[]);
    let excludes = fs::read_to_string(m.join("excludes-user")).unwrap();
    assert!(excludes.lines().any(|l| l == "./dev/null"), "{excludes}");
    assert_eq!(excludes.lines().count(), s.device_nodes);
    for n in 1..=4 {
        let c = fs::read_to_string(m.join(format!("config-user.{n}"))).unwrap();
        assert!(
            c.contains("LXC_TEMPLATE_CONFIG/debian.common.conf")
                && c.contains("LXC_TEMPLATE_CONFIG/debian.userns.conf")
        );
    }
    assert!(fs::read_to_string(m.join("config"))
        .unwrap()
        .contains("LXC_TEMPLATE_CONFIG/common.conf"));

    let listing = tar_listing(&rootfs);
    assert!(listing.lines().any(|l| l.ends_with(" ./etc/hostname")));
    assert!(
        !listing
            .lines()
            .any(|l| l.contains("./var/lib/apt/lists/deb.debian.org")),
        "apt lists cleaned"
    );
    assert!(listing
        .lines()
        .any(|l| l.starts_with('c') && l.ends_with(" ./dev/null")));
    // As lxc-download does for a user: the excludes keep mknod away.
    let x = tmp.path().join("x");
    untar(&rootfs, &x, &excludes.lines().collect::<Vec<_>>());
    assert!(
        !x.join("dev/null").exists(),
        "excluded device node extracted"
    );
    assert_eq!(
        fs::read_to_string(x.join("etc/hostname")).unwrap(),
        "LXC_NAME\n"
    );
    assert!(fs::read_to_string(x.join("etc/os-release"))
        .unwrap()
        .contains("bookworm"));

    // Publishes with level 1-4 indexes listing it.
    let repo = tmp.path().join("repo");
    publish(
        &repo,
        &img,
        img.image_id("default"),
        key(),
        2,
        &Progress::quiet(),
    )
    .unwrap();
    for n in 1..=4 {
        let idx = fs::read_to_string(repo.join(format!("meta/1.0/index-user.{n}"))).unwrap();
        assert!(
            idx.starts_with("debian;bookworm;amd64;default;20250401_00:00;"),
            "{idx}"
        );
    }
}
