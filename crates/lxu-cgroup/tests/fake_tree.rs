//! The code paths of hosts this machine is not (pure v2 with memory, cpu,
//! pids…; pure v1), against a directory tree laid out like cgroupfs.
//! The real kernel paths are in real_kernel.rs.

use std::fs;
use std::path::{Path, PathBuf};

use lxu_cgroup::{
    delegate_user, BaseSource, CgroupError, Change, ContainerCgroup, DelegationState, FreezerState,
    Hierarchies, Limit, Signal, Stats,
};

fn put(p: &Path, text: &str) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

const V2_MOUNTINFO: &str = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
const ALL: &str = "cpuset cpu io memory hugetlb pids\n";

/// A pure v2 host where the caller lives in `/lxu/u/lxu.session`.
fn v2_tree() -> (tempfile::TempDir, Hierarchies, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let cg = t.path().join("sys/fs/cgroup");
    put(&cg.join("cgroup.controllers"), ALL);
    put(&cg.join("cgroup.subtree_control"), ALL);
    put(&cg.join("cgroup.procs"), "1\n");
    let base = cg.join("lxu/u");
    for d in [&cg.join("lxu"), &base, &base.join("lxu.session")] {
        put(&d.join("cgroup.controllers"), ALL);
        put(&d.join("cgroup.subtree_control"), "");
        put(&d.join("cgroup.procs"), "");
    }
    put(&base.join("lxu.session/cgroup.procs"), "4242\n");
    let h = Hierarchies::detect_at(t.path(), V2_MOUNTINFO, "0::/lxu/u/lxu.session\n").unwrap();
    (t, h, base)
}

#[test]
fn pure_v2_detection_and_base_is_the_parent_of_the_callers_leaf() {
    let (_t, h, base) = v2_tree();
    assert!(h.v1.is_empty());
    let v2 = h.v2.as_ref().unwrap();
    assert_eq!(
        v2.controllers,
        ["cpuset", "cpu", "io", "memory", "hugetlb", "pids"]
    );
    let d = h.delegation(1000);
    let v2d = d.v2.as_ref().unwrap();
    assert_eq!(
        v2d.state,
        DelegationState::Usable {
            base: base.clone(),
            cgroup: "/lxu/u".into(),
            source: BaseSource::Ancestor,
        }
    );
    assert_eq!(v2d.controllers.len(), 6);
    assert_eq!(d.warning(), None);
}

/// Lays out a container cgroup as the kernel would after enabling
/// controllers, so that `create` takes it over as an empty leftover.
fn fake_payload(base: &Path, name: &str) -> PathBuf {
    let p = base.join(format!("lxu.payload.{name}"));
    put(&p.join("cgroup.controllers"), "cpuset cpu memory pids\n");
    put(&p.join("cgroup.procs"), "");
    put(&p.join("cgroup.events"), "populated 0\nfrozen 0\n");
    put(&p.join("cgroup.freeze"), "0\n");
    put(&p.join("cgroup.kill"), "");
    for f in [
        "memory.max",
        "memory.current",
        "pids.max",
        "pids.current",
        "cpu.weight",
        "cpuset.cpus",
    ] {
        put(&p.join(f), "");
    }
    put(&p.join("cpu.max"), "max 100000\n");
    p
}

#[test]
fn v2_create_enables_controllers_and_translates_v1_keys() {
    let (_t, h, base) = v2_tree();
    let d = h.delegation(1000);
    let p = fake_payload(&base, "c1");
    let cg = ContainerCgroup::create(&h, &d, "c1").unwrap();
    // Plain directories with files cannot be removed: taken over as they are.
    assert!(
        cg.notes().iter().any(|n| n.contains("reusing")),
        "{:?}",
        cg.notes()
    );
    // Each "+controller" write replaced the previous one in this plain file.
    assert_eq!(
        fs::read_to_string(base.join("cgroup.subtree_control")).unwrap(),
        "+pids"
    );
    let paths = cg.paths();
    assert_eq!(paths.len(), 1);
    assert_eq!(paths[0].cgroup, "/lxu/u/lxu.payload.c1");
    assert_eq!(paths[0].path, p);

    let v1 = [
        ("memory.limit_in_bytes", "-1"),
        ("pids.max", "20"),
        ("cpu.shares", "512"),
        ("cpu.cfs_quota_us", "50000"),
        ("cpu.cfs_period_us", "20000"),
        ("cpuset.cpus", "0-1"),
    ];
    let v1: Vec<(String, String)> = v1
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let v2 = vec![("memory.max".to_string(), "64M".to_string())];
    let applied = cg.apply(&v1, &v2).unwrap();
    let read = |f: &str| fs::read_to_string(p.join(f)).unwrap();
    // v2 list is applied after v1, so memory.max ends at 64M.
    assert_eq!(read("memory.max"), "64M");
    assert_eq!(read("pids.max"), "20");
    assert_eq!(read("cpu.weight"), "20");
    assert_eq!(read("cpu.max"), "50000 20000");
    assert_eq!(read("cpuset.cpus"), "0-1");
    assert_eq!(applied.written.len(), 7);
    assert_eq!(applied.written[0].file, p.join("memory.max"));
    assert_eq!(applied.written[0].value, "max");

    let e = cg
        .apply(&[("memory.memsw.limit_in_bytes".into(), "1G".into())], &[])
        .unwrap_err();
    assert!(
        e.to_string().contains("`memory.memsw.limit_in_bytes`")
            && e.to_string().contains("no equivalent"),
        "{e}"
    );
    let e = cg
        .apply(&[], &[("io.max".into(), "8:0 rbps=1".into())])
        .unwrap_err();
    assert!(
        matches!(&e, CgroupError::NotDelegated { controller, .. } if controller == "io"),
        "{e}"
    );
}

