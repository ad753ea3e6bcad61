//! A user whose primary group other accounts share: LXC's layout (group rwx on the
//! container directory) would let them swap the config and have their hooks run as the
//! owner. lxu keeps the directory the owner's, with the container root's gid as group, and
//! LXC still starts the container (run as root, which plays both users through runuser).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use lxu_e2e::host::{self, User};
use lxu_e2e::need;
use lxu_e2e::root::{lxu_as, lxu_root, root_ready, HostFiles, OwnerLxcpath, TempUser};
use lxu_e2e::run::{self, Output, DEFAULT_TIMEOUT};

/// `PROGRAM ARGS…` as `user` with a clean login-like environment.
fn as_user(user: &User, program: &str, args: &[&str]) -> Output {
    let mut c = Command::new("/usr/sbin/runuser");
    c.args(["-u", &user.name, "--", "env", "-i"])
        .arg(format!("HOME={}", user.home.display()))
        .arg(format!("USER={}", user.name))
        .arg("PATH=/usr/local/bin:/usr/bin:/bin")
        .arg(program)
        .args(args)
        .current_dir("/");
    let desc = format!("(as {}) {program} {}", user.name, args.join(" "));
    run::run(c, desc, None, DEFAULT_TIMEOUT)
}

/// Stops what LXC started even when the test fails half-way.
struct LxcStopper<'a>(&'a User, String);

impl Drop for LxcStopper<'_> {
    fn drop(&mut self) {
        let mut c = Command::new("/usr/sbin/runuser");
        c.args([
            "-u",
            &self.0.name,
            "--",
            "/usr/bin/lxc-stop",
            "-P",
            &self.1,
            "-n",
            "c",
            "-k",
        ]);
        let _ = run::try_run(c, "lxc-stop -k".into(), None, DEFAULT_TIMEOUT);
    }
}

#[test]
fn a_shared_primary_group_gets_no_access_and_lxc_still_starts_the_container() {
    if !root_ready() {
        return;
    }
    if !need(
        Path::new("/usr/bin/lxc-start").exists(),
        "`/usr/bin/lxc-start` is missing (apt-get install lxc)",
    ) {
        return;
    }
    let _files = HostFiles::save();
    let owner = TempUser::new("lxs");
    let mate = TempUser::new("lxm");
    // The mate's primary group becomes the owner's, so the owner's group is shared.
    run::sh(
        "/usr/sbin/usermod",
        &["-g", &owner.user.gid.to_string(), mate.name()],
    )
    .success();
    let mate_user = host::user_by_name(mate.name()).expect("the mate is in /etc/passwd");
    assert_eq!(mate_user.gid, owner.user.gid);
    lxu_root(&["setup-user", owner.name()]).success();
    let root_gid = host::subid_ranges("/etc/subgid", &owner.user)
        .first()
        .expect("setup-user gave the owner subordinate gids")
        .start as u32;

    let lxcpath = OwnerLxcpath::new(&owner.user, "shared");
    let conf = lxcpath.dir.join("no-net.conf");
    std::fs::write(&conf, "lxc.net.0.type = empty\n").unwrap();
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (p, conf) = (lxcpath.p(), conf.to_str().unwrap());
    lxu_as(
        &owner.user,
        &["create", "-P", p, "-n", "c", "-t", "busybox", "-f", conf],
    )
    .success();

    let dir = lxcpath.dir.join("c");
    // The mate, in the owner's group, can neither read the config nor change the directory.
    let d = dir.display().to_string();
    as_user(&mate_user, "/bin/cat", &[&format!("{d}/config")]).failure();
    as_user(&mate_user, "/bin/touch", &[&format!("{d}/planted")]).failure();
    as_user(
        &mate_user,
        "/bin/mv",
        &[&format!("{d}/config"), &format!("{d}/config.old")],
    )
    .failure();
    assert!(dir.join("config").is_file() && !dir.join("planted").exists());

    let m = std::fs::metadata(&dir).unwrap();
    assert_eq!(
        (m.uid(), m.gid(), format!("{:04o}", m.mode() & 0o7777)),
        (owner.user.uid, root_gid, "0770".to_string()),
        "owner, group and mode of `{}`",
        dir.display()
    );
    // LXC starts it, and lxu still runs and destroys it.
    let _stopper = LxcStopper(&owner.user, p.to_string());
    as_user(
        &owner.user,
        "/usr/bin/lxc-start",
        &["-P", p, "-n", "c", "-d"],
    )
    .success();
    as_user(
        &owner.user,
        "/usr/bin/lxc-info",
        &["-P", p, "-n", "c", "-s", "-H"],
    )
    .success()
    .stdout_is("RUNNING");
    as_user(
        &owner.user,
        "/usr/bin/lxc-stop",
        &["-P", p, "-n", "c", "-k"],
    )
    .success();
    lxu_as(&owner.user, &["start", "-P", p, "-n", "c"]).success();
    lxu_as(&owner.user, &["stop", "-P", p, "-n", "c", "-k"]).success();
    lxu_as(&owner.user, &["fix-layout", "-P", p, "-n", "c"])
        .success()
        .stdout_has("is laid out already");
    lxu_as(&owner.user, &["destroy", "-P", p, "-n", "c"]).success();
    assert!(!dir.exists(), "destroy left `{}`", dir.display());
}
