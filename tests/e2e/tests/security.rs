//! The security keys of a container's config are applied, never ignored (issue 11,
//! finding 5): `lxc.seccomp.profile` (and the default one every busybox container and
//! image gets), `lxc.no_new_privs`, and a clear warning for an LSM this host lacks.

use std::time::Duration;

use lxu_e2e::{host, Lab};

/// `Key:\tvalue` of a /proc status text.
fn status_field(status: &str, key: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {key} in:\n{status}"))
}

const DENY_SETHOSTNAME: &str = "2\ndenylist\n# container root could otherwise rename its own UTS namespace\n[all]\nsethostname errno 1\n";

#[test]
fn a_seccomp_profile_binds_init_its_children_and_attached_commands() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("sec");
    let profile = lab.write("deny-sethostname.seccomp", DENY_SETHOSTNAME);
    lab.append_config(
        &name,
        &format!("lxc.seccomp.profile = {}\n", profile.display()),
    );
    // init is a shell here, so that the hostname attempt is a child of pid 1.
    let script = "hostname from-init 2>/tmp/h.err; echo $? >/tmp/h.tmp; mv /tmp/h.tmp /tmp/h.rc; exec sleep 1000";
    lab.lxu(&["start", "-n", &name, "--", "/bin/sh", "-c", script])
        .success();
    assert!(
        host::wait_until(Duration::from_secs(10), || lab
            .attach(&name, "test -e /tmp/h.rc")
            .code
            == Some(0)),
        "init's script did not run"
    );
    let rc = lab.sh(&name, "cat /tmp/h.rc");
    let err = lab.sh(&name, "cat /tmp/h.err");
    assert_ne!(rc, "0", "init's child set the hostname: {err}");
    assert!(err.contains("Operation not permitted"), "{err}");

    let status = lab.sh(&name, "cat /proc/1/status");
    assert_eq!(
        status_field(&status, "Seccomp"),
        "2",
        "init is not filtered"
    );
    let mine = lab.sh(&name, "cat /proc/self/status");
    assert_eq!(
        status_field(&mine, "Seccomp"),
        "2",
        "attach is not filtered"
    );

    let out = lab.attach(&name, "hostname from-attach");
    out.failure().stderr_has("Operation not permitted");
    lab.lxu(&["attach", "-n", &name, "--", "hostname"])
        .success()
        .stdout_is(&name);
    // Everything the profile does not name still works.
    lab.sh(&name, "echo ok > /tmp/ok && cat /tmp/ok");
}

#[test]
fn no_new_privs_is_set_for_init_and_attached_commands() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("nnp");
    lab.append_config(&name, "lxc.no_new_privs = 1\n");
    lab.start(&name);
    let init = lab.sh(&name, "cat /proc/1/status");
    assert_eq!(status_field(&init, "NoNewPrivs"), "1");
    let mine = lab.sh(&name, "cat /proc/self/status");
    assert_eq!(status_field(&mine, "NoNewPrivs"), "1");
}

#[test]
fn the_default_profile_filters_a_default_busybox_container() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("def");
    let config = lab.read_config(&name);
    let line = config
        .lines()
        .find(|l| l.starts_with("lxc.seccomp.profile"))
        .unwrap_or_else(|| panic!("the busybox template set no seccomp profile:\n{config}"));
    assert!(line.ends_with("/common.seccomp"), "{line}");
    lab.start(&name);
    let init = lab.sh(&name, "cat /proc/1/status");
    assert_eq!(status_field(&init, "Seccomp"), "2");
    // reject_force_umount: a forced unmount is refused, a plain one works.
    lab.sh(&name, "mkdir -p /mnt/t && mount -t tmpfs none /mnt/t");
    lab.attach(&name, "umount -f /mnt/t")
        .failure()
        .stderr_has("Permission denied");
    lab.sh(&name, "umount /mnt/t");
}

#[test]
fn a_bad_profile_fails_the_start_with_file_and_line_and_leaves_nothing_running() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("bad");
    let good = lab.read_config(&name);
    for (file, text, line, what) in [
        (
            "action.seccomp",
            "2\ndenylist\n\nsethostname errno x\n",
            4,
            "errno",
        ),
        (
            "name.seccomp",
            "2\ndenylist\nsethostnam errno 1\n",
            3,
            "sethostnam",
        ),
        ("notify.seccomp", "2\ndenylist\nmknod notify\n", 3, "notify"),
    ] {
        let profile = lab.write(file, text);
        lab.write_config(&name, &good);
        lab.append_config(
            &name,
            &format!("lxc.seccomp.profile = {}\n", profile.display()),
        );
        let out = lab.lxu(&["start", "-n", &name]);
        out.code_is(1)
            .stderr_has(&format!("{}:{line}: ", profile.display()))
            .stderr_has(what);
        assert_eq!(lab.state(&name), "STOPPED");
        assert!(host::monitors_of(&lab.dir(&name)).is_empty());
        assert!(!lab.socket(&name).exists());
    }
    lab.write_config(&name, &good);
    lab.append_config(&name, "lxc.seccomp.profile = /nonexistent/p.seccomp\n");
    lab.lxu(&["start", "-n", &name])
        .code_is(1)
        .stderr_has("/nonexistent/p.seccomp: cannot read");
    assert_eq!(lab.state(&name), "STOPPED");
}

