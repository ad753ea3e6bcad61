use super::net::net_key;
use super::*;

fn is_legacy_key(key: &str) -> bool {
    classify(key).is_some_and(|(_, legacy)| legacy)
}

#[test]
fn tables_round_trip() {
    for k in simple_keys() {
        assert_eq!(simple_key(k.name), Some(k), "{}", k.name);
        assert_eq!(classify(k.name), Some((Key::Simple(k), false)));
        if let Some(old) = k.legacy {
            assert_eq!(classify(old), Some((Key::Simple(k), true)), "{old}");
        }
    }
    for k in NET_KEYS {
        assert_eq!(net_key(k.name), Some(k));
    }
    for &h in HookType::ALL {
        assert_eq!(HookType::from_name(h.name()), Some(h));
    }
}

#[test]
fn every_name_is_defined_once() {
    let mut names: Vec<&str> = simple_keys()
        .flat_map(|k| [Some(k.name), k.legacy])
        .chain(families().flat_map(|f| [Some(f.prefix), f.legacy]))
        .flatten()
        .chain(REMOVED.iter().copied())
        .chain([NET_PREFIX, LEGACY_NET_PREFIX])
        .collect();
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n);
    let mut subs: Vec<&str> = NET_KEYS.iter().map(|k| k.name).collect();
    subs.sort_unstable();
    subs.dedup();
    assert_eq!(subs.len(), NET_KEYS.len());
    // LXC 5.0 has 67 simple keys; 21 of them had another name before 3.0.
    assert_eq!(simple_keys().count(), 67);
    assert_eq!(simple_keys().filter(|k| k.legacy.is_some()).count(), 21);
}

#[test]
fn shown_records_have_a_value_to_show() {
    for k in simple_keys() {
        if k.record == Record::Shown {
            assert!(matches!(k.show, Show::Value(_)), "{}", k.name);
        }
    }
}

#[test]
fn docs_are_sentences() {
    let docs = simple_keys()
        .map(|k| (k.name, k.doc, k.syntax))
        .chain(families().map(|f| (f.prefix, f.doc, f.syntax)))
        .chain(NET_KEYS.iter().map(|k| (k.name, k.doc, k.syntax)));
    for (name, doc, syntax) in docs {
        assert!(doc.ends_with('.') && !doc.contains("  "), "{name}: {doc}");
        assert!(!syntax.is_empty(), "{name}");
    }
    for &h in HookType::ALL {
        assert!(h.doc().ends_with('.'), "{}", h.name());
    }
}

#[test]
fn legacy_names_map_to_current() {
    let pairs = [
        ("lxc.id_map", "lxc.idmap"),
        ("lxc.pts", "lxc.pty.max"),
        ("lxc.tty", "lxc.tty.max"),
        ("lxc.devttydir", "lxc.tty.dir"),
        ("lxc.aa_profile", "lxc.apparmor.profile"),
        ("lxc.aa_allow_incomplete", "lxc.apparmor.allow_incomplete"),
        ("lxc.se_context", "lxc.selinux.context"),
        ("lxc.mount", "lxc.mount.fstab"),
        ("lxc.rootfs", "lxc.rootfs.path"),
        ("lxc.utsname", "lxc.uts.name"),
        ("lxc.seccomp", "lxc.seccomp.profile"),
        ("lxc.console", "lxc.console.path"),
        ("lxc.haltsignal", "lxc.signal.halt"),
        ("lxc.rebootsignal", "lxc.signal.reboot"),
        ("lxc.stopsignal", "lxc.signal.stop"),
        ("lxc.syslog", "lxc.log.syslog"),
        ("lxc.loglevel", "lxc.log.level"),
        ("lxc.logfile", "lxc.log.file"),
        ("lxc.init_cmd", "lxc.init.cmd"),
        ("lxc.init_uid", "lxc.init.uid"),
        ("lxc.init_gid", "lxc.init.gid"),
        ("lxc.limit.nofile", "lxc.prlimit.nofile"),
        ("lxc.network.type", "lxc.net.type"),
        ("lxc.network.ipv4", "lxc.net.ipv4.address"),
        ("lxc.network.2.ipv6", "lxc.net.2.ipv6.address"),
        ("lxc.network.0.ipv4.gateway", "lxc.net.0.ipv4.gateway"),
        ("lxc.network", "lxc.net"),
    ];
    for (old, new) in pairs {
        assert_eq!(canonical_key(old).as_deref(), Some(new), "{old}");
        assert!(is_legacy_key(old), "{old}");
        assert!(!is_legacy_key(new) || new.starts_with("lxc.net."), "{new}");
    }
}

#[test]
fn suffix_keys() {
    for k in [
        "lxc.cgroup.devices.allow",
        "lxc.cgroup2.memory.max",
        "lxc.cgroup.dir",
        "lxc.cgroup",
        "lxc.net.12.veth.pair",
        "lxc.net.1",
        "lxc.namespace.share.net",
        "lxc.hook.start-host",
    ] {
        assert_eq!(canonical_key(k).as_deref(), Some(k));
    }
}

#[test]
fn unknown_keys() {
    for k in [
        "lxc.foo",
        "lxc.tty.maxx",
        "lxc.cgroup.",
        "lxc.cgroupx",
        "lxc.net.x.type",
        "lxc.net.0.bogus",
        "lxc.net.0.ipv4",
        "lxc.network.0",
        "lxc.network.ipv4.address",
        "lxc.hook.bogus",
        "lxc.namespace.share.",
        "lxc.network.-1.link",
        "lxc.",
        "foo",
    ] {
        assert_eq!(canonical_key(k), None, "{k}");
    }
    assert_eq!(classify("lxc.pivotdir"), Some((Key::Removed, true)));
    assert_eq!(canonical_key("lxc.pivotdir"), None);
    assert_eq!(canonical_key("lxc.rootfs.backend"), None);
}
