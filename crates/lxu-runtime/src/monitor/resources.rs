//! Host-side resources the monitor owns for the container's lifetime: its cgroups (and,
//! with networking, its network devices).

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use lxu_cgroup::{CgroupError, ContainerCgroup, Delegation, Hierarchies, Limit};
use rustix::process::Pid;

use crate::error::{Chain, Error, Result};
use crate::wire::init::{CgroupBind, Go};

/// The container's cgroups could not be set up or used.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error("{name}: {key} is set but cgroups cannot be read")]
    Unreadable {
        name: String,
        key: String,
        #[source]
        source: CgroupError,
    },
    #[error("{name}: {key} is set but no cgroup is delegated to {user} (run `lxu setup-user {user}` as root)")]
    NotDelegated {
        name: String,
        key: String,
        user: String,
    },
    /// `op` on the container's cgroup failed.
    #[error("{name}: {op}")]
    Cgroup {
        name: String,
        op: &'static str,
        #[source]
        source: CgroupError,
    },
    /// A cgroup setting (`lxc.cgroup.*`, `lxu cgroup`) could not be read or applied.
    #[error("{name}")]
    Setting {
        name: String,
        #[source]
        source: CgroupError,
    },
    /// The setting does not apply to the cgroups the container has.
    #[error("{name}: {key}: {reason}")]
    Skipped {
        name: String,
        key: String,
        reason: String,
    },
    #[error("{name}: give the container's root its cgroups")]
    Delegate {
        name: String,
        #[source]
        source: Box<Error>,
    },
    #[error("{name}: cannot {op}: the container has no freezer cgroup (no cgroup is delegated to this user; `lxu setup-user` as root does it)")]
    NoCgroup { name: String, op: &'static str },
}

impl From<ResourceError> for Error {
    fn from(e: ResourceError) -> Error {
        Error::Resource(Box::new(e))
    }
}

/// Cgroup state of one container. The layout is read in the monitor, while the id-map
/// helpers run, not on the start path before them.
pub(crate) struct Cgroups {
    pub(crate) hierarchies: Option<Hierarchies>,
    pub(crate) delegation: Option<Delegation>,
    pub(crate) cgroup: Option<ContainerCgroup>,
    pub(crate) v1: Vec<(String, String)>,
    pub(crate) v2: Vec<(String, String)>,
    pub(crate) euid: u32,
    pub(crate) user: String,
    /// A user-namespaced container: device-cgroup rules cannot be applied to it, so it
    /// gets no devices cgroup.
    pub(crate) unprivileged: bool,
    /// Give the container's root its cgroup directories (its init manages cgroups).
    pub(crate) delegate: Option<Delegate>,
}

/// How the container's cgroups are handed to its root. The caller cannot chown to another
/// uid; root of a user namespace that maps both the caller and the container's ids can
/// (the way LXC chowns them), at the price of one more pair of map helpers, so only
/// containers whose init builds a cgroup tree (systemd) pay it.
pub(crate) struct Delegate {
    /// The container's maps plus the caller's ids.
    pub(crate) maps: Vec<lxu_config::IdMap>,
    pub(crate) euid: u32,
    /// Host ids of the container's root, used directly when the caller is root.
    pub(crate) root: (u32, u32),
}

impl Delegate {
    /// Gives the container's root `targets`: directly when the caller is root, else as
    /// root of a user namespace that maps both the caller and the container's root.
    fn chown(&self, targets: &[PathBuf]) -> Result<()> {
        if self.euid == 0 {
            let (uid, gid) = self.root;
            return chown_all(targets, uid, gid)
                .map_err(|(path, e)| Error::io("chown", path, e.into()));
        }
        crate::ids::userns::run_as_root(&self.maps, self.euid, || {
            chown_all(targets, 0, 0).map_err(|(p, e)| format!("chown `{}`: {e}", p.display()))
        })
        .map(|_| ())
    }

