//! Host-side resources the monitor owns for the container's lifetime: its cgroups (and,
//! with networking, its network devices).

use std::path::PathBuf;

use lxu_cgroup::{ContainerCgroup, Delegation, Hierarchies, Limit};
use rustix::process::Pid;

use crate::error::{Error, Result};

/// Cgroup state of one container. The layout is read in the monitor, while the id-map
/// helpers run, not on the start path before them.
pub struct Cgroups {
    pub hierarchies: Option<Hierarchies>,
    pub delegation: Option<Delegation>,
    pub cgroup: Option<ContainerCgroup>,
    pub v1: Vec<(String, String)>,
    pub v2: Vec<(String, String)>,
    pub euid: u32,
    pub user: String,
    /// A user-namespaced container: device-cgroup rules cannot be applied to it, so it
    /// gets no devices cgroup.
    pub unprivileged: bool,
    /// Give the container's root its cgroup directories (its init manages cgroups).
    pub delegate: Option<Delegate>,
}

/// How the container's cgroups are handed to its root. The caller cannot chown to another
/// uid; root of a user namespace that maps both the caller and the container's ids can
/// (the way LXC chowns them), at the price of one more pair of map helpers, so only
/// containers whose init builds a cgroup tree (systemd) pay it.
pub struct Delegate {
    /// The container's maps plus the caller's ids.
    pub maps: Vec<lxu_config::IdMap>,
    pub euid: u32,
    /// Host ids of the container's root, used directly when the caller is root.
    pub root: (u32, u32),
}

impl Delegate {
    /// Runs `work` with the rights to change the caller's and the container's cgroups.
    fn run(&self, work: impl FnOnce() -> std::result::Result<(), String>) -> Result<()> {
        if self.euid == 0 {
            return work().map_err(Error::Msg);
        }
        crate::ids::userns::run_as_root(&self.maps, self.euid, work).map(|_| ())
    }

    /// The owner for `chown` as seen by [`Delegate::run`]'s work.
    fn owner(&self) -> (u32, u32) {
        if self.euid == 0 {
            self.root
        } else {
            (0, 0)
        }
    }
}

/// What the monitor needs to make the container's veth devices.
pub struct Nets {
    pub plans: Vec<crate::monitor::net::NetPlan>,
    pub euid: u32,
    /// The setuid `lxu-user-nic`.
    pub helper: PathBuf,
    pub lxcpath: PathBuf,
    /// Created for the current init.
    pub created: Vec<crate::monitor::net::Created>,
    /// A netlink socket inside the container's network namespace (from init).
    pub inside: Option<lxu_net::Netlink>,
}

/// Per-container host-side resources, owned by the monitor.
#[derive(Default)]
pub struct Hooks {
    pub name: String,
    pub cgroups: Option<Cgroups>,
    pub nets: Option<Nets>,
    /// Extra `key value` lines for `info`.
    pub info: Vec<String>,
    /// Said once to the user who started the container.
    pub warnings: Vec<String>,
    /// Whether the container's cgroups are shown under /sys/fs/cgroup inside.
    pub cgroup_mount: bool,
}

impl Hooks {
    /// Reads the cgroup layout and creates the container's cgroup (runs in the monitor:
    /// on cgroup v2 the monitor may have to move itself into a leaf). Limits that no
    /// delegated cgroup can carry are an error; no cgroups at all is a warning.
    fn prepare_cgroups(&mut self) -> Result<()> {
        let Some(cg) = &mut self.cgroups else {
            return Ok(());
        };
        if cg.hierarchies.is_some() {
            return Ok(());
        }
        let limits = cg
            .v1
            .first()
            .map(|(k, _)| format!("lxc.cgroup.{k}"))
            .or_else(|| cg.v2.first().map(|(k, _)| format!("lxc.cgroup2.{k}")));
        let h = match Hierarchies::detect() {
            Ok(h) => h,
            Err(e) => {
                if let Some(k) = limits {
                    return Err(Error::Msg(format!(
                        "{}: {k} is set but cgroups cannot be read: {e}",
                        self.name
                    )));
                }
                self.warnings.push(format!(
                    "{}: cgroups unavailable ({e}); running without resource limits",
                    self.name
                ));
                self.cgroups = None;
                return Ok(());
            }
        };
        let mut d = h.delegation(cg.euid);
        if cg.unprivileged {
            for hd in
                d.v1.iter_mut()
                    .filter(|hd| hd.controllers.iter().any(|c| c == "devices"))
            {
                hd.state = lxu_cgroup::DelegationState::NotWritable {
                    reason: "device rules cannot be applied in a user namespace".into(),
                };
            }
        }
        if !d.any_usable() {
            if let Some(k) = limits {
                return Err(Error::Msg(format!(
                    "{}: {k} is set but no cgroup is delegated to {} (run `lxu setup-user {}` as root)",
                    self.name, cg.user, cg.user
                )));
            }
            if let Some(w) = d.warning() {
                self.warnings.push(format!("{}: {w}", self.name));
            }
        } else {
            let created = ContainerCgroup::create(&h, &d, &self.name).map_err(|e| {
                Error::Msg(format!("{}: create the container's cgroup: {e}", self.name))
            })?;
            cg.cgroup = Some(created);
        }
        cg.hierarchies = Some(h);
        cg.delegation = Some(d);
        Ok(())
    }

