//! cgroups as the unprivileged test user, in the cgroups `lxu setup-user` delegated to
//! them: limits from the config, the cgroup namespace, freeze, usage in `info`, a fork
//! bomb held by pids.max, and no cgroup left behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lxu_e2e::cgroupfs::{self, Membership};
use lxu_e2e::{host, need, Lab};

const MIB: u64 = 1024 * 1024;

/// A lab on a host with the v1 controllers these tests read (the machine `./x test`
/// targets: cgroup v1 hybrid).
fn lab() -> Option<Lab> {
    let lab = Lab::new()?;
    let hs = cgroupfs::hierarchies();
    let mounted = |c: &str| {
        hs.iter()
            .any(|h| !h.v2 && h.controllers.iter().any(|x| x == c))
    };
    ["memory", "pids", "freezer"]
        .iter()
        .all(|c| need(mounted(c), format!("no cgroup v1 `{c}` hierarchy mounted")))
        .then_some(lab)
}

/// A running container with `extra` config lines (and no network).
#[track_caller]
fn running_with(lab: &Lab, prefix: &str, extra: &str) -> String {
    let name = lab.name(prefix);
    let conf = lab.write(
        &format!("{name}.conf"),
        &format!("lxc.net.0.type = empty\n{extra}"),
    );
    lab.create_from(&name, "busybox", &conf).success();
    lab.start(&name);
    name
}

/// init's v1 cgroups on the host, checked to be the container's own, below the user's
/// delegated `lxu/<user>` directory.
#[track_caller]
fn host_cgroups(lab: &Lab, name: &str) -> Vec<(Membership, PathBuf)> {
    let init = lab.init_pid(name);
    let all = cgroupfs::memberships(init);
    let v1: Vec<(Membership, PathBuf)> = all
        .iter()
        .filter(|m| !m.controllers.is_empty())
        // A user-namespaced container gets no devices cgroup: its rules could not be
        // applied from inside a user namespace.
        .filter(|m| m.controllers != "devices")
        .map(|m| {
            let dir = m
                .dir
                .clone()
                .unwrap_or_else(|| panic!("hierarchy of {m:?} is not mounted"));
            (m.clone(), dir)
        })
        .collect();
    assert!(!v1.is_empty(), "init {init} is in no v1 cgroup: {all:?}");
    let leaf = format!("lxu.payload.{name}");
    let base = format!("/lxu/{}/", lab.user.name);
    for (m, dir) in &v1 {
        assert!(
            m.path.ends_with(&format!("/{leaf}")) && m.path.contains(&base),
            "init's {} cgroup is `{}`: expected `…{base}{leaf}` (the user's delegated subtree)",
            m.controllers,
            m.path
        );
        let procs = cgroupfs::read(dir, "cgroup.procs").unwrap_or_default();
        assert!(
            procs.lines().any(|l| l.trim() == init.to_string()),
            "init {init} is not in `{}`/cgroup.procs",
            dir.display()
        );
    }
    v1
}

fn dir_for<'a>(cgs: &'a [(Membership, PathBuf)], controller: &str) -> &'a Path {
    cgs.iter()
        .find(|(m, _)| m.controllers.split(',').any(|c| c == controller))
        .map(|(_, d)| d.as_path())
        .unwrap_or_else(|| panic!("no `{controller}` cgroup among {cgs:?}"))
}

#[track_caller]
fn assert_removed(name: &str, dirs: &[PathBuf], what: &str) {
    let gone = host::wait_until(Duration::from_secs(5), || {
        dirs.iter().all(|d| !d.exists()) && cgroupfs::payload_dirs(name).is_empty()
    });
    assert!(
        gone,
        "{what}: the cgroups of {name} are still there: {:?}",
        cgroupfs::payload_dirs(name)
    );
}

