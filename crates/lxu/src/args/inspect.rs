//! Arguments of the verbs that show a container or the configuration.

use std::path::PathBuf;

use clap::Args;

use super::Common;

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
    /// Accepted for LXC compatibility (ls prints only the list and errors)
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
pub struct CgroupArgs {
    #[command(flatten)]
    pub common: Common,
    /// [NAME] KEY [VALUE]: the cgroup file (e.g. memory.limit_in_bytes) and its new value
    #[arg(allow_hyphen_values = true)]
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
