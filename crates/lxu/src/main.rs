//! `lxu`: LXC-style unprivileged system containers.
//!
//! Also a multi-call binary: invoked as `lxc-start`, `lxc-ls`, … it behaves as that LXC
//! tool with LXC's option spelling.

mod args;
mod checkconfig;
mod cmd;
mod output;

use std::ffi::OsString;

use clap::{Args, Command, FromArgMatches, Parser};

use args::{Lxu, Verb};

/// LXC tool names this binary answers to, and the verb each one is.
const APPLETS: &[(&str, &str)] = &[
    ("lxc-create", "create"),
    ("lxc-start", "start"),
    ("lxc-stop", "stop"),
    ("lxc-ls", "ls"),
    ("lxc-info", "info"),
    ("lxc-destroy", "destroy"),
    ("lxc-config", "config"),
    ("lxc-update-config", "update-config"),
    ("lxc-checkconfig", "checkconfig"),
    ("lxc-attach", "attach"),
    ("lxc-console", "console"),
    ("lxc-freeze", "freeze"),
    ("lxc-unfreeze", "unfreeze"),
    ("lxc-wait", "wait"),
    ("lxc-copy", "copy"),
    ("lxc-snapshot", "snapshot"),
    ("lxc-cgroup", "cgroup"),
    ("lxc-execute", "execute"),
    ("lxc-autostart", "autostart"),
];

fn parse_applet<A: Args + FromArgMatches>(prog: &str, argv: Vec<OsString>) -> A {
    let name: &'static str = Box::leak(prog.to_string().into_boxed_str());
    let cmd = A::augment_args(Command::new(name).version(env!("CARGO_PKG_VERSION")))
        .bin_name(name)
        .about(None::<&str>);
    let matches = cmd.get_matches_from(argv);
    match A::from_arg_matches(&matches) {
        Ok(a) => a,
        Err(e) => e.exit(),
    }
}

fn applet_verb(prog: &str, argv: Vec<OsString>) -> Option<Verb> {
    let verb = APPLETS.iter().find(|(a, _)| *a == prog)?.1;
    verb_args(verb, prog, argv)
}

/// Parses the arguments of one verb only: building the whole command tree of every
/// verb costs more than the rest of a quick command like `lxu attach`.
fn verb_args(verb: &str, prog: &str, argv: Vec<OsString>) -> Option<Verb> {
    Some(match verb {
        "create" => Verb::Create(parse_applet(prog, argv)),
        "start" => Verb::Start(parse_applet(prog, argv)),
        "stop" => Verb::Stop(parse_applet(prog, argv)),
        "ls" => Verb::Ls(parse_applet(prog, argv)),
        "info" => Verb::Info(parse_applet(prog, argv)),
        "destroy" => Verb::Destroy(parse_applet(prog, argv)),
        "config" => Verb::Config(parse_applet(prog, argv)),
        "update-config" => Verb::UpdateConfig(parse_applet(prog, argv)),
        "checkconfig" => Verb::Checkconfig(parse_applet(prog, argv)),
        "attach" => Verb::Attach(parse_applet(prog, argv)),
        "console" => Verb::Console(parse_applet(prog, argv)),
        "freeze" => Verb::Freeze(parse_applet(prog, argv)),
        "unfreeze" => Verb::Unfreeze(parse_applet(prog, argv)),
        "wait" => Verb::Wait(parse_applet(prog, argv)),
        "copy" => Verb::Copy(parse_applet(prog, argv)),
        "snapshot" => Verb::Snapshot(parse_applet(prog, argv)),
        "cgroup" => Verb::Cgroup(parse_applet(prog, argv)),
        "execute" => Verb::Execute(parse_applet(prog, argv)),
        "autostart" => Verb::Autostart(parse_applet(prog, argv)),
        _ => return None,
    })
}

// musl builds (what ./x installs where it can) use dlmalloc: see lxu_sys::alloc.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOC: lxu_sys::alloc::Allocator = lxu_sys::alloc::Allocator;

fn main() {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let prog = argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "lxu".into());
    let direct = argv
        .get(1)
        .and_then(|v| v.to_str())
        .filter(|v| APPLETS.iter().any(|(_, verb)| verb == v))
        .map(|v| v.to_string());
    let verb = match applet_verb(&prog, argv.clone()) {
        Some(v) => v,
        None => match direct {
            // `lxu start …`: parse as the command `lxu start` with the rest.
            Some(v) => verb_args(&v, &format!("{prog} {v}"), argv[1..].to_vec())
                .unwrap_or_else(|| Lxu::parse_from(argv).verb),
            None => Lxu::parse_from(argv).verb,
        },
    };
    let code = match cmd::run(verb) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{prog}: {}", chain(&e));
            1
        }
    };
    std::process::exit(code);
}

/// The error and its causes, each cause only when the message before does not already
/// include it (lxu's errors mostly embed their cause; anyhow contexts do not).
fn chain(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    let mut cur: Option<&dyn std::error::Error> = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !out.contains(&m) {
            out.push_str(": ");
            out.push_str(&m);
        }
        cur = c.source();
    }
    out
}
