//! `lxu setup-user` as root, on throwaway users. /etc/subuid, /etc/subgid and
//! /etc/lxc/lxc-usernet are put back as they were after each test.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use lxu_e2e::host::{self, subid_entries, Range, User};
use lxu_e2e::root::{lxu_root, root_ready, run_as, HostFiles, TempUser, HOST_FILES};

fn read(p: &str) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn default_conf(u: &User) -> PathBuf {
    u.home.join(".config/lxc/default.conf")
}

/// Where the root tests can run: the host files saved (put back when dropped) and a new
/// user named from `prefix`, which is dropped (deleted) first.
#[track_caller]
fn fresh_user(prefix: &str) -> Option<(HostFiles, TempUser)> {
    root_ready().then(|| (HostFiles::save(), TempUser::new(prefix)))
}

/// The subordinate uid ranges of every user but `name`.
fn others_subuids(name: &str) -> Vec<(String, Range)> {
    subid_entries(&read("/etc/subuid"))
        .into_iter()
        .filter(|(o, _)| o != name)
        .collect()
}

/// Everything setup-user may touch for `u`, to compare before and after.
fn snapshot(u: &User) -> Vec<(String, Option<Vec<u8>>)> {
    let mut v: Vec<(String, Option<Vec<u8>>)> = HOST_FILES
        .iter()
        .map(|p| (p.to_string(), std::fs::read(p).ok()))
        .collect();
    let dc = default_conf(u);
    v.push((dc.display().to_string(), std::fs::read(&dc).ok()));
    v
}

/// Asserts `u` owns one block of 65536 ids, the same in both files, overlapping nobody
/// else's range in either file; returns it.
#[track_caller]
fn assert_clean_block(u: &User) -> Range {
    let (ut, gt) = (read("/etc/subuid"), read("/etc/subgid"));
    let mine = |t: &str| -> Vec<Range> {
        subid_entries(t)
            .into_iter()
            .filter(|(o, _)| *o == u.name || *o == u.uid.to_string())
            .map(|(_, r)| r)
            .collect()
    };
    let (mu, mg) = (mine(&ut), mine(&gt));
    let block = mu
        .iter()
        .find(|r| r.count == 65536 && mg.contains(r))
        .copied()
        .unwrap_or_else(|| {
            panic!(
                "{} has no common block of 65536\n/etc/subuid:\n{ut}\n/etc/subgid:\n{gt}",
                u.name
            )
        });
    for (file, text) in [("/etc/subuid", &ut), ("/etc/subgid", &gt)] {
        for (owner, r) in subid_entries(text) {
            if owner == u.name || owner == u.uid.to_string() {
                continue;
            }
            assert!(
                !r.overlaps(&block),
                "{}'s block {block:?} overlaps {owner}'s {r:?} in {file}:\n{text}",
                u.name
            );
        }
        for r in mine(text) {
            assert!(
                !subid_entries(text)
                    .iter()
                    .any(|(o, x)| *o != u.name && *o != u.uid.to_string() && x.overlaps(&r)),
                "{} keeps an overlapping range {r:?} in {file}:\n{text}",
                u.name
            );
        }
    }
    block
}

/// Asserts default.conf maps the block and belongs to the user.
#[track_caller]
fn assert_default_conf(u: &User, block: Range) {
    let path = default_conf(u);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("`{}`: {e}", path.display()));
    let maps: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "lxc.idmap").then(|| v.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .collect();
    assert_eq!(
        maps,
        [
            format!("u 0 {} 65536", block.start),
            format!("g 0 {} 65536", block.start)
        ],
        "`{}`:\n{text}",
        path.display()
    );
    assert_eq!(
        host::owner(&path),
        Some((u.uid, u.gid)),
        "owner of `{}`",
        path.display()
    );
}

#[test]
fn a_fresh_user_gets_a_free_block_and_a_second_run_changes_nothing() {
    let Some((_files, t)) = fresh_user("lxe") else {
        return;
    };
    let u = &t.user;
    let out = lxu_root(&["setup-user", t.name()]);
    out.success().stdout_has(&format!("{}: changed:", t.name()));
    let block = assert_clean_block(u);
    out.stdout_has(&block.start.to_string());
    assert_default_conf(u, block);
    let usernet = read("/etc/lxc/lxc-usernet");
    assert!(
        usernet
            .lines()
            .any(|l| l.split_whitespace().next() == Some(t.name()) && l.contains("veth")),
        "no lxc-usernet line for {}:\n{usernet}",
        t.name()
    );

    let before = snapshot(u);
    let again = lxu_root(&["setup-user", t.name()]);
    again
        .success()
        .stdout_has(&format!("{}: nothing to change", t.name()));
    assert!(
        before == snapshot(u),
        "a second setup-user changed files\n{again}"
    );
}

