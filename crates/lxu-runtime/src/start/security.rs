//! `lxc.seccomp.*`, `lxc.no_new_privs`, `lxc.apparmor.profile` and `lxc.selinux.context`:
//! decided before anything runs (a profile error fails `lxu start` with its file and
//! line, before any process exists) and applied by init and by attached commands as
//! their last step before exec.

use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use lxu_config::Config;
use lxu_sys::seccomp::SockFilter;

use crate::error::{ContainerError, Error, Result};

/// What a process entering the container applies before exec.
#[derive(Clone, Default)]
pub struct Security {
    /// The compiled `lxc.seccomp.profile`.
    pub seccomp: Option<Vec<SockFilter>>,
    pub no_new_privs: bool,
    /// AppArmor profile to change to at exec (AppArmor is enabled here).
    pub apparmor: Option<String>,
    /// SELinux context to take at exec (SELinux is enabled here).
    pub selinux: Option<String>,
    /// For the user and the container log: what is configured and cannot be applied.
    pub warnings: Vec<String>,
}

impl fmt::Debug for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Security")
            .field("seccomp", &self.seccomp.as_ref().map(Vec::len))
            .field("no_new_privs", &self.no_new_privs)
            .field("apparmor", &self.apparmor)
            .field("selinux", &self.selinux)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// What this host offers, read once per start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLsm {
    pub apparmor: bool,
    pub selinux: bool,
    /// The `Seccomp:` mode lxu itself runs under (None: the kernel has no seccomp).
    pub seccomp_mode: Option<u32>,
}

impl HostLsm {
    pub fn probe() -> HostLsm {
        let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
            .is_ok_and(|s| s.trim() == "Y");
        let selinux = Path::new("/sys/fs/selinux/enforce").exists();
        // prctl rather than /proc/self/status (what LXC reads): a tenth of the cost.
        // EINVAL: a kernel built without seccomp.
        let seccomp_mode = match rustix::thread::secure_computing_mode() {
            Ok(rustix::thread::SecureComputingMode::Disabled) => Some(0),
            Ok(rustix::thread::SecureComputingMode::Strict) => Some(1),
            Ok(_) => Some(2),
            Err(_) => None,
        };
        HostLsm {
            apparmor,
            selinux,
            seccomp_mode,
        }
    }
}

impl Security {
    /// Whether [`Security::apply_before_exec`] writes an LSM label, and so needs the
    /// host's procfs from [`open_host_proc`].
    pub fn needs_proc(&self) -> bool {
        self.apparmor.is_some() || self.selinux.is_some()
    }

    /// Reads and compiles what `config` asks for; `name` prefixes messages.
    pub fn prepare(config: &Config, name: &str, host: HostLsm) -> Result<Security> {
        let mut s = Security {
            no_new_privs: config.no_new_privs,
            ..Default::default()
        };
        if let Some(path) = config.seccomp_profile.as_deref().filter(|p| !p.is_empty()) {
            s.seccomp = seccomp(
                path,
                name,
                config.seccomp_allow_nesting,
                host,
                &mut s.warnings,
            )?;
        }
        s.apparmor = apparmor(config, name, host, &mut s.warnings);
        if let Some(ctx) = config.selinux_context.as_deref().filter(|c| !c.is_empty()) {
            if host.selinux {
                s.selinux = Some(ctx.to_string());
            } else {
                s.warnings.push(format!(
                    "{name}: SELinux is not enabled on this host: lxc.selinux.context `{ctx}` is not applied"
                ));
            }
        }
        Ok(s)
    }

