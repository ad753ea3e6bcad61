//! `lxu console` on a real terminal (a tmux pane), as the unprivileged test user: login on
//! a tty, the escape sequence, the terminal given back, reconnecting, the ring buffer, and
//! clients that die.

use std::time::Duration;

use lxu_e2e::tmux::{lab_and_tmux, Pane};
use lxu_e2e::{host, Lab};

const WAIT: Duration = Duration::from_secs(10);

/// The console command line for the pane's shell.
fn console_cmd(lab: &Lab, name: &str, extra: &str) -> String {
    format!(
        "{} console -P {} -n {name} {extra}",
        lab.bin.display(),
        lab.lxcpath.display()
    )
}

/// How often `needle` occurs in the pane.
fn count(pane: &Pane, needle: &str) -> usize {
    pane.text().matches(needle).count()
}

/// Waits until `needle` occurs `n` times.
#[track_caller]
fn wait_count(pane: &Pane, needle: &str, n: usize) {
    let ok = host::wait_until(WAIT, || count(pane, needle) >= n);
    assert!(
        ok,
        "the terminal did not show {needle:?} {n} times; it shows:\n{}",
        pane.text()
    );
}

/// Logs in as root on the getty the pane is connected to.
#[track_caller]
fn login(pane: &Pane, name: &str) {
    pane.keys(&["Enter"]);
    pane.wait_for(&format!("{name} login:"), WAIT);
    pane.line("root");
    // root has no password in the busybox template: a shell follows at once.
    pane.wait_for("built-in shell", WAIT);
    first_command(pane, "echo logged-in-$((40+2))", "logged-in-42");
}

/// Types the first command for a shell that is just starting, again until it answers: what
/// is typed before the shell reads its terminal can be dropped (CI saw it once after login).
#[track_caller]
fn first_command(pane: &Pane, line: &str, answer: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        pane.line(line);
        if pane.try_wait_for(answer, Duration::from_secs(2)).is_ok() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the shell never answered {line:?}; the terminal shows:\n{}",
            pane.text()
        );
    }
}

/// The `lxu console` processes run by the pane's shell.
fn clients_of(pane: &Pane) -> Vec<i32> {
    let shell = pane.pid();
    host::procs()
        .into_iter()
        .filter(|p| p.ppid == shell && !p.is_zombie() && p.cmdline().contains(" console "))
        .map(|p| p.pid)
        .collect()
}

/// A console client without a terminal: connects, reads end of input, detaches.
#[track_caller]
fn probe(lab: &Lab, name: &str, tty: &str) -> lxu_e2e::Output {
    lab.lxu(&["console", "-n", name, "-t", tty])
}

#[test]
fn login_on_a_tty_detach_and_reconnect() {
    let Some((lab, tmux)) = lab_and_tmux("login") else {
        return;
    };
    let name = lab.running("con");
    let pane = tmux.shell("s");
    let (before, after) = (lab.files.join("stty.before"), lab.files.join("stty.after"));
    pane.line(&format!(
        "stty -g > {b}; {cmd}; echo exit=$?; stty -g > {a}; cmp -s {b} {a} && echo tty-same-$((6*7))",
        b = before.display(),
        a = after.display(),
        cmd = console_cmd(&lab, &name, "-t 1"),
    ));
    pane.wait_for("Connected to tty 1", WAIT);
    pane.wait_for("Type <Ctrl+a q> to exit the console", WAIT);
    login(&pane, &name);
    pane.line("echo host-$(hostname)");
    pane.wait_for(&format!("host-{name}"), WAIT);

    // While connected, the tty is taken.
    let busy = probe(&lab, &name, "1");
    busy.code_is(1).stderr_has("busy");

    // Ctrl+a q: the client exits 0 and leaves the terminal as it found it.
    pane.keys(&["C-a", "q"]);
    pane.wait_for("exit=0", WAIT);
    pane.wait_for("tty-same-42", WAIT);
    pane.line("echo back-$((40+2))");
    pane.wait_for("back-42", WAIT);
    assert!(clients_of(&pane).is_empty(), "the client is still running");

    // A second client on the same tty finds the logged-in shell.
    pane.line(&format!(
        "{}; echo exit=$?",
        console_cmd(&lab, &name, "-t 1")
    ));
    wait_count(&pane, "Connected to tty 1", 2);
    pane.keys(&["Enter"]);
    pane.line("echo again-$((2+3))");
    pane.wait_for("again-5", WAIT);
    pane.keys(&["C-a", "q"]);
    wait_count(&pane, "exit=0", 2);

    // The monitor kept what the tty showed.
    let log = lab.lxu(&["console", "-n", &name, "--log", "-t", "1"]);
    log.success()
        .stdout_has("logged-in-42")
        .stdout_has("again-5");
    assert_eq!(lab.state(&name), "RUNNING");
}

