//! LXC's `lxc.hook.*`: programs a container's config runs at fixed points of its life,
//! called the way LXC calls them so that existing hook scripts (lxcfs's, for one) work.
//!
//! Where each type runs (LXC's order):
//! - `pre-start`: the monitor, on the host, as the caller, before any namespace exists;
//! - `pre-mount`, `mount`, `autodev`: init, inside the container's namespaces as its root,
//!   before the rootfs is mounted / after all mounts / after /dev is built, with the host's
//!   filesystem still visible and the rootfs at `LXC_ROOTFS_MOUNT`;
//! - `start-host`: the monitor, on the host, once init is set up and before it executes
//!   `lxc.init.cmd` (`LXC_PID` is init's pid);
//! - `start`: inside the container after pivot_root, just before `lxc.init.cmd`;
//! - `stop`: the monitor, on the host, after init died, with references to the container's
//!   namespaces (`mnt:/proc/PID/fd/N` arguments); `post-stop`: after everything is gone;
//! - `clone`: `lxu copy`, as root of the new container's user namespace, after its rootfs
//!   is copied;
//! - `destroy`: `lxu destroy`, on the host, before the container's files are removed.
//!
//! A hook is a shell command line, run with `/bin/sh -c`; version 0 (the default) appends
//! `NAME lxc TYPE [extra…]` as arguments, `lxc.hook.version = 1` passes the type in
//! `LXC_HOOK_TYPE` instead. A hook that fails before init runs fails the start.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use lxu_config::{Config, HookType};

use crate::error::ContainerError;

/// The `lxc.hook.*` lines of one container and the environment LXC gives every hook.
#[derive(Debug, Clone, Default)]
pub struct HookSet {
    pub name: String,
    pub version: u32,
    pub hooks: Vec<(HookType, String)>,
    pub env: Vec<(String, String)>,
}

/// Where the rootfs is mounted while mount hooks run: a directory every id can reach
/// (the rootfs's own path is usually below a 0700 home the container's root cannot search).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootfsMount {
    /// On top of the rootfs directory itself (no hook needs a path to it).
    InPlace,
    /// On this directory (`lxc.rootfs.mount`, or lxu's own like LXC's
    /// `/usr/lib/<arch>/lxc/rootfs`).
    At(PathBuf),
}

/// Decides where the rootfs is mounted: `lxc.rootfs.mount` when set (it must exist), else
/// `default` when a hook needs a path to it and the install made it, else in place (root
/// and a home the container's root can search still reach it through its own path).
pub(crate) fn rootfs_mount(
    config: &Config,
    hooks_need_it: bool,
    default: &Path,
) -> Result<RootfsMount, ContainerError> {
    if let Some(p) = &config.rootfs_mount {
        return if p.is_dir() {
            Ok(RootfsMount::At(p.clone()))
        } else {
            Err(ContainerError::RootfsMount { path: p.clone() })
        };
    }
    if hooks_need_it && default.is_dir() {
        return Ok(RootfsMount::At(default.to_path_buf()));
    }
    Ok(RootfsMount::InPlace)
}

/// Whether a hook that runs inside the container before pivot_root is configured: only
/// those need the rootfs at a path every id can reach.
pub fn need_rootfs_path(hooks: &[(HookType, String)]) -> bool {
    hooks
        .iter()
        .any(|(t, _)| matches!(t, HookType::PreMount | HookType::Mount | HookType::Autodev))
}

impl HookSet {
    /// `config_file` is the file the config was read from (`LXC_CONFIG_FILE`), `rootfs` the
    /// rootfs directory, `mount` where it is mounted while hooks run.
    pub fn new(
        name: &str,
        config: &Config,
        config_file: &Path,
        rootfs: &Path,
        mount: &RootfsMount,
    ) -> HookSet {
        let mount_path = match mount {
            RootfsMount::InPlace => rootfs,
            RootfsMount::At(p) => p.as_path(),
        };
        let mut env = vec![
            ("LXC_NAME".to_string(), name.to_string()),
            (
                "LXC_CONFIG_FILE".to_string(),
                config_file.display().to_string(),
            ),
            (
                "LXC_ROOTFS_MOUNT".to_string(),
                mount_path.display().to_string(),
            ),
            ("LXC_ROOTFS_PATH".to_string(), rootfs.display().to_string()),
            ("LXC_CGNS_AWARE".to_string(), "1".to_string()),
        ];
        if let Some(c) = config.console_path.as_deref().filter(|c| *c != "none") {
            env.push(("LXC_CONSOLE".to_string(), c.to_string()));
        }
        if let Some(l) = &config.console_logfile {
            env.push(("LXC_CONSOLE_LOGPATH".to_string(), l.display().to_string()));
        }
        HookSet {
            name: name.to_string(),
            version: config.hook_version,
            hooks: config.hooks.clone(),
            env,
        }
    }

