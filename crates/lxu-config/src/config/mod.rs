//! The evaluated configuration: includes expanded, clears and overrides applied.

mod apply;
mod net;

use std::io;
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, Location};
use crate::file::ConfigFile;
use crate::fstab::MountEntry;
use crate::idmap::IdMap;
use crate::keys::{classify, HookType, Key, Show};
use crate::line::{ltrim, rtrim, unquote};
use crate::mount_auto::MountAuto;
use crate::net::Network;
use crate::rng::random_byte;
use crate::rootfs::Rootfs;

/// Deeper include chains are reported as [`ConfigError::IncludeDepth`] (LXC has no
/// limit and simply recurses until it runs out of file descriptors).
pub(crate) const MAX_INCLUDE_DEPTH: usize = 16;

/// One effective assignment, under its current key name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: String,
    pub value: String,
    pub loc: Location,
}

/// Parser bookkeeping that is not part of the settings, so it is ignored by `==`.
#[derive(Debug, Clone, Default)]
struct ParseState {
    legacy: bool,
    /// Net indexes opened by 1.0 `lxc.network.type` lines, in order.
    legacy_nets: Vec<u32>,
    /// The interface 1.0 index-less keys apply to.
    last_net: Option<u32>,
}

impl PartialEq for ParseState {
    fn eq(&self, _: &ParseState) -> bool {
        true
    }
}
impl Eq for ParseState {}

