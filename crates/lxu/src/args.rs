//! Command-line arguments, with LXC's option spelling for each tool.
//!
//! One struct per verb. `lxu VERB …` and the multi-call name `lxc-VERB …` parse the same
//! struct, so `lxc-start -n c1 -F` and `lxu start -n c1 -F` mean the same.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Print nothing but errors
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
    /// Close inherited descriptors (always done)
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
pub struct LsArgs {
    #[arg(short = 'P', long = "lxcpath", value_name = "PATH")]
    pub lxcpath: Option<PathBuf>,
    /// One name per line
    #[arg(short = '1', long = "line")]
    pub line: bool,
    /// A table with state, autostart, groups, addresses
    #[arg(short = 'f', long = "fancy")]
    pub fancy: bool,
    /// Columns of the table (comma separated)
    #[arg(short = 'F', long = "fancy-format", value_name = "COLUMNS")]
    pub fancy_format: Option<String>,
    /// Running or frozen containers
    #[arg(long = "active")]
    pub active: bool,
    #[arg(long = "running")]
    pub running: bool,
    #[arg(long = "frozen")]
    pub frozen: bool,
    #[arg(long = "stopped")]
    pub stopped: bool,
    #[arg(long = "defined")]
    pub defined: bool,
    /// Only containers in all these groups
    #[arg(short = 'g', long = "groups", value_name = "GROUPS")]
    pub groups: Option<String>,
    /// Only names matching this regular expression
    #[arg(long = "filter", value_name = "REGEX")]
    pub filter: Option<String>,
    /// Output format: table (default) or json
    #[arg(long = "format", value_name = "FORMAT")]
    pub format: Option<String>,
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Filter regular expression
    #[arg()]
    pub regex: Option<String>,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    #[command(flatten)]
    pub common: Common,
    /// State only
    #[arg(short = 's', long = "state")]
    pub state: bool,
    /// PID only
    #[arg(short = 'p', long = "pid")]
    pub pid: bool,
    /// IP addresses only
    #[arg(short = 'i', long = "ips")]
    pub ips: bool,
    /// Resource use only
    #[arg(short = 'S', long = "stats")]
    pub stats: bool,
    /// Raw numbers
    #[arg(short = 'H', long = "no-humanize")]
    pub no_humanize: bool,
    /// Show a config item (repeatable)
    #[arg(short = 'c', long = "config", value_name = "KEY")]
    pub config: Vec<String>,
    /// Output format: text (default) or json
    #[arg(long = "format", value_name = "FORMAT")]
    pub format: Option<String>,
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

#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// List the keys
    #[arg(short = 'l', long = "list")]
    pub list: bool,
    #[arg()]
    pub key: Option<String>,
}

#[derive(Args, Debug)]
pub struct UpdateConfigArgs {
    /// The config file to rewrite (a .backup copy is kept)
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: PathBuf,
}

#[derive(Args, Debug)]
pub struct CheckconfigArgs {}

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

#[derive(Args, Debug)]
pub struct SetupUserArgs {
    /// The user to prepare
    pub user: String,
    /// Print what would change, change nothing
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Bridge for the user's default veth
    #[arg(long = "bridge", default_value = "lxcbr0")]
    pub bridge: String,
    /// Number of veth devices the user may hold on that bridge
    #[arg(long = "quota", default_value_t = 10)]
    pub quota: u32,
    /// Also move process PID (a login session of USER) into the user's delegated cgroup v2
    /// subtree, so containers started from it can use v2 controllers
    #[arg(long = "enter", value_name = "PID")]
    pub enter: Option<u32>,
}

#[derive(Args, Debug)]
pub struct AttachArgs {
    #[command(flatten)]
    pub common: Common,
    /// Keep the capabilities the container dropped
    #[arg(short = 'e', long = "elevated-privileges", value_name = "LIST", num_args = 0..=1, require_equals = true)]
    pub elevated: Option<Option<String>>,
    /// Keep the caller's environment (plus container=lxc)
    #[arg(long = "keep-env", conflicts_with = "clear_env")]
    pub keep_env: bool,
    /// Start from an empty environment
    #[arg(long = "clear-env")]
    pub clear_env: bool,
    /// Set a variable in the command's environment (repeatable)
    #[arg(short = 'v', long = "set-var", value_name = "VAR=VALUE")]
    pub set_var: Vec<String>,
    /// Keep this variable of the caller's environment (repeatable)
    #[arg(long = "keep-var", value_name = "VAR")]
    pub keep_var: Vec<String>,
    /// User id inside the container
    #[arg(short = 'u', long = "uid")]
    pub uid: Option<u32>,
    /// Group id inside the container
    #[arg(short = 'g', long = "gid")]
    pub gid: Option<u32>,
    /// Use this config file instead of the container's
    #[arg(short = 'f', long = "rcfile", value_name = "FILE")]
    pub rcfile: Option<PathBuf>,
    /// Join only these namespaces (not supported: lxu always joins all)
    #[arg(short = 's', long = "namespaces", value_name = "LIST")]
    pub namespaces: Option<String>,
    /// Container name (if -n is not given), then `--` and the command
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub rest: Vec<String>,
}

#[derive(Args, Debug)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub common: Common,
    /// Keep the text of this file with the new snapshot
    #[arg(short = 'c', long = "comment", value_name = "FILE")]
    pub comment: Option<std::path::PathBuf>,
    /// List the snapshots
    #[arg(short = 'L', long = "list")]
    pub list: bool,
    /// With -L: show each snapshot's comment
    #[arg(short = 'C', long = "showcomments")]
    pub showcomments: bool,
    /// Restore this snapshot (into the container, or as NEWNAME)
    #[arg(short = 'r', long = "restore", value_name = "SNAPNAME")]
    pub restore: Option<String>,
    /// With -r: the name of the restored container
    #[arg(short = 'N', long = "newname", value_name = "NEWNAME")]
    pub newname: Option<String>,
    /// Destroy this snapshot (`ALL`: every one)
    #[arg(short = 'd', long = "destroy", value_name = "SNAPNAME")]
    pub destroy: Option<String>,
    #[arg()]
    pub rest: Vec<String>,
}

