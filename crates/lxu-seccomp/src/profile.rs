//! The text of an LXC seccomp profile, parsed without looking at the host.
//!
//! Version 1: line 1 `1`, line 2 `allowlist` (or `whitelist`), then one native syscall
//! number per line. Version 2: line 1 `2`, line 2 `denylist`/`allowlist` (old names
//! `blacklist`/`whitelist`) with an optional default action, then rule lines
//! `name [action] [[idx,value,op(,mask)]...]`, the directive `reject_force_umount`, and
//! `[arch]` lines that start a section. `#` starts a comment line; text after a rule's
//! recognised tokens is ignored, as LXC does (its shipped file has remarks there).

use std::fmt;
use std::path::{Path, PathBuf};

/// A problem in a profile, with the place it was found.
#[derive(Debug)]
pub struct Error {
    pub file: PathBuf,
    /// 1-based; 0 when the problem is not on one line (a missing file).
    pub line: usize,
    pub msg: String,
    /// Why the file could not be read, for [`std::error::Error::source`].
    pub cause: Option<std::io::Error>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.msg)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.msg)
        }
    }
}

impl Error {
    /// A problem on `line` of `file` (0: not on one line).
    pub(crate) fn at(file: &Path, line: usize, msg: String) -> Error {
        Error {
            file: file.to_path_buf(),
            line,
            msg,
            cause: None,
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_ref().map(|e| e as _)
    }
}

/// What the filter does with a matching syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Allow,
    /// Fail the call with this errno.
    Errno(u16),
    /// Kill the whole process (see docs/design.md for why not only the thread).
    Kill,
    /// Send SIGSYS.
    Trap,
    /// Allow and log to the audit log.
    Log,
    /// Hand the call to a seccomp-notify supervisor (refused at compile time).
    Notify,
}

/// Comparison of one syscall argument, as libseccomp's `SCMP_CMP_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `(arg & mask) == value`.
    MaskedEq(u64),
}

/// `[index,value,op(,mask)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgCmp {
    pub index: u8,
    pub op: Op,
    pub value: u64,
}

/// A section header's architecture, by the names LXC knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    All,
    X86,
    X32,
    X86_64,
    Arm,
    Arm64,
    Ppc64le,
    Ppc64,
    Ppc,
    Mips64,
    Mips64n32,
    Mips,
    Mipsel64,
    Mipsel64n32,
    Mipsel,
    S390x,
    S390,
}

impl Section {
    fn parse(s: &str) -> Option<Section> {
        use Section::*;
        // LXC takes each name in lower or upper case; `i386` and `aarch64` are the
        // kernel's names for two of them.
        Some(match s.to_ascii_lowercase().as_str() {
            "all" => All,
            "x86" | "i386" => X86,
            "x32" => X32,
            "x86_64" | "amd64" => X86_64,
            "arm" => Arm,
            "arm64" | "aarch64" => Arm64,
            "ppc64le" => Ppc64le,
            "ppc64" => Ppc64,
            "ppc" => Ppc,
            "mips64" => Mips64,
            "mips64n32" => Mips64n32,
            "mips" => Mips,
            "mipsel64" => Mipsel64,
            "mipsel64n32" => Mipsel64n32,
            "mipsel" => Mipsel,
            "s390x" => S390x,
            "s390" => S390,
            _ => return None,
        })
    }
}

/// What a rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Syscall {
    Name(String),
    /// A version 1 line: a number of the host's native table.
    Number(u32),
    /// `reject_force_umount`: `umount2(_, MNT_FORCE)` fails with EACCES.
    RejectForceUmount,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub line: usize,
    pub section: Section,
    pub syscall: Syscall,
    pub action: Action,
    /// All must hold (libseccomp's semantics for one rule).
    pub args: Vec<ArgCmp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub file: PathBuf,
    pub version: u8,
    /// For calls no rule matches.
    pub default_action: Action,
    pub rules: Vec<Rule>,
}

