//! On-disk interop with Debian's real LXC tools: a container lxu made (created, copied,
//! restored from a snapshot) starts with `lxc-start`, and lxu still runs and destroys it
//! afterwards. The container directory is laid out as LXC lays it out: owner = the host uid
//! of the container's root, group = the caller's, mode 0770.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use lxu_e2e::run::{self, Output};
use lxu_e2e::Lab;

/// Debian's LXC tool `tool` (`./x` installs the `lxc` package), or `None` after a skip.
#[track_caller]
fn lxc_tool(tool: &str) -> Option<PathBuf> {
    let p = Path::new("/usr/bin").join(tool);
    let found = p.is_file();
    let why = format!("`{}` is missing (apt-get install lxc)", p.display());
    lxu_e2e::need(found, why).then_some(p)
}

/// A lab, where each of Debian's LXC `tools` is installed; `None` after a skip.
#[track_caller]
fn lab_with(tools: &[&str]) -> Option<Lab> {
    let lab = Lab::new()?;
    tools.iter().all(|t| lxc_tool(t).is_some()).then_some(lab)
}

/// `lxc-TOOL -P LXCPATH -n NAME ARGS…` run by Debian's LXC.
fn lxc(lab: &Lab, tool: &str, name: &str, args: &[&str]) -> Output {
    let mut c = Command::new(Path::new("/usr/bin").join(tool));
    c.arg("-P").arg(&lab.lxcpath).args(["-n", name]).args(args);
    let desc = run::describe(&c, None);
    run::run(c, desc, None, Duration::from_secs(60))
}

/// Stops a container LXC started, even when the test fails half-way (lxu's cleanup in
/// `Lab` knows nothing of LXC's monitor).
struct LxcStopper<'a> {
    lab: &'a Lab,
    name: String,
}

impl Drop for LxcStopper<'_> {
    fn drop(&mut self) {
        let mut c = Command::new("/usr/bin/lxc-stop");
        c.arg("-P")
            .arg(&self.lab.lxcpath)
            .args(["-n", &self.name, "-k"]);
        let _ = run::try_run(c, "lxc-stop -k".into(), None, Duration::from_secs(30));
    }
}

/// Starts `name` with LXC (daemonized, log to the lab's files), checks that LXC sees it
/// RUNNING and can attach, and stops it again with `lxc-stop`.
#[track_caller]
fn lxc_runs(lab: &Lab, name: &str) {
    let log = lab.files.join(format!("{name}.lxc.log"));
    let _stopper = LxcStopper {
        lab,
        name: name.to_string(),
    };
    let log_arg = log.to_str().expect("utf-8 path");
    let out = lxc(lab, "lxc-start", name, &["-d", "-l", "INFO", "-o", log_arg]);
    if out.code != Some(0) {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let errors: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("ERROR"))
            .take(6)
            .collect();
        panic!(
            "Debian's lxc-start cannot start the container lxu made\n{out}\n--- LXC's errors ---\n{}",
            errors.join("\n")
        );
    }
    lxc(lab, "lxc-info", name, &["-s", "-H"])
        .success()
        .stdout_is("RUNNING");
    lxc(
        lab,
        "lxc-attach",
        name,
        &["--", "/bin/sh", "-c", "id -u; hostname"],
    )
    .success()
    .stdout_is(&format!("0\n{name}"));
    lxc(lab, "lxc-stop", name, &["-k"]).success();
    lxc(lab, "lxc-info", name, &["-s", "-H"])
        .success()
        .stdout_is("STOPPED");
}

/// The host uid of the container's root: the `u 0 HOST N` line of its config.
fn root_uid(lab: &Lab, name: &str) -> u32 {
    let text = lab.read_config(name);
    text.lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.trim() == "lxc.idmap")
        .find_map(|(_, v)| {
            let w: Vec<&str> = v.split_whitespace().collect();
            (w.len() == 4 && w[0] == "u" && w[1] == "0").then(|| w[2].parse().ok())?
        })
        .unwrap_or_else(|| panic!("no `lxc.idmap = u 0 …` line in {name}'s config:\n{text}"))
}

