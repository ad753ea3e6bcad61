//! The built-in `busybox` template: a system container from the host's busybox-static,
//! built in-process (LXC's shell template takes ~400 ms; this takes a few), with the same
//! recipe as the busybox image (`lxu-busybox`).

use std::path::Path;

use lxu_busybox::{Busybox as Recipe, BusyboxError, TreeOptions, HOST_BUSYBOX};

use crate::error::{Error, Result};

/// What the template needs from the host, gathered before entering the user namespace.
#[derive(Debug, Clone)]
pub(crate) struct Busybox {
    recipe: Recipe,
}

impl Busybox {
    pub(crate) fn probe() -> Result<Busybox> {
        let recipe =
            Recipe::probe(Path::new(HOST_BUSYBOX)).map_err(|source| Error::NoBusybox { source })?;
        Ok(Busybox { recipe })
    }

    /// Lines the template adds to the container's config.
    pub(crate) fn config_lines(&self) -> Vec<(&'static str, String)> {
        let mut lines: Vec<(&'static str, String)> = Recipe::CONFIG
            .iter()
            .map(|(k, v)| (*k, v.to_string()))
            .collect();
        lines.extend([
            ("lxc.tty.max", "4".into()),
            ("lxc.pty.max", "1024".into()),
            (
                "lxc.cap.drop",
                "sys_module mac_admin mac_override sys_time".into(),
            ),
            ("lxc.mount.auto", "cgroup:mixed proc:mixed sys:mixed".into()),
            (
                "lxc.mount.entry",
                "shm dev/shm tmpfs defaults,nosuid,nodev,create=dir 0 0".into(),
            ),
        ]);
        lines
    }

    /// Builds the root filesystem at `rootfs` (run as root of the container's user
    /// namespace, so everything is owned by the container's ids).
    pub(crate) fn build(
        &self,
        rootfs: &Path,
        name: &str,
        ttys: u32,
    ) -> std::result::Result<(), BusyboxError> {
        let days = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() / 86_400)
            .unwrap_or(0);
        self.recipe.build(
            rootfs,
            &TreeOptions {
                hostname: name,
                ttys,
                shadow_days: days,
            },
        )
    }
}
