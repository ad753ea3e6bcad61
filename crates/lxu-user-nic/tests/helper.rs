//! Security and behaviour tests of the installed (setuid-root) helper run
//! by unprivileged users. See tests/common/mod.rs for the sandbox.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const BR: &str = "lxutbr0";

fn generic(arg: &str) -> String {
    format!(
        "lxu-user-nic: cannot use network namespace {arg}: it does not exist, is not a network \
         namespace, or you may not administer it"
    )
}

fn db_nics(db: &str) -> BTreeSet<String> {
    db.lines()
        .map(|l| l.split_whitespace().nth(3).unwrap().to_string())
        .collect()
}

/// The error of a caller over its allowance of `n` on BR, from lxc-usernet `lines`.
fn quota_reached(user: &str, n: u32, lines: &str) -> String {
    format!(
        "lxu-user-nic: quota reached: user {user} may have {n} veth on {BR} \
         (/etc/lxc/lxc-usernet {lines})"
    )
}

/// The scenario most tests use: `usernet` as lxc-usernet and the bridge BR; `None`
/// (after a skip) where the scenarios cannot run.
#[track_caller]
fn setup(usernet: &str) -> Option<Scenario> {
    scenario(usernet, &[BR])
}

/// The helper's arguments for a veth on BR into the netns of process `pid`.
fn create_args(pid: &str) -> [&str; 6] {
    ["create", "/l", "c", pid, "veth", BR]
}

/// The helper's `create` of a veth on BR into the netns of `ct`, run as `user`.
fn create_cmd(sc: &Scenario, user: &str, ct: u32) -> Command {
    sc.helper_cmd(user, &create_args(&ct.to_string()))
}

/// A `create` on BR by `user` into the netns of `ct` that must succeed; returns the name
/// of the host end.
#[track_caller]
fn create_ok(sc: &Scenario, user: &str, ct: u32) -> String {
    let r = sc.create(user, &ct.to_string(), BR, None);
    assert!(r.ok, "{r:?}");
    parse_output(&r.stdout).2
}

/// A `create` by `user` into the netns of `ct`, and how long it took.
fn timed_create(sc: &Scenario, user: &str, ct: u32) -> (Run, Duration) {
    let start = Instant::now();
    let r = sc.create(user, &ct.to_string(), BR, None);
    (r, start.elapsed())
}

/// Replaces the database with a FIFO and starts `cmd`, a helper run; returns its pid once
/// it holds the lock (blocked reading the database until [`Scenario::feed_db`]).
#[track_caller]
fn start_holding_lock(sc: &mut Scenario, mut cmd: Command) -> u32 {
    sc.db_fifo();
    let pid = sc.spawn_captured(&mut cmd);
    assert!(wait_flock(pid), "the helper never took the lock");
    pid
}

/// Waits for the helper `pid` (after it was fed), which must have succeeded.
#[track_caller]
fn finished_ok(sc: &mut Scenario, pid: u32) -> Run {
    let r = sc
        .wait_helper(pid, Duration::from_secs(5))
        .expect("helper still runs");
    assert!(r.ok, "{r:?}");
    r
}

