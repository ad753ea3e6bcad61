//! Facts about the host that both `lxu checkconfig` and `lxu --version` report.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The cgroup layout as people call it.
pub(crate) fn cgroup_layout(h: &lxu_cgroup::Hierarchies) -> &'static str {
    match (h.v1.is_empty(), h.v2.is_some()) {
        (true, true) => "unified (cgroup v2)",
        (false, true) => "hybrid (cgroup v1 controllers + a v2 hierarchy)",
        (false, false) => "legacy (cgroup v1)",
        (true, false) => "none",
    }
}

/// Whether `p` is owned by root with the setuid bit (a helper that can do what the caller
/// cannot).
pub(crate) fn setuid_root(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.uid() == 0 && m.mode() & 0o4000 != 0)
}

/// An integer sysctl from /proc/sys, if the kernel has it.
pub(crate) fn sysctl(name: &str) -> Option<u64> {
    let path = Path::new("/proc/sys").join(name.replace('.', "/"));
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}
