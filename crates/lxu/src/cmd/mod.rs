//! One module per verb: parse → validate → act; the runtime never sees clap.

mod attach;
mod autostart;
mod cgroup;
mod checkconfig;
mod config;
mod console;
mod copy;
mod create;
mod destroy;
mod download;
mod execute;
mod fix_layout;
mod freeze;
mod image;
mod info;
mod ls;
mod net;
mod setup_user;
mod snapshot;
mod start;
mod stop;
mod update_config;
mod wait;

use anyhow::{bail, Result};
use lxu_runtime::{Container, Context};

use crate::args::{Common, Verb};

/// Runs the verb; the exit code when it did what it could (some verbs say more with it).
pub fn run(verb: Verb) -> Result<i32> {
    match verb {
        Verb::Create(a) => create::run(a),
        Verb::Start(a) => start::run(a),
        Verb::Stop(a) => stop::run(a),
        Verb::Ls(a) => ls::run(a),
        Verb::Info(a) => info::run(a),
        Verb::Destroy(a) => destroy::run(a),
        Verb::Config(a) => config::run(a),
        Verb::UpdateConfig(a) => update_config::run(a),
        Verb::Checkconfig(_) => checkconfig::run(),
        Verb::SetupUser(a) => setup_user::run(a),
        Verb::Attach(a) => attach::run(a),
        Verb::Console(a) => console::run(a),
        Verb::Freeze(a) => freeze::run(a, true),
        Verb::Unfreeze(a) => freeze::run(a, false),
        Verb::Wait(a) => wait::run(a),
        Verb::Copy(a) => copy::run(a),
        Verb::Snapshot(a) => snapshot::run(a),
        Verb::FixLayout(a) => fix_layout::run(a),
        Verb::Cgroup(a) => cgroup::run(a),
        Verb::Execute(a) => execute::run(a),
        Verb::Autostart(a) => autostart::run(a),
        Verb::Net(a) => net::run(a),
        Verb::Image(a) => image::run(a),
    }
}

/// The context and container named by the common options and the first positional.
fn target(common: &Common, name: Option<String>) -> Result<(Context, Container)> {
    let Some(name) = name else {
        bail!("no container name given (use -n NAME)");
    };
    let ctx = Context::new(common.lxcpath.as_deref())?;
    let c = Container::new(&ctx, &name)?;
    Ok((ctx, c))
}