    /// Removes what the container's root made below its cgroups, as that root.
    fn remove_subcgroups(&self, subs: &[PathBuf]) {
        let remove = || {
            lxu_cgroup::remove_dirs(subs, std::time::Duration::from_secs(2))
                .map_err(|e| Chain(&e).to_string())
        };
        if self.euid == 0 {
            let _ = remove();
        } else {
            let _ = crate::ids::userns::run_as_root(&self.maps, self.euid, remove);
        }
    }
}

/// The warning when the cgroup layout cannot be read and no limit needs it.
fn unavailable_warning(name: &str, e: &CgroupError) -> String {
    format!(
        "{name}: cgroups unavailable ({}); running without resource limits",
        Chain(e)
    )
}

fn chown_all(targets: &[PathBuf], uid: u32, gid: u32) -> Result<(), (&Path, rustix::io::Errno)> {
    for t in targets {
        rustix::fs::chown(
            t,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
        )
        .map_err(|e| (t.as_path(), e))?;
    }
    Ok(())
}

/// What the monitor needs to make the container's veth devices.
pub(crate) struct Nets {
    pub(crate) plans: Vec<crate::monitor::net::NetPlan>,
    pub(crate) euid: u32,
    /// The setuid `lxu-user-nic`.
    pub(crate) helper: PathBuf,
    pub(crate) lxcpath: PathBuf,
    /// Created for the current init.
    pub(crate) created: Vec<crate::monitor::net::Created>,
    /// A netlink socket inside the container's network namespace (from init).
    pub(crate) inside: Option<lxu_net::Netlink>,
    /// The container's network namespace, opened while init could still be opened (it
    /// is not dumpable later); kept until the helper's devices are deleted.
    pub(crate) netns: Option<OwnedFd>,
}

impl Nets {
    /// Deletes the devices made for the init that ended, then lets go of its network
    /// namespace: no line of them stays in the helper's database.
    fn release(&mut self, name: &str) {
        if let Some(ns) = self.netns.take() {
            lxu_sys::crash::point("monitor.nics-deleting");
            crate::monitor::net::delete_with_helper(
                &self.created,
                &ns,
                &self.helper,
                &self.lxcpath,
                name,
            );
        }
        // Holding a socket of the container's netns would keep it, and the veths, alive.
        self.inside = None;
        self.created.clear();
    }
}

/// Per-container host-side resources, owned by the monitor.
#[derive(Default)]
pub(crate) struct Resources {
    pub(crate) name: String,
    pub(crate) cgroups: Option<Cgroups>,
    pub(crate) nets: Option<Nets>,
    /// Said once to the user who started the container.
    pub(crate) warnings: Vec<String>,
    /// Whether the container's cgroups are shown under /sys/fs/cgroup inside.
    pub(crate) cgroup_mount: bool,
}

