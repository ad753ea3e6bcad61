//! Records the git commit lxu is built from, for `lxu --version` ("unknown" outside a git
//! checkout or without git).

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=LXU_GIT_COMMIT={commit}");
    // Built again when HEAD moves: HEAD itself (a branch switch), the branch's ref and
    // packed-refs (a commit). In a worktree HEAD lives in the worktree's git dir, refs in
    // the common one.
    let dir = |arg: &str| git(&["rev-parse", arg]).map(PathBuf::from);
    if let (Some(git_dir), Some(common)) = (dir("--absolute-git-dir"), dir("--git-common-dir")) {
        let common = if common.is_absolute() {
            common
        } else {
            std::env::current_dir().unwrap_or_default().join(common)
        };
        let mut watch = vec![git_dir.join("HEAD"), common.join("packed-refs")];
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch.push(common.join(r));
        }
        // A missing file would make cargo run this script on every build.
        for p in watch.iter().filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
