//! Issue 16: create (busybox and download), copy, snapshot, restore and destroy killed at
//! every step (`LXU_CRASH_AT`), then the user's next command.
//!
//! What a half-made or half-destroyed container is, and what users see of it, decided as
//! LXC decides it: a directory without a config is not a container, and a directory with
//! LXC's `partial` marker (present from the moment the directory is made until the create,
//! copy or snapshot is complete, and from the start of a destroy to its end) is a failed
//! create that the next load removes. So `lxu ls` (plain and `--fancy`) does not list it,
//! `lxu start` and friends say it does not exist, the next `create` or `copy` of that name
//! removes it and goes on, and `destroy` finishes removing it. A point in the
//! user-namespace child (where rootfs work runs) kills only that child: the command then
//! fails cleanly, naming the container, and has removed what it made.
//!
//! Each list of points below must name points the code reaches: a run that does not die
//! there fails the test.

use std::path::{Path, PathBuf};

use lxu_e2e::images::{host_arch, snapshot, Download, Repo, Server};
use lxu_e2e::{leftovers, Lab, Output};

/// Where a crash point is: in the command's own process (killed by SIGKILL) or in the
/// user-namespace child it forks (the command fails cleanly).
#[derive(Clone, Copy, Debug, PartialEq)]
enum At {
    Parent,
    Child,
}

/// `lxu create -t busybox`, in the order reached.
const CREATE_POINTS: &[(&str, At)] = &[
    ("create.dir-made", At::Parent),
    ("create.config-written", At::Parent),
    ("create.rootfs-built", At::Child),
    ("create.before-done", At::Parent),
];

/// `lxu destroy` (also reached by the cleanup of a failed create, copy or snapshot).
const DESTROY_POINTS: &[(&str, At)] = &[
    ("destroy.marked", At::Parent),
    ("destroy.rootfs-entry@2", At::Child),
    ("destroy.rootfs-removed", At::Child),
    ("destroy.config-removed", At::Child),
];

/// `lxu copy`.
const COPY_POINTS: &[(&str, At)] = &[
    ("copy.dir-made", At::Parent),
    ("copy.config-written", At::Parent),
    ("copy.rootfs-copied", At::Child),
    ("copy.before-done", At::Parent),
];

/// `lxu snapshot` (a copy into `snaps/snapN`, plus its timestamp).
const SNAPSHOT_POINTS: &[(&str, At)] = &[
    ("copy.dir-made", At::Parent),
    ("copy.rootfs-copied", At::Child),
    ("snapshot.extras-written", At::Parent),
    ("copy.before-done", At::Parent),
];

/// `lxu snapshot -r snap0` into the container itself.
const RESTORE_POINTS: &[(&str, At)] = &[
    ("copy.rootfs-copied", At::Child),
    ("snapshot.restore-copied", At::Parent),
    ("snapshot.restore-swapped", At::Child),
    ("snapshot.restore-config-written", At::Parent),
];

/// `lxu create -t download`: image index, transfer, verification, cache swap (reached
/// with `--flush-cache` over a cache that exists), unpack and config.
const DOWNLOAD_POINTS: &[(&str, At)] = &[
    ("download.index-fetched", At::Parent),
    ("download.fetching", At::Parent),
    ("download.verified", At::Parent),
    ("download.cache-assembled", At::Parent),
    ("download.cache-swapped", At::Parent),
    ("create.rootfs-unpacking@3", At::Child),
    ("create.rootfs-unpacked", At::Child),
    ("create.image-config-written", At::Parent),
];

/// The point's name without its `@N`.
fn base(point: &str) -> &str {
    point.split('@').next().unwrap_or(point)
}

/// Asserts the run stopped at `point`: killed by SIGKILL there, or (a point in the child)
/// a clean failure after the child was killed there.
#[track_caller]
fn assert_stopped_at(out: &Output, point: &str, at: At) {
    let said = format!("crash point `{}` reached", base(point));
    assert!(
        out.stderr.contains(&said),
        "the run never reached `{point}`\n{out}"
    );
    match at {
        At::Parent => assert_eq!(out.signal, Some(9), "expected SIGKILL at `{point}`\n{out}"),
        At::Child => {
            out.failure();
        }
    }
}