#[test]
fn v2_stats_freezer_and_kill_from_files() {
    let (_t, h, base) = v2_tree();
    let d = h.delegation(1000);
    let p = fake_payload(&base, "c2");
    let mut cg = ContainerCgroup::create(&h, &d, "c2").unwrap();
    put(&p.join("memory.current"), "1234\n");
    put(&p.join("memory.max"), "max\n");
    put(&p.join("memory.stat"), "anon 10\nkernel 77\n");
    put(&p.join("cpu.stat"), "usage_usec 5\nuser_usec 3\n");
    put(&p.join("pids.current"), "3\n");
    put(&p.join("pids.max"), "100\n");
    put(
        &p.join("io.stat"),
        "8:0 rbytes=10 wbytes=5 rios=1 wios=1 dbytes=0 dios=0\n",
    );
    assert_eq!(
        cg.stats().unwrap(),
        Stats {
            memory_bytes: Some(1234),
            memory_limit: Some(Limit::Unlimited),
            kmem_bytes: Some(77),
            cpu_ns: Some(5000),
            pids: Some(3),
            pids_limit: Some(Limit::Value(100)),
            blkio_bytes: Some(15),
        }
    );

    assert_eq!(cg.freezer_state().unwrap(), FreezerState::Thawed);
    put(&p.join("cgroup.freeze"), "1\n");
    assert_eq!(cg.freezer_state().unwrap(), FreezerState::Freezing);
    put(&p.join("cgroup.events"), "populated 1\nfrozen 1\n");
    assert_eq!(cg.freezer_state().unwrap(), FreezerState::Frozen);
    cg.freeze().unwrap();
    assert_eq!(fs::read_to_string(p.join("cgroup.freeze")).unwrap(), "1");
    cg.thaw().unwrap();
    assert_eq!(fs::read_to_string(p.join("cgroup.freeze")).unwrap(), "0");
    // Nobody sets `frozen 1` in a directory tree: freeze times out, naming the file.
    put(&p.join("cgroup.events"), "populated 1\nfrozen 0\n");
    cg.set_timeout(std::time::Duration::from_millis(30));
    let e = cg.freeze().unwrap_err();
    assert!(
        e.to_string().contains("cgroup.freeze") && e.to_string().contains("to freeze"),
        "{e}"
    );

    cg.kill_all(Signal::KILL).unwrap();
    assert_eq!(fs::read_to_string(p.join("cgroup.kill")).unwrap(), "1");
}

#[test]
fn v2_busy_leftover_is_refused() {
    let (_t, h, base) = v2_tree();
    let d = h.delegation(1000);
    let p = fake_payload(&base, "c3");
    put(&p.join("sub/cgroup.procs"), "777\n");
    let e = ContainerCgroup::create(&h, &d, "c3").unwrap_err();
    assert!(
        matches!(&e, CgroupError::Busy { pids, .. } if pids == &[777]),
        "{e}"
    );
}

#[test]
fn delegate_user_dry_run_on_pure_v2() {
    let t = tempfile::tempdir().unwrap();
    let cg = t.path().join("sys/fs/cgroup");
    put(&cg.join("cgroup.controllers"), "cpu memory pids\n");
    put(&cg.join("cgroup.subtree_control"), "memory\n");
    let h = Hierarchies::detect_at(t.path(), V2_MOUNTINFO, "0::/\n").unwrap();
    let ch = delegate_user(&h, "bob", 1000, 1000, true).unwrap();
    let text: Vec<String> = ch
        .iter()
        .map(|c| c.to_string().replace(&cg.display().to_string(), ""))
        .collect();
    assert_eq!(
        text,
        [
            "write `+cpu` to /cgroup.subtree_control",
            "write `+pids` to /cgroup.subtree_control",
            "mkdir /lxu",
            "write `+cpu` to /lxu/cgroup.subtree_control",
            "write `+memory` to /lxu/cgroup.subtree_control",
            "write `+pids` to /lxu/cgroup.subtree_control",
            "mkdir /lxu/bob",
            "chown 1000:1000 /lxu/bob",
            "chown 1000:1000 /lxu/bob/cgroup.procs",
            "chown 1000:1000 /lxu/bob/cgroup.subtree_control",
            "chown 1000:1000 /lxu/bob/cgroup.threads",
        ]
    );
    assert!(!cg.join("lxu").exists());
    assert!(matches!(ch[2], Change::Mkdir(_)));
    let e = delegate_user(&h, "../x", 1000, 1000, true).unwrap_err();
    assert!(e.to_string().contains("invalid user name"), "{e}");
}

