//! LXC container configuration: the lossless line-level file ([`ConfigFile`]),
//! the evaluated settings ([`Config`]) for both key generations (LXC 1.0 names
//! such as `lxc.network.*`, `lxc.id_map`, `lxc.utsname` and the 2.1+/5.x names),
//! `lxc-update-config`'s conversion ([`update_config`]) and the system
//! configuration `lxc.conf` ([`SystemConfig`]).
//!
//! Pure: the only I/O is reading config files (and 8 bytes of /dev/urandom to
//! seed hwaddr templates).

mod config;
mod error;
mod file;
mod fstab;
mod keys;
mod line;
mod net;
pub mod reference;
mod rng;
mod system;
mod update;
mod values;

pub use config::{Config, Item, MAX_INCLUDE_DEPTH};
pub use error::{ConfigError, Location};
pub use file::{ConfigFile, Entry};
pub use fstab::{decode_octal, parse_fstab, Create, MountEntry};
pub use keys::{canonical_key, is_legacy_key, known_keys, HookType};
pub use net::{NetType, Network};
pub use system::SystemConfig;
pub use update::update_config;
pub use values::{
    cap_number, parse_signal, personality, CgroupAuto, CgroupMode, IdKind, IdMap, MountAuto,
    Personality, ProcMode, Rootfs, RootfsBackend, SysMode, CAPABILITIES, SIGRTMAX, SIGRTMIN,
};
