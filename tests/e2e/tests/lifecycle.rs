//! The life of a busybox container as an unprivileged user: create, start, look at it
//! from inside and from the host, stop, destroy; and what is left afterwards.

use std::collections::BTreeSet;
use std::time::Duration;

use lxu_e2e::host::{self, owner};
use lxu_e2e::Lab;

/// White space collapsed, for comparing `uid_map` lines and config values.
fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `lxc.idmap` values of a config text, normalised.
fn idmaps(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "lxc.idmap").then(|| words(v))
        })
        .collect()
}

#[test]
fn create_copies_the_id_map_and_builds_a_rootfs_owned_by_container_root() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("c");

    let config = lab.read_config(&name);
    let default_conf = std::fs::read_to_string(lab.home.join(".config/lxc/default.conf"))
        .expect("setup-user wrote ~/.config/lxc/default.conf");
    let from_default = idmaps(&default_conf);
    assert!(
        !from_default.is_empty(),
        "default.conf has no lxc.idmap:\n{default_conf}"
    );
    assert_eq!(idmaps(&config), from_default, "config:\n{config}");
    let want_u = format!("u 0 {} 65536", lab.subuid.start);
    assert!(
        idmaps(&config).contains(&want_u),
        "no `{want_u}` in:\n{config}"
    );
    assert!(
        config.lines().any(|l| words(l) == "lxc.net.0.type = empty"),
        "the -f file was not applied:\n{config}"
    );

    let root = (lab.subuid.start as u32, lab.subgid.start as u32);
    for p in ["", "bin/busybox", "etc/passwd", "sbin"] {
        let path = lab.rootfs(&name).join(p);
        assert_eq!(
            owner(&path),
            Some(root),
            "`{}` must belong to the first subordinate uid/gid {root:?}",
            path.display()
        );
    }
    assert_eq!(lab.state(&name), "STOPPED");
}

#[test]
fn start_returns_running_and_stop_leaves_no_process_mount_or_socket() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("c");
    lab.start(&name);
    // `start` returns only once the container runs: no waiting here.
    assert_eq!(lab.state(&name), "RUNNING");

    let init = lab.init_pid(&name);
    let p = host::proc_status(init).expect("init exists on the host");
    assert!(!p.is_zombie(), "init {init} is a zombie");
    let sub_u = lab.subuid.start as u32;
    let sub_g = lab.subgid.start as u32;
    assert_eq!(p.uids, [sub_u; 4], "init's uids on the host: {p:?}");
    assert_eq!(p.gids, [sub_g; 4], "init's gids on the host: {p:?}");
    assert_eq!(
        p.nspid.last(),
        Some(&1),
        "init is pid 1 in its namespace: {p:?}"
    );
    let monitor = p.ppid;
    let mp = host::proc_status(monitor).expect("monitor exists");
    assert_eq!(mp.name, "lxu-monitor", "init's parent: {mp:?}");
    assert_eq!(
        mp.uids[0], lab.user.uid,
        "the monitor runs as the caller: {mp:?}"
    );
    let pidns = host::ns_inode(init, "pid").expect("read init's pid namespace");
    assert!(
        lab.socket(&name).exists(),
        "no monitor socket while running"
    );

    let out = lab.lxu(&["stop", "-n", &name]);
    out.success();
    assert!(
        out.elapsed < Duration::from_secs(10),
        "busybox halts on SIGUSR1 at once; a clean stop took {:?}\n{out}",
        out.elapsed
    );
    assert_eq!(lab.state(&name), "STOPPED");
    assert!(!host::alive(init), "init {init} still runs after stop");
    assert!(
        !host::alive(monitor),
        "monitor {monitor} still runs after stop"
    );
    let left = host::live_procs_in_pid_ns(&pidns);
    assert!(
        left.is_empty(),
        "processes of the container remain: {left:?}"
    );
    let ours: Vec<_> = host::live_procs_with_uid_in(sub_u, 65536)
        .into_iter()
        .filter(|p| host::ns_inode(p.pid, "pid").as_deref() == Some(pidns.as_str()))
        .collect();
    assert!(
        ours.is_empty(),
        "container-owned processes remain: {ours:?}"
    );
    let dir = lab.dir(&name);
    let mounts: Vec<_> = host::mounts()
        .into_iter()
        .filter(|m| std::path::Path::new(&m.mount_point).starts_with(&dir))
        .collect();
    assert!(
        mounts.is_empty(),
        "mounts of the container remain on the host: {mounts:?}"
    );
    assert!(
        !lab.socket(&name).exists(),
        "`{}` remains after stop",
        lab.socket(&name).display()
    );

    // And it can run again.
    lab.start(&name);
    assert_eq!(lab.state(&name), "RUNNING");
}