/// Asserts LXC's layout of a container directory.
#[track_caller]
fn assert_lxc_layout(lab: &Lab, dir: &Path, root_uid: u32) {
    let m = std::fs::symlink_metadata(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    assert!(m.is_dir(), "`{}` is not a directory", dir.display());
    assert_eq!(
        (m.uid(), m.gid(), format!("{:04o}", m.mode() & 0o7777)),
        (root_uid, lab.user.gid, "0770".to_string()),
        "owner, group and mode of `{}` (want LXC's: the container root's uid, the user's gid, 0770)",
        dir.display()
    );
}

/// lxu start, attach, stop: lxu still runs the container after LXC did.
#[track_caller]
fn lxu_runs(lab: &Lab, name: &str) {
    lab.start(name);
    assert_eq!(lab.state(name), "RUNNING");
    assert_eq!(lab.sh(name, "id -u"), "0");
    lab.lxu(&["stop", "-n", name, "-k"]).success();
    assert_eq!(lab.state(name), "STOPPED");
}

/// Whatever is left in the lab's lxcpath.
fn leftovers(lab: &Lab) -> Vec<String> {
    std::fs::read_dir(&lab.lxcpath)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn debian_lxc_starts_a_container_lxu_created_and_lxu_still_runs_and_destroys_it() {
    let Some(lab) = lab_with(&["lxc-start"]) else {
        return;
    };
    let name = lab.created("li");
    // Before the fix: "Permission denied - Failed to open …/rootfs" from lxc-start.
    lxc_runs(&lab, &name);
    let root = root_uid(&lab, &name);
    assert_ne!(
        root, lab.user.uid,
        "the test needs a container root other than the user"
    );
    assert_lxc_layout(&lab, &lab.dir(&name), root);
    lxu_runs(&lab, &name);
    // And LXC once more after lxu ran it (lxu's lock and socket files are in the way of
    // nothing).
    lxc_runs(&lab, &name);
    lab.lxu(&["destroy", "-n", &name]).success();
    assert!(
        !lab.dir(&name).exists(),
        "destroy left `{}`",
        lab.dir(&name).display()
    );
    assert_eq!(leftovers(&lab), Vec::<String>::new(), "left in the lxcpath");
}

#[test]
fn copies_snapshots_and_restored_containers_are_laid_out_for_lxc() {
    let Some(lab) = lab_with(&["lxc-start"]) else {
        return;
    };
    let src = lab.created("ls");
    let root = root_uid(&lab, &src);

    let copy = lab.name("lc");
    lab.lxu(&["copy", "-n", &src, "-N", &copy]).success();
    assert_lxc_layout(&lab, &lab.dir(&copy), root);

    lab.lxu(&["snapshot", "-n", &src]).success();
    assert_lxc_layout(&lab, &lab.dir(&src).join("snaps/snap0"), root);

    let restored = lab.name("lr");
    lab.lxu(&["snapshot", "-n", &src, "-r", "snap0", "-N", &restored])
        .success();
    assert_lxc_layout(&lab, &lab.dir(&restored), root);
    // Restored in place: the directory keeps its layout.
    lab.lxu(&["snapshot", "-n", &src, "-r", "snap0"]).success();
    assert_lxc_layout(&lab, &lab.dir(&src), root);

    lxc_runs(&lab, &copy);
    lxc_runs(&lab, &restored);
    lxu_runs(&lab, &restored);

    lab.lxu(&["destroy", "-n", &src, "-s"]).success();
    lab.lxu(&["destroy", "-n", &copy]).success();
    lab.lxu(&["destroy", "-n", &restored]).success();
    assert_eq!(leftovers(&lab), Vec::<String>::new(), "left in the lxcpath");
}

/// Gives `dir` the layout older lxu made (the user's, mode 0750): root of a user namespace
/// mapping the container's ids and the user hands it back, as only it can.
fn make_old_layout(lab: &Lab, dir: &Path) {
    let (u, g) = (lab.user.uid, lab.user.gid);
    let mut c = Command::new("/usr/bin/lxc-usernsexec");
    c.args([
        "-m".to_string(),
        format!("u:0:{}:{}", lab.subuid.start, lab.subuid.count),
        "-m".to_string(),
        format!("g:0:{}:{}", lab.subgid.start, lab.subgid.count),
        "-m".to_string(),
        format!("u:{}:{u}:1", lab.subuid.count),
        "-m".to_string(),
        format!("g:{}:{g}:1", lab.subgid.count),
        "--".to_string(),
        "chown".to_string(),
        format!("{}:{}", lab.subuid.count, lab.subgid.count),
    ])
    .arg(dir);
    let desc = run::describe(&c, None);
    run::run(c, desc, None, Duration::from_secs(30)).success();
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o750))
        .unwrap_or_else(|e| panic!("chmod `{}`: {e}", dir.display()));
}

