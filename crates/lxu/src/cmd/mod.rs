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
    lxu_runtime::stop::freeze(&c, on)?;
    Ok(0)
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
