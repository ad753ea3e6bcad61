//! The evaluated configuration: includes expanded, clears and overrides applied.

use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, Location};
use crate::file::ConfigFile;
use crate::fstab::MountEntry;
use crate::idmap::IdMap;
use crate::keys::{classify, HookType, Key, NetSub, NetTarget, Sk};
use crate::line::{classify_line, ltrim, numbered_lines, rtrim, unquote, words, LineKind};
use crate::mount_auto::MountAuto;
use crate::net::{NetType, Network};
use crate::rng::random_byte;
use crate::rootfs::Rootfs;
use crate::values::{
    cap_number, check_prlimit, check_time_offset, parse_bool01, parse_console_size, parse_i32,
    parse_log_level, parse_signal, parse_u32, personality, NAMESPACES, PRLIMIT_RESOURCES,
};

/// Deeper include chains are reported as [`ConfigError::IncludeDepth`] (LXC has no
/// limit and simply recurses until it runs out of file descriptors).
pub const MAX_INCLUDE_DEPTH: usize = 16;

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

struct Ctx<'r> {
    /// Files being read, outermost first (for loop detection).
    stack: Vec<PathBuf>,
    rng: &'r mut dyn FnMut() -> u8,
}

/// How a simple key is reflected in `items`.
enum Rec {
    /// Replaces earlier values; empty removes.
    Set,
    /// Appends; empty clears the key.
    Append,
    /// Like `Set` with a normalised value.
    SetTo(String),
    /// The handler recorded (or deliberately did not record) itself.
    Done,
}

