//! LXC container configuration: the lossless line-level file ([`ConfigFile`]),
//! the evaluated settings ([`Config`]) for both key generations (LXC 1.0 names
//! such as `lxc.network.*`, `lxc.id_map`, `lxc.utsname` and the 2.1+/5.x names),
//! `lxc-update-config`'s conversion ([`update_config`]) and the system
//! configuration `lxc.conf` ([`SystemConfig`]); [`reference`](mod@reference) renders the
//! manual page of the container configuration from the same key table.
//!
//! Pure: the only I/O is reading config files (and 8 bytes of /dev/urandom to
//! seed hwaddr templates).

mod config;
mod error;
mod file;
mod fstab;
#[doc(hidden)]
pub mod fuzz;
mod idmap;
mod keys;
mod line;
mod mount_auto;
mod net;
pub mod reference;
mod rng;
mod rootfs;
mod system;
mod update;
mod values;

pub use config::{Config, Item};
pub use error::{ConfigError, Location};
pub use file::{ConfigFile, Entry};
pub use fstab::{decode_octal, parse_fstab, Create, MountEntry};
pub use idmap::{IdKind, IdMap};
pub use keys::{canonical_key, HookType};
pub use mount_auto::{CgroupAuto, CgroupMode, MountAuto, ProcMode, SysMode};
pub use net::{NetType, Network};
pub use rootfs::{Rootfs, RootfsBackend};
pub use system::SystemConfig;
pub use update::update_config;
pub use values::{cap_number, SIGRTMIN};