    pub fn has(&self, t: HookType) -> bool {
        self.hooks.iter().any(|(h, _)| *h == t)
    }

    /// Runs every hook of type `t` in config order, stopping at the first that fails.
    /// `extra_env` comes on top of LXC's variables; `clear_env` starts from an empty
    /// environment instead of the caller's (the `start` hook runs inside the container
    /// with init's environment). `ns` are the `(type, path)` namespace references of a
    /// `stop` hook.
    pub fn run(
        &self,
        t: HookType,
        extra_env: &[(String, String)],
        clear_env: bool,
        ns: &[(String, String)],
    ) -> Result<(), String> {
        for (_, cmd) in self.hooks.iter().filter(|(h, _)| *h == t) {
            self.run_one(t, cmd, extra_env, clear_env, ns, None)?;
        }
        Ok(())
    }

    /// Runs the hooks of type `t` inside the container (after pivot_root), from an empty
    /// environment plus `extra_env`. The container's `/bin/sh` is executed through the
    /// trampoline's descriptor (see `sealed_exec`): if it were `#!/proc/self/exe` (or
    /// named any other procfs mount), executed by this lxu process it would run the
    /// host's lxu. No path through `/proc` is used for it: an earlier hook, the
    /// container's own shell, may have replaced `/proc` with links of its choosing.
    pub fn run_in_container(
        &self,
        t: HookType,
        extra_env: &[(String, String)],
        trampoline: &crate::start::sealed_exec::Trampoline,
    ) -> Result<(), String> {
        let via = trampoline.fd().map(|_| trampoline);
        for (_, cmd) in self.hooks.iter().filter(|(h, _)| *h == t) {
            self.run_one(t, cmd, extra_env, true, &[], via)?;
        }
        Ok(())
    }

    fn run_one(
        &self,
        t: HookType,
        cmd: &str,
        extra_env: &[(String, String)],
        clear_env: bool,
        ns: &[(String, String)],
        via: Option<&crate::start::sealed_exec::Trampoline>,
    ) -> Result<(), String> {
        let mut env: Vec<(String, String)> = Vec::new();
        let mut set = |k: String, v: String| {
            env.retain(|(a, _)| *a != k);
            env.push((k, v));
        };
        for (k, v) in extra_env.iter().chain(self.env.iter()) {
            set(k.clone(), v.clone());
        }
        if self.version >= 1 {
            set("LXC_HOOK_TYPE".into(), t.name().into());
            set("LXC_HOOK_SECTION".into(), "lxc".into());
            for (kind, path) in ns {
                set(
                    format!("LXC_{}_NS", kind.to_ascii_uppercase()),
                    path.clone(),
                );
            }
        }
        let args = argv(self.version, cmd, &self.name, t, ns);
        let what = format!("lxc.hook.{} `{cmd}`", t.name());
        if let Some(tr) = via {
            // Only inside the container, where the environment always starts empty.
            let mut full = vec!["/bin/sh".to_string()];
            full.extend(args);
            let (status, out) = tr
                .run_captured(&full, &env)
                .map_err(|e| format!("{what}: cannot run /bin/sh: {e}"))?;
            return hook_result(&what, status, &out, &[]);
        }
        let mut c = Command::new("/bin/sh");
        if clear_env {
            c.env_clear();
        }
        c.envs(env.iter().map(|(k, v)| (k, v)));
        c.args(args);
        let out = c
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{what}: cannot run /bin/sh: {e}"))?;
        hook_result(&what, out.status, &out.stderr, &out.stdout)
    }
}