/// Neither `lxu ls` nor `lxu ls --fancy` shows `name`.
#[track_caller]
fn assert_unlisted(lab: &Lab, name: &str, after: &str) {
    let plain = lab.lxu(&["ls"]);
    plain.success();
    assert!(
        !plain.stdout.split_whitespace().any(|w| w == name),
        "`ls` lists the half-made `{name}` after {after}\n{plain}"
    );
    let fancy = lab.lxu(&["ls", "--fancy"]);
    fancy.success();
    assert!(
        !fancy
            .lines()
            .iter()
            .any(|l| l.split_whitespace().next() == Some(name)),
        "`ls --fancy` lists the half-made `{name}` after {after}\n{fancy}"
    );
}

/// `name` is listed and stopped.
#[track_caller]
fn assert_listed(lab: &Lab, name: &str, after: &str) {
    let plain = lab.lxu(&["ls"]);
    assert!(
        plain.stdout.split_whitespace().any(|w| w == name),
        "`ls` lost `{name}` after {after}\n{plain}"
    );
    assert_eq!(lab.state(name), "STOPPED", "after {after}");
}

/// `lxu create -t busybox` of `name` (no network) with `LXU_CRASH_AT=point`.
fn create_crashing(lab: &Lab, name: &str, point: &str) -> Output {
    let conf = lab.no_net_conf();
    lab.call(&[
        "create",
        "-n",
        name,
        "-t",
        "busybox",
        "-f",
        conf.to_str().unwrap(),
    ])
    .env("LXU_CRASH_AT", point)
    .run()
}

#[test]
fn a_create_killed_at_any_step_is_unlisted_and_the_next_create_or_destroy_clears_it() {
    let Some(lab) = Lab::new() else { return };
    for &(point, at) in CREATE_POINTS {
        let after = format!("create killed at `{point}`");
        // Recovery by the same create again.
        let name = lab.name("cc");
        let out = create_crashing(&lab, &name, point);
        assert_stopped_at(&out, point, at);
        if at == At::Child {
            // The error names the container, not only the helper's signal.
            out.stderr_has(&format!("Creating {name} failed"));
            // The parent cleaned up after its child.
            assert!(
                !lab.dir(&name).exists(),
                "{after}: `{name}` left its directory"
            );
        }
        assert_unlisted(&lab, &name, &after);
        let start = lab.lxu(&["start", "-n", &name]);
        start.failure().stderr_has(&name);
        lab.create(&name);
        assert_listed(&lab, &name, &after);
        leftovers::assert_none(&lab, &name);
        lab.lxu(&["destroy", "-n", &name]).success();
        assert!(!lab.dir(&name).exists(), "{after}: destroy left `{name}`");

        // Recovery by destroy (which must finish, not say "not found" and leave it).
        if at == At::Parent {
            let name = lab.name("cd");
            assert_stopped_at(&create_crashing(&lab, &name, point), point, at);
            lab.lxu(&["destroy", "-n", &name]).success();
            assert!(
                !lab.dir(&name).exists(),
                "{after}: destroy left `{}`",
                lab.dir(&name).display()
            );
            leftovers::assert_none(&lab, &name);
        }
    }
}

#[test]
fn a_destroy_killed_at_any_step_is_unlisted_and_finishes_next_time() {
    let Some(lab) = Lab::new() else { return };
    for (i, &(point, at)) in DESTROY_POINTS.iter().enumerate() {
        let after = format!("destroy killed at `{point}`");
        let name = lab.created("dd");
        let out = lab
            .call(&["destroy", "-n", &name])
            .env("LXU_CRASH_AT", point)
            .run();
        assert_stopped_at(&out, point, at);
        if at == At::Child {
            out.stderr_has(&name);
        }
        assert_unlisted(&lab, &name, &after);
        if i % 2 == 0 {
            lab.lxu(&["destroy", "-n", &name]).success();
            assert!(
                !lab.dir(&name).exists(),
                "{after}: the second destroy left `{name}`"
            );
        } else {
            // Or a create of the name takes the place of what is left.
            lab.create(&name);
            assert_listed(&lab, &name, &after);
        }
        leftovers::assert_none(&lab, &name);
    }
}

