//! Keys of the container as a whole: includes, identity, init, signals,
//! autostart, hooks, logging.

use super::{flag, Family, HookType, Record, Repeat, Section, Show, SimpleKey};
use crate::config::Config;
use crate::error::ConfigError;
use crate::keys::Assign;
use crate::line::words;
use crate::values::{parse_i32, parse_log_level, parse_u32, personality};

pub(super) const GENERAL: Section = Section {
    title: "General",
    keys: &[
        SimpleKey {
            name: "lxc.include",
            legacy: None,
            syntax: "PATH",
            doc: "Reads another configuration file at this point, or every `*.conf` file of a \
                  directory in name order. A relative path is relative to the current directory. \
                  An empty value forgets the includes listed so far; their settings stay.",
            record: Record::Own,
            set: |c, a| c.include(a),
            clear: |c| c.includes.clear(),
            show: Show::Value(|c| {
                let v: Vec<String> = c.includes.iter().map(|p| p.display().to_string()).collect();
                v.join("\n")
            }),
        },
        SimpleKey {
            name: "lxc.arch",
            legacy: None,
            syntax: "ARCH",
            doc: "The architecture of the container's userland (`x86_64`, `amd64`, `i686`, \
                  `aarch64`, …); names outside LXC's list are refused. lxu checks the value and \
                  does not act on it.",
            record: Record::Last,
            set: |c, a| {
                a.text_if(personality(a.value).is_some(), "unknown architecture")
                    .map(|v| c.arch = Some(v))
            },
            clear: |c| c.arch = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.uts.name",
            legacy: Some("lxc.utsname"),
            syntax: "NAME",
            doc: "The host name inside the container, at most 64 bytes.",
            record: Record::Last,
            set: |c, a| {
                a.text_if(a.value.len() <= 64, "host names are at most 64 bytes")
                    .map(|v| c.uts_name = Some(v))
            },
            clear: |c| c.uts_name = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.ephemeral",
            legacy: None,
            syntax: "0|1",
            doc: "1 destroys the container when it stops.",
            record: Record::Last,
            set: |c, a| a.bool01().map(|b| c.ephemeral = b),
            clear: |c| c.ephemeral = false,
            show: Show::Value(|c| flag(c.ephemeral)),
        },
        SimpleKey {
            name: "lxc.environment",
            legacy: None,
            syntax: "NAME=VALUE|NAME",
            doc: "A variable in the environment of init and of attached commands; a bare `NAME` \
                  passes on the value it has where the container is started. Repeatable.",
            record: Record::List,
            set: |c, a| {
                a.text_if(!a.value.starts_with('='), "expected `NAME=value` or `NAME`")
                    .map(|v| c.environment.push(v))
            },
            clear: |c| c.environment.clear(),
            show: Show::Recorded,
        },
    ],
    families: &[],
};

pub(super) const INIT: Section = Section {
    title: "Init process",
    keys: &[
        SimpleKey {
            name: "lxc.init.cmd",
            legacy: Some("lxc.init_cmd"),
            syntax: "COMMAND",
            doc: "The program the container boots, with its arguments (default `/sbin/init`).",
            record: Record::Last,
            set: |c, a| a.text().map(|v| c.init_cmd = Some(v)),
            clear: |c| c.init_cmd = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.init.cwd",
            legacy: None,
            syntax: "PATH",
            doc: "The working directory of init, inside the container (default `/`).",
            record: Record::Last,
            set: |c, a| a.text().map(|v| c.init_cwd = Some(v)),
            clear: |c| c.init_cwd = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.init.uid",
            legacy: Some("lxc.init_uid"),
            syntax: "UID",
            doc: "The user id init runs as, inside the container (default 0).",
            record: Record::Last,
            set: |c, a| a.uint().map(|n| c.init_uid = Some(n)),
            clear: |c| c.init_uid = None,
            show: Show::Value(|c| c.init_uid.unwrap_or(0).to_string()),
        },
        SimpleKey {
            name: "lxc.init.gid",
            legacy: Some("lxc.init_gid"),
            syntax: "GID",
            doc: "The group id init runs as, inside the container (default 0).",
            record: Record::Last,
            set: |c, a| a.uint().map(|n| c.init_gid = Some(n)),
            clear: |c| c.init_gid = None,
            show: Show::Value(|c| c.init_gid.unwrap_or(0).to_string()),
        },
        SimpleKey {
            name: "lxc.init.groups",
            legacy: None,
            syntax: "GID[,GID...]",
            doc: "Supplementary group ids of init, inside the container. Repeatable. lxu checks \
                  the value and does not act on it.",
            record: Record::List,
            set: set_init_groups,
            clear: |c| c.init_groups.clear(),
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.execute.cmd",
            legacy: None,
            syntax: "COMMAND",
            doc: "The command LXC's `lxc-execute` runs when it is given none; lxu's needs one \
                  and does not use this key.",
            record: Record::Last,
            set: |c, a| a.text().map(|v| c.execute_cmd = Some(v)),
            clear: |c| c.execute_cmd = None,
            show: Show::Recorded,
        },
    ],
    families: &[],
};

