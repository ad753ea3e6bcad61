//! `delete` naming the namespace through a descriptor the caller passed down
//! (`/proc/self/fd/0`), as lxu's monitor does when a container stops: the
//! namespace's last process is gone, the descriptor keeps it (and the veth)
//! alive. The helper's checks are the same as for any path.

mod common;

use std::fs::File;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const BR: &str = "lxutbr1";
const FD0: &str = "/proc/self/fd/0";

/// `delete` as `user` with `ns` as the helper's standard input.
fn delete_via_stdin(sc: &Scenario, user: &str, ns: &File, nic: &str) -> Run {
    let mut c = sc.helper_cmd(user, &["delete", "/p", "c1", FD0, "veth", BR, nic]);
    c.stdin(Stdio::from(ns.try_clone().unwrap()));
    c.output().unwrap().into()
}

/// Kills `pid` and waits until it has left its namespaces (a zombie of ours).
fn end(pid: u32) {
    assert!(Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !matches!(proc_state(pid), Some('Z') | None) {
        assert!(Instant::now() < deadline, "{pid} did not die");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn delete_through_an_inherited_descriptor_of_a_namespace_without_processes() {
    let Some(mut sc) = scenario(
        &format!("{USER1} veth {BR} 2\n{USER2} veth {BR} 2\n"),
        &[BR],
    ) else {
        return;
    };
    let ct = sc.user_process(USER1, true);
    let r = sc.create(USER1, &ct.to_string(), BR, None);
    assert!(r.ok, "{r:?}");
    let nic = parse_output(&r.stdout).2;
    let ns = File::open(format!("/proc/{ct}/ns/net")).unwrap();
    end(ct);
    assert!(sc.host_veths().contains(&nic), "the descriptor keeps it");

    let refused = |r: &Run| {
        assert!(!r.ok, "{r:?}");
        assert_eq!(
            r.error(),
            format!(
                "lxu-user-nic: cannot use network namespace {FD0}: it does not exist, is not \
                 a network namespace, or you may not administer it"
            )
        );
    };
    // Passing a descriptor grants nothing: another user, or the owner with a
    // namespace they do not administer, is refused as for any path.
    refused(&delete_via_stdin(&sc, USER2, &ns, &nic));
    let root_ns = sc.root_netns_process();
    let other = File::open(format!("/proc/{root_ns}/ns/net")).unwrap();
    refused(&delete_via_stdin(&sc, USER1, &other, &nic));
    assert_eq!(db_devices(&sc), vec![nic.clone()]);

    let r = delete_via_stdin(&sc, USER1, &ns, &nic);
    assert!(r.ok, "{r:?}");
    assert!(db_devices(&sc).is_empty(), "{}", sc.db());
    assert!(!sc.host_veths().contains(&nic));
}

fn db_devices(sc: &Scenario) -> Vec<String> {
    sc.db()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .map(str::to_string)
        .collect()
}