#[test]
fn stop_of_a_stopped_container_exits_2() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("c");
    lab.lxu(&["stop", "-n", &name])
        .code_is(2)
        .stderr_has(&format!("{name} is not running"));
    lab.lxu(&["stop", "-n", &name, "-k"]).code_is(2);
    assert_eq!(lab.state(&name), "STOPPED");
}

#[test]
fn stop_kill_ends_the_container_at_once() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("k");
    let init = lab.init_pid(&name);
    let pidns = host::ns_inode(init, "pid").expect("init's pid namespace");
    let out = lab.lxu(&["stop", "-n", &name, "-k"]);
    out.success();
    assert!(
        out.elapsed < Duration::from_secs(3),
        "stop -k is not immediate\n{out}"
    );
    assert_eq!(lab.state(&name), "STOPPED");
    assert!(!host::alive(init), "init survived stop -k");
    assert!(host::live_procs_in_pid_ns(&pidns).is_empty());
    assert!(!lab.socket(&name).exists(), "socket remains after stop -k");
}

#[test]
fn inside_root_is_mapped_to_the_first_subordinate_id() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("in");
    assert_eq!(lab.sh(&name, "id -u"), "0");
    assert_eq!(lab.sh(&name, "id -g"), "0");
    let want = format!("0 {} 65536", lab.subuid.start);
    assert_eq!(words(&lab.sh(&name, "cat /proc/self/uid_map")), want);
    let want = format!("0 {} 65536", lab.subgid.start);
    assert_eq!(words(&lab.sh(&name, "cat /proc/self/gid_map")), want);
}

#[test]
fn a_file_made_by_container_root_belongs_to_the_subordinate_id_on_the_host() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("own");
    lab.sh(
        &name,
        "echo hi > /made-by-root && mkdir -p /tmp/d && touch /tmp/d/f",
    );
    let root = (lab.subuid.start as u32, lab.subgid.start as u32);
    for rel in ["made-by-root", "tmp/d", "tmp/d/f"] {
        let p = lab.rootfs(&name).join(rel);
        assert_eq!(owner(&p), Some(root), "owner of `{}`", p.display());
    }
    let text = std::fs::read_to_string(lab.rootfs(&name).join("made-by-root")).unwrap();
    assert_eq!(text, "hi\n");
    // A file of uid 1000 inside is subuid + 1000 outside.
    lab.exec_as(&name, "1000", &["/bin/touch", "/tmp/by-1000"])
        .success();
    let p = lab.rootfs(&name).join("tmp/by-1000");
    assert_eq!(
        owner(&p),
        Some((root.0 + 1000, root.1 + 1000)),
        "owner of `{}`",
        p.display()
    );
}

#[test]
fn hostname_is_the_name_and_pid_1_is_init() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("h");
    assert_eq!(lab.sh(&name, "hostname"), name);
    assert_eq!(lab.sh(&name, "cat /proc/sys/kernel/hostname"), name);
    // busybox init rewrites its argv: the comm and the binary tell.
    assert_eq!(lab.sh(&name, "cat /proc/1/comm"), "init");
    assert_eq!(lab.sh(&name, "readlink /proc/1/exe"), "/bin/busybox");
    assert_eq!(lab.sh(&name, "readlink /sbin/init"), "/bin/busybox");
    // The attached shell is not pid 1.
    let me: i32 = lab.sh(&name, "echo $$").parse().expect("a pid");
    assert!(me > 1);
}