fn set_init_groups(c: &mut Config, a: &mut Assign<'_, '_>) -> Result<(), ConfigError> {
    let mut parsed = Vec::new();
    for g in a.value.split(',').filter(|g| !g.is_empty()) {
        let gid = parse_u32(g).ok_or_else(|| a.bad(format!("group `{g}` is not a numeric gid")))?;
        parsed.push(gid);
    }
    if parsed.is_empty() {
        return Err(a.bad("no group ids"));
    }
    c.init_groups.extend(parsed);
    Ok(())
}

pub(super) const SIGNALS: Section = Section {
    title: "Signals",
    keys: &[
        SimpleKey {
            name: "lxc.signal.halt",
            legacy: Some("lxc.haltsignal"),
            syntax: "SIGNAL",
            doc: "The signal that asks init to shut down (`lxc-stop`). Default: SIGRTMIN+3 when \
                  init blocks it (systemd does), else SIGPWR.",
            record: Record::Last,
            set: |c, a| a.signal().map(|s| c.signal_halt = Some(s)),
            clear: |c| c.signal_halt = None,
            show: Show::Value(|c| c.signal_halt.unwrap_or(0).to_string()),
        },
        SimpleKey {
            name: "lxc.signal.reboot",
            legacy: Some("lxc.rebootsignal"),
            syntax: "SIGNAL",
            doc: "The signal that asks init to reboot (`lxc-stop -r`, default SIGINT).",
            record: Record::Last,
            set: |c, a| a.signal().map(|s| c.signal_reboot = Some(s)),
            clear: |c| c.signal_reboot = None,
            show: Show::Value(|c| c.signal_reboot.unwrap_or(0).to_string()),
        },
        SimpleKey {
            name: "lxc.signal.stop",
            legacy: Some("lxc.stopsignal"),
            syntax: "SIGNAL",
            doc: "The signal that kills init (`lxc-stop -k`, default SIGKILL).",
            record: Record::Last,
            set: |c, a| a.signal().map(|s| c.signal_stop = Some(s)),
            clear: |c| c.signal_stop = None,
            show: Show::Value(|c| c.signal_stop.unwrap_or(0).to_string()),
        },
    ],
    families: &[],
};

pub(super) const AUTOSTART: Section = Section {
    title: "Autostart",
    keys: &[
        SimpleKey {
            name: "lxc.start.auto",
            legacy: None,
            syntax: "0|1",
            doc: "1 lets `lxc-autostart` start the container.",
            record: Record::Last,
            set: |c, a| a.bool01().map(|b| c.start_auto = b),
            clear: |c| c.start_auto = false,
            show: Show::Value(|c| flag(c.start_auto)),
        },
        SimpleKey {
            name: "lxc.start.delay",
            legacy: None,
            syntax: "SECONDS",
            doc: "How long `lxc-autostart` waits after starting the container before it starts \
                  the next one.",
            record: Record::Last,
            set: |c, a| a.uint().map(|n| c.start_delay = n),
            clear: |c| c.start_delay = 0,
            show: Show::Value(|c| c.start_delay.to_string()),
        },
        SimpleKey {
            name: "lxc.start.order",
            legacy: None,
            syntax: "INTEGER",
            doc: "The container's place in `lxc-autostart`'s order: lower values start first, \
                  and stop last.",
            record: Record::Last,
            set: |c, a| {
                let n = parse_i32(a.value).ok_or_else(|| a.bad("expected an integer"))?;
                c.start_order = n;
                Ok(())
            },
            clear: |c| c.start_order = 0,
            show: Show::Value(|c| c.start_order.to_string()),
        },
        SimpleKey {
            name: "lxc.group",
            legacy: None,
            syntax: "NAME...",
            doc: "Groups the container belongs to, which `lxc-autostart -g` selects; \
                  space-separated and repeatable.",
            record: Record::List,
            set: |c, a| {
                c.groups.extend(words(a.value).map(str::to_string));
                Ok(())
            },
            clear: |c| c.groups.clear(),
            show: Show::Value(|c| c.groups.join("\n")),
        },
    ],
    families: &[],
};