/// `lxu info -S -H` as (label, number) pairs.
#[track_caller]
fn usage(lab: &Lab, name: &str) -> Vec<(String, u64)> {
    let out = lab.lxu(&["info", "-n", name, "-S", "-H"]);
    out.success();
    out.lines()
        .iter()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

#[test]
fn limits_from_the_config_apply_inside_and_on_the_host() {
    let Some(lab) = lab() else { return };
    let name = running_with(
        &lab,
        "lim",
        "lxc.cgroup.memory.limit_in_bytes = 64M\nlxc.cgroup.pids.max = 30\n",
    );
    // Inside: the limits, and a cgroup namespace rooted at the container's cgroups.
    lab.exec(
        &name,
        &["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"],
    )
    .success()
    .stdout_is(&(64 * MIB).to_string());
    lab.exec(&name, &["cat", "/sys/fs/cgroup/pids/pids.max"])
        .success()
        .stdout_is("30");
    for who in ["self", "1"] {
        let text = lab.sh(&name, &format!("cat /proc/{who}/cgroup"));
        for line in text.lines() {
            assert!(
                line.ends_with(":/"),
                "/proc/{who}/cgroup inside must show `/` paths (cgroup namespace): `{line}`\n{text}"
            );
        }
    }

    // On the host: the container's own cgroups in the delegated subtree, with the limits.
    let cgs = host_cgroups(&lab, &name);
    let mem = dir_for(&cgs, "memory");
    let pids = dir_for(&cgs, "pids");
    assert_eq!(
        cgroupfs::read(mem, "memory.limit_in_bytes").as_deref(),
        Some((64 * MIB).to_string().as_str()),
        "memory limit in `{}`",
        mem.display()
    );
    assert_eq!(
        cgroupfs::read(pids, "pids.max").as_deref(),
        Some("30"),
        "pids.max in `{}`",
        pids.display()
    );

    // The memory limit holds: a 100 MB allocation is killed, the container lives on.
    let hog = lab.attach(
        &name,
        "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo ${#x}",
    );
    assert_eq!(
        hog.code,
        Some(128 + 9),
        "a 100 MB allocation under a 64 MiB limit must be OOM-killed\n{hog}"
    );
    let oom = cgroupfs::read(mem, "memory.oom_control").unwrap_or_default();
    assert!(
        oom.lines()
            .any(|l| l.strip_prefix("oom_kill ").is_some_and(|n| n != "0")),
        "memory.oom_control counts the kill:\n{oom}"
    );
    lab.exec(&name, &["echo", "alive"])
        .success()
        .stdout_is("alive");

    // `lxu info` reports the usage.
    let info = lab.lxu(&["info", "-n", &name]);
    info.success();
    for label in ["CPU use:", "Memory use:", "KMem use:", "BlkIO use:"] {
        assert!(
            info.lines().iter().any(|l| l.starts_with(label)),
            "`lxu info` prints `{label}`\n{info}"
        );
    }
    let u = usage(&lab, &name);
    let get = |k: &str| {
        u.iter()
            .find(|(l, _)| l == k)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no `{k}` in `info -S -H`: {u:?}"))
    };
    let memory = get("Memory use");
    assert!(
        memory > 0 && memory <= 64 * MIB,
        "memory use {memory} within (0, 64 MiB]"
    );
    assert!(get("CPU use") > 0, "the container has used some CPU");

    // Stop removes them.
    let dirs: Vec<PathBuf> = cgs.iter().map(|(_, d)| d.clone()).collect();
    lab.lxu(&["stop", "-n", &name]).success();
    assert_removed(&name, &dirs, "after stop");
}

/// Lines in the counter file the container's background loop appends to.
fn ticks(lab: &Lab, name: &str) -> usize {
    std::fs::read_to_string(lab.rootfs(name).join("tmp/ticks"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[test]
fn freeze_stops_everything_and_unfreeze_resumes() {
    let Some(lab) = lab() else { return };
    let name = running_with(&lab, "frz", "");
    // A loop inside that leaves a trace the host can read.
    lab.attach(
        &name,
        "rm -f /tmp/ticks; (while :; do echo t >> /tmp/ticks; usleep 50000; done) </dev/null >/dev/null 2>&1 &",
    )
    .success();
    assert!(
        host::wait_until(Duration::from_secs(5), || ticks(&lab, &name) > 2),
        "the loop inside does not run"
    );
    let cgs = host_cgroups(&lab, &name);
    let freezer = dir_for(&cgs, "freezer").to_path_buf();

    lab.lxu(&["freeze", "-n", &name]).success();
    assert_eq!(lab.state(&name), "FROZEN");
    assert_eq!(
        cgroupfs::read(&freezer, "freezer.state").as_deref(),
        Some("FROZEN")
    );
    let at_freeze = ticks(&lab, &name);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        ticks(&lab, &name),
        at_freeze,
        "a frozen container must not run"
    );

    lab.lxu(&["unfreeze", "-n", &name]).success();
    assert_eq!(lab.state(&name), "RUNNING");
    assert_eq!(
        cgroupfs::read(&freezer, "freezer.state").as_deref(),
        Some("THAWED")
    );
    assert!(
        host::wait_until(Duration::from_secs(5), || ticks(&lab, &name) > at_freeze),
        "the container must run again after unfreeze"
    );
    lab.exec(&name, &["true"]).success();

    // A frozen container can still be stopped, and leaves nothing.
    lab.lxu(&["freeze", "-n", &name]).success();
    lab.lxu(&["stop", "-n", &name]).success();
    assert_eq!(lab.state(&name), "STOPPED");
    let dirs: Vec<PathBuf> = cgs.iter().map(|(_, d)| d.clone()).collect();
    assert_removed(&name, &dirs, "after stopping a frozen container");
    // And it starts again, not frozen.
    lab.start(&name);
    assert_eq!(lab.state(&name), "RUNNING");
    lab.exec(&name, &["true"]).success();
}

fn pids_events_max(dir: &Path) -> u64 {
    cgroupfs::read(dir, "pids.events")
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("max ").and_then(|n| n.trim().parse().ok()))
        })
        .unwrap_or(0)
}

