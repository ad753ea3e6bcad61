//! LXC compatibility of the command line: the `lxc-*` names, lxc.conf and its paths,
//! `update-config`, `checkconfig`.

use std::path::PathBuf;

use lxu_e2e::Lab;

/// A throwaway HOME (lxu, like LXC, uses `$HOME` literally for its per-user paths).
fn fake_home(lab: &Lab, lxc_conf: Option<&str>) -> PathBuf {
    let home = lab.files.join("home");
    let dir = home.join(".config/lxc");
    std::fs::create_dir_all(&dir).unwrap();
    if let Some(text) = lxc_conf {
        std::fs::write(dir.join("lxc.conf"), text).unwrap();
    }
    home
}

#[test]
fn lxc_tool_names_behave_as_the_verbs() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.name("m");
    let conf = lab.no_net_conf();
    let conf = conf.to_str().unwrap();
    lab.applet("lxc-create", &["-n", &name, "-t", "busybox", "-f", conf])
        .run()
        .success();
    assert!(lab.config(&name).is_file());

    let out = lab.applet("lxc-ls", &["--fancy"]).run();
    out.success();
    let row = out
        .lines()
        .into_iter()
        .find(|l| l.starts_with(&name))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(row.contains("STOPPED"), "{out}");
    lab.applet("lxc-ls", &["-1"])
        .run()
        .success()
        .stdout_is(&name);

    lab.applet("lxc-start", &["-n", &name]).run().success();
    lab.applet("lxc-info", &["-n", &name, "-s"])
        .run()
        .success()
        .stdout_is("State:          RUNNING");
    let pid = lab.init_pid(&name);
    lab.applet("lxc-info", &["-n", &name, "-p", "-H"])
        .run()
        .success()
        .stdout_is(&pid.to_string());
    lab.applet("lxc-attach", &["-n", &name, "--", "id", "-u"])
        .run()
        .success()
        .stdout_is("0");
    let out = lab.applet("lxc-ls", &["--fancy"]).run();
    assert!(out.success().stdout.contains("RUNNING"), "{out}");

    lab.applet("lxc-stop", &["-n", &name, "-k"]).run().success();
    assert_eq!(lab.state(&name), "STOPPED");
    lab.applet("lxc-stop", &["-n", &name])
        .run()
        .code_is(2)
        .stderr_has("is not running");

    lab.applet("lxc-destroy", &["-n", &name]).run().success();
    assert!(!lab.dir(&name).exists());
    lab.applet("lxc-info", &["-n", &name])
        .run()
        .code_is(1)
        .stderr_has("doesn't exist");
}

#[test]
fn lxc_start_takes_the_name_as_first_positional_and_foreground_exit_code() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("pos");
    // `lxc-start -F NAME CMD…` runs CMD as init in the foreground; its status is ours.
    let out = lab
        .applet("lxc-start", &["-F", &name, "--", "/bin/sh", "-c", "exit 3"])
        .run();
    out.code_is(3);
    assert_eq!(lab.state(&name), "STOPPED");
    assert!(!lab.socket(&name).exists());
}

#[test]
fn config_prints_the_default_lxcpath_and_lists_keys() {
    let Some(lab) = Lab::new() else { return };
    let home = fake_home(&lab, None);
    lab.call(&["config", "lxc.lxcpath"])
        .no_lxcpath()
        .env("HOME", &home)
        .run()
        .success()
        .stdout_is(&home.join(".local/share/lxc").display().to_string());
    // With the real HOME too, unless the user has their own lxc.conf.
    if !lab.home.join(".config/lxc/lxc.conf").exists() {
        lab.call(&["config", "lxc.lxcpath"])
            .no_lxcpath()
            .run()
            .success()
            .stdout_is(&lab.home.join(".local/share/lxc").display().to_string());
    }
    let out = lab.call(&["config", "-l"]).no_lxcpath().run();
    let keys = out.success().lines();
    for k in ["lxc.lxcpath", "lxc.default_config"] {
        assert!(keys.contains(&k), "`config -l` lacks {k}\n{out}");
    }
    assert!(keys.iter().all(|k| k.starts_with("lxc.")), "{out}");
    lab.call(&["config", "lxc.no_such_key"])
        .no_lxcpath()
        .run()
        .code_is(1)
        .stderr_has("lxc.no_such_key");
}

#[test]
fn lxcpath_from_lxc_conf_is_honoured_and_dash_p_overrides_it() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("conf");
    let home = fake_home(
        &lab,
        Some(&format!("lxc.lxcpath = {}\n", lab.lxcpath.display())),
    );
    let no_p = |args: &[&str]| lab.call(args).no_lxcpath().env("HOME", &home).run();

    no_p(&["config", "lxc.lxcpath"])
        .success()
        .stdout_is(&lab.lxcpath.display().to_string());
    no_p(&["ls", "-1"]).success().stdout_is(&name);
    no_p(&["info", "-n", &name, "-s", "-H"])
        .success()
        .stdout_is("STOPPED");

    let empty = lab.files.join("empty-lxcpath");
    std::fs::create_dir_all(&empty).unwrap();
    let empty_s = empty.to_str().unwrap();
    no_p(&["ls", "-1", "-P", empty_s]).success().stdout_is("");
    no_p(&["info", "-P", empty_s, "-n", &name])
        .code_is(1)
        .stderr_has("doesn't exist");
    // A relative -P is relative to the current directory.
    let mut c = std::process::Command::new(&lab.bin);
    c.args(["ls", "-1", "-P", "."]).current_dir(&lab.lxcpath);
    lxu_e2e::run::run(
        c,
        "lxu ls -1 -P . (in the lxcpath)".into(),
        None,
        std::time::Duration::from_secs(30),
    )
    .success()
    .stdout_is(&name);
}