#[test]
fn dry_run_lists_changes_and_makes_none() {
    let Some((_files, t)) = fresh_user("lxd") else {
        return;
    };
    let before = snapshot(&t.user);
    let out = lxu_root(&["setup-user", "--dry-run", t.name()]);
    out.success()
        .stdout_has(&format!("{}: would change:", t.name()))
        .stdout_has(&default_conf(&t.user).display().to_string())
        .stdout_has("/etc/lxc/lxc-usernet");
    assert!(
        before == snapshot(&t.user),
        "--dry-run changed files\n{out}"
    );
    assert!(!default_conf(&t.user).exists());
    assert!(
        !t.user.home.join(".config").exists(),
        "--dry-run made ~/.config"
    );
}

#[test]
fn a_range_overlapping_another_users_is_replaced_by_a_free_block() {
    let Some((_files, t)) = fresh_user("lxo") else {
        return;
    };
    // Someone else's range to collide with: the test user's when it has one.
    let other_user = std::env::var("LXU_TEST_USER").unwrap_or_else(|_| "lxutest".into());
    let (victim, vr) = others_subuids(t.name())
        .into_iter()
        .max_by_key(|(o, _)| *o == other_user)
        .expect("another user with subordinate ids (./x test sets up lxutest first)");
    let bad = Range {
        start: vr.start + 1000,
        count: 65536,
    };
    for f in ["/etc/subuid", "/etc/subgid"] {
        let kept: String = read(f)
            .lines()
            .filter(|l| l.split(':').next() != Some(t.name()))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(
            f,
            format!("{kept}{}:{}:{}\n", t.name(), bad.start, bad.count),
        )
        .unwrap();
    }
    let others_before = others_subuids(t.name());

    let out = lxu_root(&["setup-user", t.name()]);
    out.success().stdout_has("overlaps");
    let block = assert_clean_block(&t.user);
    assert_ne!(block, bad);
    for f in ["/etc/subuid", "/etc/subgid"] {
        let text = read(f);
        assert!(
            !subid_entries(&text).contains(&(t.name().to_string(), bad)),
            "the overlapping range stays in {f}:\n{text}"
        );
    }
    assert_eq!(
        others_before,
        others_subuids(t.name()),
        "other users' ranges must not change ({victim}'s was the target)"
    );
    assert_default_conf(&t.user, block);

    lxu_root(&["setup-user", t.name()])
        .success()
        .stdout_has("nothing to change");
}

#[test]
fn an_unknown_user_is_an_error_that_changes_nothing() {
    if !root_ready() {
        return;
    }
    let _files = HostFiles::save();
    let before: Vec<_> = HOST_FILES.iter().map(|p| std::fs::read(p).ok()).collect();
    lxu_root(&["setup-user", "no-such-user-e2e"])
        .code_is(1)
        .stderr_has("no-such-user-e2e");
    let after: Vec<_> = HOST_FILES.iter().map(|p| std::fs::read(p).ok()).collect();
    assert!(before == after);
}

// Issue 11, finding 1: setup-user runs as root and used to write, chmod, chown and read
// through paths in the user's home, following links the user planted there. The user's
// files below are made by the user (through runuser), as an attacker would make them.

/// A host file (or directory) as it was, put back by a temporary and a rename when
/// dropped if anything about it changed (also after a failed assertion). The tests below
/// drop these before their `TempUser`, so a clobbered /etc/passwd is back before userdel.
struct Keep {
    path: PathBuf,
    was: Option<FileState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FileState {
    bytes: Option<Vec<u8>>,
    mode: u32,
    uid: u32,
    gid: u32,
    is_link: bool,
}

fn file_state(p: &Path) -> Option<FileState> {
    let m = std::fs::symlink_metadata(p).ok()?;
    Some(FileState {
        bytes: m.is_file().then(|| std::fs::read(p).ok()).flatten(),
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        is_link: m.file_type().is_symlink(),
    })
}

impl Keep {
    fn new(path: &str) -> Keep {
        let path = PathBuf::from(path);
        let was = file_state(&path);
        Keep { path, was }
    }