impl Profile {
    /// Reads and parses the profile at `path`.
    pub fn load(path: &Path) -> Result<Profile, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error {
            file: path.to_path_buf(),
            line: 0,
            msg: "cannot read the seccomp profile".into(),
            cause: Some(e),
        })?;
        Profile::parse(&text, path)
    }

    pub fn parse(text: &str, file: &Path) -> Result<Profile, Error> {
        let err = |line: usize, msg: String| Error::at(file, line, msg);
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
        let version = match lines.next() {
            Some((_, "1")) => 1,
            Some((_, "2")) => 2,
            Some((n, other)) => {
                return Err(err(
                    n,
                    format!("expected the profile version `1` or `2`, found `{other}`"),
                ))
            }
            None => return Err(err(1, "empty profile (expected a version line)".into())),
        };
        let Some((n, head)) = lines.next() else {
            return Err(err(
                2,
                "missing the policy line (`denylist` or `allowlist`)".into(),
            ));
        };
        if head.contains("debug") {
            return Err(err(
                n,
                "`debug` policies are not supported (nor by LXC)".into(),
            ));
        }
        let mut words = head.split_whitespace();
        let kind = words.next().unwrap_or("");
        let denylist = match kind {
            "denylist" | "blacklist" => true,
            "allowlist" | "whitelist" => false,
            _ => {
                return Err(err(
                    n,
                    format!("expected `denylist` or `allowlist`, found `{head}`"),
                ))
            }
        };
        if version == 1 && denylist {
            return Err(err(
                n,
                "a version 1 profile can only be an allowlist".into(),
            ));
        }
        let rest: Vec<&str> = words.collect();
        let default_action = match parse_action(&rest).map_err(|m| err(n, m))? {
            Some((a, _)) => a,
            None if denylist => Action::Allow,
            None => Action::Kill,
        };
        let rule_action = if denylist {
            Action::Kill
        } else {
            Action::Allow
        };
        let mut rules = Vec::new();
        let mut section = Section::All;
        for (n, line) in lines {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if version == 1 {
                let nr = line
                    .split_whitespace()
                    .next()
                    .and_then(|w| w.parse::<u32>().ok())
                    .ok_or_else(|| err(n, format!("expected a syscall number, found `{line}`")))?;
                rules.push(Rule {
                    line: n,
                    section: Section::All,
                    syscall: Syscall::Number(nr),
                    action: Action::Allow,
                    args: Vec::new(),
                });
                continue;
            }
            if let Some(name) = line.strip_prefix('[') {
                let name = name.strip_suffix(']').unwrap_or(name).trim();
                section = Section::parse(name)
                    .ok_or_else(|| err(n, format!("unknown architecture section `{line}`")))?;
                continue;
            }
            rules.push(parse_rule(line, section, rule_action).map_err(|m| err(n, m))?);
            if let Some(r) = rules.last_mut() {
                r.line = n;
            }
        }
        Ok(Profile {
            file: file.to_path_buf(),
            version,
            default_action,
            rules,
        })
    }
}

/// Parses `errno N`, `kill`, ... at the start of `words`; returns the action and how many
/// words it took. No words (or a comment) is `None`.
fn parse_action(words: &[&str]) -> Result<Option<(Action, usize)>, String> {
    let Some(&first) = words.first() else {
        return Ok(None);
    };
    if first.starts_with('#') {
        return Ok(None);
    }
    let simple = match first {
        "kill" => Some(Action::Kill),
        "allow" => Some(Action::Allow),
        "trap" => Some(Action::Trap),
        "log" => Some(Action::Log),
        "notify" => Some(Action::Notify),
        _ => None,
    };
    if let Some(a) = simple {
        return Ok(Some((a, 1)));
    }
    if first == "errno" {
        let n = words
            .get(1)
            .ok_or_else(|| "`errno` needs a number".to_string())?;
        let e: u16 = n
            .parse()
            .ok()
            .filter(|e| *e <= 4095)
            .ok_or_else(|| format!("`errno {n}`: expected an errno from 0 to 4095"))?;
        return Ok(Some((Action::Errno(e), 2)));
    }
    Err(format!(
        "unknown action `{first}` (expected errno N, kill, trap, allow, log or notify)"
    ))
}