#[test]
fn dev_has_the_expected_nodes_and_nothing_else() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("dev");
    let listing = lab.sh(&name, "ls -A /dev");
    let have: BTreeSet<&str> = listing.split_whitespace().collect();
    let required = [
        "null", "zero", "full", "random", "urandom", "tty", "console", "pts", "ptmx", "tty1",
        "tty2", "tty3", "tty4",
    ];
    // Symlinks and mount points every LXC container has besides the nodes.
    let allowed = ["fd", "stdin", "stdout", "stderr", "shm", "mqueue"];
    for r in required {
        assert!(have.contains(r), "/dev lacks `{r}`: {have:?}");
    }
    let unexpected: Vec<_> = have
        .iter()
        .filter(|n| !required.contains(n) && !allowed.contains(n))
        .collect();
    assert!(
        unexpected.is_empty(),
        "unexpected entries in /dev: {unexpected:?}"
    );
    // The nodes work.
    assert_eq!(lab.sh(&name, "head -c 5 /dev/zero | wc -c"), "5");
    assert_eq!(lab.sh(&name, "head -c 16 /dev/urandom | wc -c"), "16");
    lab.sh(&name, "echo x > /dev/null");
    assert_eq!(
        lab.sh(&name, "test -c /dev/tty1 && test -c /dev/ptmx && echo ok"),
        "ok"
    );
}

#[test]
fn mknod_of_a_device_is_refused_inside() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("mk");
    let out = lab.attach(&name, "mknod /tmp/n c 1 3");
    out.failure().stderr_has("Operation not permitted");
    assert_eq!(lab.sh(&name, "test -e /tmp/n && echo yes || echo no"), "no");
    // A FIFO is fine: only device nodes need host privileges.
    lab.sh(&name, "mknod /tmp/p p && test -p /tmp/p");
}

#[test]
fn ls_lists_filters_and_formats() {
    let Some(lab) = Lab::new() else { return };
    let a = lab.name("a");
    let b = lab.name("b");
    lab.create(&a);
    lab.create(&b);
    lab.start(&b);
    let pid = lab.init_pid(&b);

    let sorted = {
        let mut v = vec![a.clone(), b.clone()];
        v.sort();
        v
    };
    assert_eq!(lab.lxu(&["ls"]).success().lines(), sorted);
    assert_eq!(lab.lxu(&["ls", "-1"]).success().lines(), sorted);
    assert_eq!(
        lab.lxu(&["ls", "--running"]).success().lines(),
        [b.as_str()]
    );
    assert_eq!(lab.lxu(&["ls", "--active"]).success().lines(), [b.as_str()]);
    assert_eq!(
        lab.lxu(&["ls", "--stopped"]).success().lines(),
        [a.as_str()]
    );
    assert_eq!(
        lab.lxu(&["ls", &format!("^{a}$")]).success().lines(),
        [a.as_str()]
    );

    // --fancy: LXC's layout, header then one row per container, each cell padded to its
    // column and followed by one space.
    let out = lab.lxu(&["ls", "--fancy"]);
    out.success();
    let lines = out.lines();
    assert_eq!(lines.len(), 3, "{out}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "STATE",
            "AUTOSTART",
            "GROUPS",
            "IPV4",
            "IPV6",
            "UNPRIVILEGED"
        ],
        "{out}"
    );
    let state_col = lines[0].find("STATE").unwrap();
    let unpriv_col = lines[0].find("UNPRIVILEGED").unwrap();
    for (line, n, st) in [(lines[1], &a, "STOPPED"), (lines[2], &b, "RUNNING")] {
        assert!(line.starts_with(n.as_str()), "rows sorted by name\n{out}");
        assert!(
            line.ends_with(' '),
            "LXC ends every cell with a space\n{out}"
        );
        assert_eq!(
            &line[state_col..state_col + st.len()],
            st,
            "STATE column\n{out}"
        );
        assert_eq!(
            &line[unpriv_col..unpriv_col + 4],
            "true",
            "UNPRIVILEGED column\n{out}"
        );
    }
    let running = lab.lxu(&["ls", "--fancy", "--running"]);
    assert_eq!(running.success().lines().len(), 2, "{running}");

    let out = lab.lxu(&["ls", "-F", "NAME,PID,UNPRIVILEGED"]);
    out.success();
    let rows: Vec<Vec<&str>> = out
        .lines()
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["NAME", "PID", "UNPRIVILEGED"], "{out}");
    assert_eq!(rows[1], [a.as_str(), "-", "true"], "{out}");
    assert_eq!(rows[2], [b.as_str(), &pid.to_string(), "true"], "{out}");

    let out = lab.lxu(&["ls", "--format", "json"]);
    out.success();
    let v: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("ls --format json is not JSON: {e}\n{out}"));
    let arr = v
        .as_array()
        .unwrap_or_else(|| panic!("not an array\n{out}"));
    assert_eq!(arr.len(), 2, "{out}");
    assert_eq!(arr[0]["name"], a.as_str());
    assert_eq!(arr[0]["state"], "STOPPED");
    assert!(arr[0]["pid"].is_null(), "{out}");
    assert_eq!(arr[1]["name"], b.as_str());
    assert_eq!(arr[1]["state"], "RUNNING");
    assert_eq!(arr[1]["pid"], pid);
    assert_eq!(arr[1]["unprivileged"], true);

    lab.lxu(&["ls", "-F", "NAME,BOGUS"])
        .failure()
        .stderr_has("BOGUS");
}