#[test]
fn create_prints_names_and_indexes_and_records_the_device() {
    let Some(mut sc) = setup(&format!("{USER1} veth {BR} 3\n")) else {
        return;
    };
    sc.root_ok(&["ip", "link", "set", BR, "mtu", "1400"]);
    let ct = sc.user_process(USER1, true);
    let uid = uid_of(USER1);

    let r = sc.create(USER1, &ct.to_string(), BR, Some("eth0"));
    assert!(r.ok, "{r:?}");
    assert!(r.stderr.is_empty(), "{r:?}");
    let (cname, cidx, host, hidx) = parse_output(&r.stdout);
    assert_eq!(cname, "eth0");
    let prefix = format!("veth{uid}_");
    assert!(
        host.starts_with(&prefix) && host.len() == prefix.len() + 4,
        "{host}"
    );
    let h = sc.host_link(&host);
    assert!(h.starts_with(&format!("{hidx}: {host}@")), "{h}");
    assert!(h.contains(&format!("master {BR}")), "{h}");
    assert!(h.contains("link/ether fe:"), "{h}");
    assert!(h.contains(",UP"), "{h}");
    assert!(h.contains("mtu 1400"), "{h}");
    let c = sc.link_in(ct, "eth0");
    assert!(c.starts_with(&format!("{cidx}: eth0@")), "{c}");
    assert!(c.contains("mtu 1400"), "{c}");

    // Without an ifname the kernel picks eth%d.
    let r2 = sc.create(USER1, &ct.to_string(), BR, None);
    assert!(r2.ok, "{r2:?}");
    let (cname2, _, host2, _) = parse_output(&r2.stdout);
    assert_eq!(cname2, "eth1");
    assert_eq!(
        sc.db(),
        format!("{USER1} veth {BR} {host}\n{USER1} veth {BR} {host2}\n")
    );
    let meta = fs::metadata(sc.dir.path().join("run-lxu/nics")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 0);
    assert_eq!(
        std::os::unix::fs::MetadataExt::gid(&meta),
        0,
        "no caller group"
    );

    // A name clash inside the caller's own netns is reported, and what was
    // created is rolled back.
    let r3 = sc.create(USER1, &ct.to_string(), BR, Some("eth0"));
    assert!(!r3.ok);
    assert!(
        r3.error()
            .contains("cannot rename the container end to `eth0`"),
        "{r3:?}"
    );
    assert_eq!(sc.db().lines().count(), 2);
    assert_eq!(sc.host_veths().len(), 2);
    assert_eq!(sc.links_of(ct).len(), 3, "lo, eth0, eth1");
}