    #[track_caller]
    fn assert_untouched(&self, out: &impl std::fmt::Display) {
        let now = file_state(&self.path);
        assert!(
            now == self.was,
            "`{}` changed: was {:?}, now {:?} (bytes equal: {})\n{out}",
            self.path.display(),
            self.was.as_ref().map(|s| (s.mode, s.uid, s.gid, s.is_link)),
            now.as_ref().map(|s| (s.mode, s.uid, s.gid, s.is_link)),
            now.as_ref().map(|s| &s.bytes) == self.was.as_ref().map(|s| &s.bytes),
        );
    }
}

impl Drop for Keep {
    fn drop(&mut self) {
        let now = file_state(&self.path);
        if now == self.was {
            return;
        }
        eprintln!("restoring `{}`", self.path.display());
        let p = &self.path;
        let r = match &self.was {
            None => std::fs::remove_file(p),
            Some(FileState {
                bytes: Some(b),
                mode,
                uid,
                gid,
                ..
            }) => {
                let tmp = p.with_file_name(format!(
                    ".{}.lxu-e2e-restore",
                    p.file_name().unwrap().to_string_lossy()
                ));
                let _ = std::fs::remove_file(&tmp);
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&tmp)
                    .and_then(|mut f| {
                        f.write_all(b)?;
                        f.set_permissions(std::fs::Permissions::from_mode(*mode))?;
                        std::os::unix::fs::fchown(&f, Some(*uid), Some(*gid))?;
                        f.sync_all()
                    })
                    .and_then(|()| std::fs::rename(&tmp, p))
            }
            Some(_) => Ok(()),
        };
        if let Err(e) = r {
            eprintln!("could not restore `{}`: {e}", p.display());
        }
    }
}

/// Removes what the user planted (the link itself, never its target) before the user's
/// home goes.
struct Unplant(PathBuf);

impl Drop for Unplant {
    fn drop(&mut self) {
        if std::fs::symlink_metadata(&self.0).is_ok_and(|m| m.file_type().is_symlink()) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// As `u`: `mkdir -p` each of `dirs`, then `ln -s target link`.
#[track_caller]
fn plant(u: &User, dirs: &[&Path], target: &Path, link: &Path) -> Unplant {
    let mut argv: Vec<&str> = vec![
        "sh",
        "-c",
        "set -e; t=$1; l=$2; shift 2; for d; do mkdir -p \"$d\"; done; ln -s \"$t\" \"$l\"",
        "sh",
    ];
    argv.push(target.to_str().unwrap());
    argv.push(link.to_str().unwrap());
    argv.extend(dirs.iter().map(|d| d.to_str().unwrap()));
    run_as(u, &argv).success();
    assert_eq!(
        host::owner(link).map(|o| o.0),
        Some(u.uid),
        "the link is the user's"
    );
    Unplant(link.to_owned())
}

/// Every regular file `uid` owns below `dir` (not following links).
fn files_owned_by(dir: &Path, uid: u32, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let Ok(m) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        if m.is_dir() {
            files_owned_by(&e.path(), uid, out);
        } else if m.is_file() && m.uid() == uid {
            out.push(e.path());
        }
    }
}

/// Asserts that no file `u` owns (in the home, /etc or /tmp) holds a line of `secret`.
#[track_caller]
fn assert_no_copy(u: &User, secret: &[u8], out: &impl std::fmt::Display) {
    let secret = String::from_utf8_lossy(secret);
    let lines: Vec<&str> = secret.lines().filter(|l| l.len() > 4).collect();
    assert!(!lines.is_empty());
    let mut owned = Vec::new();
    for d in [u.home.as_path(), Path::new("/etc"), Path::new("/tmp")] {
        files_owned_by(d, u.uid, &mut owned);
    }
    for f in owned {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap_or_default()).into_owned();
        if let Some(l) = lines.iter().find(|l| text.contains(**l)) {
            panic!(
                "`{}` (owned by {}) holds a line of a root-only file: {l}\n{out}",
                f.display(),
                u.name
            );
        }
    }
}

