//! LXC 1.0 configs: evaluation with the old names and `lxc-update-config`.

mod common;

use std::path::Path;

use common::Scratch;
use lxu_config::{update_config, Config, ConfigFile, NetType};

/// Shaped like a 1.0 `<distro>.common.conf` (old names, pivotdir, devttydir …).
const COMMON_1_0: &str = "\
# Default pivot location
lxc.pivotdir = lxc_putold

# Default mount entries
lxc.mount.entry = proc proc proc nodev,noexec,nosuid 0 0
lxc.mount.entry = sysfs sys sysfs defaults 0 0

# Default console settings
lxc.devttydir = lxc
lxc.tty = 4
lxc.pts = 1024

# Default capabilities
lxc.cap.drop = sys_module mac_admin mac_override sys_time

# When using LXC with apparmor, the container will be confined by default.
#lxc.aa_profile = unconfined

lxc.seccomp = /usr/share/lxc/config/common.seccomp

# Default cgroup limits
lxc.cgroup.devices.deny = a
lxc.cgroup.devices.allow = c *:* m
lxc.cgroup.devices.allow = b *:* m
lxc.cgroup.devices.allow = c 1:3 rwm
lxc.cgroup.devices.allow = c 136:* rwm
";

/// Shaped like a 1.0 `<distro>.userns.conf`.
const USERNS_1_0: &str = "\
# CAP_SYS_ADMIN in init-user-ns is required for cgroup.devices
lxc.cgroup.devices.deny =
lxc.cgroup.devices.allow =

# We can't move bind-mounts, so don't use /dev/lxc/
lxc.devttydir =

# Extra bind-mounts for userns
lxc.mount.entry = /dev/console dev/console none bind,create=file 0 0
lxc.mount.entry = /dev/full dev/full none bind,create=file 0 0
lxc.mount.entry = /dev/null dev/null none bind,create=file 0 0
lxc.mount.entry = /dev/random dev/random none bind,create=file 0 0
lxc.mount.entry = /dev/tty dev/tty none bind,create=file 0 0
lxc.mount.entry = /dev/urandom dev/urandom none bind,create=file 0 0
lxc.mount.entry = /dev/zero dev/zero none bind,create=file 0 0
";

/// The lines both generations share: the template's header and the includes.
fn header(dir: &Path) -> String {
    format!(
        "\
# Template used to create this container: /usr/share/lxc/templates/lxc-download
# Parameters passed to the template: -d ubuntu -r trusty -a amd64
# For additional config options, please look at lxc.container.conf(5)

# Distribution configuration
lxc.include = {d}/ubuntu.common.conf
lxc.include = {d}/ubuntu.userns.conf
lxc.arch = x86_64
",
        d = dir.display()
    )
}

fn container_config(dir: &Path) -> String {
    format!(
        "{}
# Container specific configuration
lxc.id_map = u 0 100000 65536
lxc.id_map = g 0 100000 65536
lxc.rootfs = /home/u/.local/share/lxc/c1/rootfs
lxc.utsname = c1
lxc.aa_profile = unconfined
lxc.mount = /home/u/.local/share/lxc/c1/fstab
lxc.haltsignal = SIGPWR
lxc.tty = 2
lxc.pts = 512
lxc.devttydir =
lxc.cgroup.memory.limit_in_bytes = 512M
lxc.cgroup.devices.allow = c 10:200 rwm
lxc.console.logfile = /tmp/c1.console

# Network configuration
lxc.network.type = veth
lxc.network.link = lxcbr0
lxc.network.flags = up
lxc.network.hwaddr = 00:16:3e:5a:21:0c
lxc.network.ipv4 = 10.0.3.50/24
lxc.network.ipv4.gateway = 10.0.3.1

lxc.network.type = empty
lxc.network.name = lo2
lxc.kmsg = 0
",
        header(dir)
    )
}

fn converted_config(dir: &Path) -> String {
    format!(
        "{}
# Container specific configuration
lxc.idmap = u 0 100000 65536
lxc.idmap = g 0 100000 65536
lxc.rootfs.path = dir:/home/u/.local/share/lxc/c1/rootfs
lxc.uts.name = c1
lxc.apparmor.profile = unconfined
lxc.mount.fstab = /home/u/.local/share/lxc/c1/fstab
lxc.signal.halt = SIGPWR
lxc.tty.max = 2
lxc.pty.max = 512
lxc.tty.dir =
lxc.cgroup.memory.limit_in_bytes = 512M
lxc.cgroup.devices.allow = c 10:200 rwm
lxc.console.logfile = /tmp/c1.console

# Network configuration
lxc.net.0.type = veth
lxc.net.0.link = lxcbr0
lxc.net.0.flags = up
lxc.net.0.hwaddr = 00:16:3e:5a:21:0c
lxc.net.0.ipv4.address = 10.0.3.50/24
lxc.net.0.ipv4.gateway = 10.0.3.1

lxc.net.1.type = empty
lxc.net.1.name = lo2
",
        header(dir)
    )
}

#[test]
fn update_config_on_a_1_0_unprivileged_config() {
    let s = Scratch::new("legacy-conv");
    let old = container_config(&s.0);
    assert_eq!(update_config(&old), converted_config(&s.0));
    // Converting twice changes nothing more.
    assert_eq!(update_config(&update_config(&old)), converted_config(&s.0));
}