fn parse_rule(line: &str, section: Section, default: Action) -> Result<Rule, String> {
    // Argument filters are bracketed groups; they are split off first so that spaces
    // inside a group do not matter.
    let (head, groups) = match line.find('[') {
        Some(i) => (&line[..i], Some(&line[i..])),
        None => (line, None),
    };
    let words: Vec<&str> = head.split_whitespace().collect();
    let name = words[0];
    if name == "reject_force_umount" {
        return Ok(Rule {
            line: 0,
            section,
            syscall: Syscall::RejectForceUmount,
            action: Action::Errno(13),
            args: Vec::new(),
        });
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(format!("`{name}` is not a system call name"));
    }
    let action = match parse_action(&words[1..])? {
        Some((a, _)) => a,
        None => default,
    };
    let mut args = Vec::new();
    if let Some(mut rest) = groups {
        if words[1..].first().is_some_and(|w| w.starts_with('#')) {
            // `name # remark [..]`: all of it is a remark.
            rest = "";
        }
        loop {
            rest = rest.trim_start();
            if rest.is_empty() || rest.starts_with('#') {
                break;
            }
            let Some(body) = rest.strip_prefix('[') else {
                return Err(format!("unexpected `{rest}` after the argument filters"));
            };
            let end = body
                .find(']')
                .ok_or_else(|| format!("argument filter `[{body}` has no closing `]`"))?;
            args.push(parse_arg(&body[..end])?);
            rest = &body[end + 1..];
        }
        if args.len() > 6 {
            return Err("a rule takes at most 6 argument filters".into());
        }
    }
    Ok(Rule {
        line: 0,
        section,
        syscall: Syscall::Name(name.to_string()),
        action,
        args,
    })
}

/// `index,value,op(,mask)`.
fn parse_arg(s: &str) -> Result<ArgCmp, String> {
    let f: Vec<&str> = s.split(',').map(str::trim).collect();
    if f.len() != 3 && f.len() != 4 {
        return Err(format!(
            "argument filter `[{s}]`: expected [index,value,op] or [index,value,op,mask]"
        ));
    }
    let index: u8 = f[0]
        .parse()
        .ok()
        .filter(|i| *i < 6)
        .ok_or_else(|| format!("argument filter `[{s}]`: index must be 0 to 5"))?;
    let value = parse_u64(f[1])
        .ok_or_else(|| format!("argument filter `[{s}]`: `{}` is not a number", f[1]))?;
    let mask = match f.get(3) {
        Some(m) => Some(
            parse_u64(m)
                .ok_or_else(|| format!("argument filter `[{s}]`: mask `{m}` is not a number"))?,
        ),
        None => None,
    };
    let op = match f[2] {
        "SCMP_CMP_EQ" | "==" => Op::Eq,
        "SCMP_CMP_NE" | "!=" => Op::Ne,
        "SCMP_CMP_LT" | "<" => Op::Lt,
        "SCMP_CMP_LE" | "<=" => Op::Le,
        "SCMP_CMP_GT" | ">" => Op::Gt,
        "SCMP_CMP_GE" | ">=" => Op::Ge,
        "SCMP_CMP_MASKED_EQ" | "&=" => Op::MaskedEq(mask.ok_or_else(|| {
            format!("argument filter `[{s}]`: SCMP_CMP_MASKED_EQ needs a mask")
        })?),
        other => {
            return Err(format!(
                "argument filter `[{s}]`: unknown comparison `{other}` (SCMP_CMP_EQ, NE, LT, LE, GT, GE or MASKED_EQ)"
            ))
        }
    };
    Ok(ArgCmp { index, op, value })
}

/// Decimal, `0x` hex or `0` octal, as strtoull with base 0.
fn parse_u64(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}
