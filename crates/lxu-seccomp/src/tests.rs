//! Parsing of every form, and the compiled programs run on a small classic-BPF
//! interpreter for every ABI of both hosts (the real kernel runs them in tests/filter.rs).

use std::path::Path;

use crate::*;

fn parse(text: &str) -> Result<Profile, Error> {
    Profile::parse(text, Path::new("/p/test.seccomp"))
}

fn build(text: &str, host: Host) -> Compiled {
    compile(&parse(text).unwrap(), host).unwrap()
}

/// Runs `prog` on a `seccomp_data` the way the kernel does.
fn run(prog: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let mut data = Vec::with_capacity(64);
    data.extend_from_slice(&nr.to_le_bytes());
    data.extend_from_slice(&arch.to_le_bytes());
    data.extend_from_slice(&0u64.to_le_bytes());
    for a in args {
        data.extend_from_slice(&a.to_le_bytes());
    }
    let word =
        |off: u32| u32::from_le_bytes(data[off as usize..off as usize + 4].try_into().unwrap());
    let (mut acc, mut pc) = (0u32, 0usize);
    for _ in 0..100_000 {
        let i = prog[pc];
        pc += 1;
        let cond = |taken: bool| if taken { i.jt as usize } else { i.jf as usize };
        match i.code {
            0x20 => acc = word(i.k),
            0x54 => acc &= i.k,
            0x05 => pc += i.k as usize,
            0x15 => pc += cond(acc == i.k),
            0x25 => pc += cond(acc > i.k),
            0x35 => pc += cond(acc >= i.k),
            0x06 => return i.k,
            c => panic!("unexpected opcode {c:#x}"),
        }
    }
    panic!("program does not end")
}

const X86_64: u32 = 0xC000_003E;
const I386: u32 = 0x4000_0003;
const AARCH64: u32 = 0xC000_00B7;
const ARM: u32 = 0x4000_0028;
const EPERM: u32 = RET_ERRNO | 1;

fn call(c: &Compiled, arch: u32, nr: u32) -> u32 {
    run(&c.program, arch, nr, [0; 6])
}

#[test]
fn lxc_default_profile_denies_its_five_calls_on_every_abi() {
    let text = include_str!("../../../data/config/common.seccomp");
    let c = build(text, Host::X86_64);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // kexec_load: 246 on x86_64, 283 on i386, 528|X32 on x32.
    assert_eq!(call(&c, X86_64, 246), EPERM);
    assert_eq!(call(&c, I386, 283), EPERM);
    assert_eq!(call(&c, X86_64, X32_SYSCALL_BIT | 528), EPERM);
    // open_by_handle_at, init_module, finit_module, delete_module on x86_64.
    for nr in [304, 175, 313, 176] {
        assert_eq!(call(&c, X86_64, nr), EPERM, "nr {nr}");
    }
    // Everything else passes, on every ABI: a denylist must not kill 32-bit programs.
    assert_eq!(call(&c, X86_64, 170), RET_ALLOW);
    assert_eq!(call(&c, I386, 74), RET_ALLOW);
    assert_eq!(call(&c, X86_64, X32_SYSCALL_BIT | 170), RET_ALLOW);
    // umount2(_, MNT_FORCE) is refused with EACCES, other flags pass.
    let umount = |arch: u32, nr: u32, flags: u64| run(&c.program, arch, nr, [0, flags, 0, 0, 0, 0]);
    assert_eq!(umount(X86_64, 166, 1), RET_ERRNO | 13);
    assert_eq!(umount(X86_64, 166, 3), RET_ERRNO | 13);
    assert_eq!(umount(X86_64, 166, 2), RET_ALLOW);
    assert_eq!(umount(I386, 52, 1), RET_ERRNO | 13);
    assert_eq!(umount(X86_64, X32_SYSCALL_BIT | 166, 1), RET_ERRNO | 13);

    let c = build(text, Host::AARCH64);
    assert_eq!(call(&c, AARCH64, 104), EPERM); // kexec_load
    assert_eq!(call(&c, ARM, 347), EPERM);
    assert_eq!(call(&c, ARM, 74), RET_ALLOW);
    // A foreign ABI on this host is killed (it cannot occur).
    assert_eq!(call(&c, X86_64, 1), RET_KILL_PROCESS);
}