#[test]
fn quota_holds_under_50_concurrent_creates() {
    let Some(mut sc) = setup(&format!("{USER1} veth {BR} 10\n")) else {
        return;
    };
    let ct = sc.user_process(USER1, true);
    let children: Vec<_> = (0..50)
        .map(|_| {
            create_cmd(&sc, USER1, ct)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().into())
        .collect();
    let ok: Vec<&Run> = runs.iter().filter(|r| r.ok).collect();
    assert_eq!(ok.len(), 10, "exactly the quota succeeds");
    let quota = quota_reached(USER1, 10, "line 1");
    for r in runs.iter().filter(|r| !r.ok) {
        assert_eq!(r.error(), quota, "{r:?}");
        assert_eq!(r.code, Some(1));
    }
    let hosts: BTreeSet<String> = ok.iter().map(|r| parse_output(&r.stdout).2).collect();
    assert_eq!(hosts.len(), 10);
    assert_eq!(db_nics(&sc.db()), hosts);
    assert_eq!(sc.host_veths(), hosts);
    assert_eq!(sc.links_of(ct).len(), 11, "10 peers + lo");
}

#[test]
fn foreign_root_and_host_netns_are_refused_identically() {
    let Some(mut sc) = setup(&format!("{USER1} veth {BR} 5\n{USER2} veth {BR} 5\n")) else {
        return;
    };
    let theirs = sc.user_process(USER2, true);
    let mine_in_host_netns = sc.user_process(USER1, false);
    let root_owned_netns = sc.root_netns_process();
    for pid in [
        "1".to_string(),
        theirs.to_string(),
        mine_in_host_netns.to_string(),
        root_owned_netns.to_string(),
        "2147483647".to_string(),
        "0".to_string(),
        "self".to_string(),
        "1/../self".to_string(),
        "-1".to_string(),
        String::new(),
    ] {
        let r = sc.create(USER1, &pid, BR, None);
        assert!(!r.ok);
        assert_eq!(r.stderr.trim_end(), generic(&pid), "pid {pid:?}");
    }
    // The same pids through delete's path argument.
    for pid in [theirs, mine_in_host_netns, root_owned_netns] {
        let path = format!("/proc/{pid}/ns/net");
        let r = sc.delete(USER1, &path, BR, "veth1_abcd");
        assert_eq!(r.stderr.trim_end(), generic(&path));
    }
    assert!(sc.db().is_empty());
    assert_eq!(sc.host_links(), vec!["lo".to_string(), BR.to_string()]);
    // The other user, on their own netns, is fine.
    let r = sc.create(USER2, &theirs.to_string(), BR, None);
    assert!(r.ok, "{r:?}");
}

#[test]
fn path_and_symlink_tricks_get_the_generic_message() {
    let Some(mut sc) = setup(&format!("{USER1} veth {BR} 5\n")) else {
        return;
    };
    let mine = sc.user_process(USER1, true);
    let d = sc.dir.path().join("tricks");
    fs::create_dir(&d).unwrap();
    fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("/proc/1/ns/net", d.join("to-init")).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", d.join("to-shadow")).unwrap();
    std::os::unix::fs::symlink("/nonexistent", d.join("dangling")).unwrap();
    std::os::unix::fs::symlink(d.join("loop"), d.join("loop")).unwrap();
    let fifo = d.join("fifo");
    common::sh(&format!("mkfifo -m 666 {}", fifo.display()));
    let secret = d.join("secret");
    fs::create_dir(&secret).unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(secret.join("exists"), "x").unwrap();
    let p = |s: &str| d.join(s).display().to_string();
    let cases = [
        "/etc/shadow".to_string(),
        "/nonexistent".to_string(),
        p("secret/exists"),
        p("secret/missing"),
        p("to-init"),
        p("to-shadow"),
        p("dangling"),
        p("loop"),
        p("fifo"),
        "/dev/null".to_string(),
        "/proc/self/ns/net".to_string(),
        "/proc/thread-self/ns/net".to_string(),
        "/proc/1/ns/net".to_string(),
        format!("/proc/{mine}/ns/mnt"),
        format!("/proc/{mine}/ns/user"),
        "/proc/self/ns/../../1/ns/net".to_string(),
        "relative/path".to_string(),
        "/".to_string(),
    ];
    for path in &cases {
        let start = Instant::now();
        let r = sc.delete(USER1, path, BR, "veth1_abcd");
        assert!(start.elapsed() < Duration::from_secs(5), "{path} hung");
        assert!(!r.ok);
        assert_eq!(r.stderr.trim_end(), generic(path), "{path}");
        assert!(r.stdout.is_empty());
    }
    // lxcpath and name are never opened: a FIFO there neither blocks nor
    // changes anything, and a symlink to the caller's own netns in the
    // namespace argument is as good as the real path.
    let r = sc.helper(
        USER1,
        &[
            "create",
            &p("fifo"),
            &p("fifo"),
            &mine.to_string(),
            "veth",
            BR,
        ],
    );
    assert!(r.ok, "{r:?}");
    let (_, _, host, _) = parse_output(&r.stdout);
    std::os::unix::fs::symlink(format!("/proc/{mine}/ns/net"), d.join("to-mine")).unwrap();
    let r = sc.delete(USER1, &p("to-mine"), BR, &host);
    assert!(r.ok, "{r:?}");
}

#[test]
fn unknown_or_disallowed_bridges_are_refused() {
    let Some(mut sc) = setup(&format!(
        "{USER1} veth nobr0 2\n{USER1} veth notabr 2\n{USER1} veth {BR} 1\n"
    )) else {
        return;
    };
    sc.root_ok(&[
        "ip", "link", "add", "notabr", "type", "veth", "peer", "name", "notabrp",
    ]);
    let ct = sc.user_process(USER1, true);
    let pid = ct.to_string();
    let r = sc.create(USER1, &pid, "br9", None);
    assert_eq!(
        r.error(),
        format!("lxu-user-nic: {USER1} may not use bridge br9 (no line in /etc/lxc/lxc-usernet)")
    );
    let r = sc.create(USER1, &pid, "nobr0", None);
    assert_eq!(r.error(), "lxu-user-nic: bridge `nobr0` does not exist");
    let r = sc.create(USER1, &pid, "notabr", None);
    assert_eq!(r.error(), "lxu-user-nic: `notabr` is not a bridge");
    let r = sc.create(USER1, &pid, "br 0", None);
    assert_eq!(r.error(), "lxu-user-nic: invalid interface name `br 0`");
    let r = sc.helper(USER1, &["create", "/l", "c", &pid, "macvlan", BR]);
    assert_eq!(
        r.error(),
        "lxu-user-nic: unsupported nic type `macvlan`: only veth is supported"
    );
    // Another user's line does not count for this one.
    let ct2 = sc.user_process(USER2, true);
    let r = sc.create(USER2, &ct2.to_string(), BR, None);
    assert!(
        r.error()
            .contains(&format!("{USER2} may not use bridge {BR}")),
        "{r:?}"
    );
    assert!(sc.db().is_empty());
    assert_eq!(sc.links_of(ct), vec!["lo".to_string()]);
}

#[test]
fn malformed_usernet_lines_are_warned_and_the_rest_applies() {
    let Some(mut sc) = setup(&format!(
        "garbage\n{USER1} veth {BR} two\n{USER1} veth {BR} 1\n@{GROUP} veth {BR} 1\n\
             # comment\n{USER1} veth\n"
    )) else {
        return;
    };
    let ct1 = sc.user_process(USER1, true);
    let r = sc.create(USER1, &ct1.to_string(), BR, None);
    assert!(r.ok, "{r:?}");
    let warnings: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0].starts_with("lxu-user-nic: warning: /etc/lxc/lxc-usernet line 1: ignored"));
    assert!(warnings[1].contains("line 2: ignored (count is not a non-negative integer)"));
    assert!(warnings[2].contains("line 6: ignored"));
    let r = sc.create(USER1, &ct1.to_string(), BR, None);
    assert_eq!(r.error(), quota_reached(USER1, 1, "line 3"));
    // Group allowance is shared by its members and recorded as @group.
    let ct2 = sc.user_process(USER2, true);
    let ct3 = sc.user_process(USER3, true);
    let host2 = create_ok(&sc, USER2, ct2);
    assert!(
        sc.db().contains(&format!("@{GROUP} veth {BR} {host2}\n")),
        "{}",
        sc.db()
    );
    let r = sc.create(USER3, &ct3.to_string(), BR, None);
    assert_eq!(r.error(), quota_reached(USER3, 1, "line 4"));
    // Summed lines: another line for the group doubles its allowance.
    sc.usernet(&format!("@{GROUP} veth {BR} 1\n@{GROUP} veth {BR} 1\n"));
    let r = sc.create(USER3, &ct3.to_string(), BR, None);
    assert!(r.ok, "{r:?}");
    let r = sc.create(USER3, &ct3.to_string(), BR, None);
    assert!(r.error().contains("may have 2 veth"), "{r:?}");
    assert!(r.error().contains("lines 1, 2"), "{r:?}");
}

