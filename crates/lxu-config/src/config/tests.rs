use std::path::Path;

use super::scratch::Scratch;
use super::*;
use crate::mount_auto::{CgroupMode, ProcMode, SysMode};
use crate::net::NetType;
use crate::rootfs::RootfsBackend;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse_str(text, Path::new("/c/config"))
}

fn ok(text: &str) -> Config {
    parse(text).unwrap_or_else(|e| panic!("{e}"))
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn line_syntax_rules() {
    let c = ok("\
# lxc.bogus = commented keys are not parsed
foo = bar
lxc.uts.name = \"b1\"
lxc.signal.halt=SIGRTMIN+4
\tlxc.init.cmd   =   /sbin/init --x # not a comment  \t
");
    assert_eq!(c.uts_name.as_deref(), Some("b1"));
    assert_eq!(c.signal_halt, Some(38));
    assert_eq!(
        c.init_cmd.as_deref(),
        Some("/sbin/init --x # not a comment")
    );
}

#[test]
fn syntax_error_names_file_and_line() {
    assert_eq!(
        err("# c\nlxc.tty.max 4\n"),
        "/c/config:2: invalid line `lxc.tty.max 4`: an `lxc.` line needs `key = value`"
    );
}

#[test]
fn unknown_key_message() {
    assert_eq!(
        err("\n\n\n\n\n\nlxc.foo = 1\n"),
        "/c/config:7: unknown key `lxc.foo`"
    );
    assert_eq!(
        err("lxc.net.0.bogus = 1"),
        "/c/config:1: unknown key `lxc.net.0.bogus`"
    );
}

#[test]
fn bad_values_name_key_and_reason() {
    let cases = [
        ("lxc.tty.max = four", "/c/config:1: bad value `four` for `lxc.tty.max`: expected an unsigned number"),
        ("lxc.tty = -1", "/c/config:1: bad value `-1` for `lxc.tty`: expected an unsigned number"),
        ("lxc.idmap = u 0 100000", "/c/config:1: bad value `u 0 100000` for `lxc.idmap`: missing count; expected `u|g NSID HOSTID COUNT`"),
        ("lxc.id_map = x 0 1 1", "/c/config:1: bad value `x 0 1 1` for `lxc.id_map`: id map type must be `u` or `g`, not `x`"),
        ("lxc.signal.halt = SIGBOGUS", "/c/config:1: bad value `SIGBOGUS` for `lxc.signal.halt`: not a signal (name like SIGPWR or SIGRTMIN+3, or 1..64)"),
        ("lxc.cap.drop = sys_admin CAP_SYS_TIME", "/c/config:1: bad value `sys_admin CAP_SYS_TIME` for `lxc.cap.drop`: unknown capability `CAP_SYS_TIME` (use lower-case names without `cap_`, e.g. `sys_admin`)"),
        ("lxc.mount.auto = proc sys:bogus", "/c/config:1: bad value `proc sys:bogus` for `lxc.mount.auto`: invalid `lxc.mount.auto` token `sys:bogus`"),
        ("lxc.net.0.type = veth\nlxc.net.0.hwaddr = 00:16:3e:zz:00:00", "/c/config:2: bad value `00:16:3e:zz:00:00` for `lxc.net.0.hwaddr`: not a MAC address or template like `00:16:3e:xx:xx:xx`"),
        ("lxc.net.0.type = bridge", "/c/config:1: bad value `bridge` for `lxc.net.0.type`: unknown type (empty, veth, vlan, macvlan, ipvlan, phys, none)"),
        ("lxc.net.1.link = lxcbr0", "/c/config:1: bad value `lxcbr0` for `lxc.net.1.link`: `lxc.net.1.type` must be set before other keys of interface 1"),
        ("lxc.network.link = lxcbr0", "/c/config:1: bad value `lxcbr0` for `lxc.network.link`: no network interface yet: `lxc.network.type` must come first"),
        ("lxc.net.0.type = empty\nlxc.net.0.veth.pair = v0", "/c/config:2: bad value `v0` for `lxc.net.0.veth.pair`: only valid for `veth` interfaces, this one is `empty`"),
        ("lxc.net = x", "/c/config:1: bad value `x` for `lxc.net`: only takes an empty value, which removes the interface(s)"),
        ("lxc.cgroup = x", "/c/config:1: bad value `x` for `lxc.cgroup`: `lxc.cgroup` only takes an empty value (clear all); use `lxc.cgroup.<file>`"),
        ("lxc.prlimit.bogus = 1", "/c/config:1: bad value `1` for `lxc.prlimit.bogus`: unknown resource `bogus`"),
        ("lxc.start.auto = 2", "/c/config:1: bad value `2` for `lxc.start.auto`: expected 0 or 1"),
        ("lxc.mount.entry = /only", "/c/config:1: bad value `/only` for `lxc.mount.entry`: a mount entry needs at least `SOURCE TARGET`"),
        ("lxc.arch = vax", "/c/config:1: bad value `vax` for `lxc.arch`: unknown architecture"),
        ("lxc.cap.drop = none", "/c/config:1: bad value `none` for `lxc.cap.drop`: `none` is only valid for `lxc.cap.keep`"),
        ("lxc.hook.version = 2", "/c/config:1: bad value `2` for `lxc.hook.version`: only hook versions 0 (legacy) and 1 exist"),
        ("lxc.cgroup.dir = /abs", "/c/config:1: bad value `/abs` for `lxc.cgroup.dir`: cgroup paths may not be absolute"),
        ("lxc.net.0.type = veth\nlxc.net.0.ipv4.address = 10.0.3.300/24", "/c/config:2: bad value `10.0.3.300/24` for `lxc.net.0.ipv4.address`: `10.0.3.300` is not an IPv4 address"),
    ];
    for (text, want) in cases {
        assert_eq!(err(text), want, "{text}");
    }
}

#[test]
fn cap_drop_and_keep_exclude_each_other() {
    assert_eq!(
        err("lxc.cap.drop = sys_module\nlxc.cap.keep = sys_admin"),
        "/c/config:2: conflicting `lxc.cap.keep`: `lxc.cap.keep` and `lxc.cap.drop` are mutually exclusive (clear `lxc.cap.drop` first)"
    );
    assert_eq!(
        err("lxc.cap.keep = none\nlxc.cap.drop = sys_admin"),
        "/c/config:2: conflicting `lxc.cap.drop`: `lxc.cap.drop` and `lxc.cap.keep` are mutually exclusive (clear `lxc.cap.keep` first)"
    );
    // userns.conf clears both, after which keep is allowed.
    let c = ok("lxc.cap.drop = mac_admin sys_time\nlxc.cap.drop =\nlxc.cap.keep =\nlxc.cap.keep = sys_admin net_admin\n");
    assert!(c.cap_drop.is_empty());
    assert_eq!(c.cap_keep, vec!["sys_admin", "net_admin"]);
    assert!(c.cap_keep_mode);
    // An empty keep also clears the drop list (LXC 5 has one list).
    let c = ok("lxc.cap.drop = mac_admin\nlxc.cap.keep =\n");
    assert!(c.cap_drop.is_empty());
    let c = ok("lxc.cap.drop = mac_admin\nlxc.cap.drop = sys_time sys_module\n");
    assert_eq!(c.cap_drop, vec!["mac_admin", "sys_time", "sys_module"]);
    assert_eq!(
        c.get_item("lxc.cap.drop").unwrap(),
        "mac_admin\nsys_time\nsys_module"
    );
}

#[test]
fn cap_keep_none_keeps_nothing() {
    let c = ok("lxc.cap.keep = sys_admin\nlxc.cap.keep = none\n");
    assert!(c.cap_keep_mode);
    assert!(c.cap_keep.is_empty());
    assert_eq!(c.get_item("lxc.cap.keep").unwrap(), "none");
    let c = ok("lxc.cap.keep = none chown\n");
    assert_eq!(c.cap_keep, vec!["chown"]);
}

#[test]
fn namespace_clone_keep_conflict() {
    assert!(matches!(
        parse("lxc.namespace.clone = net\nlxc.namespace.keep = user"),
        Err(ConfigError::Conflict { .. })
    ));
    let c = ok("lxc.namespace.keep = user net\nlxc.namespace.share.net = other\n");
    assert_eq!(c.namespace_keep, vec!["user", "net"]);
    assert_eq!(
        c.namespace_share,
        vec![("net".to_string(), "other".to_string())]
    );
    assert!(parse("lxc.namespace.clone = bogus").is_err());
    assert!(parse("lxc.namespace.share.bogus = x").is_err());
}

#[test]
fn list_keys_append_and_empty_clears() {
    let c = ok("\
lxc.idmap = u 0 100000 65536
lxc.idmap = g 0 100000 65536
lxc.environment = A=1
lxc.environment =
lxc.environment = B=2
lxc.group = onboot web
lxc.group = db
lxc.mount.entry = a b none bind 0 0
lxc.mount.entry =
lxc.mount.entry = c d none bind 0 0
lxc.hook.pre-start = /a
lxc.hook.pre-start = /b
lxc.hook.start = /c
lxc.hook.pre-start =
lxc.hook.mount = /d
");
    assert_eq!(c.idmaps.len(), 2);
    assert!(c.is_unprivileged());
    assert_eq!(
        c.get_item("lxc.idmap").unwrap(),
        "u 0 100000 65536\ng 0 100000 65536"
    );
    assert_eq!(c.environment, vec!["B=2"]);
    assert_eq!(c.groups, vec!["onboot", "web", "db"]);
    assert_eq!(c.mount_entries.len(), 1);
    assert_eq!(c.mount_entries[0].source, "c");
    assert_eq!(c.mount_entries[0].loc.line, 10);
    assert_eq!(
        c.hooks,
        vec![
            (HookType::Start, "/c".to_string()),
            (HookType::Mount, "/d".to_string())
        ]
    );
    assert_eq!(c.get_item("lxc.hook.start").unwrap(), "/c");
    assert_eq!(
        c.get_item("lxc.hook").unwrap(),
        "lxc.hook.start = /c\nlxc.hook.mount = /d"
    );
    let c2 = ok("lxc.hook.start = /c\nlxc.hook =\n");
    assert!(c2.hooks.is_empty());
    assert!(parse("lxc.hook = /x").is_err());
}

#[test]
fn keyed_lists_clear_partially() {
    let c = ok("\
lxc.cgroup.devices.deny = a
lxc.cgroup.devices.allow = c 1:3 rwm
lxc.cgroup.devices.allow = c 1:5 rwm
lxc.cgroup.memory.limit_in_bytes = 1G
lxc.cgroup2.devices.allow = c 1:3 rwm
lxc.cgroup.dir = lxc.payload
lxc.cgroup.devices.deny =
");
    assert_eq!(
        c.cgroup_v1,
        vec![
            ("devices.allow".to_string(), "c 1:3 rwm".to_string()),
            ("devices.allow".to_string(), "c 1:5 rwm".to_string()),
            ("memory.limit_in_bytes".to_string(), "1G".to_string()),
        ]
    );
    assert_eq!(
        c.get_item("lxc.cgroup.devices.allow").unwrap(),
        "c 1:3 rwm\nc 1:5 rwm"
    );
    assert_eq!(
        c.get_item("lxc.cgroup").unwrap(),
        "lxc.cgroup.devices.allow = c 1:3 rwm\nlxc.cgroup.devices.allow = c 1:5 rwm\nlxc.cgroup.memory.limit_in_bytes = 1G"
    );
    assert_eq!(c.get_item("lxc.cgroup.devices.deny").unwrap(), "");
    let c = ok("lxc.cgroup.devices.allow = a\nlxc.cgroup2.devices.allow = a\nlxc.cgroup.dir = x\nlxc.cgroup =\n");
    assert!(c.cgroup_v1.is_empty());
    assert_eq!(c.cgroup_v2.len(), 1);
    assert_eq!(c.cgroup_dir.as_deref(), Some("x"));
    assert!(c.items.iter().any(|i| i.key == "lxc.cgroup.dir"));
    assert!(!c.items.iter().any(|i| i.key == "lxc.cgroup.devices.allow"));

    let c = ok("\
lxc.prlimit.nofile = 1024
lxc.prlimit.nproc = 100:200
lxc.prlimit.nofile = 2048:unlimited
lxc.sysctl.net.ipv4.ip_forward = 1
lxc.sysctl.net.ipv4.ip_forward = 0
lxc.proc.oom_score_adj = 10
lxc.limit.core = 0
lxc.prlimit.nproc =
");
    assert_eq!(
        c.prlimits,
        vec![
            ("nofile".to_string(), "2048:unlimited".to_string()),
            ("core".to_string(), "0".to_string())
        ]
    );
    assert_eq!(
        c.sysctls,
        vec![("net.ipv4.ip_forward".to_string(), "0".to_string())]
    );
    assert_eq!(
        c.proc_keys,
        vec![("oom_score_adj".to_string(), "10".to_string())]
    );
    assert_eq!(c.get_item("lxc.prlimit.nofile").unwrap(), "2048:unlimited");
    assert!(c.legacy_keys_used());
    let c2 = ok("lxc.prlimit.nofile = 1\nlxc.prlimit =\n");
    assert!(c2.prlimits.is_empty());
}

#[test]
fn mount_auto_tokens_by_category() {
    let c = ok("lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed\nlxc.mount.auto = sys:rw\n");
    assert_eq!(c.mount_auto.proc, Some(ProcMode::Mixed));
    assert_eq!(c.mount_auto.sys, Some(SysMode::Rw));
    assert_eq!(c.mount_auto.cgroup.unwrap().mode, CgroupMode::Mixed);
    assert_eq!(
        c.get_item("lxc.mount.auto").unwrap(),
        "proc:mixed sys:rw cgroup:mixed"
    );
    let c = ok("lxc.mount.auto = proc sys\nlxc.mount.auto =\nlxc.mount.auto = cgroup\n");
    assert_eq!(c.mount_auto.proc, None);
    assert_eq!(c.get_item("lxc.mount.auto").unwrap(), "cgroup");
    assert_eq!(
        c.items.iter().filter(|i| i.key == "lxc.mount.auto").count(),
        1
    );
}

#[test]
fn scalars_last_wins_and_empty_unsets() {
    let c = ok("\
lxc.uts.name = a
lxc.uts.name = b
lxc.tty.max = 4
lxc.tty.max =
lxc.tty.dir = lxc
lxc.tty.dir =
lxc.rootfs.path = dir:/x
lxc.rootfs.path =
lxc.autodev = 1
lxc.autodev =
lxc.start.order = -5
lxc.log.level = DEBUG
");
    assert_eq!(c.uts_name.as_deref(), Some("b"));
    assert_eq!(c.tty_max, 0);
    assert_eq!(c.tty_dir, None);
    assert_eq!(c.rootfs, None);
    assert!(!c.autodev);
    assert_eq!(c.start_order, -5);
    assert_eq!(c.log_level, Some(1));
    assert_eq!(c.get_item("lxc.uts.name").unwrap(), "b");
    assert_eq!(c.get_item("lxc.tty.max").unwrap(), "0");
    assert_eq!(c.get_item("lxc.tty.dir").unwrap(), "");
    assert_eq!(
        c.items.iter().filter(|i| i.key == "lxc.uts.name").count(),
        1
    );
    assert_eq!(c.get_item("lxc.bogus"), None);
    assert_eq!(c.get_item("lxc.utsname").unwrap(), "b");
}

#[test]
fn defaults() {
    let c = ok("");
    assert!(c.autodev);
    assert_eq!((c.tty_max, c.pty_max), (0, 0));
    assert!(!c.is_unprivileged());
    assert!(!c.legacy_keys_used());
    assert_eq!(c.get_item("lxc.autodev").unwrap(), "1");
    assert_eq!(c.get_item("lxc.signal.halt").unwrap(), "0");
    assert_eq!(c.get_item("lxc.net").unwrap(), "");
}

#[test]
fn rootfs_and_console() {
    let c = ok("lxc.rootfs.path = overlay:/var/lib/lxc/a/rootfs:/var/lib/lxc/b/delta0\nlxc.console.path = none\nlxc.console.size = 64KB\nlxc.console.buffer.size = auto\n");
    assert!(matches!(
        c.rootfs.as_ref().unwrap().backend,
        RootfsBackend::Overlay { .. }
    ));
    assert_eq!(c.console_path.as_deref(), Some("none"));
    assert_eq!(c.console_size, Some(65536));
    assert_eq!(c.console_buffer_size, Some(131072));
    assert!(parse("lxc.rootfs.options = create=dir").is_err());
}

#[test]
fn networks_new_style() {
    let c = ok("\
lxc.net.1.type = veth
lxc.net.1.link = br1
lxc.net.0.type = veth
lxc.net.0.link = lxcbr0
lxc.net.0.flags = up
lxc.net.0.name = eth0
lxc.net.0.mtu = 1500
lxc.net.0.ipv4.address = 10.0.3.5/24
lxc.net.0.ipv4.address = 10.0.4.5/24
lxc.net.0.ipv4.gateway = auto
lxc.net.0.ipv6.address = fd00::5/64
lxc.net.0.veth.pair = vethA
lxc.net.0.hwaddr = 00:16:3e:12:34:56
");
    assert_eq!(c.networks.len(), 2);
    let n0 = &c.networks[0];
    assert_eq!(n0.index, 0);
    assert_eq!(n0.kind, NetType::Veth);
    assert!(n0.flags_up);
    assert_eq!(n0.link.as_deref(), Some("lxcbr0"));
    assert_eq!(n0.mtu, Some(1500));
    assert_eq!(n0.ipv4, vec!["10.0.3.5/24", "10.0.4.5/24"]);
    assert_eq!(n0.ipv4_gateway.as_deref(), Some("auto"));
    assert_eq!(n0.hwaddr.as_deref(), Some("00:16:3e:12:34:56"));
    assert_eq!(n0.loc.line, 3);
    assert_eq!(c.networks[1].link.as_deref(), Some("br1"));
    assert_eq!(c.get_item("lxc.net").unwrap(), "veth\nveth");
    assert_eq!(
        c.get_item("lxc.net.0.ipv4.address").unwrap(),
        "10.0.3.5/24\n10.0.4.5/24"
    );
    assert_eq!(c.get_item("lxc.net.0.flags").unwrap(), "up");

    // Partial and whole clears.
    let c = ok("\
lxc.net.0.type = veth
lxc.net.0.ipv4.address = 10.0.3.5/24
lxc.net.0.ipv4.address =
lxc.net.1.type = empty
lxc.net.1 =
");
    assert!(c.networks[0].ipv4.is_empty());
    assert_eq!(c.networks.len(), 1);
    assert!(!c.items.iter().any(|i| i.key.starts_with("lxc.net.1.")));
    let c = ok("lxc.net.0.type = veth\nlxc.net.0.link = x\nlxc.net =\n");
    assert!(c.networks.is_empty());
    assert!(!c.items.iter().any(|i| i.key.starts_with("lxc.net.")));
    // Re-typing an interface starts it afresh, like LXC's clear of the netdev.
    let c = ok("lxc.net.0.type = veth\nlxc.net.0.link = x\nlxc.net.0.type = macvlan\nlxc.net.0.macvlan.mode = bridge\n");
    assert_eq!(c.networks[0].link, None);
    assert_eq!(c.networks[0].macvlan_mode.as_deref(), Some("bridge"));
}

#[test]
fn networks_1_0_sections() {
    let c = ok("\
lxc.network.type = veth
lxc.network.link = lxcbr0
lxc.network.flags = up
lxc.network.ipv4 = 10.0.3.5/24 10.0.3.255
lxc.network.type = macvlan
lxc.network.link = eth0
lxc.network.macvlan.mode = bridge
lxc.network.0.ipv6 = fd00::1/64
");
    assert!(c.legacy_keys_used());
    assert_eq!(c.networks.len(), 2);
    assert_eq!(c.networks[0].link.as_deref(), Some("lxcbr0"));
    assert_eq!(c.networks[0].ipv4, vec!["10.0.3.5/24 10.0.3.255"]);
    assert_eq!(c.networks[0].ipv6, vec!["fd00::1/64"]);
    assert_eq!(c.networks[1].kind, NetType::Macvlan);
    assert_eq!(c.networks[1].index, 1);
    assert_eq!(c.get_item("lxc.net.1.link").unwrap(), "eth0");
    assert_eq!(c.get_item("lxc.network.1.link").unwrap(), "eth0");
    // An empty 1.0 type drops every interface.
    let c = ok("lxc.network.type = veth\nlxc.network.type = veth\nlxc.network.type =\nlxc.network.type = empty\n");
    assert_eq!(c.networks.len(), 1);
    assert_eq!(c.networks[0].index, 0);
    assert_eq!(c.networks[0].kind, NetType::Empty);
    assert!(parse("lxc.network.type = veth\nlxc.network.3.link = x").is_err());
}

#[test]
fn legacy_and_new_spellings_give_the_same_config() {
    let old = "\
lxc.id_map = u 0 100000 65536
lxc.id_map = g 0 100000 65536
lxc.rootfs = /var/lib/lxc/c1/rootfs
lxc.utsname = c1
lxc.tty = 4
lxc.pts = 1024
lxc.devttydir = lxc
lxc.aa_profile = unconfined
lxc.seccomp = /usr/share/lxc/config/common.seccomp
lxc.console = none
lxc.mount = /var/lib/lxc/c1/fstab
lxc.haltsignal = SIGPWR
lxc.stopsignal = SIGKILL
lxc.loglevel = 3
lxc.logfile = /tmp/c1.log
lxc.init_cmd = /sbin/init
lxc.limit.nofile = 1024
lxc.network.type = veth
lxc.network.link = lxcbr0
lxc.network.flags = up
lxc.network.hwaddr = 00:16:3e:aa:bb:cc
lxc.network.ipv4 = 10.0.3.5/24
lxc.network.ipv4.gateway = 10.0.3.1
lxc.pivotdir = lxc_putold
lxc.cgroup.devices.allow = c 1:3 rwm
";
    let new = "\
lxc.idmap = u 0 100000 65536
lxc.idmap = g 0 100000 65536
lxc.rootfs.path = /var/lib/lxc/c1/rootfs
lxc.uts.name = c1
lxc.tty.max = 4
lxc.pty.max = 1024
lxc.tty.dir = lxc
lxc.apparmor.profile = unconfined
lxc.seccomp.profile = /usr/share/lxc/config/common.seccomp
lxc.console.path = none
lxc.mount.fstab = /var/lib/lxc/c1/fstab
lxc.signal.halt = SIGPWR
lxc.signal.stop = SIGKILL
lxc.log.level = 3
lxc.log.file = /tmp/c1.log
lxc.init.cmd = /sbin/init
lxc.prlimit.nofile = 1024
lxc.net.0.type = veth
lxc.net.0.link = lxcbr0
lxc.net.0.flags = up
lxc.net.0.hwaddr = 00:16:3e:aa:bb:cc
lxc.net.0.ipv4.address = 10.0.3.5/24
lxc.net.0.ipv4.gateway = 10.0.3.1
# (pivotdir has no successor)
lxc.cgroup.devices.allow = c 1:3 rwm
";
    let a = ok(old);
    let b = ok(new);
    assert!(a.legacy_keys_used());
    assert!(!b.legacy_keys_used());
    assert_eq!(a, b);
    assert_eq!(a.items.len(), 24);
}

#[test]
fn hwaddr_templates_are_completed_at_evaluation() {
    let text = "lxc.net.0.type = veth\nlxc.net.0.hwaddr = 00:16:3e:xx:xX:xx\n";
    let mut rng = || 0x5au8;
    let file = ConfigFile::parse_str(text, Path::new("/c/config")).unwrap();
    let c = Config::from_file_with_rng(&file, &mut rng).unwrap();
    assert_eq!(c.networks[0].hwaddr.as_deref(), Some("00:16:3e:aa:aa:aa"));
    assert_eq!(c.get_item("lxc.net.0.hwaddr").unwrap(), "00:16:3e:aa:aa:aa");
    // The file itself is untouched.
    assert_eq!(file.render(), text);
    let mut rng = || 0xffu8;
    let c = Config::from_file_with_rng(
        &ConfigFile::parse_str(
            "lxc.net.0.type = veth\nlxc.net.0.hwaddr = xx:xx:xx:xx:xx:xx\n",
            Path::new("/c"),
        )
        .unwrap(),
        &mut rng,
    )
    .unwrap();
    assert_eq!(c.networks[0].hwaddr.as_deref(), Some("fe:ff:ff:ff:ff:ff"));
}

#[test]
fn included_hwaddr_template_is_random_per_load() {
    let s = Scratch::new("hwinc");
    s.write(
        "net.conf",
        "lxc.net.0.type = veth\nlxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\n",
    );
    let top = s.write(
        "config",
        &format!("lxc.include = {}\n", s.0.join("net.conf").display()),
    );
    let macs: Vec<String> = (0..4)
        .map(|_| {
            Config::load(&top).unwrap().networks[0]
                .hwaddr
                .clone()
                .unwrap()
        })
        .collect();
    for m in &macs {
        assert!(m.starts_with("00:16:3e:") && !m.contains('x'), "{m}");
    }
    // 24 random bits per load: four equal results would mean no randomness.
    assert!(macs.iter().any(|m| *m != macs[0]), "{macs:?}");
}

#[test]
fn includes_files_and_directories() {
    let s = Scratch::new("inc");
    s.write("d/10-b.conf", "lxc.environment = B=1\n");
    s.write("d/01-a.conf", "lxc.environment = A=1\n");
    s.write("d/x.conf", "lxc.environment = X=1\n");
    s.write("d/.conf", "lxc.environment = HIDDEN=1\n");
    s.write("d/z.conf.bak", "lxc.environment = BAK=1\n");
    s.write("d/readme", "lxc.bogus = 1\n");
    s.write(
        "common.conf",
        &format!("lxc.tty.max = 4\nlxc.include = {}/d/\n", s.0.display()),
    );
    let top = s.write(
        "config",
        &format!(
            "lxc.include = {0}/common.conf\nlxc.include = {0}/missing.d/\nlxc.include = {0}/d\nlxc.tty.max = 2\n",
            s.0.display()
        ),
    );
    let c = Config::load(&top).unwrap();
    assert_eq!(c.tty_max, 2);
    assert_eq!(
        c.environment,
        vec!["A=1", "B=1", "X=1", "A=1", "B=1", "X=1"]
    );
    assert_eq!(c.includes.len(), 4);
    let env_item = c.items.iter().find(|i| i.key == "lxc.environment").unwrap();
    assert_eq!(env_item.loc.file, s.0.join("d/01-a.conf"));
    assert_eq!(env_item.loc.line, 1);
}

#[test]
fn missing_include_file_is_an_error() {
    let s = Scratch::new("incmiss");
    let top = s.write(
        "config",
        "lxc.tty.max = 1\nlxc.include = /nonexistent/lxu/file.conf\n",
    );
    let e = Config::load(&top).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2: cannot include `/nonexistent/lxu/file.conf`",
            top.display()
        )
    );
    let cause = std::error::Error::source(&e).map(ToString::to_string);
    assert_eq!(
        cause.as_deref(),
        Some("No such file or directory (os error 2)")
    );
}

#[test]
fn errors_in_included_files_name_that_file() {
    let s = Scratch::new("incerr");
    let inc = s.write("inc.conf", "\nlxc.tty.max = x\n");
    let top = s.write("config", &format!("lxc.include = {}\n", inc.display()));
    assert_eq!(
        Config::load(&top).unwrap_err().to_string(),
        format!(
            "{}:2: bad value `x` for `lxc.tty.max`: expected an unsigned number",
            inc.display()
        )
    );
}

/// Found while writing the fuzz target: `lxc.include = /dev/zero` read until memory ran
/// out, and a FIFO blocked the load forever; a device or FIFO is now refused by name.
#[test]
fn including_a_device_is_refused_by_name() {
    let s = Scratch::new("dev");
    for dev in ["/dev/null", "/dev/zero"] {
        s.write("c.conf", &format!("lxc.tty.max = 1\nlxc.include = {dev}\n"));
        let e = Config::load(&s.0.join("c.conf")).unwrap_err();
        assert!(matches!(e, ConfigError::IncludeNotFile { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            format!(
                "{}:2: cannot include `{dev}`: not a regular file or directory",
                s.0.join("c.conf").display()
            )
        );
    }
}

#[test]
fn include_loops_and_depth() {
    let s = Scratch::new("loop");
    let a = s.0.join("a.conf");
    let b = s.0.join("b.conf");
    s.write("a.conf", &format!("lxc.include = {}\n", b.display()));
    s.write("b.conf", &format!("\nlxc.include = {}\n", a.display()));
    let e = Config::load(&a).unwrap_err();
    assert!(matches!(e, ConfigError::IncludeDepth { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2: include of `{}` loops or nests deeper than 16 levels",
            b.display(),
            a.display()
        )
    );
    // A chain of 20 distinct files is too deep.
    for i in 0..20 {
        s.write(
            &format!("c{i}.conf"),
            &format!("lxc.include = {}/c{}.conf\n", s.0.display(), i + 1),
        );
    }
    s.write("c20.conf", "lxc.tty.max = 1\n");
    let e = Config::load(&s.0.join("c0.conf")).unwrap_err();
    assert!(matches!(e, ConfigError::IncludeDepth { .. }), "{e}");
    // 10 levels are fine.
    s.write("c10.conf", "lxc.tty.max = 1\n");
    assert_eq!(Config::load(&s.0.join("c0.conf")).unwrap().tty_max, 1);
}

#[test]
fn empty_include_clears_the_list_only() {
    let s = Scratch::new("incclr");
    let inc = s.write("i.conf", "lxc.tty.max = 3\n");
    let c = Config::parse_str(
        &format!("lxc.include = {}\nlxc.include =\n", inc.display()),
        Path::new("/c"),
    )
    .unwrap();
    assert!(c.includes.is_empty());
    assert_eq!(c.tty_max, 3);
}

fn command_line() -> Location {
    Location::at(Path::new("<command line>"), 0)
}

#[test]
fn apply_overrides() {
    let mut c = ok("lxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\n");
    c.apply("lxc.net.0.link", "br1", &command_line()).unwrap();
    c.apply(" lxc.uts.name ", " \"x\" ", &command_line())
        .unwrap();
    assert_eq!(c.networks[0].link.as_deref(), Some("br1"));
    assert_eq!(c.uts_name.as_deref(), Some("x"));
    let e = c.apply("lxc.bogus", "1", &command_line()).unwrap_err();
    assert_eq!(e.to_string(), "<command line>:0: unknown key `lxc.bogus`");
}

#[test]
fn fstab_escapes_in_mount_entries() {
    let c = ok(r"lxc.mount.entry = /srv/a\040b srv/a\040b none bind,create=dir 0 0");
    assert_eq!(c.mount_entries[0].source, "/srv/a b");
    assert_eq!(c.mount_entries[0].target, "srv/a b");
}

#[test]
fn removed_keys_are_accepted() {
    let c = ok("lxc.pivotdir = lxc_putold\nlxc.kmsg = 0\nlxc.rootfs.backend = dir\n");
    assert!(c.items.is_empty());
    assert!(c.legacy_keys_used());
}

#[test]
fn every_known_key_parses_with_a_sample_value() {
    let text = "\
lxc.arch = x86_64
lxc.apparmor.profile = generated
lxc.apparmor.allow_incomplete = 0
lxc.apparmor.allow_nesting = 1
lxc.apparmor.raw = mount,
lxc.autodev.tmpfs.size = 500000
lxc.autodev = 1
lxc.cap.drop = sys_module
lxc.cgroup.dir.monitor.pivot = p
lxc.cgroup.dir.monitor = m
lxc.cgroup.dir.container.inner = inner
lxc.cgroup.dir.container = c
lxc.cgroup.dir = d
lxc.cgroup.relative = 1
lxc.console.buffer.size = auto
lxc.console.logfile = /tmp/log
lxc.console.path = /dev/console
lxc.console.rotate = 1
lxc.console.size = 1MB
lxc.sched.core = 0
lxc.environment = A=b
lxc.ephemeral = 0
lxc.execute.cmd = /bin/true
lxc.group = onboot
lxc.hook.version = 1
lxc.idmap = u 0 1 1
lxc.init.cmd = /sbin/init
lxc.init.gid = 0
lxc.init.groups = 1,2
lxc.init.uid = 0
lxc.init.cwd = /
lxc.keyring.session = 1
lxc.log.file = /tmp/l
lxc.log.level = 5
lxc.log.syslog = daemon
lxc.monitor.unshare = 0
lxc.monitor.signal.pdeath = SIGKILL
lxc.mount.auto = proc
lxc.mount.entry = a b none bind 0 0
lxc.mount.fstab = /f
lxc.namespace.clone = net
lxc.namespace.share.ipc = other
lxc.time.offset.boot = 10s
lxc.time.offset.monotonic = -5ms
lxc.no_new_privs = 1
lxc.pty.max = 10
lxc.rootfs.managed = 1
lxc.rootfs.mount = /m
lxc.rootfs.options = ro
lxc.rootfs.path = dir:/r
lxc.seccomp.allow_nesting = 1
lxc.seccomp.notify.cookie = c
lxc.seccomp.notify.proxy = unix:/run/p
lxc.seccomp.profile = /s
lxc.selinux.context.keyring = k
lxc.selinux.context = s
lxc.signal.halt = SIGPWR
lxc.signal.reboot = SIGINT
lxc.signal.stop = SIGKILL
lxc.start.auto = 1
lxc.start.delay = 5
lxc.start.order = 3
lxc.tty.dir = lxc
lxc.tty.max = 4
lxc.uts.name = h
lxc.prlimit.nofile = 1
lxc.sysctl.kernel.msgmax = 1
lxc.proc.oom_score_adj = 1
lxc.cgroup.memory.max = 1
lxc.cgroup2.memory.max = 1
lxc.hook.pre-start = /x
lxc.hook.start-host = /x
lxc.hook.pre-mount = /x
lxc.hook.mount = /x
lxc.hook.autodev = /x
lxc.hook.start = /x
lxc.hook.stop = /x
lxc.hook.post-stop = /x
lxc.hook.clone = /x
lxc.hook.destroy = /x
lxc.include =
lxc.net.0.type = veth
lxc.net.0.flags = up
lxc.net.0.hwaddr = 00:16:3e:00:00:01
lxc.net.0.ipv4.address = 10.0.0.2/24
lxc.net.0.ipv4.gateway = dev
lxc.net.0.ipv6.address = fd00::2
lxc.net.0.ipv6.gateway = fd00::1
lxc.net.0.link = br0
lxc.net.0.l2proxy = 1
lxc.net.0.mtu = 1400
lxc.net.0.name = eth0
lxc.net.0.script.down = /d
lxc.net.0.script.up = /u
lxc.net.0.veth.mode = router
lxc.net.0.veth.n_rxqueues = 2
lxc.net.0.veth.n_txqueues = 2
lxc.net.0.veth.pair = v0
lxc.net.0.veth.ipv4.route = 10.1.0.0/16
lxc.net.0.veth.ipv6.route = fd01::/64
lxc.net.0.veth.vlan.id = none
lxc.net.0.veth.vlan.tagged.id = 10
lxc.net.1.type = macvlan
lxc.net.1.macvlan.mode = vepa
lxc.net.2.type = ipvlan
lxc.net.2.ipvlan.mode = l2
lxc.net.2.ipvlan.isolation = private
lxc.net.3.type = vlan
lxc.net.3.vlan.id = 100
lxc.net.4.type = phys
lxc.net.5.type = none
lxc.net.6.type = empty
";
    let c = ok(text);
    assert_eq!(c.networks.len(), 7);
    // Every simple key of the table appears in the sample (cap.keep is exclusive
    // with cap.drop and tested elsewhere; namespace.keep likewise).
    for k in crate::keys::simple_keys() {
        if matches!(
            k.name,
            "lxc.cap.keep" | "lxc.namespace.keep" | "lxc.include"
        ) {
            continue;
        }
        assert!(text.contains(&format!("{} =", k.name)), "{}", k.name);
    }
    for k in crate::keys::NET_KEYS {
        assert!(text.contains(&format!(".{} =", k.name)), "{}", k.name);
    }
    assert_eq!(c.get_item("lxc.net.0.veth.vlan.tagged.id").unwrap(), "10");
    assert_eq!(c.init_groups, vec![1, 2]);
}

#[test]
fn net_index_with_leading_zero_is_canonicalised() {
    let c = ok("lxc.net.00.type = veth\nlxc.net.00.link = br0\n");
    assert_eq!(c.networks[0].index, 0);
    assert_eq!(c.get_item("lxc.net.0.link").unwrap(), "br0");
    assert!(c.items.iter().all(|i| i.key.starts_with("lxc.net.0.")));
}