#[test]
fn ls_of_an_empty_lxcpath_prints_nothing() {
    let Some(lab) = Lab::new() else { return };
    lab.lxu(&["ls"]).success().stdout_is("");
    lab.lxu(&["ls", "--format", "json"])
        .success()
        .stdout_is("[]");
}

/// Asserts LXC's `%-15s %s` layout and returns (label, value) pairs.
#[track_caller]
fn info_fields(out: &lxu_e2e::Output) -> Vec<(String, String)> {
    out.lines()
        .iter()
        .map(|l| {
            assert!(l.len() > 16, "short info line {l:?}\n{out}");
            let (label, rest) = l.split_at(15);
            assert!(label.trim_end().ends_with(':'), "label column {l:?}\n{out}");
            assert!(
                rest.starts_with(' ') && !rest[1..].starts_with(' '),
                "value must start at column 17: {l:?}\n{out}"
            );
            (label.trim_end().to_string(), rest[1..].to_string())
        })
        .collect()
}

#[test]
fn info_prints_lxc_format() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("i");

    let out = lab.lxu(&["info", "-n", &name]);
    out.success();
    assert_eq!(
        info_fields(&out),
        [
            ("Name:".to_string(), name.clone()),
            ("State:".to_string(), "STOPPED".to_string())
        ],
        "a stopped container shows only Name and State\n{out}"
    );

    lab.start(&name);
    let pid = lab.init_pid(&name);
    let out = lab.lxu(&["info", "-n", &name]);
    out.success();
    let f = info_fields(&out);
    assert_eq!(f[0], ("Name:".to_string(), name.clone()), "{out}");
    assert_eq!(f[1], ("State:".to_string(), "RUNNING".to_string()), "{out}");
    assert_eq!(f[2], ("PID:".to_string(), pid.to_string()), "{out}");

    lab.lxu(&["info", "-n", &name, "-s"])
        .success()
        .stdout_is("State:          RUNNING");
    lab.lxu(&["info", "-n", &name, "-p"])
        .success()
        .stdout_is(&format!("PID:            {pid}"));
    lab.lxu(&["info", "-n", &name, "-s", "-H"])
        .success()
        .stdout_is("RUNNING");
    lab.lxu(&["info", "-n", &name, "-c", "lxc.tty.max"])
        .success()
        .stdout_is("lxc.tty.max = 4");
    let out = lab.lxu(&["info", "-n", &name, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.success().stdout)
        .unwrap_or_else(|e| panic!("info --format json: {e}\n{out}"));
    assert_eq!(v["state"], "RUNNING");
    assert_eq!(v["pid"], pid);

    let missing = lab.name("nope");
    lab.lxu(&["info", "-n", &missing])
        .code_is(1)
        .stderr_has(&format!("{missing} doesn't exist"));
}