#[test]
fn killed_callers_leave_the_database_consistent() {
    let Some(mut sc) = setup(&format!("{USER1} veth {BR} 200\n")) else {
        return;
    };
    let ct = sc.user_process(USER1, true);
    // Kill at spread-out moments across a run (one run takes ~5-15 ms).
    for i in 0..60u64 {
        let mut child = create_cmd(&sc, USER1, ct)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros((i * 397) % 15_000));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let db = sc.db();
        assert!(db.is_empty() || db.ends_with('\n'), "torn write: {db:?}");
        for line in db.lines() {
            assert_eq!(line.split_whitespace().count(), 4, "bad line {line:?}");
        }
    }
    // How the kills landed, for the log: entries without a device mean a
    // kill between recording and creating; devices mean a kill after.
    let before_db = db_nics(&sc.db());
    let before_dev = sc.host_veths().len();
    eprintln!(
        "after 60 kills: {} entries, {} devices, {} entries without device",
        before_db.len(),
        before_dev,
        before_db
            .iter()
            .filter(|n| !sc.host_links().contains(n))
            .count()
    );
    create_ok(&sc, USER1, ct);
    // After the culling done by that run, database and devices agree
    // exactly: no device escapes the quota, no entry lacks its device.
    let db = sc.db();
    let recorded = db_nics(&db);
    assert_eq!(recorded.len(), db.lines().count(), "no duplicates: {db}");
    let on_host = sc.host_veths();
    assert_eq!(recorded, on_host);
    let peers = sc.links_of(ct).len() - 1;
    assert_eq!(peers, on_host.len(), "every host end has its peer");
}