/// An evaluated container configuration. `==` compares the settings (and the
/// locations they came from), not which key generation spelled them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Every effective assignment after expansion, in order, under the current
    /// key name; cleared and overridden ones are gone. Feeds `info -c`.
    pub items: Vec<Item>,
    pub idmaps: Vec<IdMap>,
    pub rootfs: Option<Rootfs>,
    pub rootfs_mount: Option<PathBuf>,
    pub rootfs_options: Option<String>,
    pub uts_name: Option<String>,
    pub arch: Option<String>,
    pub tty_max: u32,
    /// 0 = unlimited.
    pub pty_max: u32,
    pub tty_dir: Option<String>,
    /// `none` disables the console.
    pub console_path: Option<String>,
    pub console_logfile: Option<PathBuf>,
    pub console_buffer_size: Option<u64>,
    pub console_size: Option<u64>,
    pub console_rotate: bool,
    pub mount_entries: Vec<MountEntry>,
    /// Read it with [`crate::parse_fstab`].
    pub mount_fstab: Option<PathBuf>,
    pub mount_auto: MountAuto,
    pub autodev: bool,
    pub autodev_tmpfs_size: Option<u32>,
    /// Lower-case names without `cap_` (or numbers). At most one of
    /// `cap_drop`/`cap_keep` is non-empty.
    pub cap_drop: Vec<String>,
    pub cap_keep: Vec<String>,
    /// `lxc.cap.keep` is in force: keep exactly `cap_keep` (empty after
    /// `lxc.cap.keep = none`, i.e. keep nothing).
    pub cap_keep_mode: bool,
    pub environment: Vec<String>,
    pub init_cmd: Option<String>,
    pub init_cwd: Option<String>,
    pub init_uid: Option<u32>,
    pub init_gid: Option<u32>,
    pub init_groups: Vec<u32>,
    pub execute_cmd: Option<String>,
    pub signal_halt: Option<i32>,
    pub signal_reboot: Option<i32>,
    pub signal_stop: Option<i32>,
    /// Sorted by index.
    pub networks: Vec<Network>,
    /// `(file, value)` of `lxc.cgroup.<file>` / `lxc.cgroup2.<file>`, in order.
    pub cgroup_v1: Vec<(String, String)>,
    pub cgroup_v2: Vec<(String, String)>,
    pub cgroup_dir: Option<String>,
    pub cgroup_dir_container: Option<String>,
    pub cgroup_dir_container_inner: Option<String>,
    pub cgroup_dir_monitor: Option<String>,
    pub cgroup_dir_monitor_pivot: Option<String>,
    pub cgroup_relative: bool,
    pub start_auto: bool,
    pub start_delay: u32,
    pub start_order: i32,
    pub groups: Vec<String>,
    pub hooks: Vec<(HookType, String)>,
    pub hook_version: u32,
    /// 0 trace … 8 fatal.
    pub log_level: Option<u32>,
    pub log_file: Option<PathBuf>,
    pub log_syslog: Option<String>,
    pub ephemeral: bool,
    /// `(resource, "soft[:hard]")`; a repeated resource replaces its entry.
    pub prlimits: Vec<(String, String)>,
    /// A repeated name replaces its entry.
    pub sysctls: Vec<(String, String)>,
    pub proc_keys: Vec<(String, String)>,
    pub apparmor_profile: Option<String>,
    pub apparmor_allow_incomplete: bool,
    pub apparmor_allow_nesting: bool,
    pub apparmor_raw: Vec<String>,
    pub selinux_context: Option<String>,
    pub seccomp_profile: Option<String>,
    /// `lxc.seccomp.allow_nesting`: load the profile even when lxu already runs under a
    /// seccomp filter (otherwise it is not stacked, as in LXC).
    pub seccomp_allow_nesting: bool,
    pub no_new_privs: bool,
    pub namespace_clone: Vec<String>,
    pub namespace_keep: Vec<String>,
    /// `(namespace, container name | pid | path)`.
    pub namespace_share: Vec<(String, String)>,
    /// `lxc.include` values seen (an empty value clears the list, not the settings).
    pub includes: Vec<PathBuf>,
    state: ParseState,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            items: Vec::new(),
            idmaps: Vec::new(),
            rootfs: None,
            rootfs_mount: None,
            rootfs_options: None,
            uts_name: None,
            arch: None,
            tty_max: 0,
            pty_max: 0,
            tty_dir: None,
            console_path: None,
            console_logfile: None,
            console_buffer_size: None,
            console_size: None,
            console_rotate: false,
            mount_entries: Vec::new(),
            mount_fstab: None,
            mount_auto: MountAuto::default(),
            autodev: true,
            autodev_tmpfs_size: None,
            cap_drop: Vec::new(),
            cap_keep: Vec::new(),
            cap_keep_mode: false,
            environment: Vec::new(),
            init_cmd: None,
            init_cwd: None,
            init_uid: None,
            init_gid: None,
            init_groups: Vec::new(),
            execute_cmd: None,
            signal_halt: None,
            signal_reboot: None,
            signal_stop: None,
            networks: Vec::new(),
            cgroup_v1: Vec::new(),
            cgroup_v2: Vec::new(),
            cgroup_dir: None,
            cgroup_dir_container: None,
            cgroup_dir_container_inner: None,
            cgroup_dir_monitor: None,
            cgroup_dir_monitor_pivot: None,
            cgroup_relative: false,
            start_auto: false,
            start_delay: 0,
            start_order: 0,
            groups: Vec::new(),
            hooks: Vec::new(),
            hook_version: 0,
            log_level: None,
            log_file: None,
            log_syslog: None,
            ephemeral: false,
            prlimits: Vec::new(),
            sysctls: Vec::new(),
            proc_keys: Vec::new(),
            apparmor_profile: None,
            apparmor_allow_incomplete: false,
            apparmor_allow_nesting: false,
            apparmor_raw: Vec::new(),
            selinux_context: None,
            seccomp_profile: None,
            seccomp_allow_nesting: false,
            no_new_privs: false,
            namespace_clone: Vec::new(),
            namespace_keep: Vec::new(),
            namespace_share: Vec::new(),
            includes: Vec::new(),
            state: ParseState::default(),
        }
    }
}

/// What evaluating one file tree needs besides the settings.
pub(crate) struct Ctx<'r> {
    /// Files being read, outermost first (for loop detection).
    pub(crate) stack: Vec<PathBuf>,
    /// The random source for hwaddr templates.
    pub(crate) rng: &'r mut dyn FnMut() -> u8,
}

