//! Completion scripts for bash, zsh and fish. Each one calls `lxu-complete` (the path
//! given) on every Tab with clap_complete's dynamic protocol; that program knows the verbs,
//! the options and the user's containers.

use std::path::Path;

use clap_complete::env::{Bash, EnvCompleter, Fish, Zsh};

/// The environment variable the scripts set for `lxu-complete`.
const VAR: &str = "COMPLETE";

/// `(directory under share, file, script)` of every script: `lxu`, and with `lxc_links`
/// each LXC tool name.
pub(crate) fn scripts(
    share: &Path,
    completer: &str,
    lxc_links: bool,
) -> Vec<(&'static str, String, String)> {
    let mut names = vec!["lxu"];
    if lxc_links {
        names.extend(lxu::APPLETS.iter().map(|(a, _)| *a));
    }
    let mut out = Vec::new();
    for name in &names {
        // bash-completion and fish load a script named after the command being completed.
        out.push((
            "bash-completion/completions",
            name.to_string(),
            registration(&Bash, name, completer),
        ));
        out.push((
            "fish/vendor_completions.d",
            format!("{name}.fish"),
            registration(&Fish, name, completer),
        ));
    }
    out.push((zsh_dir(share), "_lxu".into(), zsh(&names, completer)));
    out
}

/// Where zsh looks for completion functions of this prefix: Debian's `vendor-completions`
/// for /usr, else `site-functions`, which zsh's default fpath has for /usr/local (where
/// `vendor-completions` is not looked at).
fn zsh_dir(share: &Path) -> &'static str {
    if share == Path::new("/usr/share") {
        "zsh/vendor-completions"
    } else {
        "zsh/site-functions"
    }
}

fn registration(shell: &dyn EnvCompleter, name: &str, completer: &str) -> String {
    let mut buf = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = shell.write_registration(VAR, name, name, completer, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// One autoloaded function for every name. clap's registration is made to be sourced:
/// loaded from fpath instead, its body runs on the first Tab, so it defines the completer,
/// binds the names to it, and completes that first Tab too.
fn zsh(names: &[&str], completer: &str) -> String {
    let reg = registration(&Zsh, "lxu", completer);
    let body: Vec<&str> = reg
        .lines()
        .filter(|l| !l.starts_with("#compdef") && !l.starts_with("compdef "))
        .collect();
    format!(
        "#compdef {names}\n{body}\ncompdef _clap_dynamic_completer_lxu {names}\n_clap_dynamic_completer_lxu \"$@\"\n",
        names = names.join(" "),
        body = body.join("\n").trim_end(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_call_the_completer_for_each_name() {
        let s = scripts(Path::new("/p/share"), "/p/libexec/lxu/lxu-complete", true);
        let bash = s.iter().find(|(_, f, _)| f == "lxc-attach").unwrap();
        assert!(bash.2.contains("/p/libexec/lxu/lxu-complete"), "{}", bash.2);
        assert!(
            bash.2.contains("complete ") && bash.2.contains(" lxc-attach"),
            "{}",
            bash.2
        );
        let (_, _, zsh) = s.iter().find(|(_, f, _)| f == "_lxu").unwrap();
        assert!(zsh.starts_with("#compdef lxu lxc-create "), "{zsh}");
        assert!(
            zsh.ends_with("_clap_dynamic_completer_lxu \"$@\"\n"),
            "{zsh}"
        );
        assert!(s.iter().any(|(_, f, _)| f == "lxu.fish"));
        let plain = scripts(Path::new("/usr/share"), "/c", false);
        assert!(plain.iter().any(|(d, _, _)| *d == "zsh/vendor-completions"));
        assert!(plain.iter().all(|(_, f, _)| !f.contains("lxc-")));
    }
}
