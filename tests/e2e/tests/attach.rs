//! `lxu attach` as the unprivileged test user.

use lxu_e2e::tmux::lab_and_tmux;
use lxu_e2e::Lab;

/// Lines of `env` output as a sorted list.
fn env_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn runs_commands_as_container_root() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("a");
    // Without a shell in between.
    lab.lxu(&["attach", "-n", &name, "--", "id", "-u"])
        .success()
        .stdout_is("0");
    lab.lxu(&["attach", "-n", &name, "--", "hostname"])
        .success()
        .stdout_is(&name);
    // The name may also come first, as with `lxc-attach NAME -- cmd`.
    lab.lxu(&["attach", &name, "--", "id", "-u"])
        .success()
        .stdout_is("0");
}

#[test]
fn passes_the_exit_code_through() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("x");
    lab.attach(&name, "exit 7").code_is(7);
    lab.attach(&name, "exit 0").code_is(0);
    lab.attach(&name, "false").code_is(1);
    // Killed by a signal: 128 + N, as a shell reports it.
    lab.attach(&name, "kill -TERM $$").code_is(128 + 15);
}

#[test]
fn passes_stdin_and_stdout_through() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("io");
    lab.call(&["attach", "-n", &name, "--", "cat"])
        .stdin("hi\n")
        .run()
        .success()
        .stdout_is("hi");
    let big: String = (0..20000).map(|i| format!("line {i}\n")).collect();
    let out = lab
        .call(&["attach", "-n", &name, "--", "wc", "-l"])
        .stdin(&big)
        .run();
    out.success().stdout_is("20000");
    lab.attach(&name, "echo out; echo err >&2")
        .success()
        .stdout_is("out")
        .stderr_has("err");
}

#[test]
fn a_missing_command_exits_127_with_a_message() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("nf");
    lab.lxu(&["attach", "-n", &name, "--", "/no/such/cmd"])
        .code_is(127)
        .stderr_has("/no/such/cmd");
    lab.lxu(&["attach", "-n", &name, "--", "no-such-cmd-e2e"])
        .code_is(127)
        .stderr_has("no-such-cmd-e2e");
    // The container is unharmed.
    lab.lxu(&["attach", "-n", &name, "--", "true"]).success();
}

#[test]
fn attach_to_a_stopped_or_unknown_container_fails_clearly() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("st");
    lab.lxu(&["attach", "-n", &name, "--", "true"])
        .code_is(1)
        .stderr_has(&format!("{name} is not running"));
    let unknown = lab.name("unknown");
    lab.lxu(&["attach", "-n", &unknown, "--", "true"])
        .code_is(1)
        .stderr_has(&format!("{unknown} doesn't exist"));
    assert!(
        !lab.dir(&unknown).exists(),
        "attach must not create anything"
    );
    // After a stop, too.
    lab.start(&name);
    lab.lxu(&["stop", "-n", &name, "-k"]).success();
    lab.lxu(&["attach", "-n", &name, "--", "true"])
        .code_is(1)
        .stderr_has("is not running");
}

#[test]
fn sees_only_the_containers_processes() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("ps");
    let out = lab.lxu(&["attach", "-n", &name, "--", "ps", "-o", "pid,comm"]);
    out.success();
    let rows: Vec<(i32, String)> = out
        .lines()
        .iter()
        .skip(1)
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.parse().ok()?, w.next()?.to_string()))
        })
        .collect();
    assert!(
        rows.contains(&(1, "init".to_string())),
        "pid 1 is init\n{out}"
    );
    // busybox init, 4 gettys, the console prompt, ps: a handful, not the host's.
    assert!(
        rows.len() < 15,
        "too many processes for a busybox container\n{out}"
    );
    assert!(
        lxu_e2e::host::procs().len() > rows.len(),
        "the host has more processes than the container"
    );
    for (_, comm) in &rows {
        assert!(
            !comm.contains("lxu") && !comm.contains("runuser") && !comm.contains("attach"),
            "a host process is visible inside: {comm}\n{out}"
        );
    }
    let me = std::process::id().to_string();
    // Pids inside are small; this process's host pid is not one of them.
    assert_eq!(
        lab.sh(
            &name,
            &format!("test -e /proc/{me} && echo visible || echo hidden")
        ),
        "hidden",
        "the test process (host pid {me}) is visible in the container's /proc"
    );
}

#[test]
fn reads_files_only_the_container_has() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("fs");
    lab.attach(&name, "cat /etc/os-release")
        .success()
        .stdout_has("ID=busybox");
    let host_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    assert!(
        !host_release.contains("ID=busybox"),
        "the host must differ for this test"
    );
    assert_eq!(lab.sh(&name, "cat /etc/hostname"), name);
    // The caller's home does not exist in there.
    let home = lab.home.display().to_string();
    assert_eq!(
        lab.sh(&name, &format!("test -e '{home}' && echo yes || echo no")),
        "no"
    );
    // What one attach writes, the next one reads; the host's /tmp does not have it.
    let token = format!("/tmp/token-{}", lab.name("t"));
    lab.sh(&name, &format!("echo secret > {token}"));
    assert_eq!(lab.sh(&name, &format!("cat {token}")), "secret");
    assert!(!std::path::Path::new(&token).exists());
}