    /// Cgroup directories to show inside the container under /sys/fs/cgroup, named like
    /// the host's mount points.
    pub fn cgroup_binds(&self) -> Vec<(PathBuf, String)> {
        let Some(cg) = self.cgroups.as_ref().and_then(|c| c.cgroup.as_ref()) else {
            return Vec::new();
        };
        cg.paths()
            .into_iter()
            .filter_map(|p| {
                let name = p.mountpoint.file_name()?.to_string_lossy().into_owned();
                Some((p.path, name))
            })
            .collect()
    }

    /// `cgroup.procs` files of the container's cgroups (for attach).
    pub fn procs_files(&self) -> Vec<PathBuf> {
        match self.cgroups.as_ref().and_then(|c| c.cgroup.as_ref()) {
            Some(cg) => cg
                .paths()
                .into_iter()
                .map(|p| p.path.join("cgroup.procs"))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Runs on the fresh init before it continues, while the id-map helpers run (its uid
    /// is still the caller's, which cgroup v1 requires for the move). Returns what init
    /// must know: its network devices, and the cgroup directories to show inside.
    pub fn before_go(
        &mut self,
        pid: Pid,
        wait_netns: &mut dyn FnMut() -> Result<()>,
    ) -> Result<String> {
        self.prepare_cgroups()?;
        if let Some(cg) = &self.cgroups {
            if let Some(c) = &cg.cgroup {
                c.attach(pid.as_raw_nonzero().get() as u32).map_err(|e| {
                    Error::Msg(format!("{}: move init into its cgroup: {e}", self.name))
                })?;
                c.apply(&cg.v1, &cg.v2)
                    .map_err(|e| Error::Msg(format!("{}: {e}", self.name)))?;
                if let Some(d) = &cg.delegate {
                    let targets = c.delegation_targets();
                    let (uid, gid) = d.owner();
                    d.run(|| {
                        for t in &targets {
                            rustix::fs::chown(
                                t,
                                Some(rustix::fs::Uid::from_raw(uid)),
                                Some(rustix::fs::Gid::from_raw(gid)),
                            )
                            .map_err(|e| format!("chown `{}`: {e}", t.display()))?;
                        }
                        Ok(())
                    })
                    .map_err(|e| {
                        Error::Msg(format!(
                            "{}: give the container's root its cgroups: {e}",
                            self.name
                        ))
                    })?;
                }
            }
        }
        let mut go = String::new();
        if let Some(n) = &mut self.nets {
            wait_netns()?;
            n.created = crate::monitor::net::create(
                &n.plans,
                pid.as_raw_nonzero().get(),
                n.euid,
                &n.helper,
                &n.lxcpath,
                &self.name,
            )?;
            go = crate::monitor::net::encode(&n.created);
        }
        if self.cgroup_mount {
            for (host, target) in self.cgroup_binds() {
                go.push_str(&format!("\nbind\t{}\t{target}", host.display()));
            }
        }
        Ok(go)
    }

    /// Takes the netlink socket init opened in its network namespace.
    pub fn set_netlink(&mut self, fd: std::os::fd::OwnedFd) {
        if let Some(n) = &mut self.nets {
            n.inside = Some(lxu_net::Netlink::from_socket(lxu_sys::fd::netlink_socket(
                fd,
            )));
        }
    }

    /// Runs each time init has exited (also before a reboot): nothing of the container
    /// may survive it, not even a process that left the pid namespace's tree.
    pub fn after_stop(&mut self) {
        // Holding a socket of the container's netns would keep it, and the veths, alive.
        if let Some(n) = &mut self.nets {
            n.inside = None;
            n.created.clear();
        }
        if let Some(c) = self.cgroups.as_ref().and_then(|c| c.cgroup.as_ref()) {
            let _ = c.thaw();
            let _ = c.kill_all(lxu_cgroup::Signal::KILL);
        }
    }

    /// Runs once when the monitor exits: the container's cgroups go (LXC leaks one
    /// directory per start when unprivileged; removing as the user who created them
    /// avoids that).
    pub fn teardown(&mut self) {
        let Some(cg) = self.cgroups.as_mut() else {
            return;
        };
        if let (Some(c), Some(d)) = (&cg.cgroup, &cg.delegate) {
            // What the container's root made below its cgroups is its own: removed as it.
            let subs = c.subcgroups();
            if !subs.is_empty() {
                let _ = d.run(|| {
                    lxu_cgroup::remove_dirs(&subs, std::time::Duration::from_secs(2))
                        .map_err(|e| e.to_string())
                });
            }
        }
        if let Some(c) = cg.cgroup.as_mut() {
            let _ = c.remove();
        }
    }

    pub fn freeze(&self) -> Result<()> {
        let c = self.cgroup_or_err("freeze")?;
        c.freeze()
            .map_err(|e| Error::Msg(format!("{}: freeze: {e}", self.name)))
    }

    pub fn thaw(&self) -> Result<()> {
        let c = self.cgroup_or_err("unfreeze")?;
        c.thaw()
            .map_err(|e| Error::Msg(format!("{}: unfreeze: {e}", self.name)))
    }

    /// `lxc-cgroup`: reads the cgroup file `key`, or writes `value` to it (with the same
    /// v1/v2 translation as `lxc.cgroup.*` lines).
    pub fn cgroup_item(&self, key: &str, value: Option<&str>) -> Result<String> {
        let c = self.cgroup_or_err("use cgroup files")?;
        let err = |e: lxu_cgroup::CgroupError| Error::Msg(format!("{}: {e}", self.name));
        match value {
            None => c.read_setting(key).map_err(err),
            Some(v) => {
                let applied = c
                    .apply(&[(key.to_string(), v.to_string())], &[])
                    .map_err(err)?;
                if let Some(s) = applied.skipped.first() {
                    return Err(Error::Msg(format!(
                        "{}: {}: {}",
                        self.name, s.key, s.reason
                    )));
                }
                Ok(String::new())
            }
        }
    }

    fn cgroup_or_err(&self, what: &str) -> Result<&ContainerCgroup> {
        self.cgroups
            .as_ref()
            .and_then(|c| c.cgroup.as_ref())
            .ok_or_else(|| {
                Error::Msg(format!(
                    "{}: cannot {what}: the container has no freezer cgroup (no cgroup is delegated to this user; `lxu setup-user` as root does it)",
                    self.name
                ))
            })
    }

    pub fn info_lines(&mut self) -> Vec<String> {
        let mut out = self.info.clone();
        if let Some(n) = &mut self.nets {
            let hosts: Vec<String> = n.created.iter().map(|c| c.host.clone()).collect();
            out.extend(crate::monitor::net::info_lines(n.inside.as_mut(), &hosts));
        }
        if let Some(c) = self.cgroups.as_ref().and_then(|c| c.cgroup.as_ref()) {
            if let Ok(s) = c.stats() {
                let mut num = |k: &str, v: Option<u64>| {
                    if let Some(v) = v {
                        out.push(format!("{k} {v}"));
                    }
                };
                num("memory_bytes", s.memory_bytes);
                num("kmem_bytes", s.kmem_bytes);
                num("cpu_ns", s.cpu_ns);
                num("pids", s.pids);
                num("blkio_bytes", s.blkio_bytes);
                if let Some(Limit::Value(v)) = s.memory_limit {
                    out.push(format!("memory_limit {v}"));
                }
                if let Some(Limit::Value(v)) = s.pids_limit {
                    out.push(format!("pids_limit {v}"));
                }
            }
        }
        out
    }
}
