//! Keys that isolate and confine the container: id maps, capabilities,
//! namespaces, cgroups, resource limits, security modules, seccomp.

use super::{flag, Assign, Family, Record, Repeat, Section, Show, SimpleKey};
use crate::config::Config;
use crate::error::ConfigError;
use crate::idmap::IdMap;
use crate::line::words;
use crate::values::{self, cap_number, check_prlimit, check_time_offset, PRLIMIT_RESOURCES};

pub(super) const IDMAP: Section = Section {
    title: "User namespace",
    keys: &[SimpleKey {
        name: "lxc.idmap",
        legacy: Some("lxc.id_map"),
        syntax: "u|g NSID HOSTID COUNT",
        doc: "Maps COUNT user (`u`) or group (`g`) ids from NSID inside the container to HOSTID \
              on the host (see ID MAPPING). A container with a map is unprivileged. Repeatable.",
        record: Record::List,
        set: |c, a| a.parse(IdMap::parse).map(|m| c.idmaps.push(m)),
        clear: |c| c.idmaps.clear(),
        show: Show::Value(|c| {
            let v: Vec<String> = c.idmaps.iter().map(IdMap::to_string).collect();
            v.join("\n")
        }),
    }],
    families: &[],
};

pub(super) const CAPABILITIES: Section = Section {
    title: "Capabilities",
    keys: &[
        SimpleKey {
            name: "lxc.cap.drop",
            legacy: None,
            syntax: "CAP...",
            doc: "Capabilities the container's root loses, as lower-case names without `cap_` \
                  (`sys_module`) or numbers; space-separated and repeatable. Excludes \
                  `lxc.cap.keep`.",
            record: Record::Own,
            set: |c, a| set_caps(c, a, false),
            clear: clear_caps,
            show: Show::Value(|c| c.cap_drop.join("\n")),
        },
        SimpleKey {
            name: "lxc.cap.keep",
            legacy: None,
            syntax: "CAP...|none",
            doc: "The only capabilities the container's root keeps (`none`: not one). Excludes \
                  `lxc.cap.drop`; an empty value of either key clears both.",
            record: Record::Own,
            set: |c, a| set_caps(c, a, true),
            clear: clear_caps,
            show: Show::Value(|c| {
                if c.cap_keep_mode && c.cap_keep.is_empty() {
                    "none".into()
                } else {
                    c.cap_keep.join("\n")
                }
            }),
        },
    ],
    families: &[],
};

/// LXC 5 keeps one capability list plus a keep/drop mode, so an empty value of
/// either key clears it.
fn clear_caps(c: &mut Config) {
    c.cap_drop.clear();
    c.cap_keep.clear();
    c.cap_keep_mode = false;
    clear_cap_items(c);
}

fn clear_cap_items(c: &mut Config) {
    c.items
        .retain(|i| i.key != "lxc.cap.drop" && i.key != "lxc.cap.keep");
}

fn set_caps(c: &mut Config, a: &mut Assign<'_, '_>, keep: bool) -> Result<(), ConfigError> {
    if keep && !c.cap_keep_mode && !c.cap_drop.is_empty() {
        return Err(a.conflict(
            "`lxc.cap.keep` and `lxc.cap.drop` are mutually exclusive (clear `lxc.cap.drop` first)",
        ));
    }
    if !keep && c.cap_keep_mode {
        return Err(a.conflict(
            "`lxc.cap.drop` and `lxc.cap.keep` are mutually exclusive (clear `lxc.cap.keep` first)",
        ));
    }
    let mut add = Vec::new();
    for tok in words(a.value) {
        if tok == "none" {
            if !keep {
                return Err(a.bad("`none` is only valid for `lxc.cap.keep`"));
            }
            c.cap_keep.clear();
            add.clear();
            clear_cap_items(c);
            continue;
        }
        if cap_number(tok).is_none() {
            return Err(a.bad(format!(
                "unknown capability `{tok}` (use lower-case names without `cap_`, e.g. `sys_admin`)"
            )));
        }
        add.push(tok.to_string());
    }
    let name = if keep {
        c.cap_keep.extend(add);
        c.cap_keep_mode = true;
        "lxc.cap.keep"
    } else {
        c.cap_drop.extend(add);
        "lxc.cap.drop"
    };
    c.item_push(name.to_string(), a.value, a.loc);
    Ok(())
}

