//! Another unprivileged user cannot reach the test user's container through the console,
//! its log, attach, freeze or stop (run as root, which plays both users through runuser).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use lxu_e2e::host::{self, User};
use lxu_e2e::root::{lxu_as, root_ready, HostFiles, TempUser};
use lxu_e2e::skip;

/// An lxcpath owned by the owner, its containers destroyed when dropped.
struct OwnerLxcpath {
    owner: User,
    dir: PathBuf,
}

impl OwnerLxcpath {
    fn new(owner: &User, tag: &str) -> OwnerLxcpath {
        let dir = PathBuf::from(format!(
            "/tmp/lxu-e2e-console-other-{}-{tag}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(&dir, Some(owner.uid), Some(owner.gid)).unwrap();
        OwnerLxcpath {
            owner: owner.clone(),
            dir,
        }
    }

    fn p(&self) -> &str {
        self.dir.to_str().unwrap()
    }
}

impl Drop for OwnerLxcpath {
    fn drop(&mut self) {
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            for e in rd.flatten().filter(|e| e.path().is_dir()) {
                let n = e.file_name().to_string_lossy().into_owned();
                let _ = std::panic::catch_unwind(|| {
                    lxu_as(&self.owner, &["stop", "-P", self.p(), "-n", &n, "-k"]);
                    lxu_as(&self.owner, &["destroy", "-P", self.p(), "-n", &n, "-f"])
                });
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The test user and a running container `mine` of theirs.
fn owners_container(tag: &str) -> Option<(User, OwnerLxcpath)> {
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
    let lxcpath = OwnerLxcpath::new(&owner, tag);
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
    Some((owner, lxcpath))
}

#[test]
fn another_user_gets_no_console_and_changes_nothing() {
    let _files = HostFiles::save();
    let Some((owner, lxcpath)) = owners_container("a") else {
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
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::set_permissions(dir.join("config"), std::fs::Permissions::from_mode(0o644))
                .unwrap();
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
