//! Concurrency (issue 16): racing starts of one container, many containers started at
//! once, stop racing start, destroy racing start. Whatever the interleaving, exactly one
//! container runs or none, every command says clearly what it did, and nothing is left.

use std::time::Duration;

use lxu_e2e::{host, leftovers, Lab, Output};

/// Runs each argument list as one `lxu` command, all at once; outputs in the same order.
fn together(lab: &Lab, calls: &[Vec<String>]) -> Vec<Output> {
    std::thread::scope(|s| {
        let handles: Vec<_> = calls
            .iter()
            .map(|args| {
                s.spawn(move || {
                    let a: Vec<&str> = args.iter().map(String::as_str).collect();
                    lab.lxu(&a)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The host processes whose parent is `pid`.
fn children(pid: i32) -> Vec<i32> {
    host::procs()
        .into_iter()
        .filter(|p| p.ppid == pid && !p.is_zombie())
        .map(|p| p.pid)
        .collect()
}

/// A start that lost a race: "already running" (success, as `lxc-start` says it) or a
/// clean failure that names the container and says another command has it.
#[track_caller]
fn lost_clearly(out: &Output, name: &str) {
    match out.code {
        Some(0) => {
            out.stderr_has(&format!("{name} is already running"));
        }
        Some(1) => {
            out.stderr_has(&format!("{name} is being started"));
        }
        _ => panic!("a start that lost the race crashed\n{out}"),
    }
}

#[test]
fn ten_starts_of_one_container_run_it_once() {
    let Some(lab) = Lab::new() else { return };
    for _round in 0..2 {
        let name = lab.created("race");
        let calls: Vec<Vec<String>> = (0..10).map(|_| args(&["start", "-n", &name])).collect();
        let outs = together(&lab, &calls);
        let winners: Vec<&Output> = outs
            .iter()
            .filter(|o| o.code == Some(0) && !o.stderr.contains("already running"))
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "exactly one start starts it:\n{}",
            outs.iter()
                .map(|o| o.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
        for o in outs.iter().filter(|o| !std::ptr::eq(*o, winners[0])) {
            lost_clearly(o, &name);
        }
        assert_eq!(lab.state(&name), "RUNNING");
        let monitors = host::monitors_of(&lab.dir(&name));
        assert_eq!(monitors.len(), 1, "one monitor: {monitors:?}");
        let inits = children(monitors[0]);
        assert_eq!(inits, [lab.init_pid(&name)], "one init");
        lab.lxu(&["stop", "-n", &name]).success();
        leftovers::assert_none(&lab, &name);
    }
}

/// Ten starts racing while the first one's start is slow and then fails (a pre-start hook
/// that sleeps and exits 1): no start may say "already running" of a container that never
/// ran. (Before, every start that found the lock held said so, with exit code 0.)
#[test]
fn starts_racing_a_failing_start_never_say_already_running() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("racefail");
    lab.append_config(&name, "lxc.hook.pre-start = sleep 0.5; exit 1\n");
    let calls: Vec<Vec<String>> = (0..10).map(|_| args(&["start", "-n", &name])).collect();
    for o in together(&lab, &calls) {
        assert!(!o.stderr.contains("already running"), "a lie:\n{o}");
        o.code_is(1);
        assert!(
            o.stderr.contains("lxc.hook.pre-start")
                || o.stderr.contains(&format!("{name} is being started")),
            "{o}"
        );
    }
    assert_eq!(lab.state(&name), "STOPPED");
    leftovers::assert_none(&lab, &name);
}

#[test]
fn twenty_containers_started_at_once_all_run_and_stop_cleanly() {
    let Some(lab) = Lab::new() else { return };
    let names: Vec<String> = (0..20).map(|_| lab.created("many")).collect();
    let starts: Vec<Vec<String>> = names.iter().map(|n| args(&["start", "-n", n])).collect();
    for (n, o) in names.iter().zip(together(&lab, &starts)) {
        o.success();
        assert_eq!(lab.state(n), "RUNNING", "{n}");
    }
    let ls = lab.lxu(&["ls", "--running"]);
    ls.success();
    for n in &names {
        assert!(
            ls.stdout.split_whitespace().any(|w| w == n),
            "{n} not in\n{ls}"
        );
    }
    let stops: Vec<Vec<String>> = names.iter().map(|n| args(&["stop", "-n", n])).collect();
    for o in together(&lab, &stops) {
        o.success();
    }
    for n in &names {
        assert_eq!(lab.state(n), "STOPPED", "{n}");
        leftovers::assert_none(&lab, n);
    }
}

/// `stop` and `start` racing on a running container: whatever wins, the state is the
/// truth (a monitor when RUNNING, none when STOPPED) and a final stop leaves nothing.
#[test]
fn stop_racing_start_leaves_a_true_state() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("stopstart");
    for _ in 0..4 {
        lab.start(&name);
        let outs = together(
            &lab,
            &[args(&["stop", "-n", &name]), args(&["start", "-n", &name])],
        );
        outs[0].success();
        match outs[1].code {
            Some(0) => {}
            Some(1) => {
                outs[1].stderr_has(&format!("{name} is being stopped"));
            }
            _ => panic!("{}", outs[1]),
        }
        let mut state = String::new();
        assert!(host::wait_until(Duration::from_secs(10), || {
            state = lab.state(&name);
            state == "RUNNING" || state == "STOPPED"
        }));
        let monitors = host::monitors_of(&lab.dir(&name));
        assert_eq!(
            monitors.len(),
            usize::from(state == "RUNNING"),
            "{state} with monitors {monitors:?}"
        );
        if state == "RUNNING" {
            lab.lxu(&["stop", "-n", &name]).success();
        }
        leftovers::assert_none(&lab, &name);
    }
}

/// `destroy` and `start` racing on a stopped container: either it runs (and destroy said
/// why not) or it is gone (and start failed); never a start that claims success for a
/// container that is gone.
#[test]
fn destroy_racing_start_never_both_win() {
    let Some(lab) = Lab::new() else { return };
    for _ in 0..4 {
        let name = lab.created("destroystart");
        let outs = together(
            &lab,
            &[
                args(&["destroy", "-n", &name]),
                args(&["start", "-n", &name]),
            ],
        );
        let (destroy, start) = (&outs[0], &outs[1]);
        assert!(
            destroy.code.is_some() && start.code.is_some(),
            "{destroy}\n{start}"
        );
        match (destroy.code == Some(0), start.code == Some(0)) {
            (true, false) => {
                assert!(!lab.dir(&name).exists(), "destroyed but still there");
                assert!(
                    start.stderr.contains(&name),
                    "the failed start names the container\n{start}"
                );
            }
            (false, true) => {
                assert_eq!(lab.state(&name), "RUNNING", "{start}");
                assert!(destroy.stderr.contains(&name), "{destroy}");
                lab.lxu(&["stop", "-n", &name]).success();
                lab.lxu(&["destroy", "-n", &name]).success();
            }
            _ => panic!("exactly one of them must win\n{destroy}\n{start}"),
        }
        leftovers::assert_none(&lab, &name);
    }
}
