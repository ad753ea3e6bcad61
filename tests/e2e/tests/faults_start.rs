//! Fault injection for `lxu start` and `lxu stop` (issue 16): the client, the monitor and
//! init are killed with SIGKILL at each step (`LXU_CRASH_AT`), with cgroups and a veth on
//! lxcbr0; then the user's next commands must be truthful (`info`, `ls` say STOPPED or
//! RUNNING, never RUNNING without a monitor), `start` and `stop` must work again, and
//! nothing of the container may be left on the host (processes, cgroups, mounts, socket,
//! host veth).
//!
//! What happens when the monitor dies while the container runs: init has the parent-death
//! signal SIGKILL, so the whole container dies with its monitor (no container runs
//! without one, so none is out of reach of `stop`/`attach`); its veth goes with its
//! network namespace; the empty cgroup directory and the dead socket stay until the next
//! `start` (which takes them over) or `stop` (which removes them).

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use lxu_e2e::{host, leftovers, netutil, Lab, Output};

/// The veth tests take turns: the user's veth quota on lxcbr0 is shared, and the leak
/// check compares the user's host veths before and after.
static TURN: Mutex<()> = Mutex::new(());

/// This test's turn and a lab, if the host has the bridge.
fn net_lab() -> Option<(MutexGuard<'static, ()>, Lab)> {
    let turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let lab = Lab::new()?;
    netutil::bridge_ready().then_some((turn, lab))
}

/// As `net_lab`, with a new container with a veth and the user's host veths before it ran.
fn net_case(prefix: &str) -> Option<(MutexGuard<'static, ()>, Lab, String, Vec<String>)> {
    let (turn, lab) = net_lab()?;
    let name = veth_container(&lab, prefix);
    let before = netutil::user_veths(lab.user.uid);
    Some((turn, lab, name, before))
}

/// A busybox container with a veth on lxcbr0 (and the user's cgroups).
#[track_caller]
fn veth_container(lab: &Lab, prefix: &str) -> String {
    let name = lab.name(prefix);
    lab.create_from(&name, "busybox", &netutil::veth_conf(lab, netutil::BRIDGE))
        .success();
    name
}

fn crash_env(lab: &Lab, point: &str, args: &[&str]) -> Output {
    lab.call(args).env("LXU_CRASH_AT", point).run()
}

/// The invocation itself died at `point`.
#[track_caller]
fn killed_at(out: &Output, point: &str) {
    assert_eq!(
        out.signal,
        Some(9),
        "expected a SIGKILL at `{point}`\n{out}"
    );
    assert!(
        out.stderr
            .contains(&format!("crash point `{point}` reached")),
        "{out}"
    );
}

/// The state once it no longer changes by itself: a monitor whose client was killed goes
/// on starting the container (and says STOPPED in the instant before it listens, when
/// nothing of the container runs yet).
#[track_caller]
fn settled_state(lab: &Lab, name: &str) -> String {
    let mut state = String::new();
    let settled = host::wait_until(Duration::from_secs(20), || {
        state = lab.state(name);
        state == "RUNNING" || (state == "STOPPED" && host::monitors_of(&lab.dir(name)).is_empty())
    });
    assert!(settled, "{name} stays {state}");
    state
}

/// `info` and `ls` agree with the host: RUNNING with a live monitor and init, or STOPPED
/// with no process of the container anywhere.
#[track_caller]
fn truthful(lab: &Lab, name: &str) -> String {
    let state = settled_state(lab, name);
    let monitors = host::monitors_of(&lab.dir(name));
    if state == "RUNNING" {
        assert_eq!(monitors.len(), 1, "RUNNING with monitors {monitors:?}");
        let init = lab.init_pid(name);
        assert!(host::alive(init), "RUNNING but init {init} is dead");
    } else {
        assert!(monitors.is_empty(), "STOPPED with monitors {monitors:?}");
        let procs: Vec<String> = leftovers::of(lab, name)
            .into_iter()
            .filter(|l| l.starts_with("process") || l.starts_with("mount"))
            .collect();
        assert!(procs.is_empty(), "STOPPED but {procs:?}");
    }
    let ls = lab.lxu(&["ls", "--fancy"]);
    ls.success();
    let line = ls
        .lines()
        .into_iter()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("`ls --fancy` does not list {name}\n{ls}"))
        .to_string();
    assert!(
        line.split_whitespace().nth(1) == Some(state.as_str()),
        "`ls --fancy` says `{line}`, info says {state}"
    );
    state
}

