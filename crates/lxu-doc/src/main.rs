//! `lxu-doc SHARE_DIR --completer PATH [--lxc-links]`: writes lxu's man pages and shell
//! completion scripts under a prefix's `share` directory. `./x install` runs it; it is not
//! installed itself.
//!
//! - `man/man1/lxu.1`, `lxu-VERB.1` for every verb (`lxu-net-setup.1` for nested ones),
//!   with `--lxc-links` also `lxc-VERB.1` for every LXC name lxu answers to;
//! - `man/man5/lxu.container.conf.5`, from lxu-config's key table;
//! - completion scripts for bash, zsh and fish that call the installed `lxu-complete`
//!   (`PATH`) on each Tab, for `lxu` and, with `--lxc-links`, the `lxc-*` names.

mod completions;
mod man;
mod text;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What to write, from the command line.
struct Job {
    share: PathBuf,
    completer: String,
    lxc_links: bool,
}

fn parse(args: &[String]) -> Result<Job, String> {
    let mut share = None;
    let mut completer = None;
    let mut lxc_links = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--lxc-links" => lxc_links = true,
            "--completer" => completer = it.next().cloned(),
            _ if a.starts_with('-') => return Err(format!("unknown option `{a}`")),
            _ if share.is_none() => share = Some(PathBuf::from(a)),
            _ => return Err(format!("unexpected argument `{a}`")),
        }
    }
    Ok(Job {
        share: share.ok_or("no SHARE_DIR given")?,
        completer: completer.ok_or("no --completer PATH given")?,
        lxc_links,
    })
}

/// Writes `text` to `dir/name` with mode 0644 (whatever the umask), making `dir`.
fn write(dir: &Path, name: &str, text: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).map_err(|e| format!("create `{}`: {e}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("write `{}`: {e}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
        .map_err(|e| format!("chmod `{}`: {e}", path.display()))
}

fn run(job: &Job) -> Result<(), String> {
    let man1 = job.share.join("man/man1");
    for (file, page) in man::pages(job.lxc_links) {
        write(&man1, &file, &page)?;
    }
    let conf = lxu_config::reference::man_page(env!("CARGO_PKG_VERSION"));
    write(
        &job.share.join("man/man5"),
        "lxu.container.conf.5",
        conf.as_bytes(),
    )?;
    for (dir, file, script) in completions::scripts(&job.share, &job.completer, job.lxc_links) {
        write(&job.share.join(dir), &file, script.as_bytes())?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let done = parse(&args).and_then(|job| run(&job));
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lxu-doc: {e}");
            eprintln!("usage: lxu-doc SHARE_DIR --completer PATH [--lxc-links]");
            ExitCode::FAILURE
        }
    }
}
