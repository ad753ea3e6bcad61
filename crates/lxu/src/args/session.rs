//! Arguments of the verbs that enter a running container.

use std::path::PathBuf;

use clap::Args;

use super::Common;

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
