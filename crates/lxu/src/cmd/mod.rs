//! One module per verb: parse → validate → act; the runtime never sees clap.

mod attach;
mod config;
mod console;
mod create;
mod destroy;
mod download;
mod info;
mod ls;
mod net;
mod setup_user;
mod start;
mod stop;

use anyhow::{bail, Result};
use lxu_runtime::{Container, Context};

use crate::args::{Common, Verb};

pub fn run(verb: Verb) -> Result<i32> {
    match verb {
        Verb::Create(a) => create::run(a),
        Verb::Start(a) => start::run(a),
        Verb::Stop(a) => stop::run(a),
        Verb::Ls(a) => ls::run(a),
        Verb::Info(a) => info::run(a),
        Verb::Destroy(a) => destroy::run(a),
        Verb::Config(a) => config::run_config(a),
        Verb::UpdateConfig(a) => config::run_update(a),
        Verb::Checkconfig(_) => crate::checkconfig::run(),
        Verb::SetupUser(a) => setup_user::run(a),
        Verb::Attach(a) => attach::run(a),
        Verb::Console(a) => console::run(a),
        Verb::Freeze(a) => freeze(a, true),
        Verb::Unfreeze(a) => freeze(a, false),
        Verb::Wait(a) => wait(a),
        Verb::Copy(a) => copy(a),
        Verb::Snapshot(a) => snapshot(a),
        Verb::FixLayout(a) => fix_layout(a),
        Verb::Cgroup(a) => cgroup(a),
        Verb::Execute(a) => start::execute(a),
        Verb::Autostart(a) => autostart(a),
        Verb::Net(a) => net::run(a),
        Verb::Image(a) => image(a),
    }
}

/// The context and container named by the common options and the first positional.
pub fn target(common: &Common, name: Option<String>) -> Result<(Context, Container)> {
    let Some(name) = name else {
        bail!("no container name given (use -n NAME)");
    };
    let ctx = Context::new(common.lxcpath.as_deref())?;
    let c = Container::new(&ctx, &name)?;
    Ok((ctx, c))
}

fn freeze(a: crate::args::FreezeArgs, on: bool) -> Result<i32> {
    let (name, _) = crate::args::name_and_rest(&a.common, &a.rest);
    let (_ctx, c) = target(&a.common, name)?;
    lxu_runtime::freeze::freeze(&c, on)?;
    Ok(0)
}

/// `lxc-copy`: a full copy of a stopped, directory-backed container.
fn copy(a: crate::args::CopyArgs) -> Result<i32> {
    for (set, what) in [
        (a.snapshot, "-s (overlay snapshots)"),
        (a.ephemeral, "-e (ephemeral containers)"),
        (a.rename, "-R (rename)"),
    ] {
        if set {
            bail!("lxu copy: {what} is not supported; without it the copy is a full copy");
        }
    }
    if let Some(b) = a.backingstorage.as_deref().filter(|b| *b != "dir") {
        bail!("lxu copy: backing store `{b}` is not supported (only `dir`)");
    }
    let (name, _) = crate::args::name_and_rest(&a.common, &a.rest);
    let Some(new_name) = a.newname else {
        bail!("no name for the copy given (use -N NEWNAME)");
    };
    let (ctx, c) = target(&a.common, name)?;
    let opts = lxu_runtime::copy::CopyOptions {
        new_name,
        new_lxcpath: a.newpath,
        keep_name: a.keepname,
        keep_macs: a.keepmac,
    };
    lxu_runtime::copy::copy(&ctx, &c, &opts)?;
    Ok(0)
}

/// `lxu fix-layout`: container directories made by older lxu versions (the caller's, mode
/// 0750, which LXC cannot start) get LXC's owner, group and mode.
fn fix_layout(a: crate::args::FixLayoutArgs) -> Result<i32> {
    use lxu_runtime::layout::{self, Fixed};
    let (name, _) = crate::args::name_and_rest(&a.common, &a.rest);
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
                eprintln!("lxu fix-layout: {}", lxu_runtime::error::Chain(&e));
                failed = true;
            }
        }
    }
    Ok(i32::from(failed))
}

/// `lxc-autostart`: acts on the containers marked `lxc.start.auto = 1`.
fn autostart(a: crate::args::AutostartArgs) -> Result<i32> {
    use lxu_runtime::autostart::{self, Action, Options};
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

/// `lxc-cgroup`: prints a cgroup file of a running container, or sets it.
fn cgroup(a: crate::args::CgroupArgs) -> Result<i32> {
    let (name, rest) = crate::args::name_and_rest(&a.common, &a.rest);
    let Some((key, value)) = rest.split_first() else {
        bail!("no cgroup file given (e.g. `lxu cgroup -n NAME memory.limit_in_bytes [VALUE]`)");
    };
    let (_ctx, c) = target(&a.common, name)?;
    let value = (!value.is_empty()).then(|| value.join(" "));
    let out = lxu_runtime::cgroup::cgroup_item(&c, key, value.as_deref())?;
    if value.is_none() {
        println!("{out}");
    }
    Ok(0)
}

/// `lxc-snapshot`: take (default), list (-L), restore (-r) or destroy (-d) snapshots.
fn snapshot(a: crate::args::SnapshotArgs) -> Result<i32> {
    use lxu_runtime::snapshot;
    let (name, rest) = crate::args::name_and_rest(&a.common, &a.rest);
    let (ctx, c) = target(&a.common, name)?;
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
        snapshot::restore(&ctx, &c, snap, new)?;
        return Ok(0);
    }
    if let Some(snap) = &a.destroy {
        snapshot::destroy(&ctx, &c, snap)?;
        return Ok(0);
    }
    snapshot::create(&ctx, &c, a.comment.as_deref())?;
    Ok(0)
}

/// `lxc-wait`: 0 once the container is in one of the states, 1 after the timeout.
fn wait(a: crate::args::WaitArgs) -> Result<i32> {
    let (name, _) = crate::args::name_and_rest(&a.common, &a.rest);
    let states = lxu_runtime::state::parse_states(&a.state).map_err(anyhow::Error::msg)?;
    let (_ctx, c) = target(&a.common, name)?;
    let timeout = u64::try_from(a.timeout)
        .ok()
        .map(std::time::Duration::from_secs);
    if lxu_runtime::state::wait_for(&c, &states, timeout)? {
        return Ok(0);
    }
    eprintln!("{}: not {} after {} s", c.name, a.state, a.timeout);
    Ok(1)
}

/// `lxu image …` runs the separate `lxu-image` binary installed next to `lxu`.
fn image(a: crate::args::ImageArgs) -> Result<i32> {
    use std::os::unix::process::CommandExt;
    let sibling = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.join("lxu-image")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| "lxu-image".into());
    let err = std::process::Command::new(&sibling).args(&a.args).exec();
    bail!("run `{}`: {err}", sibling.display())
}
