//! A profile resolved for a host and compiled to classic BPF.
//!
//! Layout: load `seccomp_data.arch` and jump to the block of that ABI (a process of an
//! ABI the host does not have is killed: it cannot occur on the hosts supported). Each
//! block loads `nr` and compares it with every number that has rules; a match jumps to
//! that syscall's rules, which test arguments rule by rule (64-bit values as two 32-bit
//! halves) and return the first matching rule's action. On x86_64 a number with the x32
//! bit goes to the x32 block, so x32 calls cannot slip past rules written by name.
//! Conditional jumps in classic BPF reach 255 instructions at most; every far target is
//! reached through an unconditional `ja` (32-bit offset) placed right after the test.

use std::collections::BTreeMap;

use crate::arch::{self, Abi, Host, X32_SYSCALL_BIT};
use crate::profile::{Action, ArgCmp, Error, Op, Profile, Section, Syscall};

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// The compiled filter and what the user should hear about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    pub program: Vec<Insn>,
    /// Rules skipped because no ABI of this host has the syscall (LXC skips them too).
    pub warnings: Vec<String>,
}

// Opcodes (linux/bpf_common.h).
const LD_W_ABS: u16 = 0x20;
const ALU_AND_K: u16 = 0x54;
const JMP_JA: u16 = 0x05;
const JMP_JEQ_K: u16 = 0x15;
const JMP_JGT_K: u16 = 0x25;
const JMP_JGE_K: u16 = 0x35;
const RET_K: u16 = 0x06;

// linux/seccomp.h return values.
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;

/// `BPF_MAXINSNS`.
pub const MAX_INSNS: usize = 4096;

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARGS: u32 = 16;
const MNT_FORCE: u64 = 1;
const EACCES: u16 = 13;

fn ret_value(a: Action) -> u32 {
    match a {
        Action::Allow => RET_ALLOW,
        Action::Errno(e) => RET_ERRNO | u32::from(e),
        Action::Kill => RET_KILL_PROCESS,
        Action::Trap => RET_TRAP,
        Action::Log => RET_LOG,
        // Refused before code generation.
        Action::Notify => RET_KILL_PROCESS,
    }
}

/// The rules of one syscall of one ABI, in file order.
type Rules = Vec<(Vec<ArgCmp>, Action)>;

