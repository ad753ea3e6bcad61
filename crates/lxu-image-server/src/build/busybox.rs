//! The busybox recipe: a complete system container made of one static binary.

use std::fs;
use std::path::Path;

use lxu_busybox::{Busybox, TreeOptions};

use super::{BuildError, Rootfs};
use crate::error::io_err;
use crate::meta::ConfigIncludes;
use crate::recipe::BusyboxRecipe;

pub(super) fn make(
    r: &BusyboxRecipe,
    rootfs: &Path,
    build_secs: u64,
) -> Result<Rootfs, BuildError> {
    let bb = Busybox::probe(&r.busybox)?;
    let version = bb.version.clone();
    fs::create_dir(rootfs).map_err(io_err("create", rootfs))?;
    bb.build(
        rootfs,
        &TreeOptions {
            // LXC's template files replace it with the container's name at create.
            hostname: "LXC_NAME",
            ttys: r.ttys,
            shadow_days: build_secs / 86_400,
        },
    )?;

    Ok(Rootfs {
        release: r.release.clone().unwrap_or_else(|| version.clone()),
        includes: ConfigIncludes::Generic,
        extra_config: Busybox::CONFIG
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect(),
        templates: vec!["/etc/hostname".into(), "/etc/hosts".into()],
        create_message: format!(
            "You just created a BusyBox {version} {{arch}} ({{serial}}) container.\n\n\
             root has no password: log in on the console or use lxc-attach.\n"
        ),
        owner: Some((0, 0)),
        min_compat_user: None,
    })
}
