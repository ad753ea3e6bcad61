//! The runtime's error types.
//!
//! Display convention (the Rust API guidelines'): an error's message says what was being
//! done and to what (the container, the path in backticks, the command) and leaves its
//! cause out; [`std::error::Error::source`] returns the cause. Whoever shows an error
//! prints the chain joined with ": " ([`Chain`]), so `Io { op: "read", path, .. }` reads
//! "read `path`: No such file or directory".

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in a lifecycle operation. Each variant carries what a
/// user needs to act: the container, the file, the command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] lxu_config::ConfigError),

    #[error("{op} `{}`", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A system call or a process operation on nothing with a path of its own.
    #[error("{context}")]
    Sys {
        context: String,
        #[source]
        source: io::Error,
    },

    #[error("invalid container name `{name}`: {reason}")]
    BadName { name: String, reason: &'static str },

    #[error("{name} doesn't exist (in `{}`)", lxcpath.display())]
    NotFound { name: String, lxcpath: PathBuf },

    #[error("{name} already exists in `{}`", lxcpath.display())]
    Exists { name: String, lxcpath: PathBuf },

    #[error("{name} is not running")]
    NotRunning { name: String },

    #[error("{name} is running")]
    Running { name: String },

    #[error("insufficient privileges to control {name}: {reason}")]
    Privileges { name: String, reason: String },

    #[error(transparent)]
    IdMap(#[from] crate::ids::users::MapDenied),

    /// What is wrong with one container for the operation asked (its configuration, its
    /// state, its files); the message names the container, the cause says what.
    #[error("{name}")]
    Container {
        name: String,
        #[source]
        source: ContainerError,
    },

    #[error("{key}: unknown capability `{cap}`")]
    UnknownCapability { key: &'static str, cap: String },

    // Whole operations that failed, with what made them fail as the cause.
    #[error("Creating {name} failed")]
    Create {
        name: String,
        #[source]
        source: Box<Error>,
    },

    #[error("Copying {from} to {to} failed")]
    Copy {
        from: String,
        to: String,
        #[source]
        source: Box<Error>,
    },

    #[error("Destroying {name} failed")]
    Destroy {
        name: String,
        #[source]
        source: Box<Error>,
    },

    #[error("Restoring {name} from {snapshot} failed")]
    Restore {
        name: String,
        snapshot: String,
        #[source]
        source: Box<Error>,
    },

    #[error("copy `{}` to `{}`: {said}", from.display(), to.display())]
    CopyTree {
        from: PathBuf,
        to: PathBuf,
        /// The first lines `cp` printed.
        said: String,
    },

    // The container directory and the lock on it.
    #[error("{name} is busy")]
    Busy { name: String },

    #[error("{name} is being created right now")]
    BeingCreated { name: String },

    /// `lxu start` found the container's lock held and no running container behind it.
    #[error("{name} is {doing} by another lxu command; try again when it is done")]
    InUse { name: String, doing: &'static str },

    #[error("{name} has snapshots")]
    HasSnapshots { name: String },

    #[error("could not remove `{}`", dir.display())]
    NotRemoved { dir: PathBuf },

    #[error(
        "`{}`: lxc.idmap maps no {kind} to the container's root (0), so the directory cannot be given to it",
        dir.display()
    )]
    NoRootId { dir: PathBuf, kind: &'static str },

    #[error(
        "`{}`: {uid}:{gid} is neither yours nor mapped by the container's lxc.idmap",
        dir.display()
    )]
    NotMappable { dir: PathBuf, uid: u32, gid: u32 },

    #[error("give `{}` to {uid}:{gid}: helper {ended}", dir.display())]
    NotGiven {
        dir: PathBuf,
        uid: u32,
        gid: u32,
        ended: Ended,
    },

    // Templates.
    #[error("template `{template}` not found")]
    TemplateNotFound { template: String },

    #[error(
        "template `{template}` not found (looked for {file} in {})",
        list(dirs)
    )]
    TemplateNotInDirs {
        template: String,
        file: String,
        dirs: Vec<PathBuf>,
    },

    #[error("template `{template}` is not available")]
    TemplateUnavailable { template: String },

    #[error("the busybox template needs a static busybox")]
    NoBusybox {
        #[source]
        source: lxu_busybox::BusyboxError,
    },

    #[error(transparent)]
    Busybox(lxu_busybox::BusyboxError),

    // Helper processes.
    /// A child process doing work for us failed and said why in text: a helper that works
    /// as root of a user namespace or as a user (its error and causes, formatted on its
    /// side of the pipe), a hook, the monitor before the container ran.
    #[error("{message}")]
    Child { message: String },

    /// A helper process ended without reporting what went wrong.
    #[error("helper {ended}")]
    HelperEnded { ended: Ended },

    #[error("the child working as {user} (uid {uid})")]
    AsUser {
        user: String,
        uid: u32,
        #[source]
        source: AnswerError,
    },

    #[error("the child working as {user} (uid {uid}) ended with {how} and no answer")]
    NoAnswer { user: String, uid: u32, how: String },

    #[error("the monitor exited before the container was running")]
    MonitorGone,

    #[error("{prog} not found: install Debian's `uidmap` package (apt-get install uidmap)")]
    NoMapHelper { prog: &'static str },

    #[error("`{cmdline}` failed: {stderr}")]
    MapHelperFailed { cmdline: String, stderr: String },

    // `lxu setup-user`.
    #[error("no user `{name}` in /etc/passwd (create it first, e.g. useradd -m {name})")]
    NoSuchUser { name: String },

    #[error("root needs no setup: its containers may be privileged")]
    RootNeedsNoSetup,

    #[error("no free block of {block} subordinate ids below SUB_UID_MAX {max}")]
    NoFreeBlock { block: u64, max: u64 },

    #[error("`{}` is not a file path", path.display())]
    NotAFilePath { path: PathBuf },

    #[error(
        "`{}` belongs to uid {uid} with mode {mode:o}: a directory setup-user writes in must belong to root and be writable by nobody else",
        dir.display()
    )]
    UnsafeDir { dir: PathBuf, uid: u32, mode: u32 },

    #[error("`{}` is not a regular file; setup-user will not replace it", path.display())]
    NotRegular { path: PathBuf },

    /// A user's ranges overlap others' and containers of theirs use them: the account.
    #[error("{0}")]
    IdsInUse(Box<crate::setup::moving::IdsInUse>),

    #[error(
        "cannot move {name} to a new block of {block} ids: `{}` maps `{map}`, beyond the block",
        config.display()
    )]
    NotMovable {
        name: String,
        config: PathBuf,
        map: String,
        block: u64,
    },

    #[error(
        "cannot move {name}: `{}` maps `{map}`, which is not all within {user}'s subordinate ids in {}",
        config.display(), file.display()
    )]
    NotOwnedMap {
        name: String,
        config: PathBuf,
        map: String,
        user: String,
        file: PathBuf,
    },

    #[error("shifting the files of {name} to the new ids: helper {ended}")]
    MoveEnded { name: String, ended: Ended },

    /// An external template (the download template lxu runs itself) failed; its own error
    /// type says how.
    #[error(transparent)]
    Template(Box<dyn std::error::Error + Send + Sync>),

    /// A template stopped on purpose before making anything (`--help`, `--list`).
    #[error("no container created ({reason})")]
    NotCreated { reason: &'static str },

    // wire/monitor errors
    /// A message between lxu's own processes that does not decode.
    #[error(transparent)]
    Wire(#[from] crate::wire::WireError),

    /// What another lxu process (init, the monitor, a helper) reported, with its causes.
    #[error(transparent)]
    Remote(#[from] crate::wire::RemoteError),

    /// The monitor answers in another version of the protocol: it was started by another
    /// lxu (the one installed before an upgrade). Nothing it says can be trusted to mean
    /// what this lxu reads, so nothing is asked of it; `lxu stop` signals its init itself.
    #[error(
        "container {name} is run by a monitor of another lxu version ({}, this lxu speaks version {ours}){}; \
         stop it with `lxu stop -n {name}` (`-k` to kill it), then start it with this lxu",
        theirs.map_or("one from before protocol versions".to_string(), |v| format!("protocol version {v}")),
        monitor.map_or(String::new(), |p| format!(", monitor pid {p}")),
        ours = crate::wire::monitor::spoken()
    )]
    OtherVersion {
        name: String,
        theirs: Option<u8>,
        monitor: Option<i32>,
    },

    #[error("{name} did not stop within {secs} s")]
    StopTimeout { name: String, secs: u64 },

    /// The monitor closed the connection before it answered (it is going away).
    #[error("the monitor of {name} closed the connection during `{request}`")]
    MonitorClosed { name: String, request: String },

    /// The monitor exited before it reported the container running.
    #[error("{name}: the monitor exited before the container was running")]
    MonitorExited { name: String },

    #[error("{name}: the container's init died during setup")]
    InitDied { name: String },

    #[error("{name}: the attach helper exited before starting the command")]
    AttachHelperDied { name: String },

    /// An `lxc.hook.*` failed; `reason` says which, how, and what it printed.
    #[error("{name}: {reason}")]
    Hook { name: String, reason: String },

    #[error("`{key}` is not a cgroup file name")]
    CgroupKey { key: String },

    #[error("{name} stopped instead of rebooting")]
    RebootStopped { name: String },

    #[error("{name} did not reboot within {timeout} s")]
    RebootTimeout { name: String, timeout: i64 },

    #[error(transparent)]
    Net(#[from] crate::monitor::net::NetError),

    /// Boxed: cgroup errors are large (`From<ResourceError>` boxes).
    #[error(transparent)]
    Resource(#[from] Box<crate::monitor::resources::ResourceError>),
}

/// What is wrong with a container, found before anything is changed or started. Shown
/// after the container's name (see [`Error::Container`]).
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("no lxc.rootfs.path in `{}`", config.display())]
    NoRootfs { config: PathBuf },

    #[error("rootfs `{spec}` is not supported (only directory rootfs)")]
    RootfsBackend { spec: String },

    #[error("rootfs `{}` is not a directory", path.display())]
    RootfsNotDir { path: PathBuf },

    #[error("rootfs `{}` is missing", path.display())]
    RootfsMissing {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("lxc.rootfs.mount `{}` is not a directory", path.display())]
    RootfsMount { path: PathBuf },

    #[error("lxc.idmap maps no container root for `{kind}` (need a line `{kind} 0 HOSTID COUNT`)")]
    NoRootMap { kind: char },

    #[error(
        "an unprivileged container needs lxc.idmap lines in `{}` (e.g. `lxc.idmap = u 0 100000 65536` and `lxc.idmap = g 0 100000 65536`; `lxu setup-user` writes them into default.conf)",
        config.display()
    )]
    NoIdmap { config: PathBuf },

    #[error(
        "an unprivileged container needs lxc.idmap lines; add them to `{}` (`lxu setup-user {user}` as root does it)",
        default_conf.display()
    )]
    NoIdmapToCreate { default_conf: PathBuf, user: String },

    #[error("a container without lxc.idmap lines belongs to root")]
    RootOnly,

    #[error(
        "lxc.net.{index}.type = {kind} is not possible for an unprivileged container (use veth or empty)"
    )]
    NetType { index: u32, kind: String },

    #[error("lxc.init.cmd is empty")]
    EmptyInit,

    #[error("execute needs a command")]
    NoCommand,

    #[error("lxc.prlimit.{name}: unknown resource")]
    UnknownResource { name: String },

    #[error("lxc.prlimit.{name}: `{value}` is not a number or `unlimited`")]
    BadLimit { name: String, value: String },

    #[error("lxc.sysctl.{key}: not a sysctl name")]
    BadSysctl { key: String },

    #[error("lxc.seccomp.profile: seccomp profiles are not supported on this architecture")]
    SeccompArch,

    #[error("lxc.seccomp.profile")]
    Seccomp(#[source] lxu_seccomp::Error),

    #[error("cannot {what} (stop it first)")]
    Active { what: &'static str },

    #[error("no snapshot `{snapshot}` (in `{}`)", dir.display())]
    NoSnapshot { snapshot: String, dir: PathBuf },

    #[error("only a directory rootfs can be copied (lxc.rootfs.path in `{}`)", config.display())]
    NotCopyable { config: PathBuf },

    #[error("template `{}` failed with exit status {code}", script.display())]
    TemplateFailed { script: PathBuf, code: i32 },

    #[error("template `{}` was killed by signal {signal}", script.display())]
    TemplateKilled { script: PathBuf, signal: i32 },

    #[error(
        "`{}` belongs to uid {uid}, neither you nor the container's root; only its owner can change it",
        dir.display()
    )]
    NotOwner { dir: PathBuf, uid: u32 },
}