const OLD_CONFIG: &str = "\
# an LXC 1.0 container
lxc.utsname = old1
lxc.rootfs = /var/lib/lxc/old1/rootfs
lxc.id_map = u 0 100000 65536
lxc.id_map = g 0 100000 65536
lxc.network.type = veth
lxc.network.link = lxcbr0
lxc.network.flags = up
lxc.network.hwaddr = 00:16:3e:12:34:56
lxc.tty = 4
";

/// `key = value` pairs of a config text, white space normalised.
fn pairs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((
                k.trim().to_string(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            ))
        })
        .collect()
}

#[test]
fn update_config_rewrites_1_0_keys_and_keeps_a_backup() {
    let Some(lab) = Lab::new() else { return };
    let path = lab.write("old.conf", OLD_CONFIG);
    let p = path.to_str().unwrap();
    lab.call(&["update-config", "-c", p])
        .no_lxcpath()
        .run()
        .success();

    let backup = PathBuf::from(format!("{p}.backup"));
    assert_eq!(
        std::fs::read_to_string(&backup).unwrap_or_else(|e| panic!("`{}`: {e}", backup.display())),
        OLD_CONFIG,
        "the backup must be the original"
    );
    let new = std::fs::read_to_string(&path).unwrap();
    let kv = pairs(&new);
    let has = |k: &str, v: &str| kv.contains(&(k.to_string(), v.to_string()));
    for (k, v) in [
        ("lxc.uts.name", "old1"),
        ("lxc.idmap", "u 0 100000 65536"),
        ("lxc.idmap", "g 0 100000 65536"),
        ("lxc.net.0.type", "veth"),
        ("lxc.net.0.link", "lxcbr0"),
        ("lxc.net.0.flags", "up"),
        ("lxc.net.0.hwaddr", "00:16:3e:12:34:56"),
        ("lxc.tty.max", "4"),
    ] {
        assert!(has(k, v), "no `{k} = {v}` in the updated config:\n{new}");
    }
    assert!(
        kv.iter()
            .any(|(k, v)| k == "lxc.rootfs.path" && v.ends_with("/var/lib/lxc/old1/rootfs")),
        "no lxc.rootfs.path in:\n{new}"
    );
    for old in ["lxc.utsname", "lxc.rootfs", "lxc.id_map", "lxc.tty"] {
        assert!(
            !kv.iter().any(|(k, _)| k == old),
            "`{old}` is still there:\n{new}"
        );
    }
    assert!(
        !kv.iter().any(|(k, _)| k.starts_with("lxc.network.")),
        "lxc.network.* is still there:\n{new}"
    );
    assert!(
        new.contains("# an LXC 1.0 container"),
        "comments are kept:\n{new}"
    );

    // Running it again changes nothing.
    lab.call(&["update-config", "-c", p])
        .no_lxcpath()
        .run()
        .success();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), new);

    // Through the LXC name, on a missing file: a clear error.
    let missing = lab.files.join("missing.conf");
    lab.applet("lxc-update-config", &["-c", missing.to_str().unwrap()])
        .no_lxcpath()
        .run()
        .code_is(1)
        .stderr_has(&missing.display().to_string());
}

#[test]
fn an_updated_1_0_config_starts() {
    // A container whose config uses the 1.0 keys runs, before and after update-config.
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("v1");
    let cur = lab.read_config(&name);
    let old: String = cur
        .lines()
        .map(|l| {
            let l = l
                .replace("lxc.idmap", "lxc.id_map")
                .replace("lxc.uts.name", "lxc.utsname");
            let l = l.replace("lxc.rootfs.path = dir:", "lxc.rootfs = ");
            l.replace("lxc.net.0.type", "lxc.network.type") + "\n"
        })
        .collect();
    lab.write_config(&name, &old);
    lab.start(&name);
    assert_eq!(lab.sh(&name, "hostname"), name);
    lab.lxu(&["stop", "-n", &name, "-k"]).success();
    let cfg = lab.config(&name);
    lab.call(&["update-config", "-c", cfg.to_str().unwrap()])
        .no_lxcpath()
        .run()
        .success();
    assert!(!lab.read_config(&name).contains("lxc.id_map"));
    lab.start(&name);
    assert_eq!(lab.sh(&name, "hostname"), name);
}

