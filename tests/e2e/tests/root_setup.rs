//! `lxu setup-user` as root, on throwaway users. /etc/subuid, /etc/subgid and
//! /etc/lxc/lxc-usernet are put back as they were after each test.

use std::path::PathBuf;

use lxu_e2e::host::{self, subid_entries, Range, User};
use lxu_e2e::root::{lxu_root, root_ready, HostFiles, TempUser, HOST_FILES};

fn read(p: &str) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn default_conf(u: &User) -> PathBuf {
    u.home.join(".config/lxc/default.conf")
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
    if !root_ready() {
        return;
    }
    let _files = HostFiles::save();
    let t = TempUser::new("lxe");
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
    if !root_ready() {
        return;
    }
    let _files = HostFiles::save();
    let t = TempUser::new("lxd");
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
    if !root_ready() {
        return;
    }
    let _files = HostFiles::save();
    let t = TempUser::new("lxo");
    // Someone else's range to collide with: the test user's when it has one.
    let other_user = std::env::var("LXU_TEST_USER").unwrap_or_else(|_| "lxutest".into());
    let (victim, vr) = subid_entries(&read("/etc/subuid"))
        .into_iter()
        .filter(|(o, _)| o != t.name())
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
    let others_before: Vec<(String, Range)> = subid_entries(&read("/etc/subuid"))
        .into_iter()
        .filter(|(o, _)| o != t.name())
        .collect();

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
    let others_after: Vec<(String, Range)> = subid_entries(&read("/etc/subuid"))
        .into_iter()
        .filter(|(o, _)| o != t.name())
        .collect();
    assert_eq!(
        others_before, others_after,
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