impl Resources {
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
            Err(source) => {
                if let Some(key) = limits {
                    return Err(ResourceError::Unreadable {
                        name: self.name.clone(),
                        key,
                        source,
                    }
                    .into());
                }
                self.warnings.push(unavailable_warning(&self.name, &source));
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
            if let Some(key) = limits {
                return Err(ResourceError::NotDelegated {
                    name: self.name.clone(),
                    key,
                    user: cg.user.clone(),
                }
                .into());
            }
            if let Some(w) = d.warning() {
                self.warnings.push(format!("{}: {w}", self.name));
            }
        } else {
            let created = ContainerCgroup::create(&h, &d, &self.name).map_err(|source| {
                ResourceError::Cgroup {
                    name: self.name.clone(),
                    op: "create the container's cgroup",
                    source,
                }
            })?;
            cg.cgroup = Some(created);
        }
        cg.hierarchies = Some(h);
        cg.delegation = Some(d);
        Ok(())
    }

    fn cgroup_error(&self, op: &'static str, source: CgroupError) -> ResourceError {
        ResourceError::Cgroup {
            name: self.name.clone(),
            op,
            source,
        }
    }

    fn setting_error(&self, source: CgroupError) -> ResourceError {
        ResourceError::Setting {
            name: self.name.clone(),
            source,
        }
    }

    /// The container's cgroup, once made.
    fn cgroup(&self) -> Option<&ContainerCgroup> {
        self.cgroups.as_ref().and_then(|c| c.cgroup.as_ref())
    }

    /// Cgroup directories to show inside the container under /sys/fs/cgroup, named like
    /// the host's mount points.
    fn cgroup_binds(&self) -> Vec<CgroupBind> {
        let Some(cg) = self.cgroup() else {
            return Vec::new();
        };
        cg.paths()
            .into_iter()
            .filter_map(|p| {
                let name = p.mountpoint.file_name()?.to_string_lossy().into_owned();
                Some(CgroupBind { host: p.path, name })
            })
            .collect()
    }

    /// `cgroup.procs` files of the container's cgroups (for attach).
    pub(crate) fn procs_files(&self) -> Vec<PathBuf> {
        match self.cgroup() {
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
    pub(crate) fn before_go(
        &mut self,
        pid: Pid,
        wait_netns: &mut dyn FnMut() -> Result<()>,
    ) -> Result<Go> {
        self.prepare_cgroups()?;
        lxu_sys::crash::point("monitor.cgroup-created");
        if let (Some(cg), Some(c)) = (&self.cgroups, self.cgroup()) {
            c.attach(pid.as_raw_nonzero().get() as u32)
                .map_err(|source| self.cgroup_error("move init into its cgroup", source))?;
            lxu_sys::crash::point("monitor.init-in-cgroup");
            c.apply(&cg.v1, &cg.v2)
                .map_err(|source| self.setting_error(source))?;
            if let Some(d) = &cg.delegate {
                d.chown(&c.delegation_targets())
                    .map_err(|source| ResourceError::Delegate {
                        name: self.name.clone(),
                        source: Box::new(source),
                    })?;
            }
        }
        let mut go = Go::default();
        if let Some(n) = &mut self.nets {
            wait_netns()?;
            lxu_sys::crash::point("monitor.netns-ready");
            let pid = pid.as_raw_nonzero().get();
            if n.euid != 0 {
                // Without it the devices still go with the namespace; only their lines
                // wait for the helper's next run.
                n.netns =
                    lxu_net::netns::open_checked(Path::new(&format!("/proc/{pid}/ns/net"))).ok();
            }
            crate::monitor::net::create(
                &n.plans,
                pid,
                n.euid,
                &n.helper,
                &n.lxcpath,
                &self.name,
                &mut n.created,
            )?;
            lxu_sys::crash::point("monitor.veth-created");
            go.nics = n.created.iter().map(|c| c.inside.clone()).collect();
        }
        if self.cgroup_mount {
            go.cgroups = self.cgroup_binds();
        }
        Ok(go)
    }

    /// Takes the netlink socket init opened in its network namespace.
    pub(crate) fn set_netlink(&mut self, fd: std::os::fd::OwnedFd) {
        if let Some(n) = &mut self.nets {
            n.inside = Some(lxu_net::Netlink::from_socket(lxu_sys::fd::netlink_socket(
                fd,
            )));
        }
    }

    /// Runs each time init has exited (also before a reboot): nothing of the container
    /// may survive it, not even a process that left the pid namespace's tree.
    pub(crate) fn after_stop(&mut self) {
        if let Some(n) = &mut self.nets {
            n.release(&self.name);
        }
        if let Some(c) = self.cgroup() {
            let _ = c.thaw();
            let _ = c.kill_all(lxu_cgroup::Signal::KILL);
        }
    }

    /// Runs once when the monitor exits: the container's cgroups go (LXC leaks one
    /// directory per start when unprivileged; removing as the user who created them
    /// avoids that).
    pub(crate) fn teardown(&mut self) {
        // A start that failed after making devices never had an init to end.
        if let Some(n) = &mut self.nets {
            n.release(&self.name);
        }
        let Some(cg) = self.cgroups.as_mut() else {
            return;
        };
        if let (Some(c), Some(d)) = (&cg.cgroup, &cg.delegate) {
            // What the container's root made below its cgroups is its own: removed as it.
            let subs = c.subcgroups();
            if !subs.is_empty() {
                d.remove_subcgroups(&subs);
            }
        }
        if let Some(c) = cg.cgroup.as_mut() {
            let _ = c.remove();
        }
    }

    pub(crate) fn freeze(&self) -> Result<()> {
        self.cgroup_or_err("freeze")?
            .freeze()
            .map_err(|source| self.cgroup_error("freeze", source).into())
    }

    pub(crate) fn thaw(&self) -> Result<()> {
        self.cgroup_or_err("unfreeze")?
            .thaw()
            .map_err(|source| self.cgroup_error("unfreeze", source).into())
    }

    /// `lxc-cgroup`: reads the cgroup file `key`, or writes `value` to it (with the same
    /// v1/v2 translation as `lxc.cgroup.*` lines).
    pub(crate) fn cgroup_item(&self, key: &str, value: Option<&str>) -> Result<String> {
        let c = self.cgroup_or_err("use cgroup files")?;
        let Some(v) = value else {
            return c
                .read_setting(key)
                .map_err(|source| self.setting_error(source).into());
        };
        let applied = c
            .apply(&[(key.to_string(), v.to_string())], &[])
            .map_err(|source| self.setting_error(source))?;
        if let Some(s) = applied.skipped.first() {
            return Err(ResourceError::Skipped {
                name: self.name.clone(),
                key: s.key.clone(),
                reason: s.reason.clone(),
            }
            .into());
        }
        Ok(String::new())
    }

    fn cgroup_or_err(&self, op: &'static str) -> Result<&ContainerCgroup> {
        self.cgroup().ok_or_else(|| {
            ResourceError::NoCgroup {
                name: self.name.clone(),
                op,
            }
            .into()
        })
    }

    /// Facts for `info`: network devices and cgroup counters.
    pub(crate) fn info_facts(&mut self, out: &mut Vec<(String, String)>) {
        if let Some(n) = &mut self.nets {
            let hosts: Vec<String> = n.created.iter().map(|c| c.host.clone()).collect();
            crate::monitor::net::info_facts(n.inside.as_mut(), &hosts, out);
        }
        let Some(Ok(s)) = self.cgroup().map(|c| c.stats()) else {
            return;
        };
        let mut num = |k: &str, v: Option<u64>| {
            if let Some(v) = v {
                out.push((k.to_string(), v.to_string()));
            }
        };
        num("memory_bytes", s.memory_bytes);
        num("kmem_bytes", s.kmem_bytes);
        num("cpu_ns", s.cpu_ns);
        num("pids", s.pids);
        num("blkio_bytes", s.blkio_bytes);
        if let Some(Limit::Value(v)) = s.memory_limit {
            num("memory_limit", Some(v));
        }
        if let Some(Limit::Value(v)) = s.pids_limit {
            num("pids_limit", Some(v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_warning_shows_the_errno() {
        let e = CgroupError::Read {
            path: "/proc/self/mountinfo".into(),
            source: std::io::Error::from_raw_os_error(libc_enoent()),
        };
        let w = unavailable_warning("c1", &e);
        assert_eq!(
            w,
            format!(
                "c1: cgroups unavailable (cannot read `/proc/self/mountinfo`: {}); running \
                 without resource limits",
                std::io::Error::from_raw_os_error(libc_enoent())
            )
        );
        assert!(w.contains("No such file or directory"), "{w}");
    }

    fn libc_enoent() -> i32 {
        rustix::io::Errno::NOENT.raw_os_error()
    }
}