#[test]
fn a_fork_bomb_stops_at_pids_max_and_the_host_is_unaffected() {
    let Some(lab) = lab() else { return };
    // The cgroup2 spelling: lxu applies it to the pids controller wherever it is.
    let name = running_with(
        &lab,
        "bomb",
        "lxc.cgroup2.pids.max = 30\nlxc.cgroup.memory.limit_in_bytes = 128M\n",
    );
    let init = lab.init_pid(&name);
    let cgs = host_cgroups(&lab, &name);
    let pids = dir_for(&cgs, "pids").to_path_buf();
    assert_eq!(cgroupfs::read(&pids, "pids.max").as_deref(), Some("30"));
    let hits_before = pids_events_max(&pids);

    let (mut cmd, desc) = lab
        .call(&["attach", "-n", &name, "--", "sh", "-c", "f(){ f & f; }; f"])
        .command();
    let mut bomb = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{desc}`: {e}"));
    let started = Instant::now();
    let mut peak = 0u64;
    let mut host_forks = 0;
    while started.elapsed() < Duration::from_secs(10) {
        let cur: u64 = cgroupfs::read(&pids, "pids.current")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        peak = peak.max(cur);
        // The host can still fork while the bomb runs.
        if Command::new("/bin/true")
            .status()
            .is_ok_and(|s| s.success())
        {
            host_forks += 1;
        }
        if bomb.try_wait().ok().flatten().is_some() && pids_events_max(&pids) > hits_before {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = bomb.kill();
    let _ = bomb.wait();
    assert!(
        pids_events_max(&pids) > hits_before,
        "the bomb never reached pids.max (pids.events: {:?}, peak {peak})",
        cgroupfs::read(&pids, "pids.events")
    );
    assert!(peak <= 30, "pids.current went above pids.max: {peak}");
    assert!(host_forks > 0, "the host could not fork during the bomb");

    // The container survives and answers once the bomb has burnt out.
    let mut last = None;
    // How long the shells take to die of their memory limit depends on the machine's load.
    let answered = host::wait_until(Duration::from_secs(45), || {
        let out = lab.exec(&name, &["echo", "alive"]);
        let ok = out.code == Some(0) && out.out() == "alive";
        last = Some(out);
        ok
    });
    assert!(
        answered,
        "the container does not answer after the fork bomb\n{}",
        last.map(|o| o.to_string()).unwrap_or_default()
    );
    assert_eq!(lab.state(&name), "RUNNING");
    assert_eq!(lab.init_pid(&name), init, "init must survive the bomb");
    lab.lxu(&["stop", "-n", &name, "-k"]).success();
    let dirs: Vec<PathBuf> = cgs.iter().map(|(_, d)| d.clone()).collect();
    assert_removed(&name, &dirs, "after stopping the bombed container");
}

#[test]
fn fifty_start_stop_cycles_leave_no_cgroups_behind() {
    let Some(lab) = lab() else { return };
    let name = lab.created("cyc");
    let started = Instant::now();
    for i in 0..50 {
        let out = lab.lxu(&["start", "-n", &name]);
        if out.code != Some(0) {
            panic!("start #{i} failed\n{out}");
        }
        let dirs = cgroupfs::payload_dirs(&name);
        let leaf = format!("lxu.payload.{name}");
        assert!(
            !dirs.is_empty()
                && dirs
                    .iter()
                    .all(|d| d.file_name().is_some_and(|f| f.to_string_lossy() == leaf)),
            "start #{i}: expected only `{leaf}` cgroups (a `-N` suffix means one was left over): {dirs:?}"
        );
        if i % 10 == 0 {
            lab.exec(&name, &["true"]).success();
        }
        // Mostly -k (fast); every fifth a clean shutdown through init.
        let stop: &[&str] = if i % 5 == 4 {
            &["stop", "-n", &name]
        } else {
            &["stop", "-n", &name, "-k"]
        };
        let out = lab.lxu(stop);
        if out.code != Some(0) {
            panic!("stop #{i} failed\n{out}");
        }
        assert!(
            host::wait_until(Duration::from_secs(5), || cgroupfs::payload_dirs(&name)
                .is_empty()),
            "stop #{i}: cgroups left: {:?}",
            cgroupfs::payload_dirs(&name)
        );
    }
    eprintln!("50 cycles in {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(lab.state(&name), "STOPPED");
    assert!(
        cgroupfs::payload_dirs(&name).is_empty(),
        "no lxu.payload.{name}* directory may remain under /sys/fs/cgroup"
    );
    assert!(
        host::monitors_of(&lab.dir(&name)).is_empty(),
        "no monitor may remain"
    );
}

/// A stand-in for systemd (lxu recognises an init by its name): like systemd, it makes
/// `init.scope` below the cgroup it was given in every hierarchy and moves itself there,
/// then becomes busybox init.
const FAKE_SYSTEMD: &str = r#"#!/bin/sh
for h in /sys/fs/cgroup/*/; do
    if mkdir "${h}init.scope" 2>>/cgroup-errors; then
        echo $$ > "${h}init.scope/cgroup.procs" 2>>/cgroup-errors
    fi
done
touch /cgroups-done
exec /sbin/init
"#;

#[test]
fn a_systemd_init_gets_its_cgroups_but_not_its_limits() {
    let Some(lab) = lab() else { return };
    let name = running_with(&lab, "sd", "lxc.cgroup.pids.max = 100\n");
    // Any other init gets cgroups owned by the caller: nothing to build below them.
    let cgs = host_cgroups(&lab, &name);
    for (m, dir) in &cgs {
        assert_eq!(
            host::owner(dir).map(|o| o.0),
            Some(lab.user.uid),
            "{} cgroup of a busybox init",
            m.controllers
        );
    }
    let out = lab.attach(
        &name,
        &format!(
            "mkdir -p /lib/systemd && cat > /lib/systemd/systemd <<'X'\n{FAKE_SYSTEMD}X\nchmod 755 /lib/systemd/systemd"
        ),
    );
    out.success();
    lab.lxu(&["stop", "-k", "-n", &name]).success();
    let mut text = lab.read_config(&name);
    text.push_str("lxc.init.cmd = /lib/systemd/systemd\n");
    lab.write_config(&name, &text);
    lab.start(&name);

    // Every hierarchy: the container's root made init.scope and init moved into it (the
    // stand-in runs on while `start` returns).
    let done = host::wait_until(Duration::from_secs(10), || {
        lab.attach(&name, "test -e /cgroups-done").code == Some(0)
    });
    assert!(done, "the stand-in never finished");
    let errors = lab.sh(&name, "cat /cgroup-errors 2>/dev/null; true");
    assert_eq!(errors, "", "the stand-in could not build its cgroups");
    let cgs = host_cgroups_of(&lab, &name);
    assert!(!cgs.is_empty());
    let sub = lab.subuid.start as u32;
    for (m, dir) in &cgs {
        assert!(
            m.path.ends_with(&format!("/lxu.payload.{name}/init.scope")),
            "init's {} cgroup is `{}`",
            m.controllers,
            m.path
        );
        let payload = dir.parent().unwrap();
        assert_eq!(
            host::owner(payload).map(|o| o.0),
            Some(sub),
            "`{}`",
            payload.display()
        );
        assert_eq!(
            host::owner(dir).map(|o| o.0),
            Some(sub),
            "`{}`",
            dir.display()
        );
        // attach still moves processes in as the caller.
        assert_eq!(
            host::owner(&payload.join("cgroup.procs")).map(|o| o.0),
            Some(lab.user.uid)
        );
    }
    // Limits stay the caller's: the container can subdivide them, not raise them.
    let pids = dir_for(&cgs, "pids").parent().unwrap().to_path_buf();
    assert_eq!(
        host::owner(&pids.join("pids.max")).map(|o| o.0),
        Some(lab.user.uid)
    );
    let raise = lab.attach(&name, "echo max > /sys/fs/cgroup/pids/pids.max");
    assert_ne!(
        raise.code,
        Some(0),
        "the container raised its pids.max\n{raise}"
    );
    assert_eq!(cgroupfs::read(&pids, "pids.max").as_deref(), Some("100"));
    lab.exec(&name, &["true"]).success();

    // Stop removes what the container's root made too.
    lab.lxu(&["stop", "-k", "-n", &name]).success();
    let dirs: Vec<PathBuf> = cgs.iter().map(|(_, d)| d.clone()).collect();
    assert_removed(&name, &dirs, "after stop");
}

/// init's v1 cgroups on the host (wherever below the container's they are).
fn host_cgroups_of(lab: &Lab, name: &str) -> Vec<(Membership, PathBuf)> {
    let init = lab.init_pid(name);
    cgroupfs::memberships(init)
        .into_iter()
        .filter(|m| !m.controllers.is_empty() && m.controllers != "devices")
        .filter_map(|m| {
            let d = m.dir.clone()?;
            Some((m, d))
        })
        .collect()
}

#[test]
fn lxc_cgroup_reads_and_sets_a_running_containers_files() {
    let Some(lab) = lab() else { return };
    let name = running_with(&lab, "cg", "lxc.cgroup.pids.max = 100\n");
    let pids = dir_for(&host_cgroups(&lab, &name), "pids").to_path_buf();
    lab.applet("lxc-cgroup", &["-n", &name, "pids.max"])
        .run()
        .success()
        .stdout_is("100");
    lab.applet("lxc-cgroup", &["-n", &name, "pids.max", "50"])
        .run()
        .success()
        .stdout_is("");
    assert_eq!(cgroupfs::read(&pids, "pids.max").as_deref(), Some("50"));
    lab.lxu(&["cgroup", "-n", &name, "memory.limit_in_bytes", "64M"])
        .success();
    lab.lxu(&["cgroup", "-n", &name, "memory.limit_in_bytes"])
        .success()
        .stdout_is(&(64 * MIB).to_string());
    let current: u64 = lab
        .lxu(&["cgroup", "-n", &name, "pids.current"])
        .success()
        .out()
        .parse()
        .expect("a number");
    assert!(current >= 1, "init at least");
    lab.lxu(&["cgroup", "-n", &name, "nosuch"])
        .code_is(1)
        .stderr_has("not a cgroup file name");
    lab.lxu(&["cgroup", "-n", &name, "../pids.max"])
        .code_is(1)
        .stderr_has("not a cgroup file name");
    lab.lxu(&["cgroup", "-n", &name, "nosuch.file"])
        .code_is(1)
        .stderr_has("nosuch");
    lab.lxu(&["stop", "-n", &name, "-k"]).success();
    lab.lxu(&["cgroup", "-n", &name, "pids.max"])
        .code_is(1)
        .stderr_has("is not running");
}