#[test]
fn version_1_allows_listed_native_numbers_only() {
    let p = parse("1\nallowlist\n0\n1\n\n# comment\n60\n").unwrap();
    assert_eq!(p.version, 1);
    assert_eq!(p.rules.len(), 3);
    let c = compile(&p, Host::X86_64).unwrap();
    assert_eq!(call(&c, X86_64, 1), RET_ALLOW);
    assert_eq!(call(&c, X86_64, 2), RET_KILL_PROCESS);
    // The numbers are x86_64's: an i386 process gets the default.
    assert_eq!(call(&c, I386, 1), RET_KILL_PROCESS);
    assert!(parse("1\nwhitelist\n5\n").is_ok());
    let e = parse("1\nallowlist\nread\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.to_string().starts_with("/p/test.seccomp:3: "), "{e}");
    assert_eq!(parse("1\ndenylist\n").unwrap_err().line, 2);
}

#[test]
fn version_2_policies_and_default_actions() {
    let deny = parse("2\ndenylist\nsethostname\n").unwrap();
    assert_eq!(deny.default_action, Action::Allow);
    assert_eq!(deny.rules[0].action, Action::Kill);
    let old = parse("2\nblacklist\nsethostname\n").unwrap();
    assert_eq!(old.rules, deny.rules);
    let allow = parse("2\nallowlist\nread\n").unwrap();
    assert_eq!(allow.default_action, Action::Kill);
    assert_eq!(allow.rules[0].action, Action::Allow);
    assert_eq!(parse("2\nwhitelist\nread\n").unwrap().rules, allow.rules);
    let errno = parse("2\nallowlist errno 38\nread\n").unwrap();
    assert_eq!(errno.default_action, Action::Errno(38));
    let c = compile(&errno, Host::X86_64).unwrap();
    assert_eq!(call(&c, X86_64, 0), RET_ALLOW);
    assert_eq!(call(&c, X86_64, 1), RET_ERRNO | 38);
    assert_eq!(call(&c, I386, 3), RET_ALLOW);

    for (text, line) in [
        ("", 1),
        ("3\ndenylist\n", 1),
        ("2\n", 2),
        ("2\ngreylist\n", 2),
        ("2\ndenylist debug\n", 2),
        ("2\ndenylist frobnicate\n", 2),
    ] {
        assert_eq!(parse(text).unwrap_err().line, line, "{text:?}");
    }
}

#[test]
fn every_action() {
    let p = parse(
        "2\ndenylist\nreboot errno 1\nsetns kill\nunshare trap\nkeyctl allow\nadd_key log\nrequest_key # remark\nbpf errno 4095 # remark\n",
    )
    .unwrap();
    let acts: Vec<Action> = p.rules.iter().map(|r| r.action).collect();
    assert_eq!(
        acts,
        vec![
            Action::Errno(1),
            Action::Kill,
            Action::Trap,
            Action::Allow,
            Action::Log,
            Action::Kill,
            Action::Errno(4095),
        ]
    );
    let c = compile(&p, Host::X86_64).unwrap();
    assert_eq!(call(&c, X86_64, 169), RET_ERRNO | 1); // reboot
    assert_eq!(call(&c, X86_64, 308), RET_KILL_PROCESS); // setns
    assert_eq!(call(&c, X86_64, 272), RET_TRAP); // unshare
    assert_eq!(call(&c, X86_64, 250), RET_ALLOW); // keyctl
    assert_eq!(call(&c, X86_64, 248), RET_LOG); // add_key
    for bad in [
        "2\ndenylist\nreboot errno\n",
        "2\ndenylist\nreboot errno x\n",
        "2\ndenylist\nreboot errno 4096\n",
        "2\ndenylist\nreboot explode\n",
    ] {
        let e = parse(bad).unwrap_err();
        assert_eq!(e.line, 3, "{bad:?}");
    }
}

#[test]
fn notify_is_refused_with_its_line() {
    let p = parse("2\ndenylist\n\nmknod notify\n").unwrap();
    let e = compile(&p, Host::X86_64).unwrap_err();
    assert_eq!(e.line, 4);
    assert!(e.msg.contains("notify proxy"), "{e}");
}

#[test]
fn sections_pick_abis() {
    let text = "2\ndenylist\nsethostname errno 1\n[x86_64]\nsetdomainname errno 2\n[x86]\nsetdomainname errno 3\n[i386]\nsocketcall errno 4\n[x32]\nsetdomainname errno 5\n[ppc64le]\nnot_on_this_host_at_all errno 6\n[ARM64]\nsetdomainname errno 7\n[all]\nreboot errno 8\n";
    let p = parse(text).unwrap();
    assert_eq!(p.rules[0].section, Section::All);
    assert_eq!(p.rules[1].section, Section::X86_64);
    let c = compile(&p, Host::X86_64).unwrap();
    // The ppc64le section is skipped without a look at its names.
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(call(&c, X86_64, 170), RET_ERRNO | 1);
    assert_eq!(call(&c, I386, 74), RET_ERRNO | 1);
    assert_eq!(call(&c, X86_64, 171), RET_ERRNO | 2);
    assert_eq!(call(&c, I386, 121), RET_ERRNO | 3);
    assert_eq!(call(&c, I386, 102), RET_ERRNO | 4);
    assert_eq!(call(&c, X86_64, X32_SYSCALL_BIT | 171), RET_ERRNO | 5);
    assert_eq!(call(&c, X86_64, 169), RET_ERRNO | 8);
    assert_eq!(call(&c, I386, 88), RET_ERRNO | 8);
    let c = compile(&p, Host::AARCH64).unwrap();
    assert_eq!(call(&c, AARCH64, 162), RET_ERRNO | 7);
    assert_eq!(call(&c, ARM, 121), RET_ALLOW);
    let e = parse("2\ndenylist\n[vax]\nread\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.msg.contains("vax"));
}

#[test]
fn names_the_host_lacks_warn_and_typos_fail() {
    // `socketcall` exists on i386 only: kept there, nothing to warn about.
    let c = build("2\ndenylist\nsocketcall errno 1\n", Host::X86_64);
    assert!(c.warnings.is_empty());
    assert_eq!(call(&c, I386, 102), EPERM);
    // Only in x86_64's section: x86_64 lacks it, a warning with file and line.
    let c = build("2\ndenylist\n[x86_64]\nsocketcall errno 1\n", Host::X86_64);
    assert_eq!(
        c.warnings,
        vec!["/p/test.seccomp:4: `socketcall` is not a system call of x86_64: rule ignored"]
    );
    // aarch64 has no `open`; its 32-bit arm ABI has.
    let c = build("2\ndenylist\nopen errno 1\n", Host::AARCH64);
    assert!(c.warnings.is_empty());
    assert_eq!(call(&c, ARM, 5), EPERM);
    let c = build("2\ndenylist\n[arm64]\nopen errno 1\n", Host::AARCH64);
    assert_eq!(c.warnings.len(), 1);
    let e = compile(
        &parse("2\ndenylist\n\nsethostnam errno 1\n").unwrap(),
        Host::X86_64,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "/p/test.seccomp:4: unknown system call `sethostnam`"
    );
}

#[test]
fn argument_filters_compare_64_bit_values() {
    let p = parse(
        "2\ndenylist\n\
         lseek errno 1 [1,0x100000000,SCMP_CMP_EQ]\n\
         lseek errno 2 [1,0x1ffffffff,SCMP_CMP_GT]\n\
         lseek errno 3 [1,10,SCMP_CMP_LT][2,1,==]\n\
         read errno 4 [0,5,SCMP_CMP_NE] [2, 0x10, SCMP_CMP_GE]\n\
         write errno 5 [2,0x100000001,<=]\n\
         dup errno 6 [0,0x10,SCMP_CMP_MASKED_EQ,0xf0]\n\
         dup3 errno 7 [2,0x80000,&=,0x80000]\n",
    )
    .unwrap();
    assert_eq!(
        p.rules[1].args,
        vec![ArgCmp {
            index: 1,
            op: Op::Gt,
            value: 0x1_ffff_ffff
        }]
    );
    assert_eq!(p.rules[5].args[0].op, Op::MaskedEq(0xf0));
    let c = compile(&p, Host::X86_64).unwrap();
    let r = |nr: u32, args: [u64; 6]| run(&c.program, X86_64, nr, args);
    // lseek = 8: EQ on the high half alone must not match 0 or 1<<32 + 1.
    assert_eq!(r(8, [0, 1 << 32, 0, 0, 0, 0]), RET_ERRNO | 1);
    assert_eq!(r(8, [0, (1 << 32) + 1, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(r(8, [0, 0, 0, 0, 0, 0]), RET_ALLOW);
    // GT across the halves.
    assert_eq!(r(8, [0, 0x2_0000_0000, 0, 0, 0, 0]), RET_ERRNO | 2);
    assert_eq!(r(8, [0, 0x1_ffff_ffff, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(r(8, [0, u64::MAX, 0, 0, 0, 0]), RET_ERRNO | 2);
    // LT and EQ on two arguments: both must hold.
    assert_eq!(r(8, [0, 9, 1, 0, 0, 0]), RET_ERRNO | 3);
    assert_eq!(r(8, [0, 9, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(r(8, [0, 10, 1, 0, 0, 0]), RET_ALLOW);
    assert_eq!(r(8, [0, 1 << 32, 1, 0, 0, 0]), RET_ERRNO | 1);
    // NE and GE.
    assert_eq!(r(0, [4, 0, 0x10, 0, 0, 0]), RET_ERRNO | 4);
    assert_eq!(r(0, [5, 0, 0x10, 0, 0, 0]), RET_ALLOW);
    assert_eq!(r(0, [5 + (1 << 32), 0, 0x10, 0, 0, 0]), RET_ERRNO | 4);
    assert_eq!(r(0, [4, 0, 0xf, 0, 0, 0]), RET_ALLOW);
    // LE with a value above 32 bits.
    assert_eq!(r(1, [0, 0, 0x1_0000_0001, 0, 0, 0]), RET_ERRNO | 5);
    assert_eq!(r(1, [0, 0, 0x1_0000_0002, 0, 0, 0]), RET_ALLOW);
    assert_eq!(r(1, [0, 0, 0xffff_ffff, 0, 0, 0]), RET_ERRNO | 5);
    // MASKED_EQ: (arg & mask) == value.
    assert_eq!(r(32, [0x1f, 0, 0, 0, 0, 0]), RET_ERRNO | 6);
    assert_eq!(r(32, [0x2f, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(r(292, [0, 0, 0x80800, 0, 0, 0]), RET_ERRNO | 7);
    assert_eq!(r(292, [0, 0, 0x800, 0, 0, 0]), RET_ALLOW);

    for bad in [
        "[6,1,==]",
        "[0,1]",
        "[0,x,==]",
        "[0,1,~~]",
        "[0,1,SCMP_CMP_MASKED_EQ]",
        "[0,1,==",
        "[0,1,==] trailing",
        "[0,1,==][0,1,==][0,1,==][0,1,==][0,1,==][0,1,==][0,1,==]",
    ] {
        let e = parse(&format!("2\ndenylist\nread errno 1 {bad}\n")).unwrap_err();
        assert_eq!(e.line, 3, "{bad}: {e}");
    }
}

#[test]
fn conditional_rules_come_before_the_plain_one() {
    let c = build(
        "2\ndenylist\numount2 errno 1\nreject_force_umount  # remark\n",
        Host::X86_64,
    );
    let r = |flags: u64| run(&c.program, X86_64, 166, [0, flags, 0, 0, 0, 0]);
    assert_eq!(r(1), RET_ERRNO | 13);
    assert_eq!(r(0), RET_ERRNO | 1);
}

#[test]
fn a_long_allowlist_stays_within_jump_range() {
    let mut text = String::from("2\nallowlist\n");
    let mut names = 0;
    for nr in 0..450 {
        if let Some(name) = syscalls::x86_64::Sysno::new(nr) {
            text.push_str(&format!("{}\n", name.name()));
            names += 1;
        }
    }
    let c = build(&text, Host::X86_64);
    assert!(c.program.len() < MAX_INSNS);
    assert_eq!(call(&c, X86_64, 449), RET_ALLOW);
    assert_eq!(call(&c, X86_64, 1000), RET_KILL_PROCESS);
    assert!(names > 300);
}

#[test]
fn a_profile_too_large_for_the_kernel_is_refused() {
    let mut text = String::from("2\ndenylist\n");
    for _ in 0..300 {
        text.push_str("read errno 1 [0,1,==][1,1,==][2,1,==][3,1,==]\n");
    }
    let e = compile(&parse(&text).unwrap(), Host::X86_64).unwrap_err();
    assert!(e.msg.contains("4096"), "{e}");
}

#[test]
fn a_missing_file_names_the_file() {
    let e = Profile::load(Path::new("/nonexistent/x.seccomp")).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("/nonexistent/x.seccomp: cannot read the seccomp profile"));
}

/// A 64-bit program can make an i386 call with `int 0x80` while the high halves of its
/// registers hold anything: the kernel passes them in `seccomp_data.args` (seen on Linux
/// 6.18: a filter reading the high half of args[0] for AUDIT_ARCH_I386 got the 7 put in
/// rbx's high half) but the call itself only uses the low 32 bits. A deny rule on an
/// argument must still match then, or `[x86]`/`[all]` rules are bypassed.
#[test]
fn i386_rules_ignore_the_high_half_a_64_bit_caller_can_set() {
    let c = build(
        "2\ndenylist\n\
         socket errno 97 [0,40,SCMP_CMP_EQ]\n\
         personality errno 1 [0,8,SCMP_CMP_NE]\n\
         setns errno 2 [1,0x40000000,SCMP_CMP_MASKED_EQ,0x40000000]\n\
         lseek errno 3 [1,10,SCMP_CMP_GT]\n\
         read errno 4 [2,0x1ffffffff,<=]\n\
         write errno 5 [2,0x100000000,==]\n",
        Host::X86_64,
    );
    let junk = 0x0000_0007_0000_0000u64;
    let r = |nr: u32, args: [u64; 6]| run(&c.program, I386, nr, args);
    // socket is 359 on i386: AF_VSOCK with junk above it is still AF_VSOCK.
    assert_eq!(r(359, [40, 0, 0, 0, 0, 0]), RET_ERRNO | 97);
    assert_eq!(r(359, [junk | 40, 0, 0, 0, 0, 0]), RET_ERRNO | 97);
    assert_eq!(r(359, [junk | 2, 0, 0, 0, 0, 0]), RET_ALLOW);
    // personality (136): 8 with junk is 8, so it is allowed.
    assert_eq!(r(136, [junk | 8, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(r(136, [junk, 0, 0, 0, 0, 0]), RET_ERRNO | 1);
    // setns (346) with CLONE_NEWUSER, junk above.
    assert_eq!(r(346, [0, junk | 0x4000_0000, 0, 0, 0, 0]), RET_ERRNO | 2);
    // lseek (19): junk must not make 5 greater than 10.
    assert_eq!(r(19, [0, junk | 5, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(r(19, [0, junk | 11, 0, 0, 0, 0]), RET_ERRNO | 3);
    // read (3): every 32-bit count is <= 0x1ffffffff.
    assert_eq!(r(3, [0, 0, junk | 0xffff_ffff, 0, 0, 0]), RET_ERRNO | 4);
    // write (4): no 32-bit count equals 1 << 32.
    assert_eq!(r(4, [0, 0, 1 << 32, 0, 0, 0]), RET_ALLOW);
    // x86_64 keeps comparing all 64 bits (lseek there takes a 64-bit offset).
    assert_eq!(
        run(&c.program, X86_64, 8, [0, junk | 5, 0, 0, 0, 0]),
        RET_ERRNO | 3
    );
}

#[test]
fn an_unreadable_file_names_it_and_gives_the_cause_as_source() {
    let e = Profile::load(Path::new("/nonexistent/x.seccomp")).unwrap_err();
    assert_eq!(e.line, 0);
    assert_eq!(
        e.to_string(),
        "/nonexistent/x.seccomp: cannot read the seccomp profile"
    );
    let cause = std::error::Error::source(&e).expect("the cause");
    assert!(cause.to_string().contains("No such file"), "{cause}");
}