impl<'r> Ctx<'r> {
    fn new(origin: &Path, rng: &'r mut dyn FnMut() -> u8) -> Ctx<'r> {
        Ctx {
            stack: vec![origin.to_path_buf()],
            rng,
        }
    }
}

fn read_text(path: &Path) -> io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

impl Config {
    /// Reads a config file and everything it includes. Include paths are used as
    /// written (relative ones relative to the current directory, like LXC).
    /// hwaddr templates get random digits on every load.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = read_text(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut cfg = Config::default();
        let mut rng = random_byte;
        let mut ctx = Ctx::new(path, &mut rng);
        cfg.apply_text(&text, path, &mut ctx)?;
        Ok(cfg)
    }

    /// Evaluates config text as if it were the file `origin`.
    pub fn parse_str(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut rng = random_byte;
        let mut ctx = Ctx::new(origin, &mut rng);
        cfg.apply_text(text, origin, &mut ctx)?;
        Ok(cfg)
    }

    /// Evaluates a lossless file (includes are read from disk).
    pub fn from_file(file: &ConfigFile) -> Result<Config, ConfigError> {
        Config::from_file_with_rng(file, &mut random_byte)
    }

    pub(crate) fn from_file_with_rng(
        file: &ConfigFile,
        rng: &mut dyn FnMut() -> u8,
    ) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut ctx = Ctx::new(file.origin(), rng);
        let mut loc = Location::at(file.origin(), 0);
        for e in file.entries() {
            loc.line = e.line;
            cfg.apply_one(e.key, e.value, &loc, &mut ctx)?;
        }
        Ok(cfg)
    }

    /// Applies one more assignment on top (`lxc-start -s KEY=VAL`, template
    /// lines). Key and value are trimmed and the value unquoted like a file line.
    pub fn apply(&mut self, key: &str, value: &str, loc: &Location) -> Result<(), ConfigError> {
        let key = rtrim(ltrim(key));
        let value = unquote(rtrim(ltrim(value)));
        let mut rng = random_byte;
        let mut ctx = Ctx::new(&loc.file, &mut rng);
        self.apply_one(key, value, loc, &mut ctx)
    }

    /// The value `lxc-info -c KEY` would print: list keys newline-joined,
    /// numeric settings with their defaults, `""` when unset; `None` for an
    /// unknown key. `lxc.cgroup`, `lxc.prlimit`, `lxc.hook` … give `key = value`
    /// lines; `lxc.net` gives the interface types.
    pub fn get_item(&self, key: &str) -> Option<String> {
        let key = rtrim(ltrim(key));
        Some(match classify(key)?.0 {
            Key::Removed => return None,
            Key::Simple(def) => match def.show {
                Show::Value(show) => show(self),
                Show::Recorded => self.recorded(def.name),
            },
            Key::Family(fam, None) => {
                let lines: Vec<String> = (fam.values)(self)
                    .pairs()
                    .iter()
                    .map(|(k, v)| format!("{}.{k} = {v}", fam.prefix))
                    .collect();
                lines.join("\n")
            }
            Key::Family(fam, Some(name)) => {
                let values: Vec<&str> = (fam.values)(self)
                    .pairs()
                    .into_iter()
                    .filter(|(k, _)| *k == name)
                    .map(|(_, v)| v)
                    .collect();
                values.join("\n")
            }
            Key::Net { target, sub } => self.net_item(target, sub),
        })
    }

    /// The recorded values of `key`, one a line.
    fn recorded(&self, key: &str) -> String {
        let v: Vec<&str> = self
            .items
            .iter()
            .filter(|i| i.key == key)
            .map(|i| i.value.as_str())
            .collect();
        v.join("\n")
    }

    /// Unprivileged = has any id mapping.
    pub fn is_unprivileged(&self) -> bool {
        !self.idmaps.is_empty()
    }

    /// Whether any line read (including included files) used a pre-3.0 key name.
    pub fn legacy_keys_used(&self) -> bool {
        self.state.legacy
    }
}

#[cfg(test)]
#[path = "../../tests/common/scratch.rs"]
mod scratch;
#[cfg(test)]
mod tests;
