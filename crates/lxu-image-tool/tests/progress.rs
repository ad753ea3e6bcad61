//! `lxu image build` and `publish` show progress on a terminal (a pseudo-terminal
//! from script(1)) and print nothing but their result when piped.

use std::path::Path;
use std::process::{Command, Output};

const TOOL: &str = env!("CARGO_BIN_EXE_lxu-image");

/// Runs the tool with stdout and stderr piped.
fn piped(args: &[&str]) -> Output {
    let out = Command::new(TOOL).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    out
}

/// Runs the tool on a pseudo-terminal, 80 columns wide; returns what it drew.
fn on_a_terminal(args: &[&str]) -> String {
    let line = format!("stty cols 80; exec {TOOL} {}", args.join(" "));
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .output()
        .expect("script(1) from util-linux");
    assert!(out.status.success(), "{line}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A progress bar was drawn for `file`.
fn has_bar(text: &str, file: &str) -> bool {
    text.contains(&format!("{file} [")) && text.contains(" eta ")
}

/// A build directory as `lxu image build` leaves it, with a rootfs large enough to
/// take a moment to copy, hash and sign.
fn fake_build(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let rootfs = vec![0x5au8; 8 << 20];
    std::fs::write(dir.join("rootfs.tar.xz"), rootfs).unwrap();
    std::fs::write(dir.join("meta.tar.xz"), b"meta").unwrap();
    std::fs::write(
        dir.join("image.info"),
        "dist=fake\nrelease=1\narch=amd64\nserial=20250101_00:00\nbuild_time=1\n\
         expiry=4000000000\nmin_compat_system=5\nmin_compat_user=5\n\
         files=rootfs.tar.xz meta.tar.xz\n",
    )
    .unwrap();
}

#[test]
fn publish_shows_progress_only_on_a_terminal() {
    let t = tempfile::tempdir().unwrap();
    let p = |name: &str| t.path().join(name).to_str().unwrap().to_string();
    piped(&["keygen", "--out", &p("key")]);
    fake_build(&t.path().join("build"));
    let (build, key) = (p("build"), p("key/key.asc"));
    let id = "fake/1/amd64/default/20250101_00:00";

    let repo = p("piped");
    let out = piped(&["publish", &build, "--repo", &repo, "--key", &key]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "progress on a pipe"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("published {id} in {repo}/images/{id}\n")
    );

    let shown = on_a_terminal(&["publish", &build, "--repo", &p("tty"), "--key", &key]);
    assert!(
        has_bar(&shown, "rootfs.tar.xz"),
        "no progress on a terminal: {shown:?}"
    );
    assert!(shown.contains(&format!("published {id}")), "{shown:?}");
}

#[test]
fn build_shows_progress_only_on_a_terminal() {
    if !Path::new("/bin/busybox").exists() {
        assert!(
            std::env::var("LXU_MUST_WORK").as_deref() != Ok("1"),
            "LXU_MUST_WORK=1 but /bin/busybox is missing (install busybox-static)"
        );
        eprintln!("SKIP: /bin/busybox missing (install busybox-static)");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let out_dir = |name: &str| t.path().join(name).to_str().unwrap().to_string();

    let piped_dir = out_dir("piped");
    let out = piped(&["build", "busybox", "--out", &piped_dir]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "progress on a pipe"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("built busybox/") && stdout.ends_with(&format!(" in {piped_dir}\n")),
        "{stdout:?}"
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");

    let shown = on_a_terminal(&["build", "busybox", "--out", &out_dir("tty")]);
    assert!(shown.contains("Packing the root file system"), "{shown:?}");
    assert!(
        has_bar(&shown, "rootfs.tar.xz"),
        "no progress on a terminal: {shown:?}"
    );
}
