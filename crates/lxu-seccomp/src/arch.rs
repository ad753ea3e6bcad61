//! The syscall ABIs a filter must tell apart on each host, and their name tables.

use std::str::FromStr;

use crate::profile::Section;

/// `__X32_SYSCALL_BIT`: x32 calls arrive as x86_64 (same `AUDIT_ARCH`) with this bit set.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// One syscall ABI a process of this host may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abi {
    X86_64,
    I386,
    X32,
    Aarch64,
    Arm,
}

impl Abi {
    pub fn name(self) -> &'static str {
        match self {
            Abi::X86_64 => "x86_64",
            Abi::I386 => "i386",
            Abi::X32 => "x32",
            Abi::Aarch64 => "aarch64",
            Abi::Arm => "arm",
        }
    }

    /// Whether the ABI's syscall arguments are 32 bits wide (the kernel ignores the high
    /// half of the registers that carry them).
    pub fn is_32bit(self) -> bool {
        matches!(self, Abi::I386 | Abi::Arm)
    }

    /// `AUDIT_ARCH_*` as the kernel puts it in `seccomp_data.arch`.
    pub fn audit_arch(self) -> u32 {
        match self {
            Abi::X86_64 | Abi::X32 => 0xC000_003E,
            Abi::I386 => 0x4000_0003,
            Abi::Aarch64 => 0xC000_00B7,
            Abi::Arm => 0x4000_0028,
        }
    }

    /// The section of a profile that addresses this ABI alone.
    pub fn section(self) -> Section {
        match self {
            Abi::X86_64 => Section::X86_64,
            Abi::I386 => Section::X86,
            Abi::X32 => Section::X32,
            Abi::Aarch64 => Section::Arm64,
            Abi::Arm => Section::Arm,
        }
    }

    /// The number `name` has in this ABI, as it appears in `seccomp_data.nr`.
    pub fn lookup(self, name: &str) -> Option<u32> {
        let nr = match self {
            Abi::X86_64 => syscalls::x86_64::Sysno::from_str(name).ok()?.id(),
            Abi::I386 => syscalls::x86::Sysno::from_str(name).ok()?.id(),
            Abi::Aarch64 => syscalls::aarch64::Sysno::from_str(name).ok()?.id(),
            Abi::Arm => syscalls::arm::Sysno::from_str(name).ok()?.id(),
            Abi::X32 => return x32_lookup(name),
        };
        u32::try_from(nr).ok()
    }
}

/// x32 shares x86_64's table except for the calls whose arguments hold pointers to
/// structures of different layout: those have their own numbers from 512 (the 64-bit
/// numbers of these calls are refused for x32 tasks), and a few 64-bit-only calls do not
/// exist. Checked against `asm/unistd_x32.h` of Linux 6.1.
const X32_OWN: [&str; 36] = [
    "rt_sigaction",
    "rt_sigreturn",
    "ioctl",
    "readv",
    "writev",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "execve",
    "ptrace",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigqueueinfo",
    "sigaltstack",
    "timer_create",
    "mq_notify",
    "kexec_load",
    "waitid",
    "set_robust_list",
    "get_robust_list",
    "vmsplice",
    "move_pages",
    "preadv",
    "pwritev",
    "rt_tgsigqueueinfo",
    "recvmmsg",
    "sendmmsg",
    "process_vm_readv",
    "process_vm_writev",
    "setsockopt",
    "getsockopt",
    "io_setup",
    "io_submit",
    "execveat",
    "preadv2",
    "pwritev2",
];

const X32_MISSING: [&str; 11] = [
    "_sysctl",
    "create_module",
    "epoll_ctl_old",
    "epoll_wait_old",
    "get_kernel_syms",
    "get_thread_area",
    "nfsservctl",
    "query_module",
    "set_thread_area",
    "uselib",
    "vserver",
];

fn x32_lookup(name: &str) -> Option<u32> {
    if X32_MISSING.contains(&name) {
        return None;
    }
    if let Some(i) = X32_OWN.iter().position(|n| *n == name) {
        return Some(X32_SYSCALL_BIT | (512 + i as u32));
    }
    Abi::X86_64.lookup(name).map(|nr| X32_SYSCALL_BIT | nr)
}

/// Whether any architecture's table (of every one the kernel supports) has `name`:
/// tells a name this host lacks (skipped, as LXC does) from a typo (an error).
pub fn known_anywhere(name: &str) -> bool {
    use syscalls::*;
    macro_rules! any_of {
        ($($arch:ident),*) => { false $(|| $arch::Sysno::from_str(name).is_ok())* };
    }
    any_of!(
        x86_64,
        x86,
        aarch64,
        arm,
        riscv32,
        riscv64,
        powerpc,
        powerpc64,
        mips,
        mips64,
        s390x,
        sparc,
        sparc64,
        loongarch64
    )
}

/// The ABIs of a host, native first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host {
    pub abis: &'static [Abi],
}

impl Host {
    pub const X86_64: Host = Host {
        abis: &[Abi::X86_64, Abi::I386, Abi::X32],
    };
    pub const AARCH64: Host = Host {
        abis: &[Abi::Aarch64, Abi::Arm],
    };

    /// The host this program was built for, if lxu can filter there.
    pub fn native() -> Option<Host> {
        if cfg!(target_arch = "x86_64") {
            Some(Host::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Host::AARCH64)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_agree_with_the_kernel_headers() {
        assert_eq!(Abi::X86_64.lookup("sethostname"), Some(170));
        assert_eq!(Abi::X86_64.lookup("kexec_load"), Some(246));
        assert_eq!(Abi::I386.lookup("sethostname"), Some(74));
        assert_eq!(Abi::I386.lookup("umount2"), Some(52));
        assert_eq!(Abi::I386.lookup("socketcall"), Some(102));
        assert_eq!(Abi::X86_64.lookup("socketcall"), None);
        assert_eq!(Abi::X32.lookup("sethostname"), Some(X32_SYSCALL_BIT | 170));
        assert_eq!(Abi::X32.lookup("kexec_load"), Some(X32_SYSCALL_BIT | 528));
        assert_eq!(Abi::X32.lookup("pwritev2"), Some(X32_SYSCALL_BIT | 547));
        assert_eq!(Abi::X32.lookup("uselib"), None);
        assert_eq!(Abi::Aarch64.lookup("sethostname"), Some(161));
        assert_eq!(Abi::Aarch64.lookup("open"), None);
        assert_eq!(Abi::Arm.lookup("sethostname"), Some(74));
    }

    #[test]
    fn typos_are_told_from_foreign_names() {
        assert!(known_anywhere("socketcall"));
        assert!(known_anywhere("open"));
        assert!(!known_anywhere("sethostnam"));
    }
}
