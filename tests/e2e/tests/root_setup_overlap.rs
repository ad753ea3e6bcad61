//! `lxu setup-user` on a user whose subordinate ids overlap another user's while containers
//! of theirs use them (issue 16): it refuses with an account, or with `--move-ids` moves
//! the ids and shifts the stopped containers along, so that nothing of the user's is
//! orphaned. Runs as root on throwaway users; /etc/subuid, /etc/subgid and
//! /etc/lxc/lxc-usernet are put back byte for byte when each test ends (`HostFiles`).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use lxu_e2e::host::{self, Range, User};
use lxu_e2e::root::{lxu_as, lxu_root, root_ready, HostFiles, TempUser};

fn read(p: &str) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// The one block `u` owns in /etc/subuid (the same in /etc/subgid).
#[track_caller]
fn block_of(u: &User) -> Range {
    let mine = host::subid_ranges("/etc/subuid", u);
    assert_eq!(
        mine.len(),
        1,
        "{} owns {mine:?}:\n{}",
        u.name,
        read("/etc/subuid")
    );
    assert_eq!(host::subid_ranges("/etc/subgid", u), mine);
    mine[0]
}

/// `r` as lxu's messages show a range.
fn shown(r: Range) -> String {
    format!("{}-{}", r.start, r.end() - 1)
}

/// A no-network config file the users can read, in a directory of root's.
struct NoNet(PathBuf);

impl NoNet {
    fn new() -> NoNet {
        let dir = PathBuf::from(format!("/tmp/lxu-e2e-ovl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let conf = dir.join("no-net.conf");
        std::fs::write(&conf, "lxc.net.0.type = empty\n").unwrap();
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).unwrap();
        NoNet(dir)
    }

    fn conf(&self) -> String {
        self.0.join("no-net.conf").display().to_string()
    }
}

impl Drop for NoNet {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Stops and destroys the user's container when dropped (before the user goes).
struct Gone<'a>(&'a User, &'static str);

impl Drop for Gone<'_> {
    fn drop(&mut self) {
        let (u, n) = (self.0, self.1);
        let _ = std::panic::catch_unwind(|| {
            lxu_as(u, &["stop", "-n", n, "-k"]);
            lxu_as(u, &["destroy", "-n", n, "-f"]);
        });
    }
}

/// Every path below `dir` (included, links not followed) whose owner or group lies in `r`.
fn owned_in(dir: &Path, r: Range, out: &mut Vec<(PathBuf, u32, u32)>) {
    let Ok(m) = std::fs::symlink_metadata(dir) else {
        return;
    };
    let inside = |id: u32| r.start <= u64::from(id) && u64::from(id) < r.end();
    if inside(m.uid()) || inside(m.gid()) {
        out.push((dir.to_path_buf(), m.uid(), m.gid()));
    }
    if !m.is_dir() {
        return;
    }
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        owned_in(&e.path(), r, out);
    }
}

/// Where the test runs: the host files saved, the user `a` set up with a stopped busybox
/// container `c1` in the default lxcpath, and `b` given ids that overlap `a`'s block (as
/// useradd did on a real host). Returns a's old block and b's range.
struct Scene {
    a: TempUser,
    b: TempUser,
    old: Range,
    theirs: Range,
    _net: NoNet,
}

impl Scene {
    fn new(tag: &str) -> Option<(HostFiles, Scene)> {
        if !root_ready() {
            return None;
        }
        let files = HostFiles::save();
        let a = TempUser::new(&format!("lxuovl{tag}"));
        let b = TempUser::new(&format!("lxuovm{tag}"));
        let net = NoNet::new();
        lxu_root(&["setup-user", a.name()]).success();
        let old = block_of(&a.user);
        lxu_as(
            &a.user,
            &["create", "-n", "c1", "-t", "busybox", "-f", &net.conf()],
        )
        .success();
        let theirs = Range {
            start: old.start + 1000,
            count: 65536,
        };
        for f in ["/etc/subuid", "/etc/subgid"] {
            let text = format!(
                "{}{}:{}:{}\n",
                read(f),
                b.name(),
                theirs.start,
                theirs.count
            );
            std::fs::write(f, text).unwrap();
        }
        let scene = Scene {
            a,
            b,
            old,
            theirs,
            _net: net,
        };
        Some((files, scene))
    }

