//! A container still run by the monitor of the lxu installed before an upgrade (issue 16):
//! the new lxu must not misread that monitor's messages, must not report the container
//! STOPPED, must say what is wrong and how to get out, and `lxu stop` must still stop it
//! without leaving anything behind. The monitor of another version is played by starting
//! the container with `LXU_WIRE_VERSION` (the monitor inherits it; the commands after it
//! run without).

use lxu_e2e::{host, leftovers, Lab};

/// Starts a busybox container whose monitor speaks protocol version 200; returns its
/// name and the monitor's pid.
fn started_by_another_version(lab: &Lab) -> (String, i32) {
    let name = lab.created("up");
    lab.call(&["start", "-n", &name])
        .env("LXU_WIRE_VERSION", "200")
        .run()
        .success();
    let monitors = host::monitors_of(&lab.dir(&name));
    assert_eq!(monitors.len(), 1, "monitors of {name}: {monitors:?}");
    (name, monitors[0])
}

#[test]
fn a_monitor_of_another_version_is_named_and_its_container_still_stops() {
    let Some(lab) = Lab::new() else {
        return;
    };
    let (name, monitor) = started_by_another_version(&lab);

    // Not STOPPED: its monitor lives.
    assert_eq!(lab.state(&name), "RUNNING");
    lab.lxu(&["ls", "--fancy"]).success().stdout_has("RUNNING");
    let out = lab.lxu(&["attach", "-n", &name, "--", "true"]);
    out.failure()
        .stderr_has(&format!(
            "container {name} is run by a monitor of another lxu version (protocol version 200"
        ))
        .stderr_has(&format!("monitor pid {monitor}"))
        .stderr_has(&format!("lxu stop -n {name}"));

    // A halt: init gets the halt signal from us, the monitor cleans up and exits.
    lab.lxu(&["stop", "-n", &name, "-t", "20"]).success();
    assert!(!host::alive(monitor), "monitor {monitor} still runs");
    assert_eq!(lab.state(&name), "STOPPED");
    leftovers::assert_none(&lab, &name);

    // A kill, and the container then runs under this lxu's own monitor.
    let (_, monitor) = {
        lab.call(&["start", "-n", &name])
            .env("LXU_WIRE_VERSION", "200")
            .run()
            .success();
        let m = host::monitors_of(&lab.dir(&name));
        (name.clone(), m[0])
    };
    lab.lxu(&["stop", "-n", &name, "-k"]).success();
    assert!(!host::alive(monitor), "monitor {monitor} still runs");
    leftovers::assert_none(&lab, &name);
    lab.start(&name);
    lab.attach(&name, "true").success();
    lab.lxu(&["stop", "-n", &name, "-k"]).success();
    leftovers::assert_none(&lab, &name);
}