#[test]
fn destroy_removes_a_stopped_container_and_needs_force_when_running() {
    let Some(lab) = Lab::new() else { return };
    let stopped = lab.created("s");
    lab.lxu(&["destroy", "-n", &stopped]).success();
    assert!(
        !lab.dir(&stopped).exists(),
        "destroy left `{}`",
        lab.dir(&stopped).display()
    );
    assert!(lab.lxu(&["ls"]).success().stdout.is_empty());

    let name = lab.running("r");
    let init = lab.init_pid(&name);
    lab.lxu(&["destroy", "-n", &name])
        .code_is(1)
        .stderr_has(&format!("{name} is running"));
    assert_eq!(
        lab.state(&name),
        "RUNNING",
        "a refused destroy must leave it running"
    );
    assert_eq!(lab.init_pid(&name), init);
    assert!(lab.rootfs(&name).join("bin/busybox").exists());

    lab.lxu(&["destroy", "-n", &name, "-f"]).success();
    assert!(
        !lab.dir(&name).exists(),
        "destroy -f left `{}`",
        lab.dir(&name).display()
    );
    assert!(!host::alive(init), "init {init} survived destroy -f");
    lab.lxu(&["info", "-n", &name])
        .code_is(1)
        .stderr_has("doesn't exist");
}

#[test]
fn killing_the_monitor_takes_the_container_down_and_it_can_start_again() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("mon");
    let init = lab.init_pid(&name);
    let pidns = host::ns_inode(init, "pid").expect("init's pid namespace");
    let monitor = lab.monitor_pid(&name);
    assert_eq!(
        host::monitors_of(&lab.dir(&name)),
        [monitor],
        "exactly one monitor holds the container's files"
    );
    assert!(host::kill(monitor, rustix::process::Signal::KILL));
    let gone = host::wait_until(Duration::from_secs(5), || {
        host::live_procs_in_pid_ns(&pidns).is_empty()
    });
    assert!(
        gone,
        "container processes outlive their monitor: {:?}",
        host::live_procs_in_pid_ns(&pidns)
    );
    assert_eq!(lab.state(&name), "STOPPED");
    let ls = lab.lxu(&["ls", "--fancy"]);
    assert!(ls.success().stdout.contains("STOPPED"), "{ls}");
    lab.lxu(&["info", "-n", &name])
        .success()
        .stdout_has("STOPPED");

    lab.start(&name);
    assert_eq!(lab.state(&name), "RUNNING");
    assert_eq!(lab.sh(&name, "hostname"), name);
    lab.lxu(&["stop", "-n", &name, "-k"]).success();
    assert!(!lab.socket(&name).exists());
}