    /// In the process about to exec the container's program, after its last identity
    /// change: LSM labels for the exec, no_new_privs, then the seccomp filter (last, so
    /// that nothing lxu itself does is filtered).
    ///
    /// `proc` is the host's procfs from [`open_host_proc`], needed when an LSM label is
    /// set ([`Security::needs_proc`]).
    pub fn apply_before_exec(
        &self,
        proc: Option<BorrowedFd<'_>>,
    ) -> std::result::Result<(), String> {
        let no_proc =
            || "the host's /proc was not opened before entering the container".to_string();
        if let Some(p) = &self.apparmor {
            let proc = proc.ok_or_else(no_proc)?;
            set_exec_label(
                proc,
                &["thread-self/attr/apparmor/exec", "thread-self/attr/exec"],
                &format!("exec {p}"),
            )
            .map_err(|e| format!("set the AppArmor profile `{p}` (lxc.apparmor.profile): {e}"))?;
        }
        if let Some(c) = &self.selinux {
            let proc = proc.ok_or_else(no_proc)?;
            set_exec_label(proc, &["thread-self/attr/exec"], c)
                .map_err(|e| format!("set the SELinux context `{c}` (lxc.selinux.context): {e}"))?;
        }
        if self.no_new_privs {
            rustix::thread::set_no_new_privs(true)
                .map_err(|e| format!("set no_new_privs (lxc.no_new_privs): {e}"))?;
        }
        if let Some(prog) = &self.seccomp {
            // Without CAP_SYS_ADMIN in its user namespace (lxc.init.uid, attach -u) the
            // kernel takes a filter only from a process that set no_new_privs.
            let admin = rustix::thread::capabilities(None).is_ok_and(|c| {
                c.effective
                    .contains(rustix::thread::CapabilitySet::SYS_ADMIN)
            });
            if !admin && !self.no_new_privs {
                rustix::thread::set_no_new_privs(true)
                    .map_err(|e| format!("set no_new_privs to load the seccomp profile: {e}"))?;
            }
            lxu_sys::seccomp::set_filter(prog)
                .map_err(|e| format!("load the seccomp profile (lxc.seccomp.profile): {e}"))?;
        }
        Ok(())
    }
}

fn seccomp(
    path: &str,
    name: &str,
    allow_nesting: bool,
    host: HostLsm,
    warnings: &mut Vec<String>,
) -> Result<Option<Vec<SockFilter>>> {
    let fail = |problem| Error::container(name, problem);
    let arch = lxu_seccomp::Host::native().ok_or_else(|| fail(ContainerError::SeccompArch))?;
    let profile = lxu_seccomp::Profile::load(Path::new(path))
        .map_err(|e| fail(ContainerError::Seccomp(e)))?;
    let compiled =
        lxu_seccomp::compile(&profile, arch).map_err(|e| fail(ContainerError::Seccomp(e)))?;
    warnings.extend(
        compiled
            .warnings
            .iter()
            .map(|w| format!("{name}: lxc.seccomp.profile: {w}")),
    );
    match host.seccomp_mode {
        None => {
            warnings.push(format!(
                "{name}: this kernel has no seccomp: lxc.seccomp.profile `{path}` is not applied"
            ));
            return Ok(None);
        }
        // LXC stacks no second filter on a process that already has one unless asked.
        Some(m) if m != 0 && !allow_nesting => {
            warnings.push(format!(
                "{name}: lxu already runs under a seccomp filter: lxc.seccomp.profile `{path}` is not loaded on top (lxc.seccomp.allow_nesting = 1 stacks it)"
            ));
            return Ok(None);
        }
        _ => {}
    }
    Ok(Some(
        compiled
            .program
            .iter()
            .map(|i| lxu_sys::seccomp::insn(i.code, i.jt, i.jf, i.k))
            .collect(),
    ))
}

/// The profile to change to at exec, if any; warns about what cannot be had.
fn apparmor(
    config: &Config,
    name: &str,
    host: HostLsm,
    warnings: &mut Vec<String>,
) -> Option<String> {
    let profile = config
        .apparmor_profile
        .as_deref()
        .filter(|p| !p.is_empty())?;
    match (profile, host.apparmor) {
        // Nothing to do: no confinement asked, or the caller's own kept.
        ("unconfined" | "unchanged", _) => None,
        ("generated", true) => {
            warnings.push(format!(
                "{name}: lxc.apparmor.profile = generated: lxu does not generate AppArmor profiles (loading one needs root and apparmor_parser); the container keeps lxu's own AppArmor confinement"
            ));
            None
        }
        (p, false) => {
            warnings.push(format!(
                "{name}: AppArmor is not enabled on this host: lxc.apparmor.profile `{p}` is not applied"
            ));
            None
        }
        (p, true) => Some(p.to_string()),
    }
}