/// `lxu stop` of a container that does not run: exit code 2 (as `lxc-stop`), and what a
/// killed monitor left of it goes.
#[track_caller]
fn stop_stopped(lab: &Lab, name: &str) {
    lab.lxu(&["stop", "-n", name])
        .code_is(2)
        .stderr_has(&format!("{name} is not running"));
}

/// The user's next commands: start (or "already running"), it runs with its veth, stop;
/// then nothing of it is left, and no host veth made since `before` survives.
#[track_caller]
fn recovers(lab: &Lab, name: &str, before: &[String]) {
    lab.start(name);
    assert_eq!(lab.state(name), "RUNNING");
    let links = netutil::host_links_of(lab, name);
    assert_eq!(links.len(), 1, "one veth: {links:?}");
    lab.lxu(&["stop", "-k", "-n", name]).success();
    assert_eq!(lab.state(name), "STOPPED");
    leftovers::assert_none(lab, name);
    leftovers::assert_no_new_veths(lab, before);
}

/// Points in the `lxu start` client: it dies, the monitor (if forked) carries on.
#[test]
fn start_client_killed_at_each_step() {
    let Some((_turn, lab)) = net_lab() else {
        return;
    };
    for point in ["start.locked", "start.monitor-forked", "start.reported"] {
        let name = veth_container(&lab, "kc");
        let before = netutil::user_veths(lab.user.uid);
        let out = crash_env(&lab, point, &["start", "-n", &name]);
        killed_at(&out, point);
        let state = truthful(&lab, &name);
        let want = if point == "start.locked" {
            "STOPPED"
        } else {
            "RUNNING"
        };
        assert_eq!(state, want, "after a kill at {point}");
        if state == "RUNNING" {
            // The next start says so and changes nothing; stop then works.
            lab.lxu(&["start", "-n", &name])
                .code_is(0)
                .stderr_has("already running");
            lab.lxu(&["stop", "-k", "-n", &name]).success();
        }
        recovers(&lab, &name, &before);
    }
}

/// Points in the monitor and init before the container runs: `lxu start` fails naming
/// the container, nothing runs, and the next start works.
#[test]
fn monitor_killed_at_each_step_of_start() {
    let Some((_turn, lab)) = net_lab() else {
        return;
    };
    let points = [
        "monitor.begin",
        "monitor.listening",
        "monitor.init-cloned",
        "monitor.cgroup-created",
        "monitor.init-in-cgroup",
        "monitor.netns-ready",
        "monitor.veth-created",
        "monitor.idmaps-written",
        "monitor.go-sent",
        "monitor.init-exec",
    ];
    for point in points {
        let name = veth_container(&lab, "km");
        let before = netutil::user_veths(lab.user.uid);
        let out = crash_env(&lab, point, &["start", "-n", &name]);
        out.failure().stderr_has(&format!(
            "{name}: the monitor exited before the container was running"
        ));
        assert_eq!(truthful(&lab, &name), "STOPPED", "after a kill at {point}");
        recovers(&lab, &name, &before);
    }
    // init killed after pivot_root: the monitor reports it and cleans up.
    let name = veth_container(&lab, "ki");
    let before = netutil::user_veths(lab.user.uid);
    let out = crash_env(&lab, "init.pivoted", &["start", "-n", &name]);
    out.failure()
        .stderr_has(&format!("{name}: the container's init died during setup"));
    assert_eq!(truthful(&lab, &name), "STOPPED");
    leftovers::assert_none(&lab, &name);
    recovers(&lab, &name, &before);
}