#[test]
fn a_copy_killed_at_any_step_is_unlisted_and_the_next_copy_works() {
    let Some(lab) = Lab::new() else { return };
    let src = lab.created("cs");
    for &(point, at) in COPY_POINTS {
        let after = format!("copy killed at `{point}`");
        let dst = lab.name("cp");
        let out = lab
            .call(&["copy", "-n", &src, "-N", &dst])
            .env("LXU_CRASH_AT", point)
            .run();
        assert_stopped_at(&out, point, at);
        if at == At::Child {
            out.stderr_has(&dst);
            assert!(
                !lab.dir(&dst).exists(),
                "{after}: `{dst}` left its directory"
            );
        }
        assert_unlisted(&lab, &dst, &after);
        // The source is whole and not locked: the same copy goes through.
        assert_listed(&lab, &src, &after);
        lab.lxu(&["copy", "-n", &src, "-N", &dst]).success();
        assert_listed(&lab, &dst, &after);
        assert!(lab.rootfs(&dst).join("bin/busybox").exists(), "{after}");
        lab.lxu(&["destroy", "-n", &dst]).success();
        leftovers::assert_none(&lab, &dst);
    }
    leftovers::assert_none(&lab, &src);
}

/// The snapshot names `lxu snapshot -L` lists.
fn snapshots(lab: &Lab, name: &str) -> Vec<String> {
    let out = lab.lxu(&["snapshot", "-n", name, "-L"]);
    out.success();
    out.lines()
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.starts_with("snap"))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_snapshot_killed_at_any_step_is_unlisted_and_does_not_block_the_next() {
    let Some(lab) = Lab::new() else { return };
    let c = lab.created("sn");
    for &(point, at) in SNAPSHOT_POINTS {
        let after = format!("snapshot killed at `{point}`");
        let out = lab
            .call(&["snapshot", "-n", &c])
            .env("LXU_CRASH_AT", point)
            .run();
        assert_stopped_at(&out, point, at);
        assert_eq!(snapshots(&lab, &c), Vec::<String>::new(), "{after}");
        // Nothing half-made blocks the destroy of the container ("has snapshots").
        lab.lxu(&["destroy", "-n", &c]).success();
        assert!(!lab.dir(&c).exists(), "{after}: destroy left `{c}`");
        lab.create(&c);
    }
    // A kill at the last step, then a snapshot: it takes the free name snap0, with its ts.
    let point = "copy.before-done";
    let out = lab
        .call(&["snapshot", "-n", &c])
        .env("LXU_CRASH_AT", point)
        .run();
    assert_stopped_at(&out, point, At::Parent);
    lab.lxu(&["snapshot", "-n", &c]).success();
    assert_eq!(snapshots(&lab, &c), ["snap0"]);
    let snaps = lab.dir(&c).join("snaps");
    let entries: Vec<String> = std::fs::read_dir(&snaps)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        entries,
        ["snap0"],
        "the half-made snapshot is still in `{}`",
        snaps.display()
    );
    assert!(snaps.join("snap0/ts").is_file());
    leftovers::assert_none(&lab, &c);
}

#[test]
fn a_restore_killed_at_any_step_leaves_a_whole_container_and_restores_next_time() {
    let Some(lab) = Lab::new() else { return };
    let c = lab.created("rs");
    lab.lxu(&["snapshot", "-n", &c]).success();
    for &(point, at) in RESTORE_POINTS {
        let after = format!("restore killed at `{point}`");
        let out = lab
            .call(&["snapshot", "-n", &c, "-r", "snap0"])
            .env("LXU_CRASH_AT", point)
            .run();
        assert_stopped_at(&out, point, at);
        // Whatever step it died at, the container has a whole rootfs and a config.
        assert_listed(&lab, &c, &after);
        assert!(
            lab.rootfs(&c).join("bin/busybox").exists(),
            "{after}: the container's rootfs is not whole"
        );
        lab.lxu(&["snapshot", "-n", &c, "-r", "snap0"]).success();
        assert!(
            !lab.dir(&c).join("restore").exists(),
            "{after}: the restore's scratch copy is left"
        );
        assert_eq!(snapshots(&lab, &c), ["snap0"], "{after}");
        leftovers::assert_none(&lab, &c);
    }
    lab.lxu(&["destroy", "-n", &c, "-s"]).success();
    assert!(!lab.dir(&c).exists());
}

