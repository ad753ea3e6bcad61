//! What users expect around the binary, as the unprivileged test user: the installed man
//! pages render with `man`, Tab completes container names in bash, zsh and fish (typed into
//! the shell itself, in a tmux pane), `lxu --version` says what it was built from and what
//! the host offers, and copies show a bar on a terminal only.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use lxu_e2e::run::{self, Output};
use lxu_e2e::tmux::{Pane, Tmux};
use lxu_e2e::{lxu_bin, Lab};

const WAIT: Duration = Duration::from_secs(20);

/// The prefix lxu is installed in (`<prefix>/bin/lxu`).
fn prefix() -> PathBuf {
    let bin = lxu_bin();
    bin.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/usr/local"))
}

/// Whether `tool` runs here; a skip (a failure under LXU_MUST_WORK) when not.
#[track_caller]
fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        lxu_e2e::skip(format!("`{tool}` is not installed (./x installs it)"));
    }
    ok
}

/// `man ARGS` as a user of this install would run it: the default search path for
/// /usr/local (what `./x install` uses), else the prefix's pages first.
#[track_caller]
fn man(args: &[&str]) -> Output {
    let mut c = Command::new("man");
    c.args(args).env("MANPAGER", "cat").env("MANWIDTH", "100");
    let pages = prefix().join("share/man");
    if prefix() != Path::new("/usr/local") {
        // The trailing colon keeps the default path after it.
        c.env("MANPATH", format!("{}:", pages.display()));
    }
    let desc = run::describe(&c, None);
    run::run(c, desc, None, WAIT)
}

/// `man -w ARGS` names the file `want` (compared after resolving links: Debian's
/// /usr/local/man is a link to share/man, and man may name the page through it).
#[track_caller]
fn man_finds(args: &[&str], want: &Path) {
    let mut w = vec!["-w"];
    w.extend_from_slice(args);
    let out = man(&w);
    out.success();
    let want = std::fs::canonicalize(want).unwrap_or_else(|e| panic!("{}: {e}", want.display()));
    let found = out
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let found_real = std::fs::canonicalize(&found).ok();
    assert!(
        found_real.as_deref() == Some(want.as_path()),
        "man -w {args:?} found `{found}`, not `{}`\n{out}",
        want.display()
    );
}

#[test]
fn man_pages_of_verbs_lxc_names_and_the_config_render() {
    let Some(_lab) = Lab::new() else { return };
    if !have("man") {
        return;
    }
    let pages = prefix().join("share/man");
    for (args, file, needle) in [
        (&["lxu"][..], "man1/lxu.1", "lxu-start(1)"),
        (&["lxu-start"][..], "man1/lxu-start.1", "--foreground"),
        (
            &["5", "lxu.container.conf"][..],
            "man5/lxu.container.conf.5",
            "container configuration",
        ),
    ] {
        let out = man(args);
        out.success().stdout_has(needle);
        man_finds(args, &pages.join(file));
    }
    // LXC's names have pages when lxu answers to them (./x install --lxc-links), and `man`
    // finds lxu's page before Debian's LXC one.
    if !prefix().join("bin/lxc-attach").exists() {
        lxu_e2e::skip("lxu is installed without --lxc-links: no lxc-* names to document");
        return;
    }
    let out = man(&["lxc-attach"]);
    out.success()
        .stdout_has("--clear-env")
        .stdout_has("lxu-attach(1)");
    man_finds(&["lxc-attach"], &pages.join("man1/lxc-attach.1"));
}

#[test]
fn version_says_the_commit_the_libc_and_the_hosts_features() {
    let Some(lab) = Lab::new() else { return };
    let out = lab.call(&["--version"]).no_lxcpath().run();
    out.success();
    let first = out.lines()[0].to_string();
    assert!(first.starts_with("lxu 0."), "{out}");
    let commit = out
        .lines()
        .iter()
        .find_map(|l| l.strip_prefix("commit: "))
        .unwrap_or_else(|| panic!("no commit line\n{out}"))
        .to_string();
    // ./x builds from a git checkout.
    assert!(
        commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit()),
        "commit `{commit}`\n{out}"
    );
    assert!(
        out.stdout.contains("libc: musl") || out.stdout.contains("libc: glibc"),
        "{out}"
    );
    for line in [
        "  cgroup layout: ",
        "  user namespaces: enabled",
        "  seccomp: filters",
        "  AppArmor: ",
        "  SELinux: ",
        "  newuidmap: setuid root",
        "  newgidmap: setuid root",
        "  lxu-user-nic: setuid root",
    ] {
        out.stdout_has(line);
    }
    // Applets keep LXC's one line.
    lab.applet("lxc-ls", &["--version"])
        .no_lxcpath()
        .run()
        .success()
        .stdout_lacks("commit:");
}

/// A shell in a tmux pane with this install's completions loaded as a fresh install
/// would: the rc file does what Debian's defaults do (bash: ~/.bashrc from /etc/skel
/// sources bash-completion; zsh: a .zshrc with compinit; fish: nothing), and points the
/// shell at the prefix when it is not /usr/local.
struct Shell {
    argv: Vec<String>,
}