#[test]
fn uid_and_gid_options_choose_the_identity_inside() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("u");
    lab.exec_as(&name, "1000", &["id", "-u"])
        .success()
        .stdout_is("1000");
    lab.exec_as(&name, "1000", &["id", "-g"])
        .success()
        .stdout_is("1000");
    // uid 1000 is not root in there: /root stays closed.
    lab.exec_as(&name, "1000", &["ls", "/root"])
        .failure()
        .stderr_has("Permission denied");
}

#[test]
fn environment_default_clear_keep_and_set() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("env");
    let mark = "LXU_E2E_MARK=m42";

    let out = lab
        .call(&["attach", "-n", &name, "--", "env"])
        .env("LXU_E2E_MARK", "m42")
        .run();
    let default = env_lines(&out.success().stdout);
    assert!(default.contains(&"container=lxc".to_string()), "{out}");
    assert!(default.contains(&"HOME=/root".to_string()), "{out}");
    assert!(default.iter().any(|l| l.starts_with("PATH=")), "{out}");

    let out = lab
        .call(&["attach", "-n", &name, "--clear-env", "--", "env"])
        .env("LXU_E2E_MARK", "m42")
        .run();
    let clear = env_lines(&out.success().stdout);
    assert!(clear.contains(&"container=lxc".to_string()), "{out}");
    assert!(
        !clear.iter().any(|l| l.starts_with("HOME=")),
        "--clear-env keeps HOME\n{out}"
    );
    assert!(
        !clear.contains(&mark.to_string()),
        "--clear-env keeps the caller's variables\n{out}"
    );

    let out = lab
        .call(&["attach", "-n", &name, "--keep-env", "--", "env"])
        .env("LXU_E2E_MARK", "m42")
        .run();
    let keep = env_lines(&out.success().stdout);
    assert!(
        keep.contains(&mark.to_string()),
        "--keep-env drops the caller's variables\n{out}"
    );
    assert!(keep.contains(&"container=lxc".to_string()), "{out}");

    for extra in [&[][..], &["--clear-env"][..]] {
        let mut args = vec!["attach", "-n", &name];
        args.extend_from_slice(extra);
        args.extend(["-v", "FOO=bar", "-v", "TWO=a b", "--", "env"]);
        let out = lab.lxu(&args);
        let env = env_lines(&out.success().stdout);
        assert!(env.contains(&"FOO=bar".to_string()), "{out}");
        assert!(env.contains(&"TWO=a b".to_string()), "{out}");
    }
}

/// `lxu attach -P … -n NAME` for a shell line on a tmux pane.
fn attach_cmd(lab: &Lab, name: &str) -> String {
    format!(
        "{} attach -P {} -n {name}",
        lab.bin.display(),
        lab.lxcpath.display()
    )
}

/// Copies `bytes` into the container as an executable `path`.
fn put_program(lab: &Lab, name: &str, path: &str, bytes: &[u8]) {
    let script = format!("base64 -d > {path} && chmod 755 {path}");
    lab.call(&["attach", "-n", name, "--", "/bin/sh", "-c", &script])
        .stdin(&lxu_e2e::elf::base64(bytes))
        .run()
        .success();
}

const WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Issue 11 finding 2 (CVE-2016-10124): attached without a pty, from a shell on a real
/// terminal, the command must not have the caller's terminal as its controlling terminal,
/// or it could type into the caller's shell with TIOCSTI.
#[test]
fn a_command_attached_without_a_pty_cannot_type_into_the_callers_terminal() {
    let Some((lab, tmux)) = lab_and_tmux("tiocsti") else {
        return;
    };
    let name = lab.running("sti");
    let pane = tmux.shell("s");
    let attach = attach_cmd(&lab, &name);

    // (a) The command leads a session of its own and has no controlling terminal.
    let stat = lab.files.join("stat");
    pane.line(&format!(
        "{attach} -- cat /proc/self/stat </dev/null >{} 2>&1; echo stat-$((1+1))",
        stat.display()
    ));
    pane.wait_for("stat-2", WAIT);
    let text = std::fs::read_to_string(&stat).unwrap();
    let pid: i64 = text.split_whitespace().next().unwrap().parse().unwrap();
    // After "(comm)": state ppid pgrp session tty_nr.
    let f: Vec<i64> = text[text.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .skip(1)
        .take(4)
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(
        f[2], pid,
        "the attached command must lead its session: {text}"
    );
    assert_eq!(
        f[3], 0,
        "the attached command has a controlling tty: {text}"
    );

    // (b) /dev/tty (the opener's controlling terminal) cannot be opened.
    let tty = lab.files.join("tty");
    pane.line(&format!(
        "{attach} -- sh -c 'if echo x >/dev/tty; then echo tty-opened; else echo tty-refused; fi' </dev/null >{} 2>&1; echo tty-$((2+2))",
        tty.display()
    ));
    pane.wait_for("tty-4", WAIT);
    let text = std::fs::read_to_string(&tty).unwrap();
    assert!(text.contains("tty-refused"), "/dev/tty opened: {text}");

    // (c) The attack: TIOCSTI on the terminal the command was given as stderr.
    if !cfg!(target_arch = "x86_64") {
        lxu_e2e::skip("the TIOCSTI program is x86-64 code");
        return;
    }
    let pwned = lab.files.join("pwned");
    put_program(
        &lab,
        &name,
        "/bin/sti",
        &lxu_e2e::elf::tiocsti_injector(&format!("touch {}\n", pwned.display())),
    );
    pane.line(&format!("{attach} -- /bin/sti </dev/null; echo sti-rc=$?"));
    pane.wait_for("sti-rc=", WAIT);
    // Whatever was pushed into the terminal's input is read by the shell before this.
    pane.line("echo after-$((3+4))");
    pane.wait_for("after-7", WAIT);
    let screen = pane.text();
    assert!(
        !pwned.exists(),
        "the container typed a command into the caller's shell:\n{screen}"
    );
    assert!(
        screen.contains("sti-rc=3"),
        "TIOCSTI was not refused:\n{screen}"
    );
}

/// With the command in a session of its own, the terminal's Ctrl+Z, `fg` and Ctrl+C still
/// reach it (the client passes them on).
#[test]
fn job_control_on_the_callers_terminal_reaches_a_command_without_a_pty() {
    let Some((lab, tmux)) = lab_and_tmux("intr") else {
        return;
    };
    let name = lab.running("int");
    let state = || {
        lab.sh(
            &name,
            "sed -n 's/^State:\\s*//p' /proc/$(pidof sleep)/status",
        )
    };
    let pane = tmux.shell("s");
    pane.line(&format!(
        "{} -- sleep 1000 </dev/null",
        attach_cmd(&lab, &name)
    ));
    let started =
        lxu_e2e::host::wait_until(WAIT, || lab.attach(&name, "pidof sleep").code == Some(0));
    assert!(started, "sleep never started:\n{}", pane.text());
    // Ctrl+Z stops the command and gives the shell back.
    pane.keys(&["C-z"]);
    let stopped = lxu_e2e::host::wait_until(WAIT, || state().starts_with('T'));
    assert!(stopped, "Ctrl+Z did not stop the command: {}", state());
    pane.line("echo shell-$((5+5))");
    pane.wait_for("shell-10", WAIT);
    // `fg` continues it.
    pane.line("fg");
    let running = lxu_e2e::host::wait_until(WAIT, || state().starts_with('S'));
    assert!(running, "fg did not continue the command: {}", state());
    // Ctrl+C ends it: the shell sees 130 and nothing is left in the container.
    pane.keys(&["C-c"]);
    pane.line("echo int-rc=$?");
    pane.wait_for("int-rc=130", WAIT);
    lab.attach(&name, "pidof sleep").code_is(1);
}

/// Issue 11 finding 6 (CVE-2019-5736's primitive): `/proc/self/exe` of the process that
/// executes the command must not be the host's lxu binary, or the container runs (and
/// may reopen) it.
#[test]
fn an_attached_command_cannot_run_the_lxu_binary_through_proc_self_exe() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("exe");
    let version = lab.lxu(&["--version"]);
    version.success();
    let version = version.out().to_string();
    assert!(!version.is_empty());

    // The path itself.
    let out = lab.lxu(&["attach", "-n", &name, "--", "/proc/self/exe", "--version"]);
    out.failure().stdout_lacks(&version);
    // A script naming it as its interpreter.
    lab.sh(
        &name,
        "printf '#!/proc/self/exe --version\\n' > /bin/evil && chmod 755 /bin/evil",
    );
    let out = lab.lxu(&["attach", "-n", &name, "--", "/bin/evil"]);
    out.failure()
        .stdout_lacks(&version)
        .stderr_has("exec trampoline");
    // A symlink to it, found through PATH.
    lab.sh(&name, "ln -sf /proc/self/exe /bin/evil2");
    let out = lab.lxu(&["attach", "-n", &name, "--", "evil2", "--version"]);
    out.failure().stdout_lacks(&version);
    // Commands still run, with their arguments and their exit codes.
    lab.lxu(&[
        "attach",
        "-n",
        &name,
        "--",
        "sh",
        "-c",
        "echo $0 $1; exit 3",
        "a",
        "b",
    ])
    .code_is(3)
    .stdout_is("a b");
}