pub fn compile(profile: &Profile, host: Host) -> Result<Compiled, Error> {
    let err = |line: usize, msg: String| Error::at(&profile.file, line, msg);
    if profile.default_action == Action::Notify {
        return Err(err(
            2,
            "`notify` needs a seccomp notify proxy (lxc.seccomp.notify.proxy), which lxu does not provide".into(),
        ));
    }
    let mut per_abi: Vec<BTreeMap<u32, Rules>> = vec![BTreeMap::new(); host.abis.len()];
    let mut warnings = Vec::new();
    for rule in &profile.rules {
        if rule.action == Action::Notify {
            return Err(err(
                rule.line,
                "`notify` needs a seccomp notify proxy (lxc.seccomp.notify.proxy), which lxu does not provide".into(),
            ));
        }
        let targets: Vec<usize> = match (&rule.syscall, rule.section) {
            // Version 1 numbers are the native table's.
            (Syscall::Number(_), _) => vec![0],
            (_, Section::All) => (0..host.abis.len()).collect(),
            (_, s) => host
                .abis
                .iter()
                .position(|a| a.section() == s)
                .into_iter()
                .collect(),
        };
        if targets.is_empty() {
            // A section for an architecture this host does not run.
            continue;
        }
        let mut placed = false;
        for i in &targets {
            let abi = host.abis[*i];
            let (nr, args, action) = match &rule.syscall {
                Syscall::Number(n) => (Some(*n), rule.args.clone(), rule.action),
                Syscall::Name(name) => (abi.lookup(name), rule.args.clone(), rule.action),
                Syscall::RejectForceUmount => (
                    abi.lookup("umount2"),
                    vec![ArgCmp {
                        index: 1,
                        op: Op::MaskedEq(MNT_FORCE),
                        value: MNT_FORCE,
                    }],
                    Action::Errno(EACCES),
                ),
            };
            if let Some(nr) = nr {
                per_abi[*i].entry(nr).or_default().push((args, action));
                placed = true;
            }
        }
        if !placed {
            if let Syscall::Name(name) = &rule.syscall {
                if !arch::known_anywhere(name) {
                    return Err(err(rule.line, format!("unknown system call `{name}`")));
                }
                let abis: Vec<&str> = targets.iter().map(|i| host.abis[*i].name()).collect();
                warnings.push(format!(
                    "{}:{}: `{name}` is not a system call of {}: rule ignored",
                    profile.file.display(),
                    rule.line,
                    abis.join(", ")
                ));
            }
        }
    }
    let default = ret_value(profile.default_action);
    let program = emit(host, &per_abi, default).map_err(|m| err(0, m))?;
    Ok(Compiled { program, warnings })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Label(usize);

#[derive(Clone, Copy, Debug)]
enum To {
    Next,
    L(Label),
}

enum Item {
    Stmt(u16, u32),
    Jump(u16, u32, To, To),
    Ja(Label),
    Here(Label),
}

#[derive(Default)]
struct Asm {
    items: Vec<Item>,
    labels: usize,
}

impl Asm {
    fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }
    fn here(&mut self, l: Label) {
        self.items.push(Item::Here(l));
    }
    fn ld(&mut self, off: u32) {
        self.items.push(Item::Stmt(LD_W_ABS, off));
    }
    fn and(&mut self, k: u32) {
        self.items.push(Item::Stmt(ALU_AND_K, k));
    }
    fn ret(&mut self, k: u32) {
        self.items.push(Item::Stmt(RET_K, k));
    }
    fn jump(&mut self, code: u16, k: u32, jt: To, jf: To) {
        self.items.push(Item::Jump(code, k, jt, jf));
    }
    fn ja(&mut self, l: Label) {
        self.items.push(Item::Ja(l));
    }

    fn finish(self) -> Result<Vec<Insn>, String> {
        let mut at = vec![usize::MAX; self.labels];
        let mut pc = 0;
        for it in &self.items {
            match it {
                Item::Here(l) => at[l.0] = pc,
                _ => pc += 1,
            }
        }
        if pc > MAX_INSNS {
            return Err(format!(
                "the profile compiles to {pc} BPF instructions; the kernel takes at most {MAX_INSNS}"
            ));
        }
        let mut out = Vec::with_capacity(pc);
        for it in &self.items {
            let pos = out.len();
            let rel = |t: To| -> Result<u32, String> {
                match t {
                    To::Next => Ok(0),
                    To::L(l) => at[l.0]
                        .checked_sub(pos + 1)
                        .map(|d| d as u32)
                        .ok_or_else(|| "internal error: backward jump".to_string()),
                }
            };
            match *it {
                Item::Here(_) => continue,
                Item::Stmt(code, k) => out.push(Insn {
                    code,
                    jt: 0,
                    jf: 0,
                    k,
                }),
                Item::Jump(code, k, jt, jf) => {
                    let short = |d: u32| {
                        u8::try_from(d).map_err(|_| "internal error: jump too far".to_string())
                    };
                    out.push(Insn {
                        code,
                        jt: short(rel(jt)?)?,
                        jf: short(rel(jf)?)?,
                        k,
                    })
                }
                Item::Ja(l) => out.push(Insn {
                    code: JMP_JA,
                    jt: 0,
                    jf: 0,
                    k: rel(To::L(l))?,
                }),
            }
        }
        Ok(out)
    }
}

fn emit(host: Host, per_abi: &[BTreeMap<u32, Rules>], default: u32) -> Result<Vec<Insn>, String> {
    let mut a = Asm::default();
    let blocks: Vec<Label> = host.abis.iter().map(|_| a.label()).collect();
    // Dispatch on the ABI; x32 has no AUDIT_ARCH of its own and is found in x86_64's block.
    a.ld(OFF_ARCH);
    for (i, abi) in host.abis.iter().enumerate() {
        if *abi == Abi::X32 {
            continue;
        }
        let over = a.label();
        a.jump(JMP_JEQ_K, abi.audit_arch(), To::Next, To::L(over));
        a.ja(blocks[i]);
        a.here(over);
    }
    a.ret(RET_KILL_PROCESS);
    let x32 = host.abis.iter().position(|x| *x == Abi::X32);
    for (i, abi) in host.abis.iter().enumerate() {
        a.here(blocks[i]);
        a.ld(OFF_NR);
        match (abi, x32) {
            (Abi::X86_64, Some(j)) => {
                let over = a.label();
                a.jump(JMP_JGE_K, X32_SYSCALL_BIT, To::Next, To::L(over));
                a.ja(blocks[j]);
                a.here(over);
            }
            (Abi::X32, _) => {
                // Numbers without the bit never reach this block; nothing below the bit
                // belongs to x32.
            }
            _ => {}
        }
        let rules = &per_abi[i];
        let bodies: Vec<(u32, Label)> = rules.keys().map(|nr| (*nr, a.label())).collect();
        for (nr, body) in &bodies {
            let over = a.label();
            a.jump(JMP_JEQ_K, *nr, To::Next, To::L(over));
            a.ja(*body);
            a.here(over);
        }
        a.ret(default);
        for (nr, body) in &bodies {
            a.here(*body);
            let list = &rules[nr];
            for (args, action) in list.iter().filter(|(args, _)| !args.is_empty()) {
                let next = a.label();
                for c in args {
                    arg_check(&mut a, c, next, abi.is_32bit());
                }
                a.ret(ret_value(*action));
                a.here(next);
            }
            let fallback = list
                .iter()
                .find(|(args, _)| args.is_empty())
                .map(|(_, act)| ret_value(*act))
                .unwrap_or(default);
            a.ret(fallback);
        }
    }
    a.finish()
}

