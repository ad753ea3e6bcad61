//! Everything the container's init process will do, decided in the monitor before the
//! clone, so configuration errors surface before any namespace exists and the child only
//! executes a fixed list of steps.

use std::path::PathBuf;

use lxu_config::{Config, IdKind, MountEntry, NetType, ProcMode, SysMode};

use crate::container::Container;
use crate::error::{Error, Result};
use crate::ids::idmap;
use crate::start::mountopts::{self, MountOptions};

/// One `lxc.mount.entry` ready to mount.
#[derive(Debug, Clone)]
pub struct Entry {
    pub source: String,
    pub target: String,
    pub fstype: String,
    pub opts: MountOptions,
    /// Where it came from (`file:line`), for error messages.
    pub origin: String,
    pub text: String,
}

/// The init process's recipe.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub userns: bool,
    pub rootfs: PathBuf,
    pub hostname: String,
    pub proc_mode: Option<ProcMode>,
    pub sys_mode: Option<SysMode>,
    /// The container has its own network namespace (sysfs can be mounted fresh).
    pub own_netns: bool,
    pub autodev: bool,
    pub console: bool,
    pub ttys: u32,
    pub pty_max: u32,
    pub tty_dir: Option<String>,
    /// Group of the devpts instance (5 = tty) when that gid is mapped.
    pub devpts_gid: Option<u32>,
    pub entries: Vec<Entry>,
    /// `lxc.mount.auto` asks for the container's cgroups under /sys/fs/cgroup (the
    /// monitor sends the directories with the go-ahead, once they exist).
    pub cgroup_mount: bool,
    /// veth devices to configure inside (created on the host by the monitor).
    pub nets: Vec<crate::monitor::net::NetPlan>,
    pub cap_drop: Vec<u32>,
    pub cap_keep: Option<Vec<u32>>,
    pub rlimits: Vec<(rustix::process::Resource, rustix::process::Rlimit)>,
    /// `(path below the root, value)` of each `lxc.sysctl.*`.
    pub sysctls: Vec<(String, String)>,
    pub env: Vec<(String, String)>,
    pub argv: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    /// `lxc.hook.*`: init runs the pre-mount, mount, autodev and start hooks and waits for
    /// the monitor's start-host hooks.
    pub hooks: crate::hooks::HookSet,
    pub rootfs_mount: crate::hooks::RootfsMount,
    /// init is systemd: it builds its own cgroup tree and halts on SIGRTMIN+3.
    pub init_is_systemd: bool,
    /// `lxu execute`: pid 1 is a reaper and the command its child.
    pub execute: bool,
    /// The command keeps the caller's stdin, stdout and stderr (not a terminal).
    pub inherit_stdio: bool,
    /// seccomp, no_new_privs and LSM labels, applied right before exec.
    pub security: crate::start::security::Security,
}

/// Whether `cmd` inside `rootfs` resolves to a program called `systemd` (`/sbin/init` is a
/// symlink to `/lib/systemd/systemd` on systemd distributions). Absolute links are
/// followed inside the rootfs; a handful of hops at most.
pub fn is_systemd(rootfs: &std::path::Path, cmd: &str) -> bool {
    let mut path = std::path::PathBuf::from(cmd);
    for _ in 0..8 {
        if path.file_name().is_some_and(|n| n == "systemd") {
            return true;
        }
        let Some(rel) = path.strip_prefix("/").ok().map(|r| r.to_path_buf()) else {
            return false;
        };
        let Ok(target) = std::fs::read_link(rootfs.join(&rel)) else {
            return false;
        };
        path = if target.is_absolute() {
            target
        } else {
            match path.parent() {
                Some(dir) => dir.join(target),
                None => return false,
            }
        };
    }
    false
}

fn entry_from(e: &MountEntry) -> Entry {
    Entry {
        source: e.source.clone(),
        target: e.target.clone(),
        fstype: e.fstype.clone(),
        opts: mountopts::parse(&e.options),
        origin: e.loc.to_string(),
        text: format!(
            "{} {} {} {}",
            e.source,
            e.target,
            e.fstype,
            e.options.join(",")
        ),
    }
}