fn shell(lab: &Lab, which: &str) -> Shell {
    let p = prefix();
    let share = p.join("share");
    let default = p == Path::new("/usr/local");
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", p.join("bin").display());
    let argv = match which {
        "bash" => {
            let xdg = if default {
                String::new()
            } else {
                format!(
                    "export XDG_DATA_DIRS={}:/usr/local/share:/usr/share\n",
                    share.display()
                )
            };
            let rc = lab.write(
                "bashrc",
                &format!(
                    "PS1='$ '\nexport PATH={path}\n{xdg}. /usr/share/bash-completion/bash_completion\n"
                ),
            );
            vec![
                "bash".into(),
                "--rcfile".into(),
                rc.display().to_string(),
                "-i".into(),
            ]
        }
        "zsh" => {
            let fpath = if default {
                String::new()
            } else {
                format!(
                    "fpath=({} $fpath)\n",
                    share.join("zsh/site-functions").display()
                )
            };
            lab.write(
                ".zshrc",
                &format!(
                    "PS1='$ '\nexport PATH={path}\n{fpath}autoload -Uz compinit\ncompinit -u -D\n"
                ),
            );
            vec![
                "env".into(),
                format!("ZDOTDIR={}", lab.files.display()),
                "zsh".into(),
                "-i".into(),
            ]
        }
        _ => {
            let conf = lab.files.join("fish-config/fish");
            std::fs::create_dir_all(&conf).unwrap();
            std::fs::write(
                conf.join("config.fish"),
                format!(
                    "set -g fish_greeting ''\nfunction fish_prompt; echo -n '$ '; end\nset -gx PATH {}\n",
                    path.replace(':', " ")
                ),
            )
            .unwrap();
            // fish reads $PREFIX/share/fish only when XDG_DATA_DIRS names it.
            vec![
                "env".into(),
                format!(
                    "XDG_CONFIG_HOME={}",
                    lab.files.join("fish-config").display()
                ),
                format!("XDG_DATA_HOME={}", lab.files.join("fish-data").display()),
                format!(
                    "XDG_DATA_DIRS={}:/usr/local/share:/usr/share",
                    share.display()
                ),
                "fish".into(),
            ]
        }
    };
    Shell { argv }
}

impl Shell {
    fn open<'t>(&self, tmux: &'t Tmux, name: &str) -> Pane<'t> {
        let argv: Vec<&str> = self.argv.iter().map(String::as_str).collect();
        tmux.session(name, &argv, "$ ")
    }
}

/// Types `lxu start -P LXCPATH -n <all of the name but its last character>`, Tab, then
/// `Z`: the line must hold the whole name followed by a space.
#[track_caller]
fn completes_a_name(which: &str) {
    let Some(lab) = Lab::new() else { return };
    if !have(which) {
        return;
    }
    let Some(tmux) = Tmux::new(&format!("docs-{which}")) else {
        return;
    };
    let name = lab.name("tab");
    lab.create(&name);
    let pane = shell(&lab, which).open(&tmux, which);
    let typed = format!(
        "lxu start -P {} -n {}",
        lab.lxcpath.display(),
        &name[..name.len() - 1]
    );
    pane.type_text(&typed);
    pane.keys(&["Tab"]);
    // The completion arrives asynchronously; Z goes after it.
    let whole = format!("-n {name}");
    pane.wait_for(&whole, WAIT);
    pane.type_text("Z");
    let text = pane.wait_for(&format!("{name} Z"), WAIT);
    assert!(text.contains(&format!("{whole} Z")), "{text}");
    pane.keys(&["C-c"]);
    // A verb and an option complete too.
    pane.type_text("lxu snaps");
    pane.keys(&["Tab"]);
    pane.wait_for("lxu snapshot", WAIT);
}

#[test]
fn bash_completes_a_container_name() {
    completes_a_name("bash");
}

#[test]
fn zsh_completes_a_container_name() {
    completes_a_name("zsh");
}

#[test]
fn fish_completes_a_container_name() {
    completes_a_name("fish");
}

/// Runs `line` in the pane and waits for it to end (a marker it echoes afterwards).
#[track_caller]
fn run_in(pane: &Pane, line: &str, tag: &str) {
    pane.line(&format!("{line}; echo {tag}-$((40+2))"));
    pane.wait_for(&format!("{tag}-42"), Duration::from_secs(120));
}

#[test]
fn copies_show_a_bar_on_a_terminal_only() {
    let Some(lab) = Lab::new() else { return };
    let Some(tmux) = Tmux::new("docs-bar") else {
        return;
    };
    let name = lab.running("bar");
    // Enough bytes that the copy lasts several of the bar's quarter seconds.
    lab.sh(
        &name,
        "dd if=/dev/zero of=/big bs=1M count=300 2>/dev/null && sync",
    );
    lab.lxu(&["stop", "-n", &name, "-k"]).success();
    let pane = tmux.shell("bar");
    let log = lab.files.join("pane.log");
    pane.log_to(&log);
    let lxu = format!("{} ", lab.bin.display());
    let lp = format!("-P {}", lab.lxcpath.display());
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();

    run_in(&pane, &format!("{lxu} snapshot {lp} -n {name}"), "snap");
    assert!(
        logged().contains(&format!("Snapshot of {name}")),
        "no bar:\n{}",
        logged()
    );
    run_in(
        &pane,
        &format!("{lxu} copy {lp} -n {name} -N {name}c"),
        "copy",
    );
    assert!(
        logged().contains(&format!("Copying {name}")),
        "no bar:\n{}",
        logged()
    );

    let before = logged().len();
    run_in(&pane, &format!("{lxu} snapshot -q {lp} -n {name}"), "quiet");
    let after = logged();
    assert!(
        !after[before..].contains("Snapshot of"),
        "a bar with -q:\n{after}"
    );
    lab.lxu(&["snapshot", "-n", &name, "-L"])
        .success()
        .stdout_has("snap1");

    // Piped: nothing but errors.
    let out = lab.lxu(&["snapshot", "-n", &name]);
    out.success();
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "output when piped:\n{out}"
    );
    let out = lab.lxu(&["copy", "-n", &name, "-N", &format!("{name}d")]);
    out.success();
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "output when piped:\n{out}"
    );
}
