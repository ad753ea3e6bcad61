//! Another user cannot control the test user's container (run as root, which plays both
//! users through runuser).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use lxu_e2e::host::{self, User};
use lxu_e2e::root::{lxu_as, root_ready, HostFiles, TempUser};
use lxu_e2e::skip;

/// An lxcpath owned by the test user, its containers destroyed when dropped.
struct UserLxcpath {
    user: User,
    dir: PathBuf,
}

impl UserLxcpath {
    fn new(user: &User, tag: &str) -> UserLxcpath {
        let dir = PathBuf::from(format!("/tmp/lxu-e2e-other-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid)).unwrap();
        UserLxcpath {
            user: user.clone(),
            dir,
        }
    }

    fn p(&self) -> &str {
        self.dir.to_str().unwrap()
    }
}

impl Drop for UserLxcpath {
    fn drop(&mut self) {
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            for e in rd.flatten() {
                if e.path().is_dir() {
                    let n = e.file_name().to_string_lossy().into_owned();
                    let _ = std::panic::catch_unwind(|| {
                        lxu_as(&self.user, &["destroy", "-P", self.p(), "-n", &n, "-f"])
                    });
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The test user, an lxcpath of theirs with a running container `mine`, and init's pid.
fn owners_running_container(tag: &str) -> Option<(User, UserLxcpath, String)> {
    if !root_ready() {
        return None;
    }
    let owner_name = std::env::var("LXU_TEST_USER").unwrap_or_else(|_| "lxutest".into());
    let Some(owner) = host::user_by_name(&owner_name) else {
        skip(&format!(
            "no test user `{owner_name}` (./x test creates it)"
        ));
        return None;
    };
    let lxcpath = UserLxcpath::new(&owner, tag);
    let conf = lxcpath.dir.join("no-net.conf");
    std::fs::write(&conf, "lxc.net.0.type = empty\n").unwrap();
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).unwrap();
    let p = lxcpath.p();
    lxu_as(
        &owner,
        &[
            "create",
            "-P",
            p,
            "-n",
            "mine",
            "-t",
            "busybox",
            "-f",
            conf.to_str().unwrap(),
        ],
    )
    .success();
    lxu_as(&owner, &["start", "-P", p, "-n", "mine"]).success();
    let init = lxu_as(&owner, &["info", "-P", p, "-n", "mine", "-p", "-H"]);
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
    let Some((owner, lxcpath, init)) = owners_running_container("a") else {
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
    let Some((owner, lxcpath, init)) = owners_running_container("b") else {
        return;
    };
    let dir = lxcpath.dir.join("mine");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(dir.join("config"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let intruder = TempUser::new("lxj");
    assert_refused(&owner, &intruder.user, lxcpath.p(), &init);
}