#[test]
fn fix_layout_lets_lxc_start_a_container_made_by_older_lxu() {
    let Some(lab) = lab_with(&["lxc-start", "lxc-usernsexec"]) else {
        return;
    };
    let name = lab.created("lf");
    lab.lxu(&["snapshot", "-n", &name]).success();
    let root = root_uid(&lab, &name);
    let (dir, snap) = (lab.dir(&name), lab.dir(&name).join("snaps/snap0"));
    make_old_layout(&lab, &dir);
    make_old_layout(&lab, &snap);
    let m = std::fs::metadata(&dir).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (lab.user.uid, 0o750));

    // What older lxu left cannot be started by LXC …
    let log = lab.files.join("old.lxc.log");
    let _stopper = LxcStopper {
        lab: &lab,
        name: name.clone(),
    };
    lxc(
        &lab,
        "lxc-start",
        &name,
        &["-d", "-o", log.to_str().unwrap()],
    )
    .failure();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.contains("Permission denied - Failed to open") && text.contains("rootfs"),
        "LXC's log should say why:\n{text}"
    );
    // … and lxu itself still runs it.
    lxu_runs(&lab, &name);

    let out = lab.lxu(&["fix-layout", "-n", &name]);
    out.success();
    out.stdout_has(&format!(
        "{name}: `{}` now belongs to uid {root}, gid {}, mode 0770",
        dir.display(),
        lab.user.gid
    ))
    .stdout_has(&format!("`{}` now belongs to", snap.display()));
    assert_lxc_layout(&lab, &dir, root);
    assert_lxc_layout(&lab, &snap, root);
    lab.lxu(&["fix-layout", "-a"])
        .success()
        .stdout_has(&format!("`{}` is laid out already", dir.display()));

    lxc_runs(&lab, &name);
    lxu_runs(&lab, &name);
    lab.lxu(&["destroy", "-n", &name, "-s"]).success();
    assert_eq!(leftovers(&lab), Vec::<String>::new(), "left in the lxcpath");
}

#[test]
fn fix_layout_needs_the_name_of_an_existing_container() {
    let Some(lab) = Lab::new() else { return };
    lab.lxu(&["fix-layout"])
        .failure()
        .stderr_has("no container name given");
    let ghost = lab.name("lg");
    lab.lxu(&["fix-layout", "-n", &ghost])
        .failure()
        .stderr_has(&ghost);
}

#[test]
fn lxu_runs_copies_and_destroys_a_container_debian_lxc_created() {
    let Some(lab) = Lab::new() else { return };
    if lxc_tool("lxc-create").is_none() {
        return;
    }
    // lxc-create -f replaces default.conf, so the id map comes along in the file.
    let default_conf = lab.home.join(".config/lxc/default.conf");
    let maps: String = std::fs::read_to_string(&default_conf)
        .unwrap_or_else(|e| panic!("read `{}`: {e}", default_conf.display()))
        .lines()
        .filter(|l| l.trim_start().starts_with("lxc.idmap"))
        .map(|l| format!("{l}\n"))
        .collect();
    let conf = lab.write("lxc.conf", &format!("{maps}lxc.net.0.type = empty\n"));
    let name = lab.name("lx");
    lxc(
        &lab,
        "lxc-create",
        &name,
        &["-t", "busybox", "-f", conf.to_str().unwrap()],
    )
    .success();
    let root = root_uid(&lab, &name);
    // The layout lxu makes is the one LXC made.
    assert_lxc_layout(&lab, &lab.dir(&name), root);
    lxu_runs(&lab, &name);
    let copy = lab.name("ly");
    lab.lxu(&["copy", "-n", &name, "-N", &copy]).success();
    lxu_runs(&lab, &copy);
    lxc_runs(&lab, &copy);
    lab.lxu(&["destroy", "-n", &name]).success();
    lab.lxu(&["destroy", "-n", &copy]).success();
    assert_eq!(leftovers(&lab), Vec::<String>::new(), "left in the lxcpath");
}