#[test]
fn the_monitor_keeps_none_of_the_callers_descriptors() {
    // Scripts (bats, for one) hand their children an extra pipe and wait for it to
    // close; a daemon must not keep it. LXC closes all inherited descriptors in daemon
    // mode, and `lxu start -C` says "always done".
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("fd");
    let marker = lab.write("inherited-marker", "");
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(r#""$0" start -P "$1" -n "$2" 7>>"$3""#)
        .arg(&lab.bin)
        .arg(&lab.lxcpath)
        .arg(&name)
        .arg(&marker);
    lxu_e2e::run::run(
        cmd,
        "lxu start with fd 7 open".into(),
        None,
        Duration::from_secs(60),
    )
    .success();
    let monitor = lab.monitor_pid(&name);
    let held: Vec<_> = host::fd_targets(monitor)
        .into_iter()
        .filter(|t| t == &marker)
        .collect();
    assert!(
        held.is_empty(),
        "the monitor {monitor} keeps the caller's fd 7 (`{}`) open: {:?}",
        marker.display(),
        host::fd_targets(monitor)
    );
}

#[test]
fn a_container_in_a_deep_lxcpath_works() {
    // The monitor socket's path is longer than a unix address can hold.
    let Some(lab) = Lab::deep(150) else { return };
    let name = lab.running("deep");
    assert!(lab.socket(&name).as_os_str().len() > 108);
    assert_eq!(lab.state(&name), "RUNNING");
    assert_eq!(lab.sh(&name, "hostname"), name);
    lab.lxu(&["stop", "-n", &name]).success();
    assert_eq!(lab.state(&name), "STOPPED");
    assert!(!lab.socket(&name).exists());
}

#[test]
fn copy_makes_an_independent_container_with_the_files_and_owners() {
    let Some(lab) = Lab::new() else { return };
    let src = lab.running("cp");
    lab.sh(
        &src,
        "echo data > /file && chown 1000:1000 /file && chmod 640 /file && ln -s file /link",
    );
    // A running container is not copied.
    let dst = lab.name("cpy");
    lab.applet("lxc-copy", &["-n", &src, "-N", &dst])
        .run()
        .code_is(1)
        .stderr_has("cannot copy a running container");
    assert!(!lab.dir(&dst).exists());
    lab.lxu(&["stop", "-n", &src, "-k"]).success();

    lab.applet("lxc-copy", &["-n", &src, "-N", &dst])
        .run()
        .success();
    let cfg = lab.read_config(&dst);
    assert!(
        cfg.contains(&format!("lxc.uts.name = {dst}\n")),
        "the copy's hostname:\n{cfg}"
    );
    assert!(
        cfg.contains(&format!("{}/rootfs", lab.dir(&dst).display()))
            && !cfg.contains(&lab.dir(&src).display().to_string()),
        "the copy's paths:\n{cfg}"
    );
    let file = lab.rootfs(&dst).join("file");
    let sub = (lab.subuid.start as u32, lab.subgid.start as u32);
    assert_eq!(host::owner(&file), Some((sub.0 + 1000, sub.1 + 1000)));
    assert_eq!(host::owner(&lab.rootfs(&dst)), Some(sub));

    lab.start(&dst);
    assert_eq!(
        lab.sh(&dst, "hostname; cat /etc/hostname"),
        format!("{dst}\n{dst}")
    );
    assert_eq!(
        lab.sh(&dst, "cat /link; stat -c '%u:%g %a' /file; readlink /link"),
        "data\n1000:1000 640\nfile"
    );
    // The original is untouched and runs beside its copy.
    lab.start(&src);
    assert_eq!(lab.sh(&src, "cat /etc/hostname"), src);
    lab.sh(&dst, "echo changed > /file");
    assert_eq!(lab.sh(&src, "cat /file"), "data");
    lab.lxu(&["stop", "-n", &src, "-k"]).success();

    // Names that exist, unsupported kinds of copy, a failing clone hook: nothing is made.
    lab.lxu(&["copy", "-n", &src, "-N", &dst])
        .code_is(1)
        .stderr_has("already exists");
    let other = lab.name("cpz");
    lab.lxu(&["copy", "-n", &src, "-N", &other, "-s"])
        .code_is(1)
        .stderr_has("-s (overlay snapshots) is not supported");
    let mut text = lab.read_config(&src);
    text.push_str("lxc.hook.clone = echo no clones >&2; exit 3\n");
    lab.write_config(&src, &text);
    lab.lxu(&["copy", "-n", &src, "-N", &other])
        .code_is(1)
        .stderr_has("lxc.hook.clone `echo no clones >&2; exit 3` exited with status 3: no clones");
    assert!(
        !lab.dir(&other).exists(),
        "a failed copy left `{}`",
        lab.dir(&other).display()
    );
    lab.lxu(&["destroy", "-n", &dst, "-f"]).success();
}

#[test]
fn snapshots_are_taken_listed_restored_and_destroyed() {
    let Some(lab) = Lab::new() else { return };
    let c = lab.running("sn");
    lab.sh(&c, "echo v1 > /file && chown 1000:1000 /file");
    lab.applet("lxc-snapshot", &["-n", &c])
        .run()
        .code_is(1)
        .stderr_has("cannot snapshot a running container");
    lab.lxu(&["stop", "-n", &c, "-k"]).success();
    let comment = lab.write("comment", "before the upgrade\n");
    lab.applet("lxc-snapshot", &["-n", &c, "-c", comment.to_str().unwrap()])
        .run()
        .success();
    lab.start(&c);
    lab.sh(&c, "echo v2 > /file");
    lab.lxu(&["stop", "-n", &c, "-k"]).success();
    lab.lxu(&["snapshot", "-n", &c]).success();

    let snaps = lab.dir(&c).join("snaps");
    let out = lab.applet("lxc-snapshot", &["-n", &c, "-L", "-C"]).run();
    let lines = out.success().lines();
    assert_eq!(lines.len(), 3, "{out}");
    for (line, snap) in [(lines[0], "snap0"), (lines[2], "snap1")] {
        let head = format!("{snap} ({}) ", snaps.display());
        let ts = line.strip_prefix(&head).unwrap_or_else(|| panic!("{out}"));
        let shape: String = ts
            .chars()
            .map(|ch| if ch.is_ascii_digit() { 'd' } else { ch })
            .collect();
        assert_eq!(shape, "dddd:dd:dd dd:dd:dd", "{out}");
    }
    assert_eq!(lines[1], "before the upgrade");
    lab.lxu(&["destroy", "-n", &c])
        .code_is(1)
        .stderr_has("has snapshots");

    // In place: the rootfs is the snapshot's again, the snapshots stay.
    lab.applet("lxc-snapshot", &["-n", &c, "-r", "snap0"])
        .run()
        .success();
    lab.start(&c);
    assert_eq!(
        lab.sh(&c, "cat /file; stat -c %u:%g /file; hostname"),
        format!("v1\n1000:1000\n{c}")
    );
    lab.lxu(&["stop", "-n", &c, "-k"]).success();
    assert_eq!(
        lab.lxu(&["snapshot", "-n", &c, "-L"])
            .success()
            .lines()
            .len(),
        2
    );
    assert!(
        !lab.dir(&c).join("restore").exists(),
        "the restore left its work directory"
    );

    // As a new container.
    let c2 = lab.name("sn2");
    lab.lxu(&["snapshot", "-n", &c, "-r", "snap1", "-N", &c2])
        .success();
    lab.start(&c2);
    assert_eq!(lab.sh(&c2, "cat /file; hostname"), format!("v2\n{c2}"));
    lab.lxu(&["destroy", "-n", &c2, "-f"]).success();

    lab.lxu(&["snapshot", "-n", &c, "-d", "snap0"]).success();
    let out = lab.lxu(&["snapshot", "-n", &c, "-L"]);
    assert!(out.success().stdout.starts_with("snap1 "), "{out}");
    lab.lxu(&["snapshot", "-n", &c, "-d", "snap0"])
        .code_is(1)
        .stderr_has("no snapshot `snap0`");
    lab.lxu(&["snapshot", "-n", &c, "-d", "ALL"]).success();
    lab.lxu(&["snapshot", "-n", &c, "-L"])
        .success()
        .stdout_is("No snapshots");
    // destroy -s takes the snapshots with it.
    lab.lxu(&["snapshot", "-n", &c]).success();
    lab.lxu(&["destroy", "-n", &c, "-s"]).success();
    assert!(!lab.dir(&c).exists());
}

#[test]
fn execute_runs_a_command_under_a_reaping_init_and_returns_its_status() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("ex");
    lab.applet(
        "lxc-execute",
        &[
            "-n",
            &name,
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 7",
        ],
    )
    .run()
    .code_is(7)
    .stdout_is("out")
    .stderr_has("err");
    lab.call(&["execute", "-n", &name, "--", "cat"])
        .stdin("piped through\n")
        .run()
        .success()
        .stdout_is("piped through");
    // pid 1 is the reaper, the command its child, in the container's own namespaces.
    lab.lxu(&[
        "execute",
        "-n",
        &name,
        "--",
        "sh",
        "-c",
        "echo $$; cat /proc/1/comm; hostname; id -u",
    ])
    .success()
    .stdout_is(&format!("2\nlxu-init\n{name}\n0"));
    // Killed by a signal: 128 + the signal, like a shell.
    lab.lxu(&["execute", "-n", &name, "--", "sh", "-c", "kill -9 $$"])
        .code_is(137);
    lab.lxu(&["execute", "-n", &name, "--", "/no/such/program"])
        .code_is(1)
        .stderr_has("/no/such/program");
    assert_eq!(lab.state(&name), "STOPPED");
    assert!(host::monitors_of(&lab.dir(&name)).is_empty());
    lab.start(&name);
    lab.lxu(&["execute", "-n", &name, "--", "true"])
        .code_is(1)
        .stderr_has("is already running");
}

