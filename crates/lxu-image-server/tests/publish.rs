//! Repository maintenance: pruning, index atomicity, crash leftovers.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use lxu_image_server::{
    publish, reindex, scan, BuiltImage, ImageId, Progress, PublishError, ServerError,
};

fn builds_on_disk(image_dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(image_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

/// A scratch directory holding `repo` (not made yet) and a busybox build to
/// publish into it; `None` when busybox is missing (the test is skipped).
fn scratch() -> Option<(tempfile::TempDir, PathBuf, BuiltImage)> {
    if !busybox_available() {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let img = busybox_image(&tmp.path().join("out"), "20250101_00:00", None);
    Some((tmp, repo, img))
}

/// The id of build `serial` of the test image.
fn busybox(serial: &str) -> ImageId {
    ImageId::new("busybox", "test", "amd64", "default", serial)
}

#[test]
fn prune_keeps_the_newest_builds() {
    let Some((tmp, repo, img)) = scratch() else {
        return;
    };
    let image_dir = repo.join("images/busybox/test/amd64/default");
    for (i, serial) in [
        "20250101_00:00",
        "20250102_00:00",
        "20250103_00:00",
        "20250104_00:00",
        "20250105_00:00",
    ]
    .iter()
    .enumerate()
    {
        let id = busybox(serial);
        let report = publish(&repo, &img, id.clone(), key(), 2, &Progress::quiet()).unwrap();
        let expected_pruned = usize::from(i >= 2);
        assert_eq!(
            report.pruned.len(),
            expected_pruned,
            "after {serial}: {:?}",
            report.pruned
        );
        let on_disk = builds_on_disk(&image_dir);
        assert!(on_disk.len() <= 2, "{on_disk:?}");
        assert_eq!(on_disk.last().map(String::as_str), Some(*serial));
        let index = fs::read_to_string(repo.join("meta/1.0/index-system")).unwrap();
        assert_eq!(index, id.index_line(), "index lists only the newest build");
    }
    assert_eq!(
        builds_on_disk(&image_dir),
        ["20250104_00:00", "20250105_00:00"]
    );
    let listed = scan(&repo).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed.iter().filter(|b| b.current).count(), 1);
    assert!(listed[1].current && listed[1].id.build == "20250105_00:00");

    // keep = 0 still keeps the indexed build.
    let id = busybox("20250106_00:00");
    publish(&repo, &img, id, key(), 0, &Progress::quiet()).unwrap();
    assert_eq!(builds_on_disk(&image_dir), ["20250106_00:00"]);

    // Same build twice is refused and changes nothing.
    let again = busybox("20250106_00:00");
    match publish(&repo, &img, again, key(), 2, &Progress::quiet()) {
        Err(ServerError::Publish(PublishError::AlreadyPublished { .. })) => {}
        other => panic!("expected AlreadyPublished, got {other:?}"),
    }
    // A bad id never reaches the file system.
    let bad = ImageId::new("busybox", "../../etc", "amd64", "default", "x");
    assert!(publish(&repo, &img, bad, key(), 2, &Progress::quiet()).is_err());
    assert!(!tmp.path().join("etc").exists());
}

#[test]
fn index_never_shows_partial_content_or_incomplete_builds() {
    let Some((_tmp, repo, img)) = scratch() else {
        return;
    };
    let index = repo.join("meta/1.0/index-user");
    let done = Arc::new(AtomicBool::new(false));

    // A reader hammering the index while builds are published: every read must
    // be a whole index whose builds are complete on disk at that moment.
    let reader = {
        let (done, index, repo) = (done.clone(), index.clone(), repo.clone());
        std::thread::spawn(move || {
            let (mut reads, mut distinct) = (0u64, std::collections::BTreeSet::new());
            while !done.load(Ordering::Relaxed) {
                let Ok(text) = fs::read_to_string(&index) else {
                    continue;
                };
                reads += 1;
                // Builds are only added here, so an index once written is never empty.
                assert!(
                    !text.is_empty() && text.ends_with('\n'),
                    "partial index read: {text:?}"
                );
                for line in text.lines() {
                    let f: Vec<&str> = line.split(';').collect();
                    assert_eq!(f.len(), 6, "bad line {line:?}");
                    let dir = repo.join(f[5].trim_matches('/'));
                    for file in [
                        "rootfs.tar.xz",
                        "meta.tar.xz",
                        "SHA256SUMS",
                        "SHA256SUMS.asc",
                    ] {
                        assert!(
                            dir.join(file).is_file(),
                            "index names {line:?} but {file} is missing"
                        );
                    }
                }
                distinct.insert(text);
            }
            (reads, distinct.len())
        })
    };
    for day in 1..=8 {
        for dist in ["busybox", "tiny"] {
            let id = ImageId::new(
                dist,
                "test",
                "amd64",
                "default",
                format!("202501{day:02}_00:00"),
            );
            publish(&repo, &img, id, key(), 100, &Progress::quiet()).unwrap();
        }
    }
    done.store(true, Ordering::Relaxed);
    let (reads, distinct) = reader.join().unwrap();
    eprintln!("index reads during publishing: {reads}, distinct contents seen: {distinct}");
    assert!(reads > 0);
    let final_index = fs::read_to_string(&index).unwrap();
    assert_eq!(final_index.lines().count(), 2);
    assert!(final_index.starts_with("busybox;test;amd64;default;20250108_00:00;"));

    // No temporary or staging names are left behind.
    let mut stack = vec![repo.clone()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            assert!(
                !name.starts_with('.') || name == ".lock",
                "leftover {}",
                e.path().display()
            );
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
}

#[test]
fn leftovers_and_incomplete_builds() {
    let Some((_tmp, repo, img)) = scratch() else {
        return;
    };
    let image_dir = repo.join("images/busybox/test/amd64/default");
    // A crashed publish left a staging dir; someone copied in a newer build
    // that has no SHA256SUMS yet.
    fs::create_dir_all(image_dir.join(".staging-20250102_00:00-1")).unwrap();
    fs::write(
        image_dir.join(".staging-20250102_00:00-1/rootfs.tar.xz"),
        b"junk",
    )
    .unwrap();
    fs::create_dir_all(image_dir.join("20250109_00:00")).unwrap();
    fs::write(image_dir.join("20250109_00:00/rootfs.tar.xz"), b"partial").unwrap();

    let id = busybox("20250101_00:00");
    publish(&repo, &img, id.clone(), key(), 1, &Progress::quiet()).unwrap();
    assert!(
        !image_dir.join(".staging-20250102_00:00-1").exists(),
        "stale staging removed"
    );
    assert!(
        image_dir.join("20250109_00:00").exists(),
        "incomplete builds are not pruned"
    );
    let index = fs::read_to_string(repo.join("meta/1.0/index-system")).unwrap();
    assert_eq!(index, id.index_line(), "incomplete builds are not indexed");
    let listed = scan(&repo).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(!listed[1].complete && !listed[1].current);

    // Removing the build by hand and reindexing empties the index.
    fs::remove_dir_all(image_dir.join("20250101_00:00")).unwrap();
    let changed = reindex(&repo, key()).unwrap();
    assert!(changed.iter().any(|p| p.ends_with("index-system")));
    assert_eq!(
        fs::read_to_string(repo.join("meta/1.0/index-system")).unwrap(),
        ""
    );
    // Nothing changed: nothing rewritten (ETags of the index stay valid).
    assert!(reindex(&repo, key()).unwrap().is_empty());
}
