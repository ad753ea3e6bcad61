//! `lxu setup-user`: prepares a user for unprivileged containers (root).

use anyhow::{bail, Result};
use lxu_runtime::setup_user::{setup_user, SetupOptions};

use crate::args::SetupUserArgs;

pub fn run(a: SetupUserArgs) -> Result<i32> {
    let ctx = lxu_runtime::Context::new(None)?;
    if !ctx.is_root() && !a.dry_run {
        bail!("setup-user changes /etc/subuid, /etc/subgid and cgroups: run it as root (or with --dry-run)");
    }
    let opts = SetupOptions {
        dry_run: a.dry_run,
        bridge: a.bridge.clone(),
        quota: a.quota,
        nic_helper: ctx.libexec_dir.join("lxu-user-nic"),
        move_ids: a.move_ids,
    };
    let out = setup_user(&a.user, &opts)?;
    let verb = if a.dry_run { "would change" } else { "changed" };
    if out.changes.is_empty() {
        println!("{}: nothing to change", a.user);
    } else {
        println!("{}: {verb}:", a.user);
        for c in &out.changes {
            println!("  {c}");
        }
    }
    if let Some(r) = out.range {
        println!("{}: subordinate ids {r}", a.user);
    }
    if let Some(pid) = a.enter {
        let user = lxu_runtime::users::lookup_name(&a.user)
            .ok_or_else(|| anyhow::anyhow!("no user `{}`", a.user))?;
        let h = lxu_cgroup::Hierarchies::detect()?;
        for c in lxu_cgroup::enter_user_subtree(&h, &user.name, user.uid, user.gid, pid, a.dry_run)?
        {
            println!("  {c}");
        }
    }
    for p in &out.problems {
        println!("problem: {} (fix: {})", p.what, p.fix);
    }
    Ok(0)
}