/// Tests one argument; falls through when it holds, jumps to `fail` when not.
///
/// `narrow`: the ABI passes 32-bit arguments. The kernel then uses only the low half of
/// each register, but fills `seccomp_data.args` from the whole 64-bit register: a 64-bit
/// program calling through `int 0x80` can set the high half to anything. Comparing it
/// would let such a call slip past a rule (as libseccomp does, only the low half is
/// compared, as the 32-bit value the kernel acts on).
fn arg_check(a: &mut Asm, c: &ArgCmp, fail: Label, narrow: bool) {
    if narrow {
        return arg_check_32(a, c, fail);
    }
    let lo = OFF_ARGS + 8 * u32::from(c.index);
    let hi = lo + 4;
    let vhi = (c.value >> 32) as u32;
    let ok = a.label();
    let f = To::L(fail);
    let o = To::L(ok);
    let n = To::Next;
    // The high halves decide unless equal (unsigned, as the kernel compares); then the
    // low halves, as for a 32-bit argument.
    a.ld(hi);
    match c.op {
        Op::Eq => a.jump(JMP_JEQ_K, vhi, n, f),
        Op::Ne => a.jump(JMP_JEQ_K, vhi, n, o),
        Op::MaskedEq(m) => {
            a.and((m >> 32) as u32);
            a.jump(JMP_JEQ_K, vhi, n, f);
        }
        Op::Gt | Op::Ge => {
            a.jump(JMP_JGT_K, vhi, o, n);
            a.jump(JMP_JEQ_K, vhi, n, f);
        }
        Op::Lt | Op::Le => {
            a.jump(JMP_JGT_K, vhi, f, n);
            a.jump(JMP_JEQ_K, vhi, n, o);
        }
    }
    a.ld(lo);
    low_half_check(a, c.op, c.value as u32, f);
    a.here(ok);
}

/// [`arg_check`] for an ABI of 32-bit arguments: the argument is its low half, and a
/// value above 32 bits is decided here (no 32-bit argument equals or exceeds it).
fn arg_check_32(a: &mut Asm, c: &ArgCmp, fail: Label) {
    let big = c.value > u64::from(u32::MAX);
    match c.op {
        Op::Eq | Op::MaskedEq(_) | Op::Gt | Op::Ge if big => a.ja(fail),
        Op::Ne | Op::Lt | Op::Le if big => {}
        op => {
            a.ld(OFF_ARGS + 8 * u32::from(c.index));
            low_half_check(a, op, c.value as u32, To::L(fail));
        }
    }
}

/// Compares the loaded 32-bit word with `v` by `op` (unsigned): falls through when it
/// holds, jumps to `fail` when not.
fn low_half_check(a: &mut Asm, op: Op, v: u32, fail: To) {
    let n = To::Next;
    match op {
        Op::Eq => a.jump(JMP_JEQ_K, v, n, fail),
        Op::Ne => a.jump(JMP_JEQ_K, v, fail, n),
        Op::MaskedEq(m) => {
            a.and(m as u32);
            a.jump(JMP_JEQ_K, v, n, fail);
        }
        Op::Gt => a.jump(JMP_JGT_K, v, n, fail),
        Op::Ge => a.jump(JMP_JGE_K, v, n, fail),
        // arg < v is not (arg >= v); arg <= v is not (arg > v).
        Op::Lt => a.jump(JMP_JGE_K, v, fail, n),
        Op::Le => a.jump(JMP_JGT_K, v, fail, n),
    }
}
