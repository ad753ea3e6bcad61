//! Arguments of the verbs that make, run and remove a container.

use std::path::PathBuf;

use clap::Args;

use super::Common;

#[derive(Args, Debug)]
pub struct CreateArgs {
    #[command(flatten)]
    pub common: Common,
    /// Template: busybox, download, an lxc-NAME template or a path
    #[arg(short = 't', long = "template")]
    pub template: Option<String>,
    /// Extra config file for the new container
    #[arg(short = 'f', long = "config", value_name = "CONFIG")]
    pub config: Option<PathBuf>,
    /// Backing store (only `dir`)
    #[arg(short = 'B', long = "bdev", value_name = "BACKINGSTORE")]
    pub bdev: Option<String>,
    /// Container name, then `--` and the template's own options
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub rest: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StartArgs {
    #[command(flatten)]
    pub common: Common,
    /// Run in the background (the default)
    #[arg(short = 'd', long = "daemon")]
    pub daemon: bool,
    /// Stay in the foreground with the console on this terminal
    #[arg(short = 'F', long = "foreground")]
    pub foreground: bool,
    /// Use this config file instead of the container's
    #[arg(short = 'f', long = "rcfile", value_name = "FILE")]
    pub rcfile: Option<PathBuf>,
    /// Override a config item (KEY=VAL), repeatable
    #[arg(short = 's', long = "define", value_name = "KEY=VAL")]
    pub define: Vec<String>,
    /// Log the console to this file
    #[arg(short = 'L', long = "console-log", value_name = "FILE")]
    pub console_log: Option<PathBuf>,
    /// Write init's pid to this file
    #[arg(short = 'p', long = "pidfile", value_name = "FILE")]
    pub pidfile: Option<PathBuf>,
    /// Console device (accepted for LXC compatibility)
    #[arg(short = 'c', long = "console", value_name = "FILE")]
    pub console: Option<String>,
    /// Close inherited descriptors: lxu always does (LXC does without -C only with -d)
    #[arg(short = 'C', long = "close-all-fds")]
    pub close_all_fds: bool,
    /// Container name (if -n is not given), then the command replacing lxc.init.cmd
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub rest: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StopArgs {
    #[command(flatten)]
    pub common: Common,
    /// Kill at once
    #[arg(short = 'k', long = "kill")]
    pub kill: bool,
    /// Seconds to wait for a clean halt before killing (-1: forever)
    #[arg(short = 't', long = "timeout", allow_hyphen_values = true)]
    pub timeout: Option<i64>,
    /// Never kill; fail when the timeout passes
    #[arg(long = "nokill")]
    pub nokill: bool,
    /// Do not wait for the container to stop
    #[arg(short = 'W', long = "nowait")]
    pub nowait: bool,
    /// Reboot
    #[arg(short = 'r', long = "reboot")]
    pub reboot: bool,
    /// Skip locks (accepted with -k)
    #[arg(long = "nolock")]
    pub nolock: bool,
    #[arg()]
    pub rest: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ExecuteArgs {
    #[command(flatten)]
    pub common: Common,
    /// Use this config file instead of the container's
    #[arg(short = 'f', long = "rcfile", value_name = "FILE")]
    pub rcfile: Option<PathBuf>,
    /// Override a config item (KEY=VAL), repeatable
    #[arg(short = 's', long = "define", value_name = "KEY=VAL")]
    pub define: Vec<String>,
    /// Container name (if -n is not given), then `--` and the command
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub rest: Vec<String>,
}

#[derive(Args, Debug)]
pub struct FreezeArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg()]
    pub rest: Vec<String>,
}

#[derive(Args, Debug)]
pub struct WaitArgs {
    #[command(flatten)]
    pub common: Common,
    /// States to wait for, separated by `|` (e.g. `RUNNING|FROZEN`)
    #[arg(short = 's', long = "state", value_name = "STATES")]
    pub state: String,
    /// Give up after this many seconds and exit 1 (-1: never)
    #[arg(short = 't', long = "timeout", value_name = "SECONDS", default_value_t = -1, allow_negative_numbers = true)]
    pub timeout: i64,
    #[arg()]
    pub rest: Vec<String>,
}

#[derive(Args, Debug)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub common: Common,
    /// Stop the container first if it runs
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// Destroy snapshots too
    #[arg(short = 's', long = "snapshots")]
    pub snapshots: bool,
    #[arg()]
    pub rest: Vec<String>,
}