/// Why the answer of a child working as a user did not arrive.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("no answer within {secs} s")]
    Timeout { secs: u64 },
    #[error("poll")]
    Poll(#[source] io::Error),
    #[error("read")]
    Read(#[source] io::Error),
    #[error("answer longer than 1 MiB")]
    TooLong,
    #[error("answer is not UTF-8")]
    NotUtf8,
}

/// How a helper process ended when it did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signaled(i32),
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ended::Exited(code) => write!(f, "exited with status {code}"),
            Ended::Signaled(signal) => write!(f, "killed by signal {signal}"),
        }
    }
}

impl Error {
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub fn sys(context: impl Into<String>, source: impl Into<io::Error>) -> Error {
        Error::Sys {
            context: context.into(),
            source: source.into(),
        }
    }

    /// `problem` of container `name`.
    pub(crate) fn container(name: &str, problem: ContainerError) -> Error {
        Error::Container {
            name: name.to_string(),
            source: problem,
        }
    }
}

/// An error followed by its causes, joined with ": ", as the CLI prints it: for an error
/// that must cross a process boundary as text (a helper's answer, the monitor's reply).
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'a));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

fn list(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The text users see is the chain: each message once, causes after the operation.
    #[test]
    fn the_chain_reads_operation_then_cause() {
        let e = Error::io(
            "read",
            "/x/config",
            io::Error::from_raw_os_error(libc::ENOENT),
        );
        assert_eq!(e.to_string(), "read `/x/config`");
        assert_eq!(
            Chain(&e).to_string(),
            "read `/x/config`: No such file or directory (os error 2)"
        );
        let missing = Error::container(
            "c1",
            ContainerError::RootfsMissing {
                path: "/r".into(),
                source: io::Error::from_raw_os_error(libc::ENOENT),
            },
        );
        let copy = Error::Copy {
            from: "c1".into(),
            to: "c2".into(),
            source: Box::new(missing),
        };
        assert_eq!(
            Chain(&copy).to_string(),
            "Copying c1 to c2 failed: c1: rootfs `/r` is missing: No such file or directory (os error 2)"
        );
        let ended = Error::NotGiven {
            dir: "/d".into(),
            uid: 1,
            gid: 2,
            ended: Ended::Signaled(9),
        };
        assert_eq!(
            Chain(&ended).to_string(),
            "give `/d` to 1:2: helper killed by signal 9"
        );
    }
}