#[test]
fn update_config_on_the_1_0_include_files() {
    let conv = update_config(COMMON_1_0);
    assert!(!conv.contains("pivotdir"));
    assert!(conv.contains("\nlxc.tty.dir = lxc\nlxc.tty.max = 4\nlxc.pty.max = 1024\n"));
    assert!(conv.contains("\n#lxc.apparmor.profile = unconfined\n"));
    assert!(conv.contains("\nlxc.seccomp.profile = /usr/share/lxc/config/common.seccomp\n"));
    assert_eq!(conv.lines().count(), COMMON_1_0.lines().count() - 1);
    let conv = update_config(USERNS_1_0);
    assert!(conv.contains("\nlxc.tty.dir =\n"));
}

#[test]
fn old_and_converted_files_evaluate_the_same() {
    let s = Scratch::new("legacy-eval");
    s.write("ubuntu.common.conf", COMMON_1_0);
    s.write("ubuntu.userns.conf", USERNS_1_0);
    let origin = s.0.join("config");
    let old = ConfigFile::parse_str(&container_config(&s.0), &origin).unwrap();
    let new = ConfigFile::parse_str(&converted_config(&s.0), &origin).unwrap();
    assert!(old.uses_legacy_keys());
    assert!(!new.uses_legacy_keys());
    let a = Config::from_file(&old).unwrap();
    let b = Config::from_file(&new).unwrap();
    assert!(a.legacy_keys_used());
    // The includes are 1.0 files, so even the converted top file uses old names.
    assert!(b.legacy_keys_used());
    // Only the rootfs spec differs (the converter adds `dir:`).
    assert_eq!(
        a.rootfs.as_ref().unwrap().path(),
        b.rootfs.as_ref().unwrap().path()
    );
    let mut a2 = a.clone();
    a2.rootfs = b.rootfs.clone();
    for i in &mut a2.items {
        if i.key == "lxc.rootfs.path" {
            i.value = format!("dir:{}", i.value);
        }
    }
    assert_eq!(a2, b);

    // Effective values: the userns file cleared the devices and tty dir.
    assert!(a.is_unprivileged());
    assert_eq!(a.tty_dir, None);
    assert_eq!((a.tty_max, a.pty_max), (2, 512));
    // The include's device rules are gone; the container's own one stays.
    assert_eq!(
        a.cgroup_v1,
        vec![
            ("memory.limit_in_bytes".to_string(), "512M".to_string()),
            ("devices.allow".to_string(), "c 10:200 rwm".to_string())
        ]
    );
    assert_eq!(
        a.console_logfile.as_deref(),
        Some(Path::new("/tmp/c1.console"))
    );
    assert_eq!(a.mount_entries.len(), 9);
    assert_eq!(a.cap_drop.len(), 4);
    assert_eq!(a.networks.len(), 2);
    assert_eq!(a.networks[0].ipv4, vec!["10.0.3.50/24"]);
    assert_eq!(a.networks[1].kind, NetType::Empty);
    assert_eq!(a.networks[1].name.as_deref(), Some("lo2"));
    assert_eq!(a.get_item("lxc.net.0.hwaddr").unwrap(), "00:16:3e:5a:21:0c");
    assert_eq!(a.get_item("lxc.network.0.ipv4").unwrap(), "10.0.3.50/24");
    assert_eq!(
        a.get_item("lxc.mount.fstab").unwrap(),
        "/home/u/.local/share/lxc/c1/fstab"
    );
}

#[test]
fn the_twenty_one_renamed_keys_evaluate_like_their_successors() {
    let pairs = [
        ("lxc.id_map", "lxc.idmap", "u 0 1000 1"),
        ("lxc.pts", "lxc.pty.max", "10"),
        ("lxc.tty", "lxc.tty.max", "2"),
        ("lxc.devttydir", "lxc.tty.dir", "lxc"),
        ("lxc.aa_profile", "lxc.apparmor.profile", "unconfined"),
        (
            "lxc.aa_allow_incomplete",
            "lxc.apparmor.allow_incomplete",
            "1",
        ),
        ("lxc.se_context", "lxc.selinux.context", "u:r:t"),
        ("lxc.mount", "lxc.mount.fstab", "/f"),
        ("lxc.rootfs", "lxc.rootfs.path", "/r"),
        ("lxc.utsname", "lxc.uts.name", "h"),
        ("lxc.seccomp", "lxc.seccomp.profile", "/s"),
        ("lxc.console", "lxc.console.path", "none"),
        ("lxc.haltsignal", "lxc.signal.halt", "SIGPWR"),
        ("lxc.rebootsignal", "lxc.signal.reboot", "SIGINT"),
        ("lxc.stopsignal", "lxc.signal.stop", "SIGKILL"),
        ("lxc.syslog", "lxc.log.syslog", "daemon"),
        ("lxc.loglevel", "lxc.log.level", "INFO"),
        ("lxc.logfile", "lxc.log.file", "/l"),
        ("lxc.init_cmd", "lxc.init.cmd", "/sbin/init"),
        ("lxc.init_uid", "lxc.init.uid", "5"),
        ("lxc.init_gid", "lxc.init.gid", "6"),
        ("lxc.limit.nofile", "lxc.prlimit.nofile", "10"),
    ];
    for (old, new, v) in pairs {
        let o = Config::parse_str(&format!("{old} = {v}\n"), Path::new("/c")).unwrap();
        let n = Config::parse_str(&format!("{new} = {v}\n"), Path::new("/c")).unwrap();
        assert_eq!(o, n, "{old}");
        assert!(o.legacy_keys_used() && !n.legacy_keys_used(), "{old}");
        assert_eq!(o.get_item(new), n.get_item(old), "{old}");
        if old != "lxc.rootfs" {
            assert_eq!(
                update_config(&format!("{old} = {v}\n")),
                format!("{new} = {v}\n")
            );
        }
    }
}