/// The default environment of init, as LXC sets it up.
fn base_env(plan_ttys: &[String]) -> Vec<(String, String)> {
    let mut env = vec![
        ("container".to_string(), "lxc".to_string()),
        (
            "PATH".to_string(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        ),
        ("TERM".to_string(), "linux".to_string()),
    ];
    if !plan_ttys.is_empty() {
        env.push(("container_ttys".to_string(), plan_ttys.join(" ")));
    }
    env
}

impl Plan {
    /// Builds the plan; `init_override` is a command given to `lxu start` after the options.
    pub fn build(
        c: &Container,
        config: &Config,
        euid: u32,
        init_override: &[String],
    ) -> Result<Plan> {
        let rootfs = c.rootfs_dir(config).ok_or_else(|| match &config.rootfs {
            None => Error::Msg(format!(
                "{}: no lxc.rootfs.path in `{}`",
                c.name,
                c.config_path().display()
            )),
            Some(r) => Error::Msg(format!(
                "{}: rootfs `{}` is not supported (only directory rootfs)",
                c.name, r.spec
            )),
        })?;
        match std::fs::metadata(&rootfs) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::Msg(format!(
                    "{}: rootfs `{}` is not a directory",
                    c.name,
                    rootfs.display()
                )))
            }
            Err(e) => {
                return Err(Error::Msg(format!(
                    "{}: rootfs `{}` is missing: {e}",
                    c.name,
                    rootfs.display()
                )))
            }
        }
        let userns = !config.idmaps.is_empty();
        if userns {
            for kind in [IdKind::Uid, IdKind::Gid] {
                if idmap::host_id(&config.idmaps, kind, 0).is_none() {
                    let k = if kind == IdKind::Uid { "u" } else { "g" };
                    return Err(Error::Msg(format!(
                        "{}: lxc.idmap maps no container root for `{k}` (need a line `{k} 0 HOSTID COUNT`)",
                        c.name
                    )));
                }
            }
        } else if euid != 0 {
            return Err(Error::Msg(format!(
                "{}: an unprivileged container needs lxc.idmap lines in `{}` (e.g. `lxc.idmap = u 0 100000 65536` and `lxc.idmap = g 0 100000 65536`; `lxu setup-user` writes them into default.conf)",
                c.name,
                c.config_path().display()
            )));
        }
        let own_netns = !config
            .networks
            .iter()
            .any(|n| matches!(n.kind, NetType::None));
        for n in &config.networks {
            match n.kind {
                NetType::Empty | NetType::None => {}
                NetType::Veth => {}
                ref other if euid != 0 => {
                    return Err(Error::Msg(format!(
                        "{}: lxc.net.{}.type = {other:?} is not possible for an unprivileged container (use veth or empty)",
                        c.name, n.index
                    )))
                }
                _ => {}
            }
        }
        let mut entries: Vec<Entry> = Vec::new();
        if let Some(fstab) = &config.mount_fstab {
            let text = std::fs::read_to_string(fstab)
                .map_err(|e| Error::io("read lxc.mount.fstab", fstab, e))?;
            for e in lxu_config::parse_fstab(&text, fstab)? {
                entries.push(entry_from(&e));
            }
        }
        entries.extend(config.mount_entries.iter().map(entry_from));

        let cap_drop = caps(&config.cap_drop, "lxc.cap.drop")?;
        let cap_keep = if config.cap_keep_mode {
            Some(caps(&config.cap_keep, "lxc.cap.keep")?)
        } else {
            None
        };

        let console = config
            .console_path
            .as_deref()
            .map(|p| p != "none")
            .unwrap_or(true);
        let argv: Vec<String> = if !init_override.is_empty() {
            init_override.to_vec()
        } else {
            config
                .init_cmd
                .as_deref()
                .unwrap_or("/sbin/init")
                .split_whitespace()
                .map(str::to_string)
                .collect()
        };
        if argv.is_empty() {
            return Err(Error::Msg(format!("{}: lxc.init.cmd is empty", c.name)));
        }
        let devpts_gid = if !userns || idmap::host_id(&config.idmaps, IdKind::Gid, 5).is_some() {
            Some(5)
        } else {
            None
        };
        let tty_names: Vec<String> = (1..=config.tty_max).map(|i| format!("tty{i}")).collect();
        let mut env = base_env(&tty_names);
        for e in &config.environment {
            match e.split_once('=') {
                Some((k, v)) => env.push((k.to_string(), v.to_string())),
                None => {
                    if let Ok(v) = std::env::var(e) {
                        env.push((e.clone(), v));
                    }
                }
            }
        }
        let init_is_systemd = is_systemd(&rootfs, &argv[0]);
        let security = crate::start::security::Security::prepare(
            config,
            &c.name,
            crate::start::security::HostLsm::probe(),
        )?;
        Ok(Plan {
            name: c.name.clone(),
            userns,
            rootfs,
            hostname: config.uts_name.clone().unwrap_or_else(|| c.name.clone()),
            proc_mode: config.mount_auto.proc,
            sys_mode: config.mount_auto.sys,
            own_netns,
            autodev: config.autodev,
            console,
            ttys: config.tty_max,
            pty_max: config.pty_max,
            tty_dir: config.tty_dir.clone().filter(|d| !d.is_empty()),
            devpts_gid,
            entries,
            cgroup_mount: config.mount_auto.cgroup.is_some() || config.mount_auto.cgroup2.is_some(),
            nets: crate::monitor::net::plan(config, &c.name)?,
            cap_drop,
            cap_keep,
            rlimits: config
                .prlimits
                .iter()
                .map(|(k, v)| crate::start::limits::parse_prlimit(k, v))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| Error::Msg(format!("{}: {e}", c.name)))?,
            sysctls: config
                .sysctls
                .iter()
                .map(|(k, v)| {
                    crate::start::limits::sysctl_path(k)
                        .map(|p| (p, v.clone()))
                        .ok_or_else(|| {
                            Error::Msg(format!("{}: lxc.sysctl.{k}: not a sysctl name", c.name))
                        })
                })
                .collect::<Result<_>>()?,
            env,
            argv,
            cwd: config.init_cwd.clone().unwrap_or_else(|| "/".to_string()),
            uid: config.init_uid.unwrap_or(0),
            gid: config.init_gid.unwrap_or(0),
            init_is_systemd,
            execute: false,
            inherit_stdio: false,
            security,
            hooks: crate::hooks::HookSet::default(),
            rootfs_mount: crate::hooks::RootfsMount::InPlace,
        })
    }
}

