//! Arguments of the verbs that act on the host or on many containers.

use std::path::PathBuf;

use clap::{Args, Subcommand};

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
    /// Accepted for LXC compatibility (autostart prints only -L's list, errors and warnings)
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
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
    /// When USER's subordinate ids overlap another user's and must move, also shift USER's
    /// stopped containers (files and id maps) to the new ids; without it setup-user refuses
    /// and says which containers use the old ids
    #[arg(long = "move-ids")]
    pub move_ids: bool,
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
pub struct ImageArgs {
    /// Arguments for lxu-image (build, publish, list, serve, keygen)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<std::ffi::OsString>,
}
