//! Another unprivileged user cannot reach the test user's container through the console,
//! its log, attach, freeze or stop (run as root, which plays both users through runuser).

use lxu_e2e::root::{
    lxu_as, owners_running_container, run_as, run_as_container_root, HostFiles, TempUser,
};

#[test]
fn another_user_gets_no_console_and_changes_nothing() {
    let _files = HostFiles::save();
    let Some((owner, lxcpath)) = owners_running_container("a") else {
        return;
    };
    let p = lxcpath.p();
    let init = lxu_as(&owner, &["info", "-P", p, "-n", "mine", "-p", "-H"]);
    init.success();
    let init = init.out().to_string();
    let intruder = TempUser::new("lxk");
    // The owner opens the directory up: the monitor's peer check must still refuse.
    for open in [false, true] {
        if open {
            let dir = lxcpath.dir.join("mine");
            let (d, c) = (dir.to_str().unwrap(), dir.join("config"));
            run_as_container_root(&owner, &["chmod", "0755", d]).success();
            run_as(&owner, &["chmod", "0644", c.to_str().unwrap()]).success();
        }
        for args in [
            vec!["console", "-P", p, "-n", "mine", "-t", "1"],
            vec!["console", "-P", p, "-n", "mine", "-t", "0"],
            vec!["console", "-P", p, "-n", "mine", "--log"],
            vec!["attach", "-P", p, "-n", "mine", "--", "true"],
            vec!["freeze", "-P", p, "-n", "mine"],
            vec!["stop", "-P", p, "-n", "mine", "-k"],
        ] {
            let out = lxu_as(&intruder.user, &args);
            out.code_is(1);
            assert!(
                !out.stderr.contains("Connected to tty") && out.stdout.is_empty(),
                "nothing of the container may reach another user\n{out}"
            );
            let err = out.stderr.to_lowercase();
            assert!(
                err.contains("privileges") || err.contains("permission"),
                "the refusal must say it is about privileges (directory open: {open})\n{out}"
            );
        }
    }
    // Nothing changed: running, same init, not frozen, and the owner's console works.
    lxu_as(&owner, &["info", "-P", p, "-n", "mine", "-s", "-H"])
        .success()
        .stdout_is("RUNNING");
    lxu_as(&owner, &["info", "-P", p, "-n", "mine", "-p", "-H"])
        .success()
        .stdout_is(&init);
    lxu_as(&owner, &["console", "-P", p, "-n", "mine", "-t", "1"])
        .success()
        .stderr_has("Connected to tty 1");
    lxu_as(&owner, &["console", "-P", p, "-n", "mine", "--log"]).success();
}
