//! `lxu-complete`: the program the shells' completion scripts for `lxu` (and the `lxc-*`
//! names) call on each Tab: verbs, options, file names, and the caller's container names
//! after `-n`, as `lxu ls` lists them (with the `-P` the line gives, if any).
//!
//! The scripts (written by `lxu-doc`) run it as clap_complete's dynamic protocol says:
//! `COMPLETE=<shell> lxu-complete -- <the words of the line>` with the shell's index
//! variables; it prints the candidates. It is a binary of its own so that neither the
//! completion engine nor building the whole command tree costs the `lxu` binary anything.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Command;
use clap_complete::env::Shells;
use clap_complete::{ArgValueCandidates, CompletionCandidate};

/// Verbs whose positionals are only the container name (others take a command or a
/// template's options after it).
const NAME_POSITIONAL: &[&str] = &[
    "stop",
    "info",
    "destroy",
    "freeze",
    "unfreeze",
    "wait",
    "copy",
    "snapshot",
    "console",
    "fix-layout",
];

fn main() -> ExitCode {
    let Some(shell) = std::env::var("COMPLETE").ok().filter(|s| !s.is_empty()) else {
        eprintln!("lxu-complete: run by the shell completion scripts (COMPLETE=bash|zsh|fish)");
        return ExitCode::from(2);
    };
    let shells = Shells::builtins();
    let Some(completer) = shells.completer(&shell) else {
        eprintln!("lxu-complete: no completion for the shell `{shell}`");
        return ExitCode::from(2);
    };
    let words: Vec<OsString> = std::env::args_os()
        .skip_while(|a| a != "--")
        .skip(1)
        .collect();
    let Some(first) = words.first() else {
        return ExitCode::from(2);
    };
    let prog = Path::new(first)
        .file_name()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lxcpath = lxcpath_in(&words);
    let mut cmd = match lxu::applet_command(&prog) {
        Some(applet) => {
            let verb = lxu::APPLETS
                .iter()
                .find(|(a, _)| *a == prog)
                .map_or("", |(_, v)| *v);
            with_names(applet, verb, &lxcpath)
        }
        None => {
            let mut top = lxu::command();
            let verbs: Vec<String> = top
                .get_subcommands()
                .map(|s| s.get_name().to_string())
                .collect();
            for verb in verbs {
                let (lp, v) = (lxcpath.clone(), verb.clone());
                top = top.mut_subcommand(verb, move |s| with_names(s, &v, &lp));
            }
            top
        }
    };
    let cwd = std::env::current_dir().ok();
    let mut out = Vec::new();
    if let Err(e) = completer.write_complete(&mut cmd, words, cwd.as_deref(), &mut out) {
        eprintln!("lxu-complete: {e}");
        return ExitCode::FAILURE;
    }
    let _ = std::io::stdout().write_all(&out);
    ExitCode::SUCCESS
}

/// `cmd` (the verb `verb`) with container names offered for `-n` and, where the
/// positionals are only the name, for those.
fn with_names(cmd: Command, verb: &str, lxcpath: &Option<PathBuf>) -> Command {
    let names = |lp: Option<PathBuf>| ArgValueCandidates::new(move || container_names(&lp));
    let has = |id: &str| cmd.get_arguments().any(|a| a.get_id() == id);
    let (name, rest) = (has("name"), has("rest"));
    let mut cmd = cmd;
    if name {
        let lp = lxcpath.clone();
        cmd = cmd.mut_arg("name", |a| a.add(names(lp)));
    }
    if rest && NAME_POSITIONAL.contains(&verb) {
        let lp = lxcpath.clone();
        cmd = cmd.mut_arg("rest", |a| a.add(names(lp)));
    }
    cmd
}

/// The `-P`/`--lxcpath` given on the line so far.
fn lxcpath_in(words: &[OsString]) -> Option<PathBuf> {
    let mut found = None;
    let mut it = words.iter().map(|w| w.to_string_lossy());
    while let Some(w) = it.next() {
        if w == "-P" || w == "--lxcpath" {
            found = it.next().map(|v| PathBuf::from(v.as_ref()));
        } else if let Some(v) = w.strip_prefix("--lxcpath=") {
            found = Some(PathBuf::from(v));
        } else if let Some(v) = w.strip_prefix("-P").filter(|v| !v.is_empty()) {
            found = Some(PathBuf::from(v));
        }
    }
    found
}

/// The containers in `lxcpath` (default: the caller's lxc.lxcpath), as `lxu ls` lists them.
fn container_names(lxcpath: &Option<PathBuf>) -> Vec<CompletionCandidate> {
    let Ok(ctx) = lxu_runtime::Context::new(lxcpath.as_deref()) else {
        return Vec::new();
    };
    lxu_runtime::container::list_names(&ctx.lxcpath)
        .into_iter()
        .map(CompletionCandidate::new)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<OsString> {
        line.split(' ').map(OsString::from).collect()
    }

    #[test]
    fn finds_the_lxcpath_in_every_spelling() {
        assert_eq!(lxcpath_in(&words("lxu start -n c")), None);
        for line in [
            "lxu start -P /l -n c",
            "lxu start --lxcpath /l -n",
            "lxu start --lxcpath=/l -n",
            "lxc-start -P/l -n",
        ] {
            assert_eq!(
                lxcpath_in(&words(line)),
                Some(PathBuf::from("/l")),
                "{line}"
            );
        }
    }

    #[test]
    fn names_are_offered_for_n_and_name_only_positionals() {
        let lp = Some(PathBuf::from("/nonexistent"));
        let top = lxu::command();
        for (verb, positional) in [("start", false), ("stop", true), ("attach", false)] {
            let sub = top.find_subcommand(verb).unwrap().clone();
            let sub = with_names(sub, verb, &lp);
            let has = |id: &str| {
                sub.get_arguments()
                    .find(|a| a.get_id() == id)
                    .and_then(|a| a.get::<ArgValueCandidates>())
                    .is_some()
            };
            assert!(has("name"), "{verb} -n");
            assert_eq!(has("rest"), positional, "{verb} positionals");
        }
    }
}