/// Issue 11 finding 6 (CVE-2019-5736's primitive) for the container's init and for
/// `lxu execute`: the process that executes init is a forked lxu, so a hostile image whose
/// init is (or names as its interpreter) `/proc/self/exe` would run the host's lxu as
/// pid 1. It must reach only the sealed exec trampoline.
#[test]
fn init_and_execute_cannot_run_the_lxu_binary_through_proc_self_exe() {
    let Some(lab) = Lab::new() else { return };
    let version = lab.lxu(&["--version"]);
    version.success();
    // The first line (`lxu X.Y.Z`): the others describe the host, which differs inside.
    let version = version.lines()[0].to_string();

    let name = lab.created("ev");
    lab.lxu(&["execute", "-n", &name, "--", "/proc/self/exe", "--version"])
        .failure()
        .stdout_lacks(&version);

    // An image whose /sbin/init is `#!/proc/self/exe --version`.
    lab.start(&name);
    lab.sh(
        &name,
        "rm -f /sbin/init && printf '#!/proc/self/exe --version\\n' > /sbin/init && chmod 755 /sbin/init",
    );
    lab.lxu(&["stop", "-n", &name, "-k"]).success();
    let mut conf = lab.read_config(&name);
    conf.push_str("lxc.init.cmd = /sbin/init\n");
    lab.write_config(&name, &conf);
    let out = lab
        .call(&["start", "-n", &name, "-F"])
        .stdin("")
        .timeout(std::time::Duration::from_secs(20))
        .run();
    // Host lxu would print its version on the console; the trampoline refuses `--version`.
    out.stdout_lacks(&version);
    assert!(
        !out.stderr.contains(&version),
        "host lxu ran as the container's init:\n{out}"
    );
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("exec trampoline"),
        "init did not reach the trampoline:\n{out}"
    );
}