    fn dir(&self) -> PathBuf {
        self.a.user.home.join(".local/share/lxc/c1")
    }

    /// What setup-user may change, to compare before and after a refusal.
    fn snapshot(&self) -> Vec<Option<Vec<u8>>> {
        let conf = self.a.user.home.join(".config/lxc/default.conf");
        ["/etc/subuid", "/etc/subgid"]
            .iter()
            .map(|p| std::fs::read(p).ok())
            .chain([
                std::fs::read(self.dir().join("config")).ok(),
                std::fs::read(conf).ok(),
            ])
            .collect()
    }

    /// After a move: a owns one new block overlapping nobody, c1's config maps it, every
    /// file of c1 left the old block, its rootfs belongs to the new block's first id, and
    /// c1 starts, sees its files as root's, stops and is destroyed.
    #[track_caller]
    fn assert_moved(&self, out: &impl std::fmt::Display) {
        let (a, new) = (&self.a.user, block_of(&self.a.user));
        assert!(
            !new.overlaps(&self.theirs),
            "{new:?} overlaps b's {:?}\n{out}",
            self.theirs
        );
        assert!(
            !new.overlaps(&self.old),
            "{new:?} overlaps the old {:?}\n{out}",
            self.old
        );
        let config = read(self.dir().join("config").to_str().unwrap());
        for k in ["u", "g"] {
            let want = format!("lxc.idmap = {k} 0 {} 65536", new.start);
            assert!(
                config.contains(&want),
                "no `{want}` in c1's config:\n{config}\n{out}"
            );
        }
        let mut left = Vec::new();
        owned_in(&self.dir(), self.old, &mut left);
        let first: Vec<_> = left.iter().take(5).collect();
        assert!(
            left.is_empty(),
            "{} files still of the old block, first {first:?}\n{out}",
            left.len()
        );
        let rootfs = self.dir().join("rootfs");
        let root = new.start as u32;
        assert_eq!(
            host::owner(&rootfs),
            Some((root, root)),
            "owner of the rootfs\n{out}"
        );
        assert_eq!(
            host::owner(&self.dir()).map(|o| o.0),
            Some(root),
            "owner of c1's directory"
        );

        lxu_as(a, &["start", "-n", "c1"]).success();
        lxu_as(
            a,
            &[
                "attach", "-n", "c1", "--", "stat", "-c", "%u:%g", "/", "/bin",
            ],
        )
        .success()
        .stdout_is("0:0\n0:0");
        lxu_as(a, &["stop", "-n", "c1", "-k"]).success();
        lxu_as(a, &["destroy", "-n", "c1"]).success();
        assert!(!self.dir().exists(), "c1's directory is left after destroy");
    }
}

/// As the container's root (through lxc-usernsexec, with the user's own ids mapped too so
/// that the home can be searched): a set-uid file `/root/special` in c1's rootfs with a
/// file capability and ACL entries for container uid 1000 and gid 2000. Returns its path.
fn special_file(s: &Scene) -> PathBuf {
    let u = &s.a.user;
    let f = s.dir().join("rootfs/root/special");
    let o = s.old.start;
    let maps = [
        format!("u:0:{o}:65536"),
        format!("g:0:{o}:65536"),
        format!("u:65536:{}:1", u.uid),
        format!("g:65536:{}:1", u.gid),
    ];
    let script = "set -e; : > \"$1\"; chown 0:0 \"$1\"; chmod 4755 \"$1\"; \
                  setfacl -m u:1000:r,g:2000:r \"$1\"; setcap cap_net_raw+ep \"$1\"";
    let mut argv = vec!["/usr/bin/lxc-usernsexec"];
    for m in &maps {
        argv.extend(["-m", m.as_str()]);
    }
    argv.extend(["--", "/bin/sh", "-c", script, "sh", f.to_str().unwrap()]);
    lxu_e2e::root::run_as(u, &argv).success();
    f
}

