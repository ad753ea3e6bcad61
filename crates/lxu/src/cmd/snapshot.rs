//! `lxu snapshot` (`lxc-snapshot`): take (default), list (-L), restore (-r) or destroy
//! (-d) snapshots.

use anyhow::Result;
use lxu_runtime::snapshot;

use crate::args::{name_and_rest, SnapshotArgs};
use crate::progress::CopyBar;

pub fn run(a: SnapshotArgs) -> Result<i32> {
    let (name, rest) = name_and_rest(&a.common, &a.rest);
    let (ctx, c) = super::target(&a.common, name)?;
    if a.list {
        let snaps = snapshot::list(&c)?;
        if snaps.is_empty() {
            println!("No snapshots");
        }
        for s in snaps {
            println!("{} ({}) {}", s.name, s.dir.display(), s.ts);
            if a.showcomments {
                if let Some(text) = s.comment {
                    print!("{text}");
                    if !text.ends_with('\n') {
                        println!();
                    }
                }
            }
        }
        return Ok(0);
    }
    if let Some(snap) = &a.restore {
        let new = a.newname.as_deref().or(rest.first().map(String::as_str));
        let bar = CopyBar::new(format!("Restoring {snap}"), a.common.quiet);
        snapshot::restore(&ctx, &c, snap, new, &bar)?;
        return Ok(0);
    }
    if let Some(snap) = &a.destroy {
        snapshot::destroy(&ctx, &c, snap)?;
        return Ok(0);
    }
    let bar = CopyBar::new(format!("Snapshot of {}", c.name), a.common.quiet);
    snapshot::create(&ctx, &c, a.comment.as_deref(), &bar)?;
    Ok(0)
}