pub(super) const NAMESPACES: Section = Section {
    title: "Namespaces",
    keys: &[
        SimpleKey {
            name: "lxc.namespace.clone",
            legacy: None,
            syntax: "NS...",
            doc: "The namespaces to create, from `cgroup`, `ipc`, `mnt`, `net`, `pid`, `time`, \
                  `user` and `uts`. Excludes `lxc.namespace.keep`. lxu checks the value and does \
                  not act on it.",
            record: Record::List,
            set: |c, a| set_namespaces(c, a, false),
            clear: |c| c.namespace_clone.clear(),
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.namespace.keep",
            legacy: None,
            syntax: "NS...",
            doc: "Namespaces the container shares with the process that starts it instead of \
                  getting new ones. lxu checks the value and does not act on it.",
            record: Record::List,
            set: |c, a| set_namespaces(c, a, true),
            clear: |c| c.namespace_keep.clear(),
            show: Show::Recorded,
        },
    ],
    families: &[Family {
        prefix: "lxc.namespace.share",
        legacy: None,
        suffix: "<ns>",
        syntax: "NAME|PID|PATH",
        doc: "Joins the namespace <ns> of another container (by name), of a process (by pid) \
              or at a path, instead of creating one. lxu checks the value and does not act on it.",
        repeat: Repeat::Replace,
        bare: false,
        known: |_| true,
        check: |ns, _| {
            if values::NAMESPACES.contains(&ns) {
                Ok(())
            } else {
                Err(format!("unknown namespace `{ns}`"))
            }
        },
        values: |c| &c.namespace_share,
        values_mut: |c| &mut c.namespace_share,
    }],
};

fn set_namespaces(c: &mut Config, a: &mut Assign<'_, '_>, keep: bool) -> Result<(), ConfigError> {
    let other = if keep {
        &c.namespace_clone
    } else {
        &c.namespace_keep
    };
    if !other.is_empty() {
        return Err(a.conflict("`lxc.namespace.clone` and `lxc.namespace.keep` cannot both be set"));
    }
    let mut toks = Vec::new();
    for t in words(a.value) {
        if !values::NAMESPACES.contains(&t) {
            return Err(a.bad(format!("unknown namespace `{t}`")));
        }
        toks.push(t.to_string());
    }
    let list = if keep {
        &mut c.namespace_keep
    } else {
        &mut c.namespace_clone
    };
    list.extend(toks);
    Ok(())
}

pub(super) const CGROUPS: Section = Section {
    title: "Control groups",
    keys: &[
        SimpleKey {
            name: "lxc.cgroup.dir",
            legacy: None,
            syntax: "PATH",
            doc: "The container's cgroup, below the one it is started from (no leading `/`, no \
                  `..`). lxu checks the value and does not act on it.",
            record: Record::Last,
            set: |c, a| a.cgroup_dir(false).map(|d| c.cgroup_dir = Some(d)),
            clear: |c| c.cgroup_dir = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.cgroup.dir.container",
            legacy: None,
            syntax: "PATH",
            doc: "Like `lxc.cgroup.dir`, for the container's processes only (with \
                  `lxc.cgroup.dir.monitor`). lxu checks the value and does not act on it.",
            record: Record::Last,
            set: |c, a| {
                a.cgroup_dir(false)
                    .map(|d| c.cgroup_dir_container = Some(d))
            },
            clear: |c| c.cgroup_dir_container = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.cgroup.dir.container.inner",
            legacy: None,
            syntax: "NAME",
            doc: "A directory inside the container's cgroup that its processes are placed in. \
                  lxu checks the value and does not act on it.",
            record: Record::Last,
            set: |c, a| {
                a.cgroup_dir(true)
                    .map(|d| c.cgroup_dir_container_inner = Some(d))
            },
            clear: |c| c.cgroup_dir_container_inner = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.cgroup.dir.monitor",
            legacy: None,
            syntax: "PATH",
            doc: "The cgroup of LXC's monitor process. lxu checks the value and does not act on \
                  it.",
            record: Record::Last,
            set: |c, a| a.cgroup_dir(false).map(|d| c.cgroup_dir_monitor = Some(d)),
            clear: |c| c.cgroup_dir_monitor = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.cgroup.dir.monitor.pivot",
            legacy: None,
            syntax: "PATH",
            doc: "The cgroup LXC's monitor moves to when the container stops. lxu checks the \
                  value and does not act on it.",
            record: Record::Last,
            set: |c, a| {
                a.cgroup_dir(false)
                    .map(|d| c.cgroup_dir_monitor_pivot = Some(d))
            },
            clear: |c| c.cgroup_dir_monitor_pivot = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.cgroup.relative",
            legacy: None,
            syntax: "0|1",
            doc: "1 places the container below the cgroup of the process that starts it. lxu \
                  checks the value and does not act on it.",
            record: Record::Last,
            set: |c, a| a.bool01().map(|b| c.cgroup_relative = b),
            clear: |c| c.cgroup_relative = false,
            show: Show::Value(|c| flag(c.cgroup_relative)),
        },
    ],
    families: &[
        Family {
            prefix: "lxc.cgroup",
            legacy: None,
            suffix: "<file>",
            syntax: "VALUE",
            doc: "Writes VALUE to the cgroup v1 file <file> of the container's cgroup \
                  (`lxc.cgroup.memory.limit_in_bytes`, `lxc.cgroup.devices.allow`); where only \
                  cgroup v2 is delegated, lxu writes the v2 equivalent of the common ones \
                  (memory, pids, cpu, cpuset). Repeatable.",
            repeat: Repeat::Append,
            bare: true,
            known: |_| true,
            check: |_, _| Ok(()),
            values: |c| &c.cgroup_v1,
            values_mut: |c| &mut c.cgroup_v1,
        },
        Family {
            prefix: "lxc.cgroup2",
            legacy: None,
            suffix: "<file>",
            syntax: "VALUE",
            doc: "Writes VALUE to the cgroup v2 file <file> (`lxc.cgroup2.memory.max`, \
                  `lxc.cgroup2.pids.max`), or its v1 equivalent. Repeatable.",
            repeat: Repeat::Append,
            bare: true,
            known: |_| true,
            check: |_, _| Ok(()),
            values: |c| &c.cgroup_v2,
            values_mut: |c| &mut c.cgroup_v2,
        },
    ],
};

