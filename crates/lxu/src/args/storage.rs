//! Arguments of the verbs that copy a container's directory.

use std::path::PathBuf;

use clap::Args;

use super::Common;

#[derive(Args, Debug)]
pub struct CopyArgs {
    #[command(flatten)]
    pub common: Common,
    /// Name of the copy
    #[arg(short = 'N', long = "newname", value_name = "NEWNAME")]
    pub newname: Option<String>,
    /// Directory for the copy (default: the original's lxcpath)
    #[arg(short = 'p', long = "newpath", value_name = "NEWPATH")]
    pub newpath: Option<PathBuf>,
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
pub struct SnapshotArgs {
    #[command(flatten)]
    pub common: Common,
    /// Keep the text of this file with the new snapshot
    #[arg(short = 'c', long = "comment", value_name = "FILE")]
    pub comment: Option<PathBuf>,
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