#[test]
fn an_lsm_this_host_lacks_is_reported_at_start_and_in_the_log() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("lsm");
    let log = lab.files.join("container.log");
    lab.append_config(
        &name,
        &format!(
            "lxc.apparmor.profile = lxc-container-default-cgns\nlxc.selinux.context = system_u:system_r:lxc_t:s0\nlxc.log.file = {}\n",
            log.display()
        ),
    );
    let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y");
    let selinux = std::path::Path::new("/sys/fs/selinux/enforce").exists();
    let out = lab.lxu(&["start", "-n", &name]);
    if apparmor {
        // Enabled: the profile is applied, and a profile the kernel does not have is an
        // error (this one is LXC's, not loaded unless LXC is installed).
        if out.code != Some(0) {
            out.stderr_has("lxc.apparmor.profile");
        }
    } else {
        out.success();
        let want = "AppArmor is not enabled on this host: lxc.apparmor.profile `lxc-container-default-cgns` is not applied";
        out.stderr_has(want);
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(logged.contains(want), "not in lxc.log.file:\n{logged}");
    }
    if !selinux && out.code == Some(0) {
        out.stderr_has(
            "SELinux is not enabled on this host: lxc.selinux.context `system_u:system_r:lxc_t:s0` is not applied",
        );
    }
}

#[test]
fn an_image_that_includes_common_conf_gets_the_default_profile() {
    use lxu_e2e::images::{Download, Repo, Server};
    let Some(lab) = Lab::new() else { return };
    let repo = Repo::busybox(&lab, "sec");
    let server = Server::http(&lab, &repo);
    let cache = lab.files.join("cache");
    let dl = Download::new(&lab, &cache, &server.url, "sec").keyring(&repo.key.public);
    let name = lab.name("img");
    dl.create(&name).success();
    let config = lab.read_config(&name);
    assert!(config.contains("common.conf"), "{config}");
    lab.start(&name);
    let init = lab.sh(&name, "cat /proc/1/status");
    assert_eq!(status_field(&init, "Seccomp"), "2");
}

#[test]
fn a_profile_binds_processes_without_capabilities_through_no_new_privs() {
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("uid");
    let profile = lab.write("deny-sethostname.seccomp", DENY_SETHOSTNAME);
    // init runs as uid 1000: no CAP_SYS_ADMIN, so the kernel takes the filter only
    // with no_new_privs set (lxc.no_new_privs itself is off).
    lab.append_config(
        &name,
        &format!(
            "lxc.seccomp.profile = {}\nlxc.init.uid = 1000\nlxc.init.gid = 1000\n",
            profile.display()
        ),
    );
    lab.lxu(&["start", "-n", &name, "--", "/bin/sleep", "1000"])
        .success();
    let init = lab.sh(&name, "cat /proc/1/status");
    assert_eq!(
        status_field(&init, "Uid").split_whitespace().next(),
        Some("1000")
    );
    assert_eq!(status_field(&init, "Seccomp"), "2");
    assert_eq!(status_field(&init, "NoNewPrivs"), "1");
    let out = lab.exec_as(&name, "1000", &["cat", "/proc/self/status"]);
    out.success();
    assert_eq!(status_field(&out.stdout, "Seccomp"), "2");
    assert_eq!(status_field(&out.stdout, "NoNewPrivs"), "1");
    // Container root keeps setuid programs working: no no_new_privs unless asked.
    let mine = lab.sh(&name, "cat /proc/self/status");
    assert_eq!(status_field(&mine, "NoNewPrivs"), "0");
    assert_eq!(status_field(&mine, "Seccomp"), "2");
}

/// A 64-bit program in the container makes an i386 call through `int 0x80` with junk in
/// the high half of the register that carries an argument: the kernel hands the whole
/// register to seccomp but the call uses the low half. A deny rule on that argument must
/// still hold (it did not: the filter compared the high half too, and the call went
/// through).
#[test]
fn an_i386_call_with_junk_in_the_high_half_is_still_denied() {
    if !cfg!(target_arch = "x86_64") {
        eprintln!("skipped: x86_64 only");
        return;
    }
    let Some(lab) = Lab::new() else { return };
    let name = lab.created("i386");
    let profile = lab.write(
        "deny-umask-18.seccomp",
        "2\ndenylist\n[all]\numask errno 42 [0,18,SCMP_CMP_EQ]\n",
    );
    lab.append_config(
        &name,
        &format!("lxc.seccomp.profile = {}\n", profile.display()),
    );
    lab.start(&name);
    for (path, arg) in [("/tmp/plain", 18u64), ("/tmp/junk", (7 << 32) | 18)] {
        let script = format!("base64 -d > {path} && chmod 755 {path}");
        lab.call(&["attach", "-n", &name, "--", "/bin/sh", "-c", &script])
            .stdin(&lxu_e2e::elf::base64(&lxu_e2e::elf::int80_umask(arg)))
            .run()
            .success();
    }
    let plain = lab.lxu(&["attach", "-n", &name, "--", "/tmp/plain"]);
    if plain.code != Some(42) && !lxu_e2e::must_work() {
        lxu_e2e::skip(format!(
            "no i386 calls from 64-bit programs here (int 0x80 gave {:?})",
            plain.code
        ));
        return;
    }
    assert_eq!(
        plain.code,
        Some(42),
        "the rule does not deny umask(18) at all"
    );
    let junk = lab.lxu(&["attach", "-n", &name, "--", "/tmp/junk"]);
    assert_eq!(
        junk.code,
        Some(42),
        "umask(18) with junk in rbx's high half passed the deny rule"
    );
}