pub(super) const LIMITS: Section = Section {
    title: "Resource limits and kernel parameters",
    keys: &[],
    families: &[
        Family {
            prefix: "lxc.prlimit",
            legacy: Some("lxc.limit"),
            suffix: "<name>",
            syntax: "SOFT[:HARD]",
            doc: "A resource limit of init and its children: <name> is a setrlimit(2) resource \
                  in lower case without `RLIMIT_` (`nofile`, `nproc`, `core`, …), SOFT and HARD \
                  numbers or `unlimited`. A repeated <name> replaces the earlier value.",
            repeat: Repeat::Replace,
            bare: true,
            known: |_| true,
            check: |r, v| {
                if !PRLIMIT_RESOURCES.contains(&r) {
                    return Err(format!("unknown resource `{r}`"));
                }
                if v.is_empty() {
                    Ok(())
                } else {
                    check_prlimit(v)
                }
            },
            values: |c| &c.prlimits,
            values_mut: |c| &mut c.prlimits,
        },
        Family {
            prefix: "lxc.sysctl",
            legacy: None,
            suffix: "<name>",
            syntax: "VALUE",
            doc: "Sets the kernel parameter <name> (as sysctl(8) names it, e.g. \
                  `net.ipv4.ip_forward`) inside the container's namespaces. A repeated <name> \
                  replaces the earlier value.",
            repeat: Repeat::Replace,
            bare: true,
            known: |_| true,
            check: |_, _| Ok(()),
            values: |c| &c.sysctls,
            values_mut: |c| &mut c.sysctls,
        },
        Family {
            prefix: "lxc.proc",
            legacy: None,
            suffix: "<name>",
            syntax: "VALUE",
            doc: "Writes VALUE to /proc/PID/<name> of init, e.g. `lxc.proc.oom_score_adj`. lxu \
                  checks the value and does not act on it.",
            repeat: Repeat::Append,
            bare: true,
            known: |_| true,
            check: |_, _| Ok(()),
            values: |c| &c.proc_keys,
            values_mut: |c| &mut c.proc_keys,
        },
    ],
};

pub(super) const LSM: Section = Section {
    title: "AppArmor and SELinux",
    keys: &[
        SimpleKey {
            name: "lxc.apparmor.profile",
            legacy: Some("lxc.aa_profile"),
            syntax: "PROFILE",
            doc: "The AppArmor profile the container runs under: a loaded profile's name, \
                  `unconfined` or `unchanged`; `generated` (a profile LXC writes and loads) is \
                  not available in lxu. Applied where the host has AppArmor; elsewhere the start \
                  warns.",
            record: Record::Last,
            set: |c, a| a.text().map(|v| c.apparmor_profile = Some(v)),
            clear: |c| c.apparmor_profile = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.apparmor.allow_incomplete",
            legacy: Some("lxc.aa_allow_incomplete"),
            syntax: "0|1",
            doc: "1 lets the container start under a kernel without AppArmor mount rules. lxu \
                  checks the value and does not act on it.",
            record: Record::Last,
            set: |c, a| a.bool01().map(|b| c.apparmor_allow_incomplete = b),
            clear: |c| c.apparmor_allow_incomplete = false,
            show: Show::Value(|c| flag(c.apparmor_allow_incomplete)),
        },
        SimpleKey {
            name: "lxc.apparmor.allow_nesting",
            legacy: None,
            syntax: "0|1",
            doc: "1 lets a generated profile allow containers inside the container. lxu checks \
                  the value and does not act on it.",
            record: Record::Last,
            set: |c, a| a.bool01().map(|b| c.apparmor_allow_nesting = b),
            clear: |c| c.apparmor_allow_nesting = false,
            show: Show::Value(|c| flag(c.apparmor_allow_nesting)),
        },
        SimpleKey {
            name: "lxc.apparmor.raw",
            legacy: None,
            syntax: "RULE",
            doc: "A rule to add to a generated profile; repeatable. lxu checks the value and \
                  does not act on it.",
            record: Record::List,
            set: |c, a| a.text().map(|v| c.apparmor_raw.push(v)),
            clear: |c| c.apparmor_raw.clear(),
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.selinux.context",
            legacy: Some("lxc.se_context"),
            syntax: "CONTEXT",
            doc: "The SELinux context the container runs in. Applied where the host has \
                  SELinux; elsewhere the start warns.",
            record: Record::Last,
            set: |c, a| a.text().map(|v| c.selinux_context = Some(v)),
            clear: |c| c.selinux_context = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.selinux.context.keyring",
            legacy: None,
            syntax: "CONTEXT",
            doc: "The SELinux context of the container's session keyring. lxu does not act on \
                  it.",
            record: Record::Last,
            set: |_, _| Ok(()),
            clear: |_| {},
            show: Show::Recorded,
        },
    ],
    families: &[],
};

