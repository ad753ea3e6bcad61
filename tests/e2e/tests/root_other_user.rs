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
    fn new(user: &User) -> UserLxcpath {
        let dir = PathBuf::from(format!("/tmp/lxu-e2e-other-{}", std::process::id()));
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

#[test]
fn another_users_container_cannot_be_attached_stopped_or_destroyed() {
    if !root_ready() {
        return;
    }
    let owner_name = std::env::var("LXU_TEST_USER").unwrap_or_else(|_| "lxutest".into());
    let Some(owner) = host::user_by_name(&owner_name) else {
        skip(&format!(
            "no test user `{owner_name}` (./x test creates it)"
        ));
        return;
    };
    let _files = HostFiles::save();
    let lxcpath = UserLxcpath::new(&owner);
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

    let intruder = TempUser::new("lxi");
    for args in [
        vec!["attach", "-P", p, "-n", "mine", "--", "id", "-u"],
        vec!["stop", "-P", p, "-n", "mine", "-k"],
        vec!["destroy", "-P", p, "-n", "mine", "-f"],
    ] {
        let out = lxu_as(&intruder.user, &args);
        out.code_is(1).stdout_is("");
        assert!(
            out.stderr.to_lowercase().contains("privileges")
                || out.stderr.to_lowercase().contains("permission"),
            "the refusal must say it is about privileges, not pretend the container is missing\n{out}"
        );
    }
    // Nothing happened to it.
    lxu_as(&owner, &["info", "-P", p, "-n", "mine", "-s", "-H"])
        .success()
        .stdout_is("RUNNING");
    lxu_as(&owner, &["info", "-P", p, "-n", "mine", "-p", "-H"])
        .success()
        .stdout_is(init.out());
    lxu_as(&owner, &["attach", "-P", p, "-n", "mine", "--", "id", "-u"])
        .success()
        .stdout_is("0");
}