/// `f` has its set-uid bit, its capability (for the container root at `new`) and its
/// ACL entries, all moved along with the ids, for the block at `new`.
#[track_caller]
fn assert_special_kept(f: &Path, new: u64) {
    let m = std::fs::symlink_metadata(f).unwrap();
    assert_eq!(
        (m.uid(), m.gid()),
        (new as u32, new as u32),
        "owner of `{}`",
        f.display()
    );
    assert_eq!(
        m.mode() & 0o7000,
        0o4000,
        "set-uid bit of `{}`: mode {:o}",
        f.display(),
        m.mode()
    );
    let cap = lxu_e2e::run::sh("/usr/sbin/getcap", &["-n", f.to_str().unwrap()]);
    cap.success()
        .stdout_has("cap_net_raw=ep")
        .stdout_has(&format!("[rootid={new}]"));
    let acl = lxu_e2e::run::sh("/usr/bin/getfacl", &["-n", "-p", f.to_str().unwrap()]);
    acl.success()
        .stdout_has(&format!("user:{}:r--", new + 1000))
        .stdout_has(&format!("group:{}:r--", new + 2000));
}

#[test]
fn overlapping_ids_used_by_a_container_are_refused_then_moved_with_it() {
    let Some((_files, s)) = Scene::new("r") else {
        return;
    };
    let _gone = Gone(&s.a.user, "c1");
    let (a, b) = (s.a.name(), s.b.name());
    let special = special_file(&s);
    assert_special_kept(&special, s.old.start);

    // Without --move-ids: an account of who overlaps whom, which container depends on
    // what, and what to run; nothing changed.
    let before = s.snapshot();
    let out = lxu_root(&["setup-user", a]);
    out.failure()
        .stderr_has(&format!(
            "/etc/subuid: {a}'s {} overlaps {b}'s {}",
            shown(s.old),
            shown(s.theirs)
        ))
        .stderr_has(&format!("/etc/subgid: {a}'s {}", shown(s.old)))
        .stderr_has(&format!(
            "c1 in `{}`, stopped",
            s.a.user.home.join(".local/share/lxc").display()
        ))
        .stderr_has(&format!("u 0 {} 65536", s.old.start))
        .stderr_has(&format!("lxu setup-user --move-ids {a}"));
    assert!(
        before == s.snapshot(),
        "a refused setup-user changed files\n{out}"
    );

    // A running container is never moved, flag or not.
    lxu_as(&s.a.user, &["start", "-n", "c1"]).success();
    let out = lxu_root(&["setup-user", "--move-ids", a]);
    out.failure()
        .stderr_has("RUNNING")
        .stderr_has("lxu stop -n NAME, for c1");
    assert!(
        before == s.snapshot(),
        "setup-user changed files while c1 ran\n{out}"
    );
    lxu_as(&s.a.user, &["stop", "-n", "c1", "-k"]).success();

    let out = lxu_root(&["setup-user", "--move-ids", a]);
    out.success()
        .stdout_has("container c1")
        .stdout_has("shift its files");
    assert_special_kept(&special, block_of(&s.a.user).start);
    s.assert_moved(&out);
}

#[test]
fn a_move_killed_half_way_is_finished_by_the_next_run() {
    let Some((_files, s)) = Scene::new("k") else {
        return;
    };
    let _gone = Gone(&s.a.user, "c1");
    let a = s.a.name();
    let crash = |point: &str| {
        let mut c = std::process::Command::new(lxu_e2e::lab::lxu_bin());
        c.args(["setup-user", "--move-ids", a])
            .env("LXU_CRASH_AT", point);
        let desc = lxu_e2e::run::describe(&c, Some("lxu"));
        lxu_e2e::run::run(c, desc, None, lxu_e2e::run::DEFAULT_TIMEOUT)
    };
    // Killed after the new block was added: both blocks are the user's, c1 still maps the
    // old one and still starts; without the flag the next run still refuses.
    let out = crash("setup-user.ids-added");
    assert_eq!(out.signal, Some(9), "not killed at the crash point\n{out}");
    lxu_as(&s.a.user, &["start", "-n", "c1"]).success();
    lxu_as(&s.a.user, &["stop", "-n", "c1", "-k"]).success();
    lxu_root(&["setup-user", a]).failure().stderr_has("c1 in");

    // The helper killed between two files' chowns: some files are in the new block, some
    // in the old; the command says it failed.
    let out = crash("setup-user.file-chowned@5");
    out.failure()
        .stderr_has("crash point `setup-user.file-chowned` reached");
    let mut left = Vec::new();
    owned_in(&s.dir(), s.old, &mut left);
    assert!(
        !left.is_empty(),
        "the crash came after every file was shifted\n{out}"
    );

    let out = lxu_root(&["setup-user", "--move-ids", a]);
    out.success();
    s.assert_moved(&out);
}