/// Ok for a hook that succeeded; else what it did and the last lines it printed.
fn hook_result(
    what: &str,
    status: std::process::ExitStatus,
    stderr: &[u8],
    stdout: &[u8],
) -> Result<(), String> {
    if status.success() {
        return Ok(());
    }
    let how = match (
        status.code(),
        std::os::unix::process::ExitStatusExt::signal(&status),
    ) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => "failed".to_string(),
    };
    let said = tail(stderr, stdout);
    Err(if said.is_empty() {
        format!("{what} {how}")
    } else {
        format!("{what} {how}: {said}")
    })
}

/// `sh`'s arguments: the command line, then (version 0) LXC's arguments as positional
/// parameters appended with `"$@"`, so that a container name never passes through the
/// shell's parser.
fn argv(version: u32, cmd: &str, name: &str, t: HookType, ns: &[(String, String)]) -> Vec<String> {
    if version >= 1 {
        return vec!["-c".to_string(), cmd.to_string()];
    }
    let mut a = vec![
        "-c".to_string(),
        format!("{cmd} \"$@\""),
        "sh".to_string(),
        name.to_string(),
        "lxc".to_string(),
        t.name().to_string(),
    ];
    a.extend(ns.iter().map(|(k, p)| format!("{k}:{p}")));
    a
}