/// The test's image cache base (`LXC_CACHE_PATH`).
fn cache(lab: &Lab) -> PathBuf {
    lab.files.join("cache")
}

/// `lxu create -t download` from `server` (no network), trusting `repo`'s key, with the
/// template arguments `extra` and `LXU_CRASH_AT=crash`.
fn download(
    lab: &Lab,
    server: &Server,
    repo: &Repo,
    name: &str,
    extra: &[&str],
    crash: Option<&str>,
) -> Output {
    let mut d =
        Download::new(lab, &cache(lab), &server.url, &repo.release).keyring(&repo.key.public);
    for a in extra {
        d = d.arg(a);
    }
    if let Some(p) = crash {
        d = d.env("LXU_CRASH_AT", p);
    }
    d.create(name)
}

/// Files beside the cache dir a killed download may leave (replacements being assembled).
fn stale_beside_cache(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.parent().unwrap())
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".lxu-new-"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_download_create_killed_at_any_step_leaves_a_cache_that_verifies() {
    let Some(lab) = Lab::new() else { return };
    let repo = Repo::busybox(&lab, "faults");
    let server = Server::http(&lab, &repo);
    let dir = cache(&lab)
        .join("download/busybox/faults")
        .join(host_arch())
        .join("default");
    let published = std::fs::read(repo.build_dir().join("rootfs.tar.xz")).unwrap();
    for &(point, at) in DOWNLOAD_POINTS {
        let after = format!("create -t download killed at `{point}`");
        let name = lab.name("dl");
        // Every download step is reached only when the image is fetched again.
        let flush: &[&str] = if point.starts_with("download.") {
            &["--flush-cache"]
        } else {
            &[]
        };
        let out = download(&lab, &server, &repo, &name, flush, Some(point));
        assert_stopped_at(&out, point, at);
        assert_unlisted(&lab, &name, &after);
        // The next create of the same name works from what the kill left.
        let out = download(&lab, &server, &repo, &name, &[], None);
        out.success();
        assert_listed(&lab, &name, &after);
        assert!(
            lab.rootfs(&name).join("bin/busybox").exists(),
            "{after}\n{out}"
        );
        assert_eq!(
            std::fs::read(dir.join("rootfs.tar.xz")).ok().as_deref(),
            Some(published.as_slice()),
            "{after}: the cached rootfs is not the published one"
        );
        assert_eq!(stale_beside_cache(&dir), Vec::<String>::new(), "{after}");
        lab.lxu(&["destroy", "-n", &name]).success();
        leftovers::assert_none(&lab, &name);
    }

    // A cache entry cut short or changed (a disk that lost its tail, a tamperer) is
    // detected and fetched again; the create works.
    let cached = snapshot(&dir);
    assert!(cached.contains_key("rootfs.tar.xz"));
    for (what, data) in [
        ("cut short", published[..published.len() / 2].to_vec()),
        ("changed", {
            let mut d = published.clone();
            let mid = d.len() / 2;
            d[mid] ^= 0xff;
            d
        }),
    ] {
        std::fs::write(dir.join("rootfs.tar.xz"), &data).unwrap();
        let name = lab.name("dv");
        let out = download(&lab, &server, &repo, &name, &[], None);
        out.success();
        let said = format!("{}{}", out.stdout, out.stderr);
        assert!(
            said.contains("cannot be verified"),
            "a cached rootfs {what} was used without a word\n{out}"
        );
        assert_eq!(
            std::fs::read(dir.join("rootfs.tar.xz")).unwrap(),
            published,
            "the cached rootfs {what} was not replaced"
        );
        assert_listed(&lab, &name, what);
        lab.lxu(&["destroy", "-n", &name]).success();
    }
}