pub(super) const SECCOMP: Section = Section {
    title: "Seccomp and no_new_privs",
    keys: &[
        SimpleKey {
            name: "lxc.seccomp.profile",
            legacy: Some("lxc.seccomp"),
            syntax: "PATH",
            doc: "A seccomp policy file in LXC's format (versions 1 and 2), loaded into init and \
                  into attached commands; an error in it stops the start. `notify` rules are \
                  refused.",
            record: Record::Last,
            set: |c, a| a.text().map(|v| c.seccomp_profile = Some(v)),
            clear: |c| c.seccomp_profile = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.seccomp.allow_nesting",
            legacy: None,
            syntax: "0|1",
            doc: "1 loads the policy even where lxu already runs under a seccomp filter; \
                  otherwise it is not stacked on top.",
            record: Record::Last,
            set: |c, a| a.bool01().map(|b| c.seccomp_allow_nesting = b),
            clear: |c| c.seccomp_allow_nesting = false,
            show: Show::Value(|c| flag(c.seccomp_allow_nesting)),
        },
        SimpleKey {
            name: "lxc.seccomp.notify.proxy",
            legacy: None,
            syntax: "unix:PATH",
            doc: "The socket of a seccomp notification proxy. lxu checks the value and does not \
                  act on it.",
            record: Record::Last,
            set: |_, a| {
                a.text_if(a.value.starts_with("unix:"), "expected `unix:PATH`")
                    .map(drop)
            },
            clear: |_| {},
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.seccomp.notify.cookie",
            legacy: None,
            syntax: "TEXT",
            doc: "A cookie sent along to the notification proxy. lxu does not act on it.",
            record: Record::Last,
            set: |_, _| Ok(()),
            clear: |_| {},
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.no_new_privs",
            legacy: None,
            syntax: "0|1",
            doc: "1 sets no_new_privs for init and attached commands, so that no setuid program \
                  or file capability gives them more privileges.",
            record: Record::Last,
            set: |c, a| a.bool01().map(|b| c.no_new_privs = b),
            clear: |c| c.no_new_privs = false,
            show: Show::Value(|c| flag(c.no_new_privs)),
        },
    ],
    families: &[],
};

pub(super) const KERNEL: Section = Section {
    title: "Other kernel features",
    keys: &[
        SimpleKey {
            name: "lxc.keyring.session",
            legacy: None,
            syntax: "0|1",
            doc: "Whether init gets a new session keyring (LXC's default: 1). lxu checks the \
                  value and does not act on it.",
            record: Record::Last,
            set: |_, a| a.bool01().map(drop),
            clear: |_| {},
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.sched.core",
            legacy: None,
            syntax: "0|1",
            doc: "1 gives the container its own core-scheduling domain. lxu checks the value \
                  and does not act on it.",
            record: Record::Last,
            set: |_, a| a.bool01().map(drop),
            clear: |_| {},
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.time.offset.boot",
            legacy: None,
            syntax: "OFFSET",
            doc: "Shifts CLOCK_BOOTTIME in the container's time namespace by an integer with \
                  `h`, `m`, `s`, `ms`, `us` or `ns`. lxu checks the value and does not act on it.",
            record: Record::Last,
            set: |_, a| a.parse(check_time_offset),
            clear: |_| {},
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.time.offset.monotonic",
            legacy: None,
            syntax: "OFFSET",
            doc: "Shifts CLOCK_MONOTONIC the same way. lxu checks the value and does not act on \
                  it.",
            record: Record::Last,
            set: |_, a| a.parse(check_time_offset),
            clear: |_| {},
            show: Show::Recorded,
        },
    ],
    families: &[],
};