pub(super) const HOOKS: Section = Section {
    title: "Hooks",
    keys: &[SimpleKey {
        name: "lxc.hook.version",
        legacy: None,
        syntax: "0|1",
        doc: "How hooks learn about the container: 0 (the default) passes the container name, \
              `lxc`, the hook type and more as arguments; 1 passes only `LXC_*` environment \
              variables.",
        record: Record::Last,
        set: |c, a| {
            let n = a.uint()?;
            if n > 1 {
                return Err(a.bad("only hook versions 0 (legacy) and 1 exist"));
            }
            c.hook_version = n;
            Ok(())
        },
        clear: |c| c.hook_version = 0,
        show: Show::Value(|c| c.hook_version.to_string()),
    }],
    families: &[Family {
        prefix: "lxc.hook",
        legacy: None,
        suffix: "<name>",
        syntax: "COMMAND",
        doc: "A command run at the point of the container's life that <name> names, one of \
              the hook types under HOOKS. Repeatable: the commands of one type run in order.",
        repeat: Repeat::Append,
        bare: true,
        known: |t| HookType::from_name(t).is_some(),
        check: |_, _| Ok(()),
        values: |c| &c.hooks,
        values_mut: |c| &mut c.hooks,
    }],
};

pub(super) const LOGGING: Section = Section {
    title: "Logging and monitor",
    keys: &[
        SimpleKey {
            name: "lxc.log.file",
            legacy: Some("lxc.logfile"),
            syntax: "PATH",
            doc: "The container's log file, where lxu writes the warnings and errors of a start.",
            record: Record::Last,
            set: |c, a| a.path().map(|p| c.log_file = Some(p)),
            clear: |c| c.log_file = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.log.level",
            legacy: Some("lxc.loglevel"),
            syntax: "LEVEL",
            doc: "How much LXC logs: 0 (TRACE), 1 (DEBUG), 2 (INFO), 3 (NOTICE), 4 (WARN), \
                  5 (ERROR), 6 (CRIT), 7 (ALERT) or 8 (FATAL), by number or name. lxu checks the \
                  value and does not act on it.",
            record: Record::Last,
            set: |c, a| {
                let level = parse_log_level(a.value).ok_or_else(|| {
                    a.bad(
                        "expected 0..8 or TRACE, DEBUG, INFO, NOTICE, WARN, ERROR, CRIT, ALERT, \
                         FATAL",
                    )
                })?;
                c.log_level = Some(level);
                Ok(())
            },
            clear: |c| c.log_level = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.log.syslog",
            legacy: Some("lxc.syslog"),
            syntax: "FACILITY",
            doc: "Also log to syslog under this facility: `daemon` or `local0` … `local7`. lxu \
                  checks the value and does not act on it.",
            record: Record::Last,
            set: |c, a| {
                let ok = SYSLOG_FACILITIES
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(a.value));
                a.text_if(ok, "expected daemon or local0..local7")
                    .map(|v| c.log_syslog = Some(v))
            },
            clear: |c| c.log_syslog = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.monitor.unshare",
            legacy: None,
            syntax: "NUMBER",
            doc: "Non-zero makes LXC's monitor unshare its mount namespace before the container \
                  starts. lxu checks the value and does not act on it.",
            record: Record::Last,
            set: |_, a| a.uint().map(drop),
            clear: |_| {},
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.monitor.signal.pdeath",
            legacy: None,
            syntax: "SIGNAL",
            doc: "The signal LXC's monitor sends to init when the monitor's parent dies. lxu \
                  checks the value and does not act on it.",
            record: Record::Last,
            set: |_, a| a.signal().map(drop),
            clear: |_| {},
            show: Show::Recorded,
        },
    ],
    families: &[],
};

const SYSLOG_FACILITIES: &[&str] = &[
    "daemon", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];
