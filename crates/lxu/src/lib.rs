//! `lxu`: LXC-style unprivileged system containers, the command line.
//!
//! The `lxu` binary runs [`main`]. It is also a multi-call binary: invoked as `lxc-start`,
//! `lxc-ls`, … (the names in [`APPLETS`]) it behaves as that LXC tool with LXC's option
//! spelling. [`command`] and [`applet_command`] give the clap definitions to the tools
//! that write the man pages and complete the command line, so that their dependencies
//! stay out of the `lxu` binary.

mod args;
mod cmd;
mod host;
mod output;
mod progress;
mod version;

use std::ffi::OsString;

use clap::{Args, Command, CommandFactory, FromArgMatches, Parser};

use args::{Lxu, Verb};

/// LXC tool names this binary answers to, and the verb each one is.
pub const APPLETS: &[(&str, &str)] = &[
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

/// The whole `lxu` command with every verb.
pub fn command() -> Command {
    Lxu::command()
}

/// The command an LXC tool name in [`APPLETS`] parses: its verb's options under that
/// name.
pub fn applet_command(applet: &str) -> Option<Command> {
    let &(name, verb) = APPLETS.iter().find(|(a, _)| *a == applet)?;
    let sub = command().find_subcommand(verb)?.clone();
    Some(
        sub.name(name)
            .bin_name(name)
            .version(env!("CARGO_PKG_VERSION")),
    )
}

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

fn is_applet(prog: &str) -> bool {
    APPLETS.iter().any(|(a, _)| *a == prog)
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

/// The `lxu` program: parses the command line (under whatever name it was called),
/// runs the verb, prints an error with its causes, and exits.
pub fn main() -> ! {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let prog = argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "lxu".into());
    // `lxu --version` says more than clap's one line (never on the way to a verb).
    if argv.len() == 2 && (argv[1] == "--version" || argv[1] == "-V") && !is_applet(&prog) {
        print!("{}", version::text());
        std::process::exit(0);
    }
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
            // The error and its causes, each once: every error's message leaves its cause
            // to `source()`.
            eprintln!("{prog}: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