#[test]
fn pure_v1_cpuset_is_filled_from_the_base() {
    let t = tempfile::tempdir().unwrap();
    let mi = "34 31 0:31 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n\
              35 31 0:32 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
    let base = t.path().join("sys/fs/cgroup/cpuset/me");
    put(&base.join("cpuset.cpus"), "0-3\n");
    put(&base.join("cpuset.mems"), "0\n");
    put(&base.join("cgroup.procs"), "");
    put(
        &t.path().join("sys/fs/cgroup/cpu,cpuacct/me/cgroup.procs"),
        "",
    );
    let p = base.join("lxu.payload.c");
    put(&p.join("cpuset.cpus"), "");
    put(&p.join("cpuset.mems"), "\n");
    let h = Hierarchies::detect_at(t.path(), mi, "3:cpuset:/me\n2:cpu,cpuacct:/me\n").unwrap();
    assert!(h.v2.is_none());
    let d = h.delegation(1000);
    assert!(d.v1.iter().all(|x| matches!(
        x.state,
        DelegationState::Usable {
            source: BaseSource::Current,
            ..
        }
    )));
    let cg = ContainerCgroup::create(&h, &d, "c").unwrap();
    assert_eq!(fs::read_to_string(p.join("cpuset.cpus")).unwrap(), "0-3");
    assert_eq!(fs::read_to_string(p.join("cpuset.mems")).unwrap(), "0");
    let names: Vec<String> = cg.paths().iter().map(|x| x.hierarchy.clone()).collect();
    assert_eq!(names, ["cpuset", "cpu,cpuacct"]);
    // The fresh cpu,cpuacct dir really was created.
    assert!(t
        .path()
        .join("sys/fs/cgroup/cpu,cpuacct/me/lxu.payload.c")
        .is_dir());
    let e = cg
        .apply(&[], &[("memory.max".into(), "1G".into())])
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("no mounted hierarchy of this host has it"),
        "{e}"
    );
}

/// Root gives cgroups away only through directories it opened without following and found
/// as it expects: a file of the user's directory that is a link is refused (its target
/// keeps its owner), and a holder someone else made is not used.
#[test]
fn delegate_user_gives_away_only_what_it_made() {
    use std::os::unix::fs::MetadataExt;
    if !lxu_test_support::need(lxu_test_support::is_root(), "delegate_user needs root") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let cg = t.path().join("sys/fs/cgroup");
    put(&cg.join("cgroup.controllers"), "pids\n");
    put(&cg.join("cgroup.subtree_control"), "pids\n");
    let h = Hierarchies::detect_at(t.path(), V2_MOUNTINFO, "0::/\n").unwrap();
    let dir = cg.join("lxu/bob");
    put(&cg.join("lxu/cgroup.subtree_control"), "pids\n");
    put(&dir.join("cgroup.subtree_control"), "");
    put(&dir.join("cgroup.threads"), "");
    let victim = t.path().join("victim");
    put(&victim, "root's\n");
    std::os::unix::fs::symlink(&victim, dir.join("cgroup.procs")).unwrap();
    let e = delegate_user(&h, "bob", 1000, 1000, false).unwrap_err();
    assert!(
        e.to_string().contains("cgroup.procs") && e.to_string().contains("not a regular file"),
        "{e}"
    );
    assert_eq!(
        fs::metadata(&victim).unwrap().uid(),
        0,
        "the link was followed"
    );

    // A holder that is not root's (made by whoever owns the parent cgroup) is refused.
    fs::remove_file(dir.join("cgroup.procs")).unwrap();
    put(&dir.join("cgroup.procs"), "");
    std::os::unix::fs::chown(cg.join("lxu"), Some(4321), None).unwrap();
    let e = delegate_user(&h, "bob", 1000, 1000, false).unwrap_err();
    assert!(e.to_string().contains("belongs to uid 4321"), "{e}");
    assert_eq!(fs::metadata(&dir).unwrap().uid(), 0);
    // Once it is root's again, the user's directory and its files become bob's.
    std::os::unix::fs::chown(cg.join("lxu"), Some(0), None).unwrap();
    delegate_user(&h, "bob", 1000, 1000, false).unwrap();
    for p in [
        dir.clone(),
        dir.join("cgroup.procs"),
        dir.join("cgroup.threads"),
    ] {
        assert_eq!(fs::metadata(&p).unwrap().uid(), 1000, "{}", p.display());
    }
}
