//! `lxu autostart` (`lxc-autostart`): acts on the containers marked `lxc.start.auto = 1`.

use anyhow::{bail, Result};
use lxu_runtime::autostart::{self, Action, Options};
use lxu_runtime::Context;

use crate::args::AutostartArgs;

pub fn run(a: AutostartArgs) -> Result<i32> {
    let action = match (a.reboot, a.shutdown, a.kill) {
        (false, false, false) => Action::Start,
        (true, false, false) => Action::Reboot,
        (false, true, false) => Action::Shutdown { timeout: a.timeout },
        (false, false, true) => Action::Kill,
        _ => bail!("-r, -s and -k cannot be combined"),
    };
    // `-g a,b` and `-g a -g b` both list groups; an empty element is the NULL group.
    let groups = (!a.groups.is_empty()).then(|| {
        a.groups
            .iter()
            .flat_map(|g| g.split(',').map(str::to_string))
            .collect::<Vec<_>>()
    });
    let opts = Options {
        action,
        groups,
        all: a.all,
        ignore_auto: a.ignore_auto,
    };
    let ctx = Context::new(a.lxcpath.as_deref())?;
    let (picks, problems) = autostart::select(&ctx, &opts);
    for p in &problems {
        eprintln!("lxu autostart: skipped {p}");
    }
    if a.list {
        for p in &picks {
            match action {
                Action::Start | Action::Reboot => println!("{} {}", p.name, p.delay),
                _ => println!("{}", p.name),
            }
        }
        return Ok(0);
    }
    let failed = autostart::run(&ctx, &opts, &picks);
    for f in &failed {
        eprintln!("lxu autostart: {f}");
    }
    Ok(i32::from(!failed.is_empty()))
}
