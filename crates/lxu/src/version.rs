//! `lxu --version`: the version, the commit and C library it was built with, and which
//! optional features this host offers. Read from /proc and /sys only (no child process),
//! so it stays quick; `lxu checkconfig` tries things for real.

use std::fmt::Write as _;
use std::path::Path;

use crate::host::{cgroup_layout, setuid_root, sysctl};

/// The long version text, one fact a line.
pub(crate) fn text() -> String {
    let mut out = format!("lxu {}\n", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "commit: {}", env!("LXU_GIT_COMMIT"));
    let libc = if cfg!(target_env = "musl") {
        "musl"
    } else {
        "glibc"
    };
    let linking = if cfg!(target_feature = "crt-static") {
        "static"
    } else {
        "dynamic"
    };
    let _ = writeln!(out, "libc: {libc} ({linking})");
    out.push_str("host:\n");
    for (what, state) in host_features() {
        let _ = writeln!(out, "  {what}: {state}");
    }
    out
}

fn host_features() -> Vec<(&'static str, String)> {
    let mut f = Vec::new();
    let layout = match lxu_cgroup::Hierarchies::detect() {
        Ok(h) => cgroup_layout(&h).to_string(),
        Err(e) => format!("unreadable ({})", lxu_runtime::error::Chain(&e)),
    };
    f.push(("cgroup layout", layout));
    f.push(("user namespaces", user_namespaces()));
    f.push(("seccomp", seccomp()));
    let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y");
    f.push(("AppArmor", enabled(apparmor)));
    f.push((
        "SELinux",
        enabled(Path::new("/sys/fs/selinux/enforce").exists()),
    ));
    for helper in ["newuidmap", "newgidmap"] {
        let state = match lxu_runtime::idmap::helper_path(helper) {
            Some(p) => setuid_state(&p),
            None => "not found (apt-get install uidmap)".into(),
        };
        f.push((helper, state));
    }
    let nic = match lxu_runtime::Context::new(None) {
        Ok(ctx) => setuid_state(&ctx.libexec_dir.join("lxu-user-nic")),
        Err(e) => format!("unknown ({})", lxu_runtime::error::Chain(&e)),
    };
    f.push(("lxu-user-nic", nic));
    f
}

fn enabled(on: bool) -> String {
    if on { "enabled" } else { "not enabled" }.into()
}

fn setuid_state(p: &Path) -> String {
    let state = if setuid_root(p) {
        "setuid root"
    } else if p.exists() {
        "not setuid root"
    } else {
        "missing"
    };
    format!("{state} (`{}`)", p.display())
}

fn user_namespaces() -> String {
    match sysctl("user.max_user_namespaces") {
        None => "not in this kernel".into(),
        Some(0) => "disabled (user.max_user_namespaces = 0)".into(),
        // Debian's switch for unprivileged callers (root can still make them).
        _ if sysctl("kernel.unprivileged_userns_clone") == Some(0) => {
            "root only (kernel.unprivileged_userns_clone = 0)".into()
        }
        Some(n) => format!("enabled (user.max_user_namespaces = {n})"),
    }
}

fn seccomp() -> String {
    // The `Seccomp:` line exists with CONFIG_SECCOMP; the actions file with filters.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if !status.lines().any(|l| l.starts_with("Seccomp:")) {
        return "not in this kernel".into();
    }
    if Path::new("/proc/sys/kernel/seccomp/actions_avail").exists() {
        "filters".into()
    } else {
        "strict mode only (no filters)".into()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn says_version_commit_libc_and_host() {
        let t = super::text();
        assert!(
            t.starts_with(&format!("lxu {}\n", env!("CARGO_PKG_VERSION"))),
            "{t}"
        );
        for line in [
            "commit: ",
            "libc: ",
            "host:",
            "  cgroup layout: ",
            "  seccomp: ",
        ] {
            assert!(t.contains(line), "{line:?} missing in\n{t}");
        }
    }
}