fn opt(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

fn opt_path(v: &str) -> Option<PathBuf> {
    (!v.is_empty()).then(|| PathBuf::from(v))
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
        Config::load_with_rng(path, &mut random_byte)
    }

    /// [`Config::load`] with the random source for hwaddr templates supplied.
    pub fn load_with_rng(path: &Path, rng: &mut dyn FnMut() -> u8) -> Result<Config, ConfigError> {
        let text = read_text(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut cfg = Config::default();
        let mut ctx = Ctx {
            stack: vec![path.to_path_buf()],
            rng,
        };
        cfg.apply_text(&text, path, &mut ctx)?;
        Ok(cfg)
    }

    /// Evaluates config text as if it were the file `origin`.
    pub fn parse_str(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut rng = random_byte;
        let mut ctx = Ctx {
            stack: vec![origin.to_path_buf()],
            rng: &mut rng,
        };
        cfg.apply_text(text, origin, &mut ctx)?;
        Ok(cfg)
    }

    /// Evaluates a lossless file (includes are read from disk).
    pub fn from_file(file: &ConfigFile) -> Result<Config, ConfigError> {
        Config::from_file_with_rng(file, &mut random_byte)
    }

    pub fn from_file_with_rng(
        file: &ConfigFile,
        rng: &mut dyn FnMut() -> u8,
    ) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut ctx = Ctx {
            stack: vec![file.origin().to_path_buf()],
            rng,
        };
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
        let mut ctx = Ctx {
            stack: vec![loc.file.clone()],
            rng: &mut rng,
        };
        self.apply_one(key, value, loc, &mut ctx)
    }

    /// The value `lxc-info -c KEY` would print: list keys newline-joined,
    /// numeric settings with their defaults, `""` when unset; `None` for an
    /// unknown key. `lxc.cgroup`, `lxc.prlimit`, `lxc.hook` … give `key = value`
    /// lines; `lxc.net` gives the interface types.
    pub fn get_item(&self, key: &str) -> Option<String> {
        let key = rtrim(ltrim(key));
        let (k, _) = classify(key)?;
        let joined = |name: &str| -> String {
            let v: Vec<&str> = self
                .items
                .iter()
                .filter(|i| i.key == name)
                .map(|i| i.value.as_str())
                .collect();
            v.join("\n")
        };
        let b = |v: bool| if v { "1" } else { "0" }.to_string();
        let pairs = |base: &str, list: &[(String, String)]| -> String {
            let v: Vec<String> = list
                .iter()
                .map(|(k, v)| format!("{base}.{k} = {v}"))
                .collect();
            v.join("\n")
        };
        let values_of = |list: &[(String, String)], name: &str| -> String {
            let v: Vec<&str> = list
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .collect();
            v.join("\n")
        };
        Some(match k {
            Key::Removed => return None,
            Key::Simple(sk) => match sk {
                Sk::MountAuto => self.mount_auto.to_string(),
                Sk::CapDrop => self.cap_drop.join("\n"),
                Sk::CapKeep if self.cap_keep_mode && self.cap_keep.is_empty() => "none".into(),
                Sk::CapKeep => self.cap_keep.join("\n"),
                Sk::TtyMax => self.tty_max.to_string(),
                Sk::PtyMax => self.pty_max.to_string(),
                Sk::Autodev => b(self.autodev),
                Sk::StartAuto => b(self.start_auto),
                Sk::StartDelay => self.start_delay.to_string(),
                Sk::StartOrder => self.start_order.to_string(),
                Sk::Ephemeral => b(self.ephemeral),
                Sk::HookVersion => self.hook_version.to_string(),
                Sk::ConsoleRotate => b(self.console_rotate),
                Sk::NoNewPrivs => b(self.no_new_privs),
                Sk::SeccompAllowNesting => b(self.seccomp_allow_nesting),
                Sk::ApparmorAllowIncomplete => b(self.apparmor_allow_incomplete),
                Sk::ApparmorAllowNesting => b(self.apparmor_allow_nesting),
                Sk::CgroupRelative => b(self.cgroup_relative),
                Sk::InitUid => self.init_uid.unwrap_or(0).to_string(),
                Sk::InitGid => self.init_gid.unwrap_or(0).to_string(),
                Sk::SignalHalt => self.signal_halt.unwrap_or(0).to_string(),
                Sk::SignalReboot => self.signal_reboot.unwrap_or(0).to_string(),
                Sk::SignalStop => self.signal_stop.unwrap_or(0).to_string(),
                Sk::Group => self.groups.join("\n"),
                Sk::Idmap => {
                    let v: Vec<String> = self.idmaps.iter().map(IdMap::to_string).collect();
                    v.join("\n")
                }
                Sk::Include => {
                    let v: Vec<String> = self
                        .includes
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect();
                    v.join("\n")
                }
                _ => joined(sk.name()),
            },
            Key::Cgroup { v2, file } => {
                let (base, list) = if v2 {
                    ("lxc.cgroup2", &self.cgroup_v2)
                } else {
                    ("lxc.cgroup", &self.cgroup_v1)
                };
                match file {
                    None => pairs(base, list),
                    Some(f) => values_of(list, f),
                }
            }
            Key::Prlimit(None) => pairs("lxc.prlimit", &self.prlimits),
            Key::Prlimit(Some(r)) => values_of(&self.prlimits, r),
            Key::Sysctl(None) => pairs("lxc.sysctl", &self.sysctls),
            Key::Sysctl(Some(r)) => values_of(&self.sysctls, r),
            Key::Proc(None) => pairs("lxc.proc", &self.proc_keys),
            Key::Proc(Some(r)) => values_of(&self.proc_keys, r),
            Key::Hook(h) => {
                let v: Vec<String> = self
                    .hooks
                    .iter()
                    .filter(|(t, _)| h.is_none_or(|h| h == *t))
                    .map(|(t, c)| match h {
                        None => format!("lxc.hook.{} = {c}", t.name()),
                        Some(_) => c.clone(),
                    })
                    .collect();
                v.join("\n")
            }
            Key::NsShare(ns) => values_of(&self.namespace_share, ns),
            Key::Net {
                target: NetTarget::All,
                sub: None,
            } => {
                let v: Vec<&str> = self.networks.iter().map(|n| n.kind.as_str()).collect();
                v.join("\n")
            }
            Key::Net { target, sub } => {
                let idx = match target {
                    NetTarget::Index(n) => Some(n),
                    NetTarget::Last => self.state.last_net,
                    NetTarget::LegacyOrdinal(k) => self.state.legacy_nets.get(k as usize).copied(),
                    NetTarget::All => None,
                };
                let Some(n) = idx else {
                    return Some(String::new());
                };
                match sub {
                    Some(s) => joined(&format!("lxc.net.{n}.{}", s.name())),
                    None => {
                        // Like `lxc_list_net`: the subkeys that are set.
                        let prefix = format!("lxc.net.{n}.");
                        let mut subs: Vec<&str> = Vec::new();
                        for i in &self.items {
                            if let Some(s) = i.key.strip_prefix(&prefix) {
                                if !subs.contains(&s) {
                                    subs.push(s);
                                }
                            }
                        }
                        subs.join("\n")
                    }
                }
            }
        })
    }

    /// Unprivileged = has any id mapping.
    pub fn is_unprivileged(&self) -> bool {
        !self.idmaps.is_empty()
    }

    /// Whether any line read (including included files) used a pre-3.0 key name.
    pub fn legacy_keys_used(&self) -> bool {
        self.state.legacy
    }

    /// The console is explicitly disabled (`lxc.console.path = none`).
    pub fn console_disabled(&self) -> bool {
        self.console_path.as_deref() == Some("none")
    }

    pub fn network(&self, index: u32) -> Option<&Network> {
        self.networks.iter().find(|n| n.index == index)
    }

    fn apply_text(
        &mut self,
        text: &str,
        origin: &Path,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), ConfigError> {
        // One Location per file, renumbered per line, keeps allocations per entry down.
        let mut loc = Location::at(origin, 0);
        for (n, line) in numbered_lines(text) {
            match classify_line(line) {
                LineKind::Entry { key, value } => {
                    loc.line = n;
                    self.apply_one(key, value, &loc, ctx)?;
                }
                LineKind::MissingEquals => {
                    return Err(ConfigError::Syntax {
                        loc: Location::at(origin, n),
                        text: line.to_string(),
                        reason: "an `lxc.` line needs `key = value`".into(),
                    })
                }
                LineKind::Blank | LineKind::Comment | LineKind::Other => {}
            }
        }
        Ok(())
    }

    fn apply_one(
        &mut self,
        key: &str,
        value: &str,
        loc: &Location,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), ConfigError> {
        let Some((k, legacy)) = classify(key) else {
            return Err(ConfigError::unknown(loc, key));
        };
        if legacy {
            self.state.legacy = true;
        }
        match k {
            Key::Removed => Ok(()),
            Key::Simple(sk) => {
                let rec = self.apply_simple(sk, key, value, loc, ctx)?;
                let name = sk.name();
                match rec {
                    Rec::Set => self.item_set(name, value, loc),
                    Rec::SetTo(v) => self.item_set(name, &v, loc),
                    Rec::Append if value.is_empty() => self.items.retain(|i| i.key != name),
                    Rec::Append => self.item_push(name.to_string(), value, loc),
                    Rec::Done => {}
                }
                Ok(())
            }
            Key::Cgroup { v2, file } => {
                let base = if v2 { "lxc.cgroup2" } else { "lxc.cgroup" };
                let list = if v2 {
                    &mut self.cgroup_v2
                } else {
                    &mut self.cgroup_v1
                };
                match file {
                    None => {
                        if !value.is_empty() {
                            return Err(ConfigError::bad(
                                loc,
                                key,
                                value,
                                format!("`{base}` only takes an empty value (clear all); use `{base}.<file>`"),
                            ));
                        }
                        list.clear();
                        let prefix = format!("{base}.");
                        self.items.retain(|i| {
                            !(i.key.starts_with(&prefix) && Sk::from_name(&i.key).is_none())
                        });
                    }
                    Some(f) if value.is_empty() => {
                        list.retain(|(n, _)| n != f);
                        let ck = format!("{base}.{f}");
                        self.items.retain(|i| i.key != ck);
                    }
                    Some(f) => {
                        list.push((f.to_string(), value.to_string()));
                        // Cgroup keys have one spelling, so the key as written is canonical.
                        self.item_push(key.to_string(), value, loc);
                    }
                }
                Ok(())
            }
            Key::Prlimit(res) => {
                if let Some(r) = res {
                    if !PRLIMIT_RESOURCES.contains(&r) {
                        return Err(ConfigError::bad(
                            loc,
                            key,
                            value,
                            format!("unknown resource `{r}`"),
                        ));
                    }
                    if !value.is_empty() {
                        check_prlimit(value).map_err(|r| ConfigError::bad(loc, key, value, r))?;
                    }
                }
                self.keyed_replace(KeyedList::Prlimit, "lxc.prlimit", res, key, value, loc)
            }
            Key::Sysctl(name) => {
                self.keyed_replace(KeyedList::Sysctl, "lxc.sysctl", name, key, value, loc)
            }
            Key::Proc(name) => match name {
                None => {
                    self.clear_all_of("lxc.proc", key, value, loc)?;
                    self.proc_keys.clear();
                    Ok(())
                }
                Some(n) if value.is_empty() => {
                    self.proc_keys.retain(|(k, _)| k != n);
                    let ck = format!("lxc.proc.{n}");
                    self.items.retain(|i| i.key != ck);
                    Ok(())
                }
                Some(n) => {
                    self.proc_keys.push((n.to_string(), value.to_string()));
                    self.item_push(format!("lxc.proc.{n}"), value, loc);
                    Ok(())
                }
            },
            Key::Hook(h) => match h {
                None => {
                    self.clear_all_of("lxc.hook", key, value, loc)?;
                    self.hooks.clear();
                    Ok(())
                }
                Some(t) if value.is_empty() => {
                    self.hooks.retain(|(x, _)| *x != t);
                    let ck = format!("lxc.hook.{}", t.name());
                    self.items.retain(|i| i.key != ck);
                    Ok(())
                }
                Some(t) => {
                    self.hooks.push((t, value.to_string()));
                    self.item_push(key.to_string(), value, loc);
                    Ok(())
                }
            },
            Key::NsShare(ns) => {
                if !NAMESPACES.contains(&ns) {
                    return Err(ConfigError::bad(
                        loc,
                        key,
                        value,
                        format!("unknown namespace `{ns}`"),
                    ));
                }
                self.keyed_replace(
                    KeyedList::NsShare,
                    "lxc.namespace.share",
                    Some(ns),
                    key,
                    value,
                    loc,
                )
            }
            Key::Net { target, sub } => self.apply_net(target, sub, key, value, loc, ctx),
        }
    }

    fn item_set(&mut self, key: &str, value: &str, loc: &Location) {
        self.items.retain(|i| i.key != key);
        if !value.is_empty() {
            self.item_push(key.to_string(), value, loc);
        }
    }

    fn item_push(&mut self, key: String, value: &str, loc: &Location) {
        self.items.push(Item {
            key,
            value: value.to_string(),
            loc: loc.clone(),
        });
    }

    /// Bare group keys (`lxc.hook`, `lxc.proc`, …) only clear.
    fn clear_all_of(
        &mut self,
        base: &str,
        key: &str,
        value: &str,
        loc: &Location,
    ) -> Result<(), ConfigError> {
        if !value.is_empty() {
            return Err(ConfigError::bad(
                loc,
                key,
                value,
                format!("`{base}` only takes an empty value (clear all); use `{base}.<name>`"),
            ));
        }
        let prefix = format!("{base}.");
        self.items
            .retain(|i| !(i.key.starts_with(&prefix) && Sk::from_name(&i.key).is_none()));
        Ok(())
    }

    /// Keyed lists whose repeated names replace in place (prlimit, sysctl, namespace.share).
    fn keyed_replace(
        &mut self,
        which: KeyedList,
        base: &str,
        name: Option<&str>,
        key: &str,
        value: &str,
        loc: &Location,
    ) -> Result<(), ConfigError> {
        let Some(name) = name else {
            self.clear_all_of(base, key, value, loc)?;
            self.keyed(which).clear();
            return Ok(());
        };
        let list = self.keyed(which);
        if value.is_empty() {
            list.retain(|(k, _)| k != name);
        } else if let Some(e) = list.iter_mut().find(|(k, _)| k == name) {
            e.1 = value.to_string();
        } else {
            list.push((name.to_string(), value.to_string()));
        }
        let ck = format!("{base}.{name}");
        if let Some(i) = self.items.iter_mut().find(|i| i.key == ck) {
            if value.is_empty() {
                self.items.retain(|i| i.key != ck);
            } else {
                i.value = value.to_string();
                i.loc = loc.clone();
            }
        } else if !value.is_empty() {
            self.item_push(ck, value, loc);
        }
        Ok(())
    }

    fn keyed(&mut self, which: KeyedList) -> &mut Vec<(String, String)> {
        match which {
            KeyedList::Prlimit => &mut self.prlimits,
            KeyedList::Sysctl => &mut self.sysctls,
            KeyedList::NsShare => &mut self.namespace_share,
        }
    }

    fn apply_simple(
        &mut self,
        sk: Sk,
        key: &str,
        v: &str,
        loc: &Location,
        ctx: &mut Ctx<'_>,
    ) -> Result<Rec, ConfigError> {
        let bad = |reason: &str| ConfigError::bad(loc, key, v, reason);
        let empty = v.is_empty();
        let bool01 = |dflt: bool| -> Result<bool, ConfigError> {
            if empty {
                Ok(dflt)
            } else {
                parse_bool01(v).ok_or_else(|| bad("expected 0 or 1"))
            }
        };
        let uint = || -> Result<u32, ConfigError> {
            if empty {
                Ok(0)
            } else {
                parse_u32(v).ok_or_else(|| bad("expected an unsigned number"))
            }
        };
        let signal = || -> Result<Option<i32>, ConfigError> {
            if empty {
                Ok(None)
            } else {
                parse_signal(v)
                    .map(Some)
                    .ok_or_else(|| bad("not a signal (name like SIGPWR or SIGRTMIN+3, or 1..64)"))
            }
        };
        let cgroup_dir = |single: bool| -> Result<Option<String>, ConfigError> {
            if empty {
                return Ok(None);
            }
            if v.starts_with('/') {
                return Err(bad("cgroup paths may not be absolute"));
            }
            if v.split('/').any(|c| c == "..") {
                return Err(bad("cgroup paths may not walk upwards via `..`"));
            }
            if single && (v.contains('/') || v == ".") {
                return Err(bad("must be a single directory name"));
            }
            Ok(Some(v.to_string()))
        };
        Ok(match sk {
            Sk::Arch => {
                if !empty && personality(v).is_none() {
                    return Err(bad("unknown architecture"));
                }
                self.arch = opt(v);
                Rec::Set
            }
            Sk::ApparmorProfile => {
                self.apparmor_profile = opt(v);
                Rec::Set
            }
            Sk::ApparmorAllowIncomplete => {
                self.apparmor_allow_incomplete = bool01(false)?;
                Rec::Set
            }
            Sk::ApparmorAllowNesting => {
                self.apparmor_allow_nesting = bool01(false)?;
                Rec::Set
            }
            Sk::ApparmorRaw => {
                if empty {
                    self.apparmor_raw.clear();
                } else {
                    self.apparmor_raw.push(v.to_string());
                }
                Rec::Append
            }
            Sk::AutodevTmpfsSize => {
                self.autodev_tmpfs_size = if empty { None } else { Some(uint()?) };
                Rec::Set
            }
            Sk::Autodev => {
                // LXC turns autodev off on an empty value rather than restoring the default.
                self.autodev = bool01(false)?;
                Rec::Set
            }
            Sk::CapDrop | Sk::CapKeep => {
                self.apply_caps(sk == Sk::CapKeep, key, v, loc)?;
                Rec::Done
            }
            Sk::CgroupDir => {
                self.cgroup_dir = cgroup_dir(false)?;
                Rec::Set
            }
            Sk::CgroupDirContainer => {
                self.cgroup_dir_container = cgroup_dir(false)?;
                Rec::Set
            }
            Sk::CgroupDirContainerInner => {
                self.cgroup_dir_container_inner = cgroup_dir(true)?;
                Rec::Set
            }
            Sk::CgroupDirMonitor => {
                self.cgroup_dir_monitor = cgroup_dir(false)?;
                Rec::Set
            }
            Sk::CgroupDirMonitorPivot => {
                self.cgroup_dir_monitor_pivot = cgroup_dir(false)?;
                Rec::Set
            }
            Sk::CgroupRelative => {
                self.cgroup_relative = bool01(false)?;
                Rec::Set
            }
            Sk::ConsoleBufferSize | Sk::ConsoleSize => {
                let n = if empty {
                    None
                } else {
                    Some(parse_console_size(v).map_err(|r| bad(&r))?)
                };
                if sk == Sk::ConsoleSize {
                    self.console_size = n;
                } else {
                    self.console_buffer_size = n;
                }
                Rec::Set
            }
            Sk::ConsoleLogfile => {
                self.console_logfile = opt_path(v);
                Rec::Set
            }
            Sk::ConsolePath => {
                self.console_path = opt(v);
                Rec::Set
            }
            Sk::ConsoleRotate => {
                self.console_rotate = bool01(false)?;
                Rec::Set
            }
            Sk::SeccompAllowNesting => {
                self.seccomp_allow_nesting = bool01(false)?;
                Rec::Set
            }
            Sk::SchedCore | Sk::KeyringSession => {
                bool01(false)?;
                Rec::Set
            }
            Sk::RootfsManaged => {
                bool01(true)?;
                Rec::Set
            }
            Sk::Environment => {
                if empty {
                    self.environment.clear();
                } else {
                    if v.starts_with('=') {
                        return Err(bad("expected `NAME=value` or `NAME`"));
                    }
                    self.environment.push(v.to_string());
                }
                Rec::Append
            }
            Sk::Ephemeral => {
                self.ephemeral = bool01(false)?;
                Rec::Set
            }
            Sk::ExecuteCmd => {
                self.execute_cmd = opt(v);
                Rec::Set
            }
            Sk::Group => {
                if empty {
                    self.groups.clear();
                } else {
                    self.groups.extend(words(v).map(str::to_string));
                }
                Rec::Append
            }
            Sk::HookVersion => {
                let n = uint()?;
                if n > 1 {
                    return Err(bad("only hook versions 0 (legacy) and 1 exist"));
                }
                self.hook_version = n;
                Rec::Set
            }
            Sk::Idmap => {
                if empty {
                    self.idmaps.clear();
                } else {
                    self.idmaps.push(IdMap::parse(v).map_err(|r| bad(&r))?);
                }
                Rec::Append
            }
            Sk::Include => {
                self.include(v, loc, ctx)?;
                Rec::Done
            }
            Sk::InitCmd => {
                self.init_cmd = opt(v);
                Rec::Set
            }
            Sk::InitCwd => {
                self.init_cwd = opt(v);
                Rec::Set
            }
            Sk::InitUid => {
                self.init_uid = if empty { None } else { Some(uint()?) };
                Rec::Set
            }
            Sk::InitGid => {
                self.init_gid = if empty { None } else { Some(uint()?) };
                Rec::Set
            }
            Sk::InitGroups => {
                if empty {
                    self.init_groups.clear();
                } else {
                    let mut parsed = Vec::new();
                    for g in v.split(',').filter(|g| !g.is_empty()) {
                        parsed
                            .push(parse_u32(g).ok_or_else(|| {
                                bad(&format!("group `{g}` is not a numeric gid"))
                            })?);
                    }
                    if parsed.is_empty() {
                        return Err(bad("no group ids"));
                    }
                    self.init_groups.extend(parsed);
                }
                Rec::Append
            }
            Sk::LogFile => {
                self.log_file = opt_path(v);
                Rec::Set
            }
            Sk::LogLevel => {
                self.log_level = if empty {
                    None
                } else {
                    Some(parse_log_level(v).ok_or_else(|| {
                        bad("expected 0..8 or TRACE, DEBUG, INFO, NOTICE, WARN, ERROR, CRIT, ALERT, FATAL")
                    })?)
                };
                Rec::Set
            }
            Sk::LogSyslog => {
                let ok = [
                    "daemon", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
                    "local7",
                ]
                .iter()
                .any(|f| f.eq_ignore_ascii_case(v));
                if !empty && !ok {
                    return Err(bad("expected daemon or local0..local7"));
                }
                self.log_syslog = opt(v);
                Rec::Set
            }
            Sk::MonitorUnshare => {
                uint()?;
                Rec::Set
            }
            Sk::MonitorSignalPdeath => {
                signal()?;
                Rec::Set
            }
            Sk::MountAuto => {
                if empty {
                    self.mount_auto = MountAuto::default();
                } else {
                    self.mount_auto.apply(v).map_err(|r| bad(&r))?;
                }
                Rec::SetTo(self.mount_auto.to_string())
            }
            Sk::MountEntry => {
                if empty {
                    self.mount_entries.clear();
                } else {
                    self.mount_entries
                        .push(MountEntry::parse(v, loc).map_err(|r| bad(&r))?);
                }
                Rec::Append
            }
            Sk::MountFstab => {
                self.mount_fstab = opt_path(v);
                Rec::Set
            }
            Sk::NamespaceClone | Sk::NamespaceKeep => {
                let keep = sk == Sk::NamespaceKeep;
                if empty {
                    if keep {
                        self.namespace_keep.clear();
                    } else {
                        self.namespace_clone.clear();
                    }
                    return Ok(Rec::Append);
                }
                let other = if keep {
                    &self.namespace_clone
                } else {
                    &self.namespace_keep
                };
                if !other.is_empty() {
                    return Err(ConfigError::conflict(
                        loc,
                        key,
                        "`lxc.namespace.clone` and `lxc.namespace.keep` cannot both be set",
                    ));
                }
                let mut toks = Vec::new();
                for t in words(v) {
                    if !NAMESPACES.contains(&t) {
                        return Err(bad(&format!("unknown namespace `{t}`")));
                    }
                    toks.push(t.to_string());
                }
                if keep {
                    self.namespace_keep.extend(toks);
                } else {
                    self.namespace_clone.extend(toks);
                }
                Rec::Append
            }
            Sk::TimeOffsetBoot | Sk::TimeOffsetMonotonic => {
                if !empty {
                    check_time_offset(v).map_err(|r| bad(&r))?;
                }
                Rec::Set
            }
            Sk::NoNewPrivs => {
                self.no_new_privs = bool01(false)?;
                Rec::Set
            }
            Sk::PtyMax => {
                self.pty_max = uint()?;
                Rec::Set
            }
            Sk::TtyMax => {
                self.tty_max = uint()?;
                Rec::Set
            }
            Sk::RootfsMount => {
                self.rootfs_mount = opt_path(v);
                Rec::Set
            }
            Sk::RootfsOptions => {
                for o in v.split(',') {
                    if matches!(o, "optional" | "relative") || o.starts_with("create=") {
                        return Err(bad(&format!("`{o}` is not valid for the rootfs mount")));
                    }
                }
                self.rootfs_options = opt(v);
                Rec::Set
            }
            Sk::RootfsPath => {
                self.rootfs = if empty {
                    None
                } else {
                    Some(Rootfs::parse(v).map_err(|r| bad(&r))?)
                };
                Rec::Set
            }
            Sk::SeccompNotifyCookie => Rec::Set,
            Sk::SeccompNotifyProxy => {
                if !empty && !v.starts_with("unix:") {
                    return Err(bad("expected `unix:PATH`"));
                }
                Rec::Set
            }
            Sk::SeccompProfile => {
                self.seccomp_profile = opt(v);
                Rec::Set
            }
            Sk::SelinuxContext => {
                self.selinux_context = opt(v);
                Rec::Set
            }
            Sk::SelinuxContextKeyring => Rec::Set,
            Sk::SignalHalt => {
                self.signal_halt = signal()?;
                Rec::Set
            }
            Sk::SignalReboot => {
                self.signal_reboot = signal()?;
                Rec::Set
            }
            Sk::SignalStop => {
                self.signal_stop = signal()?;
                Rec::Set
            }
            Sk::StartAuto => {
                self.start_auto = bool01(false)?;
                Rec::Set
            }
            Sk::StartDelay => {
                self.start_delay = uint()?;
                Rec::Set
            }
            Sk::StartOrder => {
                self.start_order = if empty {
                    0
                } else {
                    parse_i32(v).ok_or_else(|| bad("expected an integer"))?
                };
                Rec::Set
            }
            Sk::TtyDir => {
                if v.len() > 255 || v.contains('/') {
                    return Err(bad("must be a single directory name"));
                }
                self.tty_dir = opt(v);
                Rec::Set
            }
            Sk::UtsName => {
                if v.len() > 64 {
                    return Err(bad("host names are at most 64 bytes"));
                }
                self.uts_name = opt(v);
                Rec::Set
            }
        })
    }

    /// LXC 5 keeps one capability list plus a keep/drop mode; an empty value of
    /// either key clears it.
    fn apply_caps(
        &mut self,
        keep: bool,
        key: &str,
        v: &str,
        loc: &Location,
    ) -> Result<(), ConfigError> {
        let clear_items = |items: &mut Vec<Item>| {
            items.retain(|i| i.key != "lxc.cap.drop" && i.key != "lxc.cap.keep")
        };
        if v.is_empty() {
            self.cap_drop.clear();
            self.cap_keep.clear();
            self.cap_keep_mode = false;
            clear_items(&mut self.items);
            return Ok(());
        }
        if keep && !self.cap_keep_mode && !self.cap_drop.is_empty() {
            return Err(ConfigError::conflict(
                loc,
                key,
                "`lxc.cap.keep` and `lxc.cap.drop` are mutually exclusive (clear `lxc.cap.drop` first)",
            ));
        }
        if !keep && self.cap_keep_mode {
            return Err(ConfigError::conflict(
                loc,
                key,
                "`lxc.cap.drop` and `lxc.cap.keep` are mutually exclusive (clear `lxc.cap.keep` first)",
            ));
        }
        let mut add = Vec::new();
        for tok in words(v) {
            if tok == "none" {
                if !keep {
                    return Err(ConfigError::bad(
                        loc,
                        key,
                        v,
                        "`none` is only valid for `lxc.cap.keep`",
                    ));
                }
                self.cap_keep.clear();
                add.clear();
                clear_items(&mut self.items);
                continue;
            }
            if cap_number(tok).is_none() {
                return Err(ConfigError::bad(
                    loc,
                    key,
                    v,
                    format!("unknown capability `{tok}` (use lower-case names without `cap_`, e.g. `sys_admin`)"),
                ));
            }
            add.push(tok.to_string());
        }
        if keep {
            self.cap_keep.extend(add);
            self.cap_keep_mode = true;
        } else {
            self.cap_drop.extend(add);
        }
        let name = if keep { "lxc.cap.keep" } else { "lxc.cap.drop" };
        self.item_push(name.to_string(), v, loc);
        Ok(())
    }

    fn include(&mut self, v: &str, loc: &Location, ctx: &mut Ctx<'_>) -> Result<(), ConfigError> {
        if v.is_empty() {
            self.includes.clear();
            return Ok(());
        }
        self.includes.push(PathBuf::from(v));
        let path = Path::new(v);
        if v.ends_with('/') || path.is_dir() {
            let rd = match std::fs::read_dir(path) {
                Ok(rd) => rd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(source) => {
                    return Err(ConfigError::Include {
                        loc: loc.clone(),
                        path: path.to_path_buf(),
                        source,
                    })
                }
            };
            let mut names: Vec<OsString> = rd
                .filter_map(Result::ok)
                .map(|e| e.file_name())
                .filter(|n| {
                    let b = n.as_bytes();
                    b.len() >= 6 && b.ends_with(b".conf")
                })
                .collect();
            names.sort();
            for n in names {
                self.include_file(&path.join(n), loc, ctx)?;
            }
            Ok(())
        } else {
            self.include_file(path, loc, ctx)
        }
    }

    fn include_file(
        &mut self,
        path: &Path,
        loc: &Location,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), ConfigError> {
        if ctx.stack.len() > MAX_INCLUDE_DEPTH || ctx.stack.iter().any(|p| p == path) {
            return Err(ConfigError::IncludeDepth {
                loc: loc.clone(),
                path: path.to_path_buf(),
            });
        }
        let text = read_text(path).map_err(|source| ConfigError::Include {
            loc: loc.clone(),
            path: path.to_path_buf(),
            source,
        })?;
        ctx.stack.push(path.to_path_buf());
        let r = self.apply_text(&text, path, ctx);
        ctx.stack.pop();
        r
    }

    fn remove_net(&mut self, n: u32) {
        self.networks.retain(|x| x.index != n);
        if self.state.last_net == Some(n) {
            self.state.last_net = None;
        }
        let prefix = format!("lxc.net.{n}.");
        self.items.retain(|i| !i.key.starts_with(&prefix));
    }

    fn clear_nets(&mut self) {
        self.networks.clear();
        self.state.legacy_nets.clear();
        self.state.last_net = None;
        self.items.retain(|i| !i.key.starts_with("lxc.net."));
    }

    fn open_net(&mut self, idx: u32, kind: NetType, value: &str, loc: &Location) {
        self.remove_net(idx);
        let pos = self.networks.partition_point(|x| x.index < idx);
        self.networks
            .insert(pos, Network::new(idx, kind, loc.clone()));
        self.state.last_net = Some(idx);
        self.item_push(format!("lxc.net.{idx}.type"), value, loc);
    }

    fn apply_net(
        &mut self,
        target: NetTarget,
        sub: Option<NetSub>,
        key: &str,
        v: &str,
        loc: &Location,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), ConfigError> {
        let bad = |reason: String| ConfigError::bad(loc, key, v, reason);
        let Some(sub) = sub else {
            if !v.is_empty() {
                return Err(bad(
                    "only takes an empty value, which removes the interface(s)".into(),
                ));
            }
            match target {
                NetTarget::Index(n) => self.remove_net(n),
                _ => self.clear_nets(),
            }
            return Ok(());
        };
        let idx = match target {
            NetTarget::Index(n) => Some(n),
            NetTarget::Last => self.state.last_net,
            NetTarget::LegacyOrdinal(k) => self.state.legacy_nets.get(k as usize).copied(),
            NetTarget::All => None,
        };
        if sub == NetSub::Type {
            let legacy_new = target == NetTarget::Last
                || (idx.is_none() && matches!(target, NetTarget::LegacyOrdinal(_)));
            if v.is_empty() {
                // 1.0: an empty type drops every interface; 2.1+: just this one.
                match (legacy_new, idx) {
                    (true, _) => self.clear_nets(),
                    (false, Some(n)) => self.remove_net(n),
                    (false, None) => {}
                }
                return Ok(());
            }
            let kind = NetType::parse(v).ok_or_else(|| {
                bad("unknown type (empty, veth, vlan, macvlan, ipvlan, phys, none)".into())
            })?;
            let n = if legacy_new {
                let n = self.networks.iter().map(|x| x.index + 1).max().unwrap_or(0);
                self.state.legacy_nets.push(n);
                n
            } else {
                idx.expect("indexed")
            };
            self.open_net(n, kind, v, loc);
            return Ok(());
        }
        let Some(n) = idx else {
            if v.is_empty() {
                return Ok(());
            }
            return Err(bad(match target {
                NetTarget::LegacyOrdinal(k) => {
                    format!("there is no network section {k} (`lxc.network.type` opens one)")
                }
                _ => "no network interface yet: `lxc.network.type` must come first".into(),
            }));
        };
        let Some(net) = self.networks.iter_mut().find(|x| x.index == n) else {
            if v.is_empty() {
                return Ok(());
            }
            return Err(bad(format!(
                "`lxc.net.{n}.type` must be set before other keys of interface {n}"
            )));
        };
        let recorded = net.apply(sub, key, v, loc, ctx.rng)?;
        let idx_text = key.strip_prefix("lxc.net.").unwrap_or("");
        let leading_zero = idx_text.len() > 1
            && idx_text.starts_with('0')
            && idx_text.as_bytes()[1].is_ascii_digit();
        let ck = if target == NetTarget::Index(n) && !leading_zero {
            key.to_string()
        } else {
            format!("lxc.net.{n}.{}", sub.name())
        };
        if sub.is_list() {
            if v.is_empty() {
                self.items.retain(|i| i.key != ck);
            } else {
                self.item_push(ck, &recorded, loc);
            }
        } else {
            self.item_set(&ck, &recorded, loc);
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum KeyedList {
    Prlimit,
    Sysctl,
    NsShare,
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
