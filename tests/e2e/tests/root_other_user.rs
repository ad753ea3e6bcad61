//! Another user cannot control the test user's container (run as root, which plays both
//! users through runuser).

use lxu_e2e::host::User;
use lxu_e2e::root::{
    lxu_as, owners_running_container, run_as, run_as_container_root, HostFiles, OwnerLxcpath,
    TempUser,
};

/// The test user, an lxcpath of theirs with a running container `mine`, and init's pid.
fn owners_running_container_init(tag: &str) -> Option<(User, OwnerLxcpath, String)> {
    let (owner, lxcpath) = owners_running_container(tag)?;
    let init = lxu_as(
        &owner,
        &["info", "-P", lxcpath.p(), "-n", "mine", "-p", "-H"],
    );
    init.success();
    let init = init.out().to_string();
    Some((owner, lxcpath, init))
}

/// Attach, stop and destroy by `intruder` all fail with a message about privileges, and
/// the container runs on untouched.
#[track_caller]
fn assert_refused(owner: &User, intruder: &User, p: &str, init: &str) {
    for args in [
        vec!["attach", "-P", p, "-n", "mine", "--", "id", "-u"],
        vec!["stop", "-P", p, "-n", "mine", "-k"],
        vec!["destroy", "-P", p, "-n", "mine", "-f"],
    ] {
        let out = lxu_as(intruder, &args);
        out.code_is(1).stdout_is("");
        let err = out.stderr.to_lowercase();
        assert!(
            err.contains("privileges") || err.contains("permission"),
            "the refusal must say it is about privileges, not pretend the container is missing\n{out}"
        );
    }
    lxu_as(owner, &["info", "-P", p, "-n", "mine", "-s", "-H"])
        .success()
        .stdout_is("RUNNING");
    lxu_as(owner, &["info", "-P", p, "-n", "mine", "-p", "-H"])
        .success()
        .stdout_is(init);
    lxu_as(owner, &["attach", "-P", p, "-n", "mine", "--", "id", "-u"])
        .success()
        .stdout_is("0");
}

#[test]
fn another_users_container_is_refused() {
    let _files = HostFiles::save();
    let Some((owner, lxcpath, init)) = owners_running_container_init("a") else {
        return;
    };
    let intruder = TempUser::new("lxi");
    assert_refused(&owner, &intruder.user, lxcpath.p(), &init);
}

#[test]
fn another_users_container_is_refused_even_when_its_files_are_readable() {
    // The owner opened up the directory and config: the monitor's socket and its peer
    // check still keep others out.
    let _files = HostFiles::save();
    let Some((owner, lxcpath, init)) = owners_running_container_init("b") else {
        return;
    };
    let dir = lxcpath.dir.join("mine");
    let (d, c) = (dir.to_str().unwrap(), dir.join("config"));
    run_as_container_root(&owner, &["chmod", "0755", d]).success();
    run_as(&owner, &["chmod", "0644", c.to_str().unwrap()]).success();
    let intruder = TempUser::new("lxj");
    assert_refused(&owner, &intruder.user, lxcpath.p(), &init);
}