#[test]
fn delete_only_the_callers_own_recorded_device() {
    let Some(mut sc) = setup(&format!(
        "{USER1} veth {BR} 3\n{USER2} veth {BR} 3\n@{GROUP} veth {BR} 3\n"
    )) else {
        return;
    };
    let ct1 = sc.user_process(USER1, true);
    let ct2 = sc.user_process(USER2, true);
    let ns1 = format!("/proc/{ct1}/ns/net");
    let ns2 = format!("/proc/{ct2}/ns/net");
    let a = create_ok(&sc, USER1, ct1);

    // Another user, with their own netns: not recorded for them.
    let r = sc.delete(USER2, &ns2, BR, &a);
    assert_eq!(
        r.error(),
        format!("lxu-user-nic: no veth `{a}` on {BR} is recorded for {USER2} in /run/lxu/nics")
    );
    // Another user naming the owner's netns: refused before the database.
    let r = sc.delete(USER2, &ns1, BR, &a);
    assert_eq!(r.stderr.trim_end(), generic(&ns1));
    // Whole words only: a prefix of the device, or the wrong bridge.
    let r = sc.delete(USER1, &ns1, BR, &a[..a.len() - 1]);
    assert!(r.error().contains("is recorded for"), "{r:?}");
    // A bridge with no line for the caller is refused before the database.
    let r = sc.delete(USER1, &ns1, "lxutbr", &a);
    assert_eq!(
        r.error(),
        format!(
            "lxu-user-nic: {USER1} may not use bridge lxutbr (no line in /etc/lxc/lxc-usernet)"
        )
    );
    assert!(sc.host_links().contains(&a));

    // CVE-2026-39402: an entry of "lxunic10" is not lxunic1's, even for a
    // device whose peer sits in lxunic1's own netns.
    sc.root_ok(&[
        "ip",
        "link",
        "add",
        "vethx",
        "type",
        "veth",
        "peer",
        "name",
        "vethxp",
        "netns",
        &ct1.to_string(),
    ]);
    sc.set_db(&format!("{}{USER1}0 veth {BR} vethx\n", sc.db()));
    let r = sc.delete(USER1, &ns1, BR, "vethx");
    assert!(r.error().contains("is recorded for"), "{r:?}");
    assert!(sc.host_links().contains(&"vethx".to_string()));
    // A device recorded for the caller but whose peer is elsewhere.
    sc.root_ok(&[
        "ip", "link", "add", "vethy", "type", "veth", "peer", "name", "vethyp",
    ]);
    sc.set_db(&format!("{}{USER1} veth {BR} vethy\n", sc.db()));
    let r = sc.delete(USER1, &ns1, BR, "vethy");
    assert_eq!(
        r.error(),
        format!("lxu-user-nic: `vethy` is not a veth whose peer is in network namespace {ns1}")
    );

    // Shared group entries: USER3 cannot delete USER2's device recorded
    // under the group, because its peer is not in USER3's netns.
    sc.usernet(&format!("{USER1} veth {BR} 3\n@{GROUP} veth {BR} 3\n"));
    let g = create_ok(&sc, USER2, ct2);
    assert!(sc.db().contains(&format!("@{GROUP} veth {BR} {g}")));
    let ct3 = sc.user_process(USER3, true);
    let r = sc.delete(USER3, &format!("/proc/{ct3}/ns/net"), BR, &g);
    assert!(
        r.error().contains("is not a veth whose peer is in"),
        "{r:?}"
    );
    assert!(sc.host_links().contains(&g));
    let r = sc.delete(USER2, &ns2, BR, &g);
    assert!(r.ok, "{r:?}");

    // The owner deletes: device and entry go.
    let r = sc.delete(USER1, &ns1, BR, &a);
    assert!(r.ok, "{r:?}");
    assert!(r.stdout.is_empty() && r.stderr.is_empty(), "{r:?}");
    assert!(!sc.host_links().contains(&a));
    assert!(!sc.host_links().contains(&g));
    assert!(
        !sc.db().contains(&a) && !sc.db().contains(&g),
        "{}",
        sc.db()
    );
    assert_eq!(
        sc.links_of(ct1),
        vec!["lo".to_string(), "vethxp".to_string()]
    );
}

