//! The config Debian's `lxc-create -t busybox -n probe -P /tmp/lxcprobe` wrote
//! (LXC 5.0.2, Debian 12), captured into tests/fixtures.

use std::path::Path;

use lxu_config::{update_config, Config, ConfigFile, Create, NetType, RootfsBackend};

const FIXTURE: &str = include_str!("fixtures/busybox.config");

#[test]
fn busybox_config_round_trips_and_evaluates() {
    let origin = Path::new("/tmp/lxcprobe/probe/config");
    let f = ConfigFile::parse_str(FIXTURE, origin).unwrap();
    assert_eq!(f.render(), FIXTURE);
    assert!(!f.uses_legacy_keys());
    // lxc-update-config leaves a current file alone.
    assert_eq!(update_config(FIXTURE), FIXTURE);

    let c = Config::from_file(&f).unwrap();
    assert_eq!(c.uts_name.as_deref(), Some("probe"));
    assert_eq!(
        c.rootfs.as_ref().unwrap().backend,
        RootfsBackend::Dir("/tmp/lxcprobe/probe/rootfs".into())
    );
    assert_eq!(c.signal_halt, Some(10));
    assert_eq!(c.signal_reboot, Some(15));
    assert_eq!((c.tty_max, c.pty_max), (5, 1));
    assert!(c.autodev);
    assert_eq!(
        c.cap_drop,
        vec!["sys_module", "mac_admin", "mac_override", "sys_time"]
    );
    assert_eq!(
        c.get_item("lxc.mount.auto").unwrap(),
        "proc:mixed sys:ro cgroup:mixed"
    );
    assert_eq!(c.mount_entries.len(), 7);
    assert_eq!(c.mount_entries[0].create(), Some(Create::Dir));
    assert!(c.mount_entries[1].is_optional());
    assert_eq!(c.apparmor_profile.as_deref(), Some("generated"));
    assert!(c.apparmor_allow_nesting);
    assert_eq!(c.networks.len(), 1);
    assert_eq!(c.networks[0].kind, NetType::Veth);
    assert_eq!(c.networks[0].link.as_deref(), Some("lxcbr0"));
    assert!(c.networks[0].flags_up);
    assert!(!c.is_unprivileged());
    // The commented include is not evaluated.
    assert!(c.includes.is_empty());
    assert_eq!(c.get_item("lxc.uts.name").unwrap(), "probe");
    assert_eq!(c.get_item("lxc.signal.halt").unwrap(), "10");
}