#[test]
fn a_temporary_linked_to_etc_passwd_is_replaced_not_followed() {
    let Some((_files, t)) = fresh_user("lxa") else {
        return;
    };
    let u = &t.user;
    // Declared after the user: dropped (and /etc/passwd put back) before userdel runs.
    let passwd = Keep::new("/etc/passwd");
    let dir = u.home.join(".config/lxc");
    let _link = plant(
        u,
        &[&dir],
        Path::new("/etc/passwd"),
        &dir.join(".default.conf.lxu-new"),
    );

    let out = lxu_root(&["setup-user", t.name()]);
    passwd.assert_untouched(&out);
    out.success();
    // The link was the user's to lose: default.conf is a new regular file of theirs.
    let m = std::fs::symlink_metadata(default_conf(u)).unwrap();
    assert!(m.is_file(), "default.conf is not a regular file\n{out}");
    assert_default_conf(u, assert_clean_block(u));
}

#[test]
fn default_conf_linked_to_etc_shadow_is_refused_and_never_copied() {
    let Some((_files, t)) = fresh_user("lxs") else {
        return;
    };
    let u = &t.user;
    let shadow = Keep::new("/etc/shadow");
    let secret = std::fs::read("/etc/shadow").expect("read /etc/shadow");
    let conf = default_conf(u);
    let _link = plant(
        u,
        &[conf.parent().unwrap()],
        Path::new("/etc/shadow"),
        &conf,
    );

    let out = lxu_root(&["setup-user", t.name()]);
    shadow.assert_untouched(&out);
    assert_no_copy(u, &secret, &out);
    out.failure()
        .stderr_has(&conf.display().to_string())
        .stderr_has("symbolic link");
    assert!(
        std::fs::symlink_metadata(&conf).is_ok_and(|m| m.file_type().is_symlink()),
        "the user's link was replaced\n{out}"
    );
}

#[test]
fn a_config_dir_linked_to_etc_does_not_get_root_to_write_etc_lxc() {
    let Some((_files, t)) = fresh_user("lxc") else {
        return;
    };
    let u = &t.user;
    std::fs::create_dir_all("/etc/lxc").unwrap();
    let etc_conf = Keep::new("/etc/lxc/default.conf");
    let temp = Keep::new("/etc/lxc/.default.conf.lxu-new");
    let _link = plant(u, &[], Path::new("/etc"), &u.home.join(".config"));

    let out = lxu_root(&["setup-user", t.name()]);
    etc_conf.assert_untouched(&out);
    temp.assert_untouched(&out);
    let mut owned = Vec::new();
    files_owned_by(Path::new("/etc/lxc"), u.uid, &mut owned);
    assert!(owned.is_empty(), "{} owns {owned:?}\n{out}", u.name);
    // As the user, /etc/lxc is not writable: the error names the path in the home.
    out.failure()
        .stderr_has(&u.home.join(".config/lxc").display().to_string());
}

/// `~/.config` (or `~/.config/lxc` when `lxc_too`) is a link to a directory of root's:
/// nothing may be made there, and the directory keeps its owner and mode.
fn root_directory_case(lxc_too: bool) {
    let Some((_files, t)) = fresh_user("lxr") else {
        return;
    };
    let u = &t.user;
    let target = PathBuf::from(format!(
        "/etc/lxu-e2e-rootdir-{}-{lxc_too}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&target);
    std::fs::create_dir(&target).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
    struct Gone(PathBuf);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _gone = Gone(target.clone());
    let before = file_state(&target);
    let _link = if lxc_too {
        let cfg = u.home.join(".config");
        plant(u, &[&cfg], &target, &cfg.join("lxc"))
    } else {
        plant(u, &[], &target, &u.home.join(".config"))
    };

    let out = lxu_root(&["setup-user", t.name()]);
    assert_eq!(
        file_state(&target),
        before,
        "`{}` changed\n{out}",
        target.display()
    );
    let entries: Vec<_> = std::fs::read_dir(&target)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        entries.is_empty(),
        "setup-user made {entries:?} in a root directory\n{out}"
    );
    out.failure().stderr_has(".config/lxc");
}

#[test]
fn a_config_dir_linked_to_a_root_directory_gets_nothing_made_or_chowned_there() {
    root_directory_case(false);
}

#[test]
fn a_config_lxc_dir_linked_to_a_root_directory_gets_no_file_there() {
    root_directory_case(true);
}
