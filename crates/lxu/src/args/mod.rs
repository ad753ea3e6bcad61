//! Command-line arguments, with LXC's option spelling for each tool.
//!
//! One struct per verb. `lxu VERB …` and the multi-call name `lxc-VERB …` parse the same
//! struct, so `lxc-start -n c1 -F` and `lxu start -n c1 -F` mean the same.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod host;
mod inspect;
mod lifecycle;
mod session;
mod storage;

pub(crate) use host::*;
pub(crate) use inspect::*;
pub(crate) use lifecycle::*;
pub(crate) use session::*;
pub(crate) use storage::*;

/// Options every tool takes.
#[derive(Args, Debug, Clone, Default)]
pub struct Common {
    /// Container name
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub name: Option<String>,
    /// Directory of the containers (default: lxc.lxcpath)
    #[arg(short = 'P', long = "lxcpath", value_name = "PATH")]
    pub lxcpath: Option<PathBuf>,
    /// Log file (accepted for LXC compatibility)
    #[arg(short = 'o', long = "logfile", value_name = "FILE")]
    pub logfile: Option<PathBuf>,
    /// Log priority (accepted for LXC compatibility)
    #[arg(short = 'l', long = "logpriority", value_name = "LEVEL")]
    pub logpriority: Option<String>,
    /// No informational messages or progress, only errors and warnings
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
}

#[derive(Parser, Debug)]
#[command(
    name = "lxu",
    version,
    about = "LXC-style unprivileged system containers",
    disable_help_subcommand = true
)]
pub struct Lxu {
    #[command(subcommand)]
    pub verb: Verb,
}

#[derive(Subcommand, Debug)]
pub enum Verb {
    /// Create a container
    Create(CreateArgs),
    /// Start a container (in the background unless -F)
    Start(StartArgs),
    /// Stop a container
    Stop(StopArgs),
    /// List containers
    Ls(LsArgs),
    /// Show a container's state and resources
    Info(InfoArgs),
    /// Destroy a container
    Destroy(DestroyArgs),
    /// Show lxc.conf values
    Config(ConfigArgs),
    /// Rewrite an LXC 1.0 config with current key names
    UpdateConfig(UpdateConfigArgs),
    /// Check what this host offers for unprivileged containers
    Checkconfig(CheckconfigArgs),
    /// Prepare a user for unprivileged containers (root)
    SetupUser(SetupUserArgs),
    /// Run a command in a running container
    Attach(AttachArgs),
    /// Connect this terminal to a container's console or a tty
    Console(ConsoleArgs),
    /// Freeze all processes of a container
    Freeze(FreezeArgs),
    /// Thaw a frozen container
    Unfreeze(FreezeArgs),
    /// Wait until a container reaches one of some states
    Wait(WaitArgs),
    /// Copy a stopped container under a new name
    Copy(CopyArgs),
    /// Read or set a cgroup file of a running container
    Cgroup(CgroupArgs),
    /// Run a command as an application container, in the foreground
    Execute(ExecuteArgs),
    /// Start (or stop, kill, reboot) the containers marked lxc.start.auto
    Autostart(AutostartArgs),
    /// Snapshots of a stopped container: take, list, restore, destroy
    Snapshot(SnapshotArgs),
    /// Give container directories made by older lxu LXC's owner and mode (for lxc-start)
    FixLayout(FixLayoutArgs),
    /// The host bridge with DHCP for containers (root)
    Net(NetArgs),
    /// Build, sign, publish and serve images (runs lxu-image)
    #[command(disable_help_flag = true)]
    Image(ImageArgs),
}

/// Split `rest` into the container name (when `-n` was not given) and what follows.
pub fn name_and_rest(common: &Common, rest: &[String]) -> (Option<String>, Vec<String>) {
    if let Some(n) = &common.name {
        return (Some(n.clone()), rest.to_vec());
    }
    match rest.split_first() {
        Some((first, tail)) if first != "--" => (Some(first.clone()), tail.to_vec()),
        _ => (None, rest.to_vec()),
    }
}

/// Drops a leading `--` separator.
pub fn strip_dashdash(v: Vec<String>) -> Vec<String> {
    match v.first() {
        Some(s) if s == "--" => v[1..].to_vec(),
        _ => v,
    }
}
