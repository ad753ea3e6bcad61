//! Everything the container's init process will do, decided by `lxu start` before the
//! monitor starts, so configuration errors surface before any process or namespace exists
//! and init only executes a fixed list of steps.

use std::path::PathBuf;

use lxu_config::{Config, IdKind, MountEntry, NetType, ProcMode, SysMode};

use crate::container::Container;
use crate::error::{ContainerError, Error, Result};
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
        let fail = |problem| Error::container(&c.name, problem);
        let rootfs = rootfs(c, config).map_err(fail)?;
        let userns = !config.idmaps.is_empty();
        check_ids_and_nets(c, config, euid).map_err(fail)?;
        let own_netns = !config
            .networks
            .iter()
            .any(|n| matches!(n.kind, NetType::None));
        let entries = mount_entries(config)?;
        let cap_drop = caps(&config.cap_drop, "lxc.cap.drop")?;
        let cap_keep = if config.cap_keep_mode {
            Some(caps(&config.cap_keep, "lxc.cap.keep")?)
        } else {
            None
        };
        let argv = init_argv(config, init_override).map_err(fail)?;
        let devpts_gid = if !userns || idmap::host_id(&config.idmaps, IdKind::Gid, 5).is_some() {
            Some(5)
        } else {
            None
        };
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
            console: config
                .console_path
                .as_deref()
                .map(|p| p != "none")
                .unwrap_or(true),
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
                .map_err(fail)?,
            sysctls: sysctls(config).map_err(fail)?,
            env: init_env(config),
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

/// The rootfs directory, which must exist.
fn rootfs(c: &Container, config: &Config) -> Result<PathBuf, ContainerError> {
    let rootfs = c.rootfs_dir(config).ok_or_else(|| match &config.rootfs {
        None => ContainerError::NoRootfs {
            config: c.config_path(),
        },
        Some(r) => ContainerError::RootfsBackend {
            spec: r.spec.clone(),
        },
    })?;
    match std::fs::metadata(&rootfs) {
        Ok(m) if m.is_dir() => Ok(rootfs),
        Ok(_) => Err(ContainerError::RootfsNotDir { path: rootfs }),
        Err(source) => Err(ContainerError::RootfsMissing {
            path: rootfs,
            source,
        }),
    }
}

/// What an unprivileged caller needs: a container root in the id map, and network types
/// a user namespace can have.
fn check_ids_and_nets(c: &Container, config: &Config, euid: u32) -> Result<(), ContainerError> {
    if !config.idmaps.is_empty() {
        for (kind, letter) in [(IdKind::Uid, 'u'), (IdKind::Gid, 'g')] {
            if idmap::host_id(&config.idmaps, kind, 0).is_none() {
                return Err(ContainerError::NoRootMap { kind: letter });
            }
        }
    } else if euid != 0 {
        return Err(ContainerError::NoIdmap {
            config: c.config_path(),
        });
    }
    if euid == 0 {
        return Ok(());
    }
    for n in &config.networks {
        if !matches!(n.kind, NetType::Empty | NetType::None | NetType::Veth) {
            return Err(ContainerError::NetType {
                index: n.index,
                kind: format!("{:?}", n.kind),
            });
        }
    }
    Ok(())
}

/// `lxc.mount.fstab`'s lines, then the `lxc.mount.entry` lines.
fn mount_entries(config: &Config) -> Result<Vec<Entry>> {
    let mut entries: Vec<Entry> = Vec::new();
    if let Some(fstab) = &config.mount_fstab {
        let text = std::fs::read_to_string(fstab)
            .map_err(|e| Error::io("read lxc.mount.fstab", fstab, e))?;
        for e in lxu_config::parse_fstab(&text, fstab)? {
            entries.push(entry_from(&e));
        }
    }
    entries.extend(config.mount_entries.iter().map(entry_from));
    Ok(entries)
}

/// The command init executes: the one given to `lxu start`, else `lxc.init.cmd`.
fn init_argv(config: &Config, init_override: &[String]) -> Result<Vec<String>, ContainerError> {
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
        return Err(ContainerError::EmptyInit);
    }
    Ok(argv)
}

/// LXC's environment of init plus `lxc.environment` (`NAME` alone passes the caller's).
fn init_env(config: &Config) -> Vec<(String, String)> {
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
    env
}

/// `(path below the root, value)` of each `lxc.sysctl.*`.
fn sysctls(config: &Config) -> Result<Vec<(String, String)>, ContainerError> {
    config
        .sysctls
        .iter()
        .map(|(k, v)| {
            crate::start::limits::sysctl_path(k)
                .map(|p| (p, v.clone()))
                .ok_or_else(|| ContainerError::BadSysctl { key: k.clone() })
        })
        .collect()
}

fn caps(names: &[String], key: &'static str) -> Result<Vec<u32>> {
    names
        .iter()
        .map(|n| {
            lxu_config::cap_number(n).ok_or_else(|| Error::UnknownCapability {
                key,
                cap: n.clone(),
            })
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