#[derive(Args, Debug)]
pub struct FixLayoutArgs {
    #[command(flatten)]
    pub common: Common,
    /// Every container of the lxcpath
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    #[arg()]
    pub rest: Vec<String>,
}

#[derive(Args, Debug)]
pub struct AutostartArgs {
    /// Directory of the containers (default: lxc.lxcpath)
    #[arg(short = 'P', long = "lxcpath", value_name = "PATH")]
    pub lxcpath: Option<PathBuf>,
    /// Reboot instead of start
    #[arg(short = 'r', long = "reboot")]
    pub reboot: bool,
    /// Shut down instead of start
    #[arg(short = 's', long = "shutdown")]
    pub shutdown: bool,
    /// Kill instead of start
    #[arg(short = 'k', long = "kill")]
    pub kill: bool,
    /// Print the containers instead of acting
    #[arg(short = 'L', long = "list")]
    pub list: bool,
    /// With -s: seconds before a container that did not halt is killed (0: never)
    #[arg(
        short = 't',
        long = "timeout",
        default_value_t = 60,
        allow_negative_numbers = true
    )]
    pub timeout: i64,
    /// Groups, in order (an empty name is the containers without lxc.group)
    #[arg(short = 'g', long = "groups", value_name = "GROUPS")]
    pub groups: Vec<String>,
    /// Every group
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Also containers without lxc.start.auto = 1
    #[arg(short = 'A', long = "ignore-auto")]
    pub ignore_auto: bool,
    /// Print nothing but errors
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
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
pub struct CgroupArgs {
    #[command(flatten)]
    pub common: Common,
    /// [NAME] KEY [VALUE]: the cgroup file (e.g. memory.limit_in_bytes) and its new value
    #[arg(allow_hyphen_values = true)]
    pub rest: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CopyArgs {
    #[command(flatten)]
    pub common: Common,
    /// Name of the copy
    #[arg(short = 'N', long = "newname", value_name = "NEWNAME")]
    pub newname: Option<String>,
    /// Directory for the copy (default: the original's lxcpath)
    #[arg(short = 'p', long = "newpath", value_name = "NEWPATH")]
    pub newpath: Option<std::path::PathBuf>,
    /// Keep the hostname
    #[arg(short = 'K', long = "keepname")]
    pub keepname: bool,
    /// Keep the MAC addresses
    #[arg(short = 'M', long = "keepmac")]
    pub keepmac: bool,
    /// Backing store of the copy (only `dir`)
    #[arg(short = 'B', long = "backingstorage", value_name = "BACKINGSTORE")]
    pub backingstorage: Option<String>,
    /// Snapshot (overlay) copy: not supported, copies are full
    #[arg(short = 's', long = "snapshot")]
    pub snapshot: bool,
    /// Ephemeral copy: not supported
    #[arg(short = 'e', long = "ephemeral")]
    pub ephemeral: bool,
    /// Rename instead of copying: not supported
    #[arg(short = 'R', long = "rename")]
    pub rename: bool,
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
pub struct FreezeArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg()]
    pub rest: Vec<String>,
}

#[derive(Args, Debug)]
pub struct NetArgs {
    #[command(subcommand)]
    pub action: NetAction,
}

#[derive(Subcommand, Debug)]
pub enum NetAction {
    /// Create the bridge, its addresses and dnsmasq (idempotent)
    Setup(NetSetupArgs),
    /// Stop dnsmasq and delete the bridge
    Teardown(NetTeardownArgs),
}

#[derive(Args, Debug)]
pub struct NetSetupArgs {
    /// Bridge name
    #[arg(long = "bridge", default_value = "lxcbr0")]
    pub bridge: String,
    /// The bridge's IPv4 address and prefix
    #[arg(long = "ipv4", default_value = "10.0.3.1/24")]
    pub ipv4: String,
    /// First and last DHCP address, comma separated (default: the whole subnet)
    #[arg(long = "dhcp-range", value_name = "FIRST,LAST")]
    pub dhcp_range: Option<String>,
    /// The bridge's IPv6 address/prefix; `auto` picks a ULA, `off` disables IPv6
    #[arg(long = "ipv6", default_value = "auto")]
    pub ipv6: String,
    /// Masquerade the subnet to the outside (off by default)
    #[arg(long = "nat")]
    pub nat: bool,
    /// No DHCP/DNS server
    #[arg(long = "no-dhcp")]
    pub no_dhcp: bool,
}

#[derive(Args, Debug)]
pub struct NetTeardownArgs {
    #[arg(long = "bridge", default_value = "lxcbr0")]
    pub bridge: String,
    /// Delete the bridge even when devices are attached
    #[arg(long = "force")]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub common: Common,
    /// Tty number (0 = the console; default: the first free tty)
    #[arg(short = 't', long = "tty", allow_hyphen_values = true)]
    pub tty: Option<i32>,
    /// Escape prefix letter (`a` = Ctrl+a, the default; `^b` = Ctrl+b)
    #[arg(short = 'e', long = "escape", value_name = "PREFIX")]
    pub escape: Option<String>,
    /// Print the console's recent output (kept by the monitor) and exit
    #[arg(long = "log")]
    pub log: bool,
    #[arg()]
    pub rest: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ImageArgs {
    /// Arguments for lxu-image (build, publish, list, serve, keygen)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<std::ffi::OsString>,
}