#[test]
fn checkconfig_reports_sections_and_the_map_helpers() {
    let Some(lab) = Lab::new() else { return };
    let out = lab.call(&["checkconfig"]).no_lxcpath().run();
    out.success()
        .stdout_has("--- Namespaces ---")
        .stdout_has("newuidmap");
    let out = lab.applet("lxc-checkconfig", &[]).no_lxcpath().run();
    out.success().stdout_has("--- Namespaces ---");
}

#[test]
fn version_and_help_work_under_every_name() {
    let Some(lab) = Lab::new() else { return };
    lab.call(&["--version"])
        .no_lxcpath()
        .run()
        .success()
        .stdout_has("0.");
    for tool in ["lxc-start", "lxc-ls", "lxc-attach", "lxc-info"] {
        let out = lab.applet(tool, &["--help"]).no_lxcpath().run();
        out.success();
        assert!(
            out.stdout.contains("-n") || tool == "lxc-ls",
            "{tool} --help does not list -n\n{out}"
        );
    }
    lab.call(&["no-such-verb"]).no_lxcpath().run().failure();
}

#[test]
fn lxc_wait_returns_when_the_state_is_reached_or_times_out() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("w");
    lab.applet("lxc-wait", &["-n", &name, "-s", "STOPPED"])
        .run()
        .success();
    let out = lab
        .applet(
            "lxc-wait",
            &["-n", &name, "-s", "RUNNING|FROZEN", "-t", "1"],
        )
        .run();
    out.code_is(1).stderr_has("not RUNNING|FROZEN after 1 s");
    assert!(out.elapsed >= std::time::Duration::from_secs(1), "{out}");
    lab.applet("lxc-wait", &["-n", &name, "-s", "UP"])
        .run()
        .code_is(1)
        .stderr_has("unknown state `UP`");

    // A waiter started before the start returns once the container runs…
    let (mut w, desc) = waiter(&lab, &name, "running");
    lab.start(&name);
    assert_eq!(w.wait().unwrap().code(), Some(0), "{desc}");
    // …and one for STOPPED once it is stopped.
    let (mut w, desc) = waiter(&lab, &name, "STOPPED");
    lab.lxu(&["stop", "-k", "-n", &name]).success();
    assert_eq!(w.wait().unwrap().code(), Some(0), "{desc}");
}

/// `lxc-wait -s STATE` running in the background, checked to be still waiting.
fn waiter(lab: &Lab, name: &str, state: &str) -> (std::process::Child, String) {
    let (mut cmd, desc) = lab
        .applet("lxc-wait", &["-n", name, "-s", state, "-t", "20"])
        .command();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{desc}: {e}"));
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(child.try_wait().unwrap().is_none(), "{desc} returned early");
    (child, desc)
}

#[test]
fn lxc_autostart_takes_groups_in_order_and_containers_by_start_order() {
    let Some(lab) = Lab::new() else { return };
    // Names sort as their letters: the tie between b and c (order 1) goes by name.
    let [a, b, c, d] = ["a", "b", "c", "d"].map(|p| {
        let n = lab.name(&format!("as{p}"));
        lab.create(&n);
        n
    });
    let add = |n: &str, lines: &str| {
        let mut t = lab.read_config(n);
        t.push_str(lines);
        lab.write_config(n, &t);
    };
    add(
        &a,
        "lxc.start.auto = 1\nlxc.start.order = 2\nlxc.start.delay = 1\n",
    );
    add(
        &b,
        "lxc.start.auto = 1\nlxc.start.order = 1\nlxc.group = web\n",
    );
    add(&c, "lxc.start.auto = 1\nlxc.start.order = 1\n");
    add(&d, "lxc.start.order = 0\n");
    let list = |args: &[&str]| -> String {
        let mut all = vec!["-L"];
        all.extend_from_slice(args);
        lab.applet("lxc-autostart", &all)
            .run()
            .success()
            .stdout
            .trim_end()
            .to_string()
    };
    assert_eq!(list(&[]), format!("{c} 0\n{a} 1"));
    assert_eq!(list(&["-g", "web,"]), format!("{b} 0\n{c} 0\n{a} 1"));
    assert_eq!(list(&["-a", "-A"]), format!("{d} 0\n{b} 0\n{c} 0\n{a} 1"));
    assert_eq!(list(&["-s"]), format!("{a}\n{c}"));

    let out = lab.applet("lxc-autostart", &[]).run();
    out.success();
    assert!(
        out.elapsed >= std::time::Duration::from_secs(1),
        "a's delay: {out}"
    );
    for (n, want) in [
        (&a, "RUNNING"),
        (&b, "STOPPED"),
        (&c, "RUNNING"),
        (&d, "STOPPED"),
    ] {
        assert_eq!(lab.state(n), want, "{n}");
    }
    lab.applet("lxc-autostart", &["-k"]).run().success();
    assert_eq!(lab.state(&a), "STOPPED");
    assert_eq!(lab.state(&c), "STOPPED");
    lab.applet("lxc-autostart", &["-r", "-k"])
        .run()
        .code_is(1)
        .stderr_has("cannot be combined");
}
