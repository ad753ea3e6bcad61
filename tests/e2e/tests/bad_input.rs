//! Bad input: each gets a clear error, and the container is left as it was.

use std::process::Stdio;
use std::time::Duration;

use lxu_e2e::{host, Lab};

/// Nothing of `name` runs: no monitor holds its files, no socket, state STOPPED.
#[track_caller]
fn assert_not_running(lab: &Lab, name: &str) {
    assert_eq!(lab.state(name), "STOPPED");
    let monitors = host::monitors_of(&lab.dir(name));
    assert!(
        monitors.is_empty(),
        "a monitor of {name} remains: {monitors:?}"
    );
    assert!(
        !lab.socket(name).exists(),
        "`{}` remains after a failed start",
        lab.socket(name).display()
    );
}

/// The container still exists and is listed.
#[track_caller]
fn assert_still_there(lab: &Lab, name: &str) {
    assert!(lab.config(name).is_file(), "the config of {name} is gone");
    assert!(
        lab.rootfs(name).join("bin/busybox").exists(),
        "the rootfs of {name} is damaged"
    );
    let ls = lab.lxu(&["ls", "-1"]);
    assert!(
        ls.success().lines().contains(&name),
        "{name} is not listed\n{ls}"
    );
}

#[test]
fn a_malformed_value_names_file_line_and_key_and_can_be_fixed() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("mal");
    let good = lab.read_config(&name);
    let line = lab.append_config(&name, "lxc.tty.max = four");
    let out = lab.lxu(&["start", "-n", &name]);
    out.code_is(1)
        .stderr_has(&format!("{}:{line}", lab.config(&name).display()))
        .stderr_has("lxc.tty.max")
        .stderr_has("four");
    assert_not_running(&lab, &name);
    assert_still_there(&lab, &name);

    lab.write_config(&name, &good);
    lab.start(&name);
    assert_eq!(lab.state(&name), "RUNNING");
}

#[test]
fn an_unknown_key_is_named() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("key");
    let line = lab.append_config(&name, "lxc.no.such.key = 1");
    lab.lxu(&["start", "-n", &name])
        .code_is(1)
        .stderr_has(&format!("{}:{line}", lab.config(&name).display()))
        .stderr_has("lxc.no.such.key");
    assert_not_running(&lab, &name);
    assert_still_there(&lab, &name);
    // An `lxc.` line without `=`. (Lines not starting with `lxc.` are ignored, as LXC
    // ignores them.)
    let mut text = lab.read_config(&name);
    text = text.replace("lxc.no.such.key = 1", "lxc.tty.max 4");
    lab.write_config(&name, &text);
    lab.lxu(&["start", "-n", &name])
        .code_is(1)
        .stderr_has(&format!("{}:{line}", lab.config(&name).display()))
        .stderr_has("lxc.tty.max 4");
    assert_not_running(&lab, &name);
}

#[test]
fn an_id_map_outside_the_callers_ranges_is_refused_with_the_ranges() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("map");
    let good = lab.read_config(&name);
    // Far away from anything setup-user hands out.
    let foreign = 3_000_000_000u64;
    let bad = good.replace(
        &format!("u 0 {} 65536", lab.subuid.start),
        &format!("u 0 {foreign} 65536"),
    );
    assert_ne!(
        bad, good,
        "the config has no `u 0 {} 65536` line",
        lab.subuid.start
    );
    lab.write_config(&name, &bad);
    let out = lab.lxu(&["start", "-n", &name]);
    out.code_is(1)
        .stderr_has("/etc/subuid")
        .stderr_has(&lab.user.name)
        .stderr_has(&foreign.to_string())
        .stderr_has(&lab.subuid.start.to_string());
    assert_not_running(&lab, &name);
    assert_eq!(
        lab.read_config(&name),
        bad,
        "a failed start must not touch the config"
    );
    lab.write_config(&name, &good);
    lab.start(&name);

    // The same refusal at create time, leaving nothing behind.
    let other = lab.name("map2");
    let conf = lab.write(
        "bad-map.conf",
        &format!("lxc.net.0.type = empty\nlxc.idmap = g 0 {foreign} 65536\n"),
    );
    lab.create_from(&other, "busybox", &conf)
        .code_is(1)
        .stderr_has("/etc/subgid")
        .stderr_has(&foreign.to_string());
    assert!(
        !lab.dir(&other).exists(),
        "a refused create left `{}`",
        lab.dir(&other).display()
    );
}

#[test]
fn a_missing_rootfs_is_named() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("rfs");
    let good = lab.read_config(&name);
    let missing = lab.files.join("no-such-rootfs");
    let bad: String = good
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("lxc.rootfs.path") {
                format!("lxc.rootfs.path = dir:{}\n", missing.display())
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    lab.write_config(&name, &bad);
    lab.lxu(&["start", "-n", &name])
        .code_is(1)
        .stderr_has(&missing.display().to_string());
    assert_not_running(&lab, &name);
    lab.write_config(&name, &good);
    lab.start(&name);
}

#[test]
fn a_missing_init_fails_the_start_and_leaves_nothing_running() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("ini");
    let good = lab.read_config(&name);
    lab.append_config(&name, "lxc.init.cmd = /nope");
    let out = lab.lxu(&["start", "-n", &name]);
    out.code_is(1).stderr_has("/nope");
    assert!(
        out.elapsed < Duration::from_secs(10),
        "a failed start must not hang\n{out}"
    );
    assert_not_running(&lab, &name);
    assert_still_there(&lab, &name);
    lab.write_config(&name, &good);
    lab.start(&name);
    assert_eq!(lab.sh(&name, "cat /proc/1/comm"), "init");
}

