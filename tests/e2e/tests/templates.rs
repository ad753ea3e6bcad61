//! LXC's own template scripts (Debian's lxc-templates / liblxc-common) run unchanged:
//! lxu calls them with LXC's arguments inside the container's user namespace.

use lxu_e2e::host::owner;
use lxu_e2e::Lab;

const LXC_BUSYBOX: &str = "/usr/share/lxc/templates/lxc-busybox";

#[test]
fn lxcs_busybox_template_builds_a_container_that_starts() {
    let Some(lab) = Lab::new() else { return };
    if !lxu_e2e::need(
        std::path::Path::new(LXC_BUSYBOX).is_file(),
        "Debian's lxc package (lxc-busybox template) is not installed",
    ) {
        return;
    }
    let name = lab.name("t");
    let conf = lab.no_net_conf();
    lab.create_from(&name, LXC_BUSYBOX, &conf).success();
    // The script wrote its own config lines (LXC's busybox template sets these).
    let config = lab.read_config(&name);
    assert!(
        config.contains("lxc.signal.halt = SIGUSR1"),
        "config:\n{config}"
    );
    assert!(
        config.contains("# Template used to create this container: "),
        "config:\n{config}"
    );
    // It ran as the container's root: its files belong to the first subordinate id.
    let rootfs = lab.rootfs(&name);
    let (uid, _) = owner(&rootfs.join("bin/busybox")).expect("the template made bin/busybox");
    assert_eq!(
        u64::from(uid),
        lab.subuid.start,
        "owner of the template's busybox"
    );
    lab.start(&name);
    assert_eq!(lab.sh(&name, "hostname"), name);
    assert_eq!(lab.sh(&name, "id -u"), "0");
    lab.lxu(&["stop", "-n", &name, "-k"]).success();
}

#[test]
fn a_failing_template_leaves_nothing() {
    let Some(lab) = Lab::new() else { return };
    let script = lab.write(
        "failing-template",
        "#!/bin/sh\necho \"args: $*\" >&2\nmkdir -p \"${3#--rootfs=}\" && touch \"${3#--rootfs=}/half\"\nexit 3\n",
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let name = lab.name("f");
    let out = lab.lxu(&["create", "-n", &name, "-t", script.to_str().unwrap()]);
    out.failure().stderr_has("failed with exit status 3");
    // LXC's arguments reached the script.
    out.stderr_has("--path=")
        .stderr_has("--name=")
        .stderr_has("--mapped-uid");
    assert!(
        !lab.dir(&name).exists(),
        "a failed create left `{}`",
        lab.dir(&name).display()
    );
}