#[test]
fn the_console_and_a_custom_escape_key() {
    let Some((lab, tmux)) = lab_and_tmux("escape") else {
        return;
    };
    let name = lab.running("esc");
    // The console's ring buffer gets init's prompt from the boot.
    let prompt = "Please press Enter to activate this console";
    let seen = host::wait_until(WAIT, || {
        lab.lxu(&["console", "-n", &name, "--log"])
            .success()
            .stdout
            .contains(prompt)
    });
    assert!(seen, "`console --log` never showed {prompt:?}");

    let pane = tmux.shell("s");
    pane.line(&format!(
        "{}; echo exit=$?",
        console_cmd(&lab, &name, "-t 0 -e b")
    ));
    pane.wait_for("Connected to tty 0", WAIT);
    pane.wait_for("Type <Ctrl+b q>", WAIT);
    pane.keys(&["Enter"]);
    first_command(&pane, "echo zero-$((1+2))", "zero-3");
    // Ctrl+a q is no escape now: it reaches the shell (which then runs `q`).
    pane.keys(&["C-a", "q", "Enter"]);
    pane.line("echo still-$((3+4))");
    pane.wait_for("still-7", WAIT);
    assert!(
        !pane
            .text()
            .lines()
            .any(|l| l.trim_start().starts_with("exit=")),
        "Ctrl+a q must not detach with -e b:\n{}",
        pane.text()
    );
    // Ctrl+b q detaches.
    pane.keys(&["C-b", "q"]);
    pane.wait_for("exit=0", WAIT);
    let log = lab.lxu(&["console", "-n", &name, "--log", "-t", "0"]);
    log.success().stdout_has("zero-3").stdout_has("still-7");
}

#[test]
fn bad_ttys_and_stopped_containers_fail_clearly() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.running("bad");
    // The busybox template has lxc.tty.max = 4.
    for tty in ["9", "5"] {
        let out = lab
            .call(&["console", "-n", &name, "-t", tty])
            .timeout(Duration::from_secs(10))
            .run();
        out.code_is(1)
            .stderr_has(&format!("tty {tty}"))
            .stderr_has("lxc.tty.max");
    }
    lab.lxu(&["console", "-n", &name, "-e", "1"])
        .code_is(1)
        .stderr_has("escape");
    // The valid ones answer (no terminal: connect, end of input, detach).
    for tty in ["1", "4", "0"] {
        probe(&lab, &name, tty)
            .success()
            .stderr_has(&format!("Connected to tty {tty}"));
    }
    lab.lxu(&["stop", "-n", &name, "-k"]).success();
    for args in [
        vec!["console", "-n", &name, "-t", "1"],
        vec!["console", "-n", &name, "--log"],
    ] {
        lab.lxu(&args).code_is(1).stderr_has("is not running");
    }
    let unknown = lab.name("none");
    lab.lxu(&["console", "-n", &unknown])
        .code_is(1)
        .stderr_has("doesn't exist");
}

#[test]
fn a_client_killed_mid_session_does_not_break_the_monitor() {
    let Some((lab, tmux)) = lab_and_tmux("kill") else {
        return;
    };
    let name = lab.running("kil");
    let monitor = lab.monitor_pid(&name);
    let init = lab.init_pid(&name);
    let first = tmux.shell("first");
    first.line(&console_cmd(&lab, &name, "-t 2"));
    first.wait_for("Connected to tty 2", WAIT);
    login(&first, &name);
    // Output in flight when it dies.
    first.line("yes tick | head -n 2000");
    let clients = clients_of(&first);
    assert_eq!(clients.len(), 1, "one console client: {clients:?}");
    assert!(host::kill(clients[0], rustix::process::Signal::KILL));
    assert!(host::wait_until(WAIT, || !host::alive(clients[0])));

    assert!(host::alive(monitor), "the monitor died with its client");
    assert_eq!(lab.monitor_pid(&name), monitor);
    assert_eq!(lab.init_pid(&name), init);
    assert_eq!(lab.state(&name), "RUNNING");
    // The tty is free again at once, and its shell is still logged in.
    let out = probe(&lab, &name, "2");
    out.success().stderr_has("Connected to tty 2");
    let second = tmux.shell("second");
    second.line(&format!(
        "{}; echo exit=$?",
        console_cmd(&lab, &name, "-t 2")
    ));
    second.wait_for("Connected to tty 2", WAIT);
    second.keys(&["Enter"]);
    second.line("echo after-kill-$((5+6))");
    second.wait_for("after-kill-11", WAIT);
    second.keys(&["C-a", "q"]);
    second.wait_for("exit=0", WAIT);
    // Nothing else suffered.
    lab.lxu(&["attach", "-n", &name, "--", "echo", "ok"])
        .success()
        .stdout_is("ok");
    probe(&lab, &name, "1").success();
}