/// The last few lines a failed hook printed (stderr first), on one line.
fn tail(stderr: &[u8], stdout: &[u8]) -> String {
    let text = if stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        stderr
    } else {
        stdout
    };
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let start = lines.len().saturating_sub(3);
    lines[start..].join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> HookSet {
        let config = Config::parse_str(text, Path::new("/c/config")).unwrap();
        HookSet::new(
            "c1",
            &config,
            Path::new("/c/config"),
            Path::new("/c/rootfs"),
            &RootfsMount::At("/m".into()),
        )
    }

    fn env_of(s: &HookSet, k: &str) -> Option<String> {
        s.env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn version_0_appends_lxcs_arguments_as_positional_parameters() {
        let a = argv(0, "/h/x -v", "c$1", HookType::Mount, &[]);
        assert_eq!(a, ["-c", "/h/x -v \"$@\"", "sh", "c$1", "lxc", "mount"]);
        let ns = [("mnt".to_string(), "/proc/9/fd/4".to_string())];
        let a = argv(0, "/h/x", "c1", HookType::Stop, &ns);
        assert_eq!(a[3..], ["c1", "lxc", "stop", "mnt:/proc/9/fd/4"]);
    }

    #[test]
    fn version_1_passes_no_arguments() {
        assert_eq!(
            argv(1, "/h/x a", "c1", HookType::Start, &[]),
            ["-c", "/h/x a"]
        );
    }

    #[test]
    fn environment_and_order_follow_the_config() {
        let s = set("lxc.hook.mount = /a\nlxc.hook.pre-start = /p\nlxc.hook.mount = /b\nlxc.console.logfile = /log\n");
        assert_eq!(env_of(&s, "LXC_NAME").as_deref(), Some("c1"));
        assert_eq!(env_of(&s, "LXC_ROOTFS_MOUNT").as_deref(), Some("/m"));
        assert_eq!(env_of(&s, "LXC_ROOTFS_PATH").as_deref(), Some("/c/rootfs"));
        assert_eq!(env_of(&s, "LXC_CONFIG_FILE").as_deref(), Some("/c/config"));
        assert_eq!(env_of(&s, "LXC_CONSOLE_LOGPATH").as_deref(), Some("/log"));
        assert!(s.has(HookType::PreStart) && need_rootfs_path(&s.hooks));
        let mounts: Vec<&str> = s
            .hooks
            .iter()
            .filter(|(t, _)| *t == HookType::Mount)
            .map(|(_, c)| c.as_str())
            .collect();
        assert_eq!(mounts, ["/a", "/b"]);
        assert!(!need_rootfs_path(&set("lxc.hook.start = /s\n").hooks));
    }

    #[test]
    fn a_failing_hook_says_which_how_and_what_it_printed() {
        let s = set("lxc.hook.pre-start = echo out; echo one >&2; echo two >&2; exit 3\nlxc.hook.pre-start = touch /nonexistent-never-run\n");
        let e = s.run(HookType::PreStart, &[], false, &[]).unwrap_err();
        assert_eq!(
            e,
            "lxc.hook.pre-start `echo out; echo one >&2; echo two >&2; exit 3` exited with status 3: one / two"
        );
        let s = set("lxc.hook.post-stop = kill -9 $$\n");
        let e = s.run(HookType::PostStop, &[], false, &[]).unwrap_err();
        assert!(e.ends_with("was killed by signal 9"), "{e}");
    }

    #[test]
    fn hooks_see_lxcs_arguments_and_variables() {
        let dir = std::env::temp_dir().join(format!("lxu-hook-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let s = set(&format!(
            "lxc.hook.start = echo \"$LXC_NAME $LXC_ROOTFS_MOUNT $X\" > {o}; echo >> {o}\n",
            o = out.display()
        ));
        let extra = [("X".to_string(), "y".to_string())];
        s.run(HookType::Start, &extra, true, &[]).unwrap();
        // Version 0: `echo >> out` got `c1 lxc start` appended.
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "c1 /m y\nc1 lxc start\n"
        );
        let v1 = set(&format!(
            "lxc.hook.version = 1\nlxc.hook.stop = echo \"$LXC_HOOK_TYPE $LXC_HOOK_SECTION $LXC_NET_NS $#\" > {}\n",
            out.display()
        ));
        let ns = [("net".to_string(), "/proc/1/fd/5".to_string())];
        v1.run(HookType::Stop, &[], false, &ns).unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "stop lxc /proc/1/fd/5 0\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The container's `/bin/sh` runs each start hook. If an earlier hook (that same shell,
/// the container's) replaced `/proc` with a tmpfs and kept a procfs elsewhere, a `/bin/sh`
/// of `#!<procfs>/self/exe` executed by path from this lxu process runs the host's lxu
/// binary in the container (CVE-2019-5736's primitive). Replayed in a user and mount
/// namespace, with the test binary standing in for lxu.
#[cfg(test)]
mod proc_swapped {
    use super::*;

    const SAFE: i32 = 0;
    const HOST_BINARY_RAN: i32 = 1;

    #[test]
    fn a_start_hook_never_reaches_the_host_binary() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().to_path_buf();
        let hooks = HookSet::new(
            "c1",
            &Config::parse_str("lxc.hook.start = echo hi\n", Path::new("/c/config")).unwrap(),
            Path::new("/c/config"),
            Path::new("/c/rootfs"),
            &RootfsMount::InPlace,
        );
        // An earlier hook's work: a procfs kept at p2, a tmpfs on /proc, and a /bin/sh
        // whose interpreter is p2/self/exe.
        let swap_proc = || -> std::io::Result<()> {
            use rustix::mount::{mount_bind, mount_bind_recursive};
            let p2 = dir.join("p2");
            std::fs::create_dir(&p2)?;
            mount_bind_recursive("/proc", &p2)?;
            crate::test_support::tmpfs_on_proc()?;
            let sh = dir.join("sh");
            std::fs::write(&sh, format!("#!{}/self/exe\n", p2.display()))?;
            std::fs::set_permissions(&sh, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
            mount_bind(&sh, "/bin/sh")?;
            Ok(())
        };
        let code = crate::test_support::in_private_userns(|| {
            let Ok(t) = crate::start::sealed_exec::Trampoline::new() else {
                return crate::test_support::NO_SETUP;
            };
            if swap_proc().is_err() {
                return crate::test_support::NO_SETUP;
            }
            let said = hooks
                .run_in_container(HookType::Start, &[], &t)
                .err()
                .unwrap_or_default();
            eprintln!("hook: {said}");
            if said.contains("exec trampoline") {
                SAFE
            } else {
                HOST_BINARY_RAN
            }
        });
        if let Some(c) = code {
            assert_eq!(
                c, SAFE,
                "the hook's /bin/sh ran the test binary (lxu's stand-in)"
            );
        }
    }
}
