//! LXC seccomp profiles (`lxc.seccomp.profile`) in pure Rust: the profile text is parsed
//! ([`Profile`]), resolved for the host's syscall ABIs and compiled to a classic BPF
//! program ([`compile`]) that `seccomp(SECCOMP_SET_MODE_FILTER)` takes as it is.
//!
//! Why not `seccompiler`: it builds a filter for one architecture and kills every process
//! of any other (an i386 binary in an x86_64 container would die on its first syscall
//! under a denylist), and it has no x32 handling, so x32 calls would pass a denylist
//! written by name. See docs/design.md.

mod arch;
mod compile;
#[doc(hidden)]
pub mod fuzz;
mod profile;

pub use arch::{Abi, Host};
pub use compile::{compile, Compiled, Insn};
pub use profile::{Action, ArgCmp, Error, Op, Profile, Rule, Section, Syscall};

// For the unit tests.
#[cfg(test)]
use arch::X32_SYSCALL_BIT;
#[cfg(test)]
use compile::{MAX_INSNS, RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS, RET_LOG, RET_TRAP};
#[cfg(test)]
mod tests;