fn caps(names: &[String], key: &str) -> Result<Vec<u32>> {
    names
        .iter()
        .map(|n| {
            lxu_config::cap_number(n)
                .ok_or_else(|| Error::Msg(format!("{key}: unknown capability `{n}`")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::is_systemd;
    use std::os::unix::fs::symlink;

    #[test]
    fn systemd_is_found_through_links_inside_the_rootfs() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        std::fs::create_dir_all(r.join("usr/lib/systemd")).unwrap();
        std::fs::create_dir_all(r.join("usr/sbin")).unwrap();
        std::fs::write(r.join("usr/lib/systemd/systemd"), "").unwrap();
        // Merged /usr: /sbin and /lib are relative links, /sbin/init an absolute one.
        symlink("usr/sbin", r.join("sbin")).unwrap();
        symlink("usr/lib", r.join("lib")).unwrap();
        symlink("/lib/systemd/systemd", r.join("usr/sbin/init")).unwrap();
        assert!(is_systemd(r, "/sbin/init"));
        assert!(is_systemd(r, "/lib/systemd/systemd"));
        symlink("/bin/busybox", r.join("usr/sbin/busybox-init")).unwrap();
        assert!(!is_systemd(r, "/sbin/busybox-init"));
        assert!(!is_systemd(r, "/sbin/missing"));
        // A loop ends.
        symlink("/sbin/loop", r.join("usr/sbin/loop")).unwrap();
        assert!(!is_systemd(r, "/sbin/loop"));
    }
}