#[test]
fn stale_entries_are_culled() {
    let Some(mut sc) = setup(&format!("{USER1} veth {BR} 1\n")) else {
        return;
    };
    sc.set_db(&format!(
        "{USER1} veth {BR} veth1_dead\n{USER2} veth {BR} veth2_gone\nhalf a\n"
    ));
    let ct = sc.user_process(USER1, true);
    let r = sc.create(USER1, &ct.to_string(), BR, None);
    assert!(r.ok, "stale entry must not count against the quota: {r:?}");
    let (_, _, host, _) = parse_output(&r.stdout);
    assert_eq!(sc.db(), format!("{USER1} veth {BR} {host}\n"));
    // A container's netns going away takes its veth with it; the next run
    // culls the entry.
    let ct2 = sc.user_process(USER1, true);
    sc.root_ok(&["kill", "-9", &ct.to_string()]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while sc.host_links().contains(&host) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    create_ok(&sc, USER1, ct2);
    assert!(!sc.db().contains(&host), "{}", sc.db());
    assert_eq!(sc.db().lines().count(), 1);
}

#[test]
fn refuses_to_run_without_setuid_and_ignores_the_environment() {
    let Some(mut sc) = setup(&format!("{USER1} veth {BR} 1\n")) else {
        return;
    };
    let pid = sc.user_process(USER1, true).to_string();
    // Not setuid: refuses before doing anything.
    let plain = sc.dir.path().join("plain");
    install_program(env!("CARGO_BIN_EXE_lxu-user-nic"), &plain, "0755");
    let r = sc.run_as(
        USER1,
        &[&[path_str(&plain)], &create_args(&pid)[..]].concat(),
    );
    assert!(r.error().contains("must be installed setuid root"), "{r:?}");
    // Environment that might redirect a careless program changes nothing.
    let env = [
        "/usr/bin/env",
        "PATH=/tmp",
        "RUST_BACKTRACE=full",
        "RUST_MIN_STACK=1",
        "LD_PRELOAD=/nonexistent.so",
        "HOME=/tmp",
        path_str(&sc.helper),
    ];
    let r = sc.run_as(USER1, &[&env[..], &create_args(&pid)].concat());
    assert!(r.ok, "{r:?}");
    parse_output(&r.stdout);
    let r = sc.helper(USER1, &["create"]);
    assert!(r.stderr.contains("usage: lxu-user-nic create"), "{r:?}");
}

/// `kill -STOP pid` run as `user`.
fn stop_as(sc: &Scenario, user: &str, pid: u32) -> Run {
    sc.run_as(user, &["kill", "-STOP", &pid.to_string()])
}

/// Issue 11.4: the database lock was taken before the allowance check, so
/// any local user could take it and, as the helper's real uid, stop it.
/// A caller with no line in lxc-usernet now never touches the lock: here
/// its helpers would block on the database while holding the lock, and
/// their owner stops them; another user's request still completes at once.
#[test]
fn a_caller_without_allowance_never_takes_the_lock() {
    let Some(mut sc) = setup(&format!("{USER1} veth {BR} 3\n")) else {
        return;
    };
    let ct1 = sc.user_process(USER1, true);
    let ct3 = sc.user_process(USER3, true);
    let ns3 = format!("/proc/{ct3}/ns/net");
    sc.db_fifo();
    let mut pids = Vec::new();
    for _ in 0..3 {
        pids.push(sc.spawn_helper(USER3, &create_args(&ct3.to_string())));
        pids.push(sc.spawn_helper(
            USER3,
            &["delete", "/l", "c", &ns3, "veth", BR, "veth1_abcd"],
        ));
    }
    std::thread::sleep(Duration::from_millis(300));
    for &pid in &pids {
        let _ = stop_as(&sc, USER3, pid);
    }
    // The allowed user's request must not wait on the stopped helpers (the
    // database is a plain file again, so only the lock could block it).
    fs::remove_file(sc.dir.path().join("run-lxu/nics")).unwrap();
    let (r, took) = timed_create(&sc, USER1, ct1);
    assert!(r.ok, "after {took:?}: {r:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let refused =
        format!("lxu-user-nic: {USER3} may not use bridge {BR} (no line in /etc/lxc/lxc-usernet)");
    // A helper the stop caught before it refused (a slow start) resumes.
    for &pid in &pids {
        let _ = sc.root(&["kill", "-CONT", &pid.to_string()]);
    }
    for pid in pids {
        let r = sc
            .wait_helper(pid, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("helper {pid} of {USER3} still runs"));
        assert_eq!(r.error(), refused, "{r:?}");
    }
}

/// Issue 11.4: an allowed caller stops its own helper while it holds the
/// lock. The helper blocks on the database (a FIFO) right after taking the
/// lock; the caller's SIGSTOP must be refused, and another user's request
/// completes in well under the 30 s lock timeout.
#[test]
fn a_caller_cannot_stop_its_helper_while_it_holds_the_lock() {
    let Some(mut sc) = setup(&format!("{USER1} veth {BR} 3\n{USER2} veth {BR} 3\n")) else {
        return;
    };
    let ct1 = sc.user_process(USER1, true);
    let ct2 = sc.user_process(USER2, true);
    let cmd = create_cmd(&sc, USER1, ct1);
    let pid = start_holding_lock(&mut sc, cmd);
    let stop = stop_as(&sc, USER1, pid);
    // The terminal's stop signal, which needs no permission, is ignored.
    let tstp = sc.root(&["kill", "-TSTP", &pid.to_string()]).ok;
    std::thread::sleep(Duration::from_millis(50));
    let state = proc_state(pid);
    let fed = sc.feed_db("", Duration::from_secs(2));
    let (r, took) = timed_create(&sc, USER2, ct2);
    assert!(
        r.ok && took < Duration::from_secs(5),
        "other user's request after {took:?}: {r:?}; the caller's SIGSTOP: {stop:?}, \
         helper state {state:?}"
    );
    assert!(!stop.ok, "{stop:?}");
    assert!(stop.stderr.contains("Operation not permitted"), "{stop:?}");
    assert!(tstp && state != Some('T'), "stopped by SIGTSTP: {state:?}");
    assert!(fed);
    finished_ok(&mut sc, pid);
    assert_eq!(sc.db().lines().count(), 2, "{}", sc.db());
}

/// Issue 11.4: while it works (here: holding the lock), the helper has only
/// the capabilities it needs, in every set, and a real uid of 0.
#[test]
fn the_helper_keeps_only_the_capabilities_it_needs() {
    let Some(mut sc) = setup(&format!("{USER1} veth {BR} 3\n")) else {
        return;
    };
    let ct1 = sc.user_process(USER1, true);
    let cmd = create_cmd(&sc, USER1, ct1);
    let pid = start_holding_lock(&mut sc, cmd);
    // CAP_CHOWN (0), CAP_SETUID (7), CAP_NET_ADMIN (12), CAP_SYS_ADMIN (21).
    let kept = format!("{:016x}", (1u64 << 0) | (1 << 7) | (1 << 12) | (1 << 21));
    let got: Vec<(&str, String)> = ["CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb", "Uid"]
        .iter()
        .map(|k| (*k, proc_status(pid, k)))
        .collect();
    let nnp = proc_status(pid, "NoNewPrivs");
    assert!(sc.feed_db("", Duration::from_secs(2)));
    finished_ok(&mut sc, pid);
    let zero = "0000000000000000".to_string();
    let ids: Vec<String> = got[5].1.split_whitespace().map(str::to_string).collect();
    assert_eq!(
        got[..5],
        [
            ("CapEff", kept.clone()),
            ("CapPrm", kept.clone()),
            ("CapBnd", kept),
            ("CapInh", zero.clone()),
            ("CapAmb", zero),
        ],
        "{got:?}"
    );
    assert_eq!(ids, ["0", "0", "0", "0"], "real, effective, saved, fs uid");
    assert_eq!(nnp, "1");
}

/// Issue 11.4: passwd, group and lxc-usernet are read with the caller's
/// uid. Made unreadable to the caller, each gives a clear error instead of
/// being read as root.
#[test]
fn account_files_and_allowances_are_read_as_the_caller() {
    let Some(mut sc) = setup(&format!("{USER1} veth {BR} 3\n")) else {
        return;
    };
    let ct1 = sc.user_process(USER1, true);
    let pid = ct1.to_string();
    let usernet = sc.dir.path().join("etc-lxc/lxc-usernet");
    fs::set_permissions(&usernet, fs::Permissions::from_mode(0o600)).unwrap();
    let r = sc.create(USER1, &pid, BR, None);
    assert!(!r.ok, "{r:?}");
    assert_eq!(
        r.error(),
        format!(
            "lxu-user-nic: cannot read `/etc/lxc/lxc-usernet` as {USER1}: it must be readable \
             by every user of lxu-user-nic (mode 0644, as LXC ships it): Permission denied \
             (os error 13)"
        )
    );
    fs::set_permissions(&usernet, fs::Permissions::from_mode(0o644)).unwrap();
    let d = sc.dir.path().display().to_string();
    for file in ["group", "passwd"] {
        sc.root_ok(&[
            "sh",
            "-c",
            &format!(
                "cp /etc/{file} {d}/{file} && chmod 600 {d}/{file} && \
                 mount --bind {d}/{file} /etc/{file}"
            ),
        ]);
        let r = sc.create(USER1, &pid, BR, None);
        sc.root_ok(&["umount", &format!("/etc/{file}")]);
        assert_eq!(
            r.error(),
            format!("lxu-user-nic: cannot read `/etc/{file}`: Permission denied (os error 13)"),
            "{r:?}"
        );
    }
    assert!(sc.db().is_empty());
    create_ok(&sc, USER1, ct1);
}

/// Issue 11.4: a caller who owns a cgroup (lxu delegates a v1 freezer
/// cgroup to each user; systemd delegates a v2 subtree) starts the helper
/// in it and freezes the cgroup while the helper holds the lock: no signal
/// needed. The helper leaves the caller's cgroups before it takes the lock,
/// so another user's request still completes at once.
#[test]
fn freezing_the_callers_cgroup_does_not_stop_a_helper_holding_the_lock() {
    let Some(mut sc) = setup(&format!("{USER1} veth {BR} 3\n{USER2} veth {BR} 3\n")) else {
        return;
    };
    let ct1 = sc.user_process(USER1, true);
    let ct2 = sc.user_process(USER2, true);
    let cg = UserCgroup::new(USER1);
    let cmd = sc.helper_cmd_in_cgroup(&cg.procs(), USER1, &create_args(&ct1.to_string()));
    let pid = start_holding_lock(&mut sc, cmd);
    let freeze = format!("echo {} > {}", cg.frozen, cg.freeze_file.display());
    let r = sc.run_as(USER1, &["sh", "-c", &freeze]);
    assert!(r.ok, "{USER1} cannot freeze its own cgroup: {r:?}");
    std::thread::sleep(Duration::from_millis(100));
    let fed = sc.feed_db("", Duration::from_secs(2));
    let (r, took) = timed_create(&sc, USER2, ct2);
    assert!(
        r.ok && took < Duration::from_secs(5),
        "other user's request after {took:?}: {r:?}"
    );
    assert!(fed);
    finished_ok(&mut sc, pid);
}

/// Issue 11.4: a caller cannot slow down a helper that holds the lock
/// through what it inherits: SCHED_IDLE, nice 19 and pinning to one CPU
/// (next to the caller's own busy loops) are all reset.
#[test]
fn the_callers_scheduling_does_not_follow_the_helper_into_the_lock() {
    let Some(mut sc) = setup(&format!("{USER1} veth {BR} 3\n")) else {
        return;
    };
    let pid_arg = sc.user_process(USER1, true).to_string();
    let helper = sc.helper.to_str().unwrap().to_string();
    let slow = [
        "chrt", "--idle", "0", "nice", "-n", "19", "taskset", "-c", "0", &helper,
    ];
    let cmd = sc.as_user(USER1, &[&slow[..], &create_args(&pid_arg)].concat());
    let pid = start_holding_lock(&mut sc, cmd);
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    // Fields 19 (nice) and 41 (policy) of proc(5), counted from 1 with
    // pid and comm before the state (field 3).
    let (nice, policy) = (fields[19 - 3], fields[41 - 3]);
    let cpus = proc_status(pid, "Cpus_allowed_list");
    let online = fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
    assert!(sc.feed_db("", Duration::from_secs(2)));
    finished_ok(&mut sc, pid);
    assert_eq!(
        (nice, policy),
        ("0", "0"),
        "nice and policy (0 = SCHED_OTHER)"
    );
    if online.trim() != "0" {
        assert_ne!(cpus, "0", "still pinned to CPU 0 (online: {online})");
    }
}
