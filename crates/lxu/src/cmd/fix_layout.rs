//! `lxu fix-layout`: container directories made by older lxu versions (the caller's, mode
//! 0750, which LXC cannot start) get LXC's owner, group and mode.

use anyhow::{bail, Result};
use lxu_runtime::layout::{self, Fixed};
use lxu_runtime::{Container, Context};

use crate::args::{name_and_rest, FixLayoutArgs};

pub fn run(a: FixLayoutArgs) -> Result<i32> {
    let (name, _) = name_and_rest(&a.common, &a.rest);
    let ctx = Context::new(a.common.lxcpath.as_deref())?;
    let names = match (name, a.all) {
        (Some(_), true) => bail!("give a container name or -a, not both"),
        (Some(n), false) => vec![n],
        (None, true) => lxu_runtime::container::list_names(&ctx.lxcpath),
        (None, false) => bail!("no container name given (use -n NAME, or -a for all)"),
    };
    let mut failed = false;
    for n in names {
        let done = Container::new(&ctx, &n).and_then(|c| layout::fix(&ctx, &c));
        match done {
            Ok(dirs) if !a.common.quiet => {
                for d in dirs {
                    match d {
                        Fixed::Changed { dir, uid, gid } => println!(
                            "{n}: `{}` now belongs to uid {uid}, gid {gid}, mode 0770",
                            dir.display()
                        ),
                        Fixed::Already { dir } => {
                            println!("{n}: `{}` is laid out already", dir.display())
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("lxu fix-layout: {:#}", anyhow::Error::new(e));
                failed = true;
            }
        }
    }
    Ok(i32::from(failed))
}