/// The same for `lxc.hook.start`, which runs the container's `/bin/sh` inside it: an
/// image whose `/bin/sh` is `#!/proc/self/exe --version` must not get the host's lxu.
#[test]
fn a_start_hook_cannot_run_the_lxu_binary_through_proc_self_exe() {
    let Some(lab) = Lab::new() else { return };
    let version = lab.lxu(&["--version"]);
    version.success();
    // The first line (`lxu X.Y.Z`): the others describe the host, which differs inside.
    let version = version.lines()[0].to_string();
    let name = lab.running("hk");
    // The last command this /bin/sh runs replaces it.
    lab.sh(
        &name,
        "rm -f /bin/sh; printf '#!/proc/self/exe --version\\n' > /bin/sh; chmod 755 /bin/sh",
    );
    lab.lxu(&["stop", "-n", &name, "-k"]).success();
    let mut conf = lab.read_config(&name);
    conf.push_str("lxc.hook.start = true\n");
    lab.write_config(&name, &conf);
    // Host lxu would print its version and exit 0 (the hook passes); the trampoline
    // refuses to run `--version`.
    let out = lab.lxu(&["start", "-n", &name]);
    out.failure().stderr_has("lxc.hook.start");
    assert!(
        !out.stderr.contains(&version) && !out.stdout.contains(&version),
        "host lxu ran as the container's /bin/sh:\n{out}"
    );
}