/// The host's procfs, opened before the process enters the container's mount namespace.
///
/// The /proc of the container is whatever its root mounted there: a tmpfs with a plain
/// file at `self/attr/exec`, or a real procfs file bind-mounted onto that name, takes the
/// label without complaint and the command runs unconfined (CVE-2015-1334's pattern). A
/// lookup from this descriptor stays on the host's procfs mount, which no one in the
/// container can mount on. Opened close-on-exec; the processes that hold it are not
/// dumpable, so the container cannot take it from them.
pub fn open_host_proc() -> std::io::Result<OwnedFd> {
    let fd = rustix::fs::open(
        "/proc",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    on_procfs(fd.as_fd())?;
    Ok(fd)
}

fn on_procfs(fd: BorrowedFd<'_>) -> std::io::Result<()> {
    if rustix::fs::fstatfs(fd)?.f_type != rustix::fs::PROC_SUPER_MAGIC {
        return Err(std::io::Error::other("not a procfs file"));
    }
    Ok(())
}

/// Writes `value` to the first of `names` (below the procfs `proc`) that exists (the
/// AppArmor-specific file, where the kernel stacks LSMs, comes first). `thread-self`:
/// the label is the calling thread's.
fn set_exec_label(proc: BorrowedFd<'_>, names: &[&str], value: &str) -> std::io::Result<()> {
    let mut last = std::io::Error::from(std::io::ErrorKind::NotFound);
    for name in names {
        let flags = OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::NOCTTY | OFlags::CLOEXEC;
        match rustix::fs::openat(proc, *name, flags, Mode::empty()) {
            Ok(fd) => {
                use std::io::Write;
                on_procfs(fd.as_fd())?;
                return std::fs::File::from(fd).write_all(value.as_bytes());
            }
            Err(e) => last = e.into(),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: HostLsm = HostLsm {
        apparmor: false,
        selinux: false,
        seccomp_mode: Some(0),
    };

    fn config(lines: &str) -> Config {
        let mut c = Config::default();
        let loc = lxu_config::Location {
            file: "/t/config".into(),
            line: 1,
        };
        for l in lines.lines() {
            let (k, v) = l.split_once('=').unwrap();
            c.apply(k.trim(), v.trim(), &loc).unwrap();
        }
        c
    }

    #[test]
    fn lsm_profiles_without_the_lsm_warn() {
        let c = config("lxc.apparmor.profile = lxc-container-default-cgns\nlxc.selinux.context = system_u:system_r:lxc_t:s0");
        let s = Security::prepare(&c, "c1", NONE).unwrap();
        assert_eq!(s.apparmor, None);
        assert_eq!(s.selinux, None);
        assert_eq!(
            s.warnings,
            vec![
                "c1: AppArmor is not enabled on this host: lxc.apparmor.profile `lxc-container-default-cgns` is not applied",
                "c1: SELinux is not enabled on this host: lxc.selinux.context `system_u:system_r:lxc_t:s0` is not applied",
            ]
        );
        for quiet in ["unconfined", "unchanged"] {
            let c = config(&format!("lxc.apparmor.profile = {quiet}"));
            assert!(Security::prepare(&c, "c1", NONE)
                .unwrap()
                .warnings
                .is_empty());
        }
        let c = config("lxc.apparmor.profile = generated");
        assert_eq!(Security::prepare(&c, "c1", NONE).unwrap().warnings.len(), 1);
    }

    #[test]
    fn lsm_profiles_with_the_lsm_are_applied() {
        let host = HostLsm {
            apparmor: true,
            selinux: true,
            ..NONE
        };
        let c =
            config("lxc.apparmor.profile = lxc-container-default\nlxc.selinux.context = u:r:t:s0");
        let s = Security::prepare(&c, "c1", host).unwrap();
        assert_eq!(s.apparmor.as_deref(), Some("lxc-container-default"));
        assert_eq!(s.selinux.as_deref(), Some("u:r:t:s0"));
        assert!(s.warnings.is_empty());
        let c = config("lxc.apparmor.profile = generated");
        let s = Security::prepare(&c, "c1", host).unwrap();
        assert_eq!(s.apparmor, None);
        assert!(s.warnings[0].contains("does not generate"));
    }

    #[test]
    fn seccomp_errors_name_file_and_line_and_nesting_follows_lxc() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.seccomp");
        std::fs::write(&bad, "2\ndenylist\nsethostname errno x\n").unwrap();
        let c = config(&format!("lxc.seccomp.profile = {}", bad.display()));
        let e = Security::prepare(&c, "c1", NONE).unwrap_err();
        let e = crate::error::Chain(&e).to_string();
        assert!(e.contains(&format!("{}:3: ", bad.display())), "{e}");

        let good = dir.path().join("good.seccomp");
        std::fs::write(&good, "2\ndenylist\nsethostname errno 1\n").unwrap();
        let c = config(&format!("lxc.seccomp.profile = {}", good.display()));
        assert!(Security::prepare(&c, "c1", NONE).unwrap().seccomp.is_some());
        let nested = HostLsm {
            seccomp_mode: Some(2),
            ..NONE
        };
        let s = Security::prepare(&c, "c1", nested).unwrap();
        assert!(s.seccomp.is_none());
        assert!(s.warnings[0].contains("allow_nesting"), "{:?}", s.warnings);
        let c = config(&format!(
            "lxc.seccomp.profile = {}\nlxc.seccomp.allow_nesting = 1",
            good.display()
        ));
        assert!(Security::prepare(&c, "c1", nested)
            .unwrap()
            .seccomp
            .is_some());

        let c = config("lxc.seccomp.profile = /nonexistent/p.seccomp");
        let e = Security::prepare(&c, "c1", NONE).unwrap_err();
        let e = crate::error::Chain(&e).to_string();
        assert!(
            e.starts_with("c1: lxc.seccomp.profile: /nonexistent/p.seccomp: cannot read"),
            "{e}"
        );
    }
}

/// A hostile container's root controls the /proc of the container's mount namespace,
/// where an attached command takes its LSM label: it mounts a tmpfs there with a plain
/// file at `self/attr/apparmor/exec` (CVE-2015-1334's pattern). Writing the label there
/// succeeds and confines nothing: the command would run without its profile. The label
/// must reach the real procfs of the process, or fail.
#[cfg(test)]
mod fake_proc {
    use super::*;

    /// Exit codes of the child: the label went nowhere, it went to the fake file.
    const SAFE: i32 = 0;
    const WRITTEN_TO_FAKE: i32 = 1;

    /// The attack: a tmpfs on /proc with plain files where the label goes.
    fn fake_proc() -> std::io::Result<()> {
        crate::test_support::tmpfs_on_proc()?;
        std::fs::create_dir_all("/proc/self/attr/apparmor")?;
        std::fs::write("/proc/self/attr/apparmor/exec", "")?;
        std::fs::write("/proc/self/attr/exec", "")
    }

    fn in_fake_proc(s: &Security) -> Option<i32> {
        crate::test_support::in_private_userns(|| {
            // Opened before the container's /proc is in place, as attach and init do.
            let Ok(host) = open_host_proc() else {
                return crate::test_support::NO_SETUP;
            };
            if fake_proc().is_err() {
                return crate::test_support::NO_SETUP;
            }
            let _ = s.apply_before_exec(Some(host.as_fd()));
            let fake = std::fs::read_to_string("/proc/self/attr/apparmor/exec").unwrap_or_default()
                + &std::fs::read_to_string("/proc/self/attr/exec").unwrap_or_default();
            if fake.is_empty() {
                SAFE
            } else {
                WRITTEN_TO_FAKE
            }
        })
    }

    #[test]
    fn the_label_never_goes_to_a_proc_the_container_made() {
        let s = Security {
            apparmor: Some("lxu-test-profile".into()),
            selinux: Some("system_u:system_r:lxu_test_t:s0".into()),
            ..Default::default()
        };
        if let Some(code) = in_fake_proc(&s) {
            assert_eq!(
                code, SAFE,
                "the label was written to the container's fake /proc"
            );
        }
    }
}
