//! Every config file Debian's lxc package ships must parse, round-trip and load.

mod common;

use std::path::{Path, PathBuf};

use common::{require, Scratch};
use lxu_config::{CgroupMode, Config, ConfigFile, ProcMode, SysMode};

const DIR: &str = "/usr/share/lxc/config";

fn conf_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            conf_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "conf") {
            out.push(p);
        }
    }
}

#[test]
fn every_shipped_conf_parses_round_trips_and_loads() {
    if !require(Path::new(DIR), "Debian's lxc package config dir") {
        return;
    }
    let mut files = Vec::new();
    conf_files(Path::new(DIR), &mut files);
    files.sort();
    assert!(files.len() >= 40, "only {} files", files.len());
    let mut entries = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let file = ConfigFile::read(f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(file.render(), text, "{}", f.display());
        let n = file.entries().count();
        // Independent count: uncommented lines that start with `lxc.`.
        let oracle = text
            .lines()
            .filter(|l| l.trim_start().starts_with("lxc."))
            .count();
        assert_eq!(n, oracle, "{}", f.display());
        entries += n;
        Config::load(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        Config::from_file(&file).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
    eprintln!("{} files, {entries} entries", files.len());
    // Debian 12's LXC 5.0.2 package has 202 active assignments.
    assert!(entries >= 200, "{entries}");
}

#[test]
fn common_conf_values() {
    if !require(Path::new(DIR), "Debian's lxc package config dir") {
        return;
    }
    let c = Config::load(&Path::new(DIR).join("common.conf")).unwrap();
    assert_eq!(c.tty_dir.as_deref(), Some("lxc"));
    assert_eq!((c.tty_max, c.pty_max), (4, 1024));
    assert_eq!(
        c.cap_drop,
        vec![
            "mac_admin",
            "mac_override",
            "sys_time",
            "sys_module",
            "sys_rawio"
        ]
    );
    assert_eq!(
        c.cgroup_v1.first().map(|(k, v)| (k.as_str(), v.as_str())),
        Some(("devices.deny", "a"))
    );
    assert_eq!(c.cgroup_v1.len(), 13);
    assert_eq!(c.cgroup_v2.len(), 13);
    assert_eq!(
        c.get_item("lxc.mount.auto").unwrap(),
        "proc:mixed sys:mixed cgroup:mixed"
    );
    assert_eq!(c.mount_entries.len(), 1);
    assert!(c.mount_entries[0].is_optional());
    assert_eq!(
        c.seccomp_profile.as_deref(),
        Some("/usr/share/lxc/config/common.seccomp")
    );
    // common.conf.d/00-lxcfs.conf is pulled in through the directory include.
    if Path::new(DIR).join("common.conf.d/00-lxcfs.conf").exists() {
        let hooks: Vec<_> = c.hooks.iter().map(|(t, _)| t.name()).collect();
        assert!(hooks.contains(&"mount"), "{hooks:?}");
        assert!(hooks.contains(&"post-stop"), "{hooks:?}");
    }
}

#[test]
fn userns_conf_clears_what_common_conf_set() {
    if !require(Path::new(DIR), "Debian's lxc package config dir") {
        return;
    }
    let s = Scratch::new("userns");
    let top = s.write(
        "config",
        "\
lxc.include = /usr/share/lxc/config/debian.common.conf
lxc.include = /usr/share/lxc/config/debian.userns.conf
lxc.arch = amd64
lxc.idmap = u 0 100000 65536
lxc.idmap = g 0 100000 65536
lxc.rootfs.path = dir:/home/u/.local/share/lxc/c1/rootfs
lxc.uts.name = c1
lxc.net.0.type = veth
lxc.net.0.link = lxcbr0
lxc.net.0.flags = up
lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx
",
    );
    let c = Config::load(&top).unwrap();
    assert!(c.is_unprivileged());
    assert_eq!(c.tty_dir, None);
    assert_eq!(c.get_item("lxc.tty.dir").unwrap(), "");
    assert_eq!(c.mount_auto.proc, Some(ProcMode::Mixed));
    assert_eq!(c.mount_auto.sys, Some(SysMode::Rw));
    assert_eq!(c.mount_auto.cgroup.unwrap().mode, CgroupMode::Mixed);
    assert_eq!(
        c.get_item("lxc.mount.auto").unwrap(),
        "proc:mixed sys:rw cgroup:mixed"
    );
    assert!(c.cap_drop.is_empty() && c.cap_keep.is_empty() && !c.cap_keep_mode);
    assert!(
        !c.cgroup_v1.iter().any(|(k, _)| k.starts_with("devices.")),
        "{:?}",
        c.cgroup_v1
    );
    assert!(
        !c.cgroup_v2.iter().any(|(k, _)| k.starts_with("devices.")),
        "{:?}",
        c.cgroup_v2
    );
    assert!(!c.items.iter().any(|i| i.key.contains(".devices.")));
    assert_eq!((c.tty_max, c.pty_max), (4, 1024));
    let mac = c.networks[0].hwaddr.as_deref().unwrap();
    assert!(mac.starts_with("00:16:3e:") && !mac.contains('x'), "{mac}");
    assert_eq!(
        c.get_item("lxc.idmap").unwrap(),
        "u 0 100000 65536\ng 0 100000 65536"
    );
    assert!(!c.legacy_keys_used());
}