/// The monitor killed right after reporting RUNNING: the container dies with it (init's
/// parent-death signal), and `info`/`ls` say STOPPED.
#[test]
fn monitor_killed_while_running() {
    let Some((_turn, lab, name, before)) = net_case("kr") else {
        return;
    };
    crash_env(&lab, "monitor.running-reported", &["start", "-n", &name]).success();
    assert_eq!(truthful(&lab, &name), "STOPPED");
    // `stop` of what is left: says it is not running, and removes the leftovers.
    stop_stopped(&lab, &name);
    leftovers::assert_none(&lab, &name);
    recovers(&lab, &name, &before);

    // The same with an outside kill -9 of a monitor that has run for a while.
    lab.start(&name);
    let monitor = lab.monitor_pid(&name);
    let init = lab.init_pid(&name);
    assert!(host::kill(monitor, rustix::process::Signal::KILL));
    assert!(host::wait_until(Duration::from_secs(5), || !host::alive(
        init
    )));
    assert_eq!(truthful(&lab, &name), "STOPPED");
    recovers(&lab, &name, &before);
}

/// `lxu stop` killed, and the monitor killed at each step of a stop.
#[test]
fn stop_killed_at_each_step() {
    let Some((_turn, lab, name, before)) = net_case("ks") else {
        return;
    };
    for point in ["stop.connected", "stop.requested"] {
        lab.start(&name);
        let out = crash_env(&lab, point, &["stop", "-k", "-n", &name]);
        killed_at(&out, point);
        let state = truthful(&lab, &name);
        if point == "stop.connected" {
            assert_eq!(state, "RUNNING", "nothing was asked yet");
        }
        if state == "RUNNING" {
            lab.lxu(&["stop", "-k", "-n", &name]).success();
        } else {
            stop_stopped(&lab, &name);
        }
        assert_eq!(truthful(&lab, &name), "STOPPED");
        leftovers::assert_none(&lab, &name);
    }
    let points = [
        "monitor.stop-signalled",
        "monitor.init-reaped",
        "monitor.cgroup-removing",
        "monitor.socket-removing",
    ];
    for point in points {
        // The variable reaches the monitor through `start`.
        crash_env(&lab, point, &["start", "-n", &name]).success();
        assert_eq!(lab.state(&name), "RUNNING");
        lab.lxu(&["stop", "-k", "-n", &name]).success();
        assert_eq!(truthful(&lab, &name), "STOPPED", "after a kill at {point}");
        // What the monitor had no time to remove goes with the next command.
        stop_stopped(&lab, &name);
        leftovers::assert_none(&lab, &name);
        recovers(&lab, &name, &before);
    }
}

/// A monitor killed while its container is frozen: init's parent-death SIGKILL waits for a
/// thaw, so the container stayed frozen with no monitor; `info` said STOPPED and `start`
/// failed ("still holds processes"). The next command now thaws and ends it.
#[test]
fn a_frozen_container_whose_monitor_is_killed_does_not_stay_frozen() {
    let Some(lab) = Lab::new() else { return };
    for next in ["info", "start"] {
        let name = lab.running("frozen");
        lab.lxu(&["freeze", "-n", &name]).success();
        assert_eq!(lab.state(&name), "FROZEN");
        let init = lab.init_pid(&name);
        assert!(host::kill(
            lab.monitor_pid(&name),
            rustix::process::Signal::KILL
        ));
        assert!(host::wait_until(Duration::from_secs(5), || {
            host::monitors_of(&lab.dir(&name)).is_empty()
        }));
        if next == "info" {
            assert_eq!(truthful(&lab, &name), "STOPPED");
        } else {
            lab.start(&name);
            assert_eq!(truthful(&lab, &name), "RUNNING");
            lab.lxu(&["stop", "-k", "-n", &name]).success();
        }
        assert!(
            host::wait_until(Duration::from_secs(5), || host::proc_status(init)
                .is_none_or(|p| p.is_zombie())),
            "init {init} still lives"
        );
        leftovers::assert_none(&lab, &name);
    }
}