#[test]
fn names_with_a_slash_dotdot_or_too_long_are_refused_everywhere() {
    let Some(lab) = Lab::new() else { return };
    let conf = lab.no_net_conf();
    let conf = conf.to_str().unwrap();
    let long = "x".repeat(65);
    for bad in ["a/b", "..", ".", &long, "../escape", ""] {
        for args in [
            vec!["create", "-n", bad, "-t", "busybox", "-f", conf],
            vec!["start", "-n", bad],
            vec!["stop", "-n", bad, "-k"],
            vec!["info", "-n", bad],
            vec!["attach", "-n", bad, "--", "true"],
            vec!["destroy", "-n", bad, "-f"],
        ] {
            lab.lxu(&args)
                .code_is(1)
                .stderr_has("invalid container name");
        }
    }
    let left: Vec<_> = std::fs::read_dir(&lab.lxcpath).unwrap().collect();
    assert!(left.is_empty(), "bad names created {left:?}");
    assert!(lab.lxcpath.is_dir(), "`destroy -n ..` removed the lxcpath");
    let escape = lab.lxcpath.parent().unwrap().join("escape");
    assert!(
        !escape.exists(),
        "`../escape` created `{}`",
        escape.display()
    );

    // 64 bytes is the limit (HOST_NAME_MAX), and it works.
    let mut name = lab.name("long");
    while name.len() < 64 {
        name.push('x');
    }
    lab.create(&name);
    lab.start(&name);
    assert_eq!(lab.sh(&name, "hostname"), name);
}

#[test]
fn starting_a_running_container_says_so_and_changes_nothing() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("again");
    let init = lab.init_pid(&name);
    lab.lxu(&["start", "-n", &name])
        .code_is(0)
        .stderr_has("already running");
    assert_eq!(lab.init_pid(&name), init, "a second start replaced init");
    assert_eq!(host::monitors_of(&lab.dir(&name)).len(), 1);
}

#[test]
fn two_starts_at_once_give_exactly_one_container() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("race");
    for round in 0..6 {
        let spawn = || {
            let (mut cmd, _) = lab.call(&["start", "-n", &name]).command();
            cmd.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn lxu start")
        };
        let (a, b) = (spawn(), spawn());
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let show = |o: &std::process::Output| {
            format!(
                "exit {:?}\nstdout: {}\nstderr: {}",
                o.status.code(),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        };
        assert!(
            a.status.success() && b.status.success(),
            "round {round}: both starts must exit 0\nfirst: {}\nsecond: {}",
            show(&a),
            show(&b)
        );
        let monitors = host::monitors_of(&lab.dir(&name));
        assert_eq!(monitors.len(), 1, "round {round}: monitors {monitors:?}");
        let init = lab.init_pid(&name);
        let p = host::proc_status(init).expect("init");
        assert_eq!(
            p.ppid, monitors[0],
            "round {round}: init's parent is the monitor"
        );
        let children: Vec<_> = host::procs()
            .into_iter()
            .filter(|c| c.ppid == monitors[0] && !c.is_zombie())
            .collect();
        assert_eq!(
            children.len(),
            1,
            "round {round}: the monitor has one init: {children:?}"
        );
        assert_eq!(lab.sh(&name, "hostname"), name, "round {round}");
        lab.lxu(&["stop", "-n", &name, "-k"]).success();
        assert!(host::monitors_of(&lab.dir(&name)).is_empty());
    }
}

#[test]
fn destroy_of_a_running_container_without_force_leaves_it_running() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("d");
    let init = lab.init_pid(&name);
    lab.lxu(&["destroy", "-n", &name])
        .code_is(1)
        .stderr_has("is running");
    assert_eq!(lab.state(&name), "RUNNING");
    assert_eq!(lab.init_pid(&name), init);
    assert_eq!(lab.sh(&name, "echo alive"), "alive");
    assert_still_there(&lab, &name);
}

#[test]
fn create_of_an_existing_name_fails_and_keeps_the_container() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("dup");
    let config = lab.read_config(&name);
    let conf = lab.no_net_conf();
    lab.create_from(&name, "busybox", &conf)
        .code_is(1)
        .stderr_has("already exists");
    assert_eq!(lab.read_config(&name), config);
    assert_still_there(&lab, &name);
    lab.start(&name);
    // And while it runs.
    lab.create_from(&name, "busybox", &conf)
        .code_is(1)
        .stderr_has("already exists");
    assert_eq!(lab.state(&name), "RUNNING");
}

#[test]
fn verbs_on_an_unknown_container_fail_clearly() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.name("ghost");
    for args in [
        vec!["start", "-n", &name],
        vec!["stop", "-n", &name],
        vec!["info", "-n", &name],
        vec!["destroy", "-n", &name],
    ] {
        lab.lxu(&args)
            .code_is(1)
            .stderr_has(&format!("{name} doesn't exist"));
    }
    assert!(!lab.dir(&name).exists());
    lab.lxu(&["start"]).code_is(1).stderr_has("-n");
}

#[test]
fn an_unknown_template_fails_without_leaving_a_directory() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.name("tpl");
    lab.lxu(&["create", "-n", &name, "-t", "no-such-template-e2e"])
        .code_is(1)
        .stderr_has("no-such-template-e2e");
    assert!(!lab.dir(&name).exists());
}
