//! `lxu create -t download` against repositories the tests build, sign, publish and serve
//! themselves on loopback (`lxu image …`), as the unprivileged test user.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lxu_e2e::images::{keygen, names, snapshot, Download, Repo, Server};
use lxu_e2e::{Lab, Output};

const REL: &str = "e2e";

/// A cache base of the test's own (`LXC_CACHE_PATH`).
fn cache(lab: &Lab) -> PathBuf {
    lab.files.join("cache")
}

/// The cache directory of the test image.
fn image_cache(lab: &Lab) -> PathBuf {
    cache(lab)
        .join("download/busybox")
        .join(REL)
        .join(lxu_e2e::images::host_arch())
        .join("default")
}

/// Nothing of container `name` exists after a refused create.
#[track_caller]
fn assert_no_container(lab: &Lab, name: &str, out: &Output) {
    assert!(
        !lab.dir(name).exists(),
        "a refused create must leave no container directory\n{out}"
    );
    let ls = lab.lxu(&["ls", "-1"]);
    ls.success();
    assert!(
        !ls.lines().iter().any(|l| l.trim() == name),
        "a refused create must leave no container\n{ls}"
    );
}

/// The cache holds no image: nothing a later create could unpack.
#[track_caller]
fn assert_cache_empty(lab: &Lab, out: &Output) {
    let s = snapshot(&cache(lab));
    assert!(
        s.is_empty(),
        "a refused download must not put anything in the cache; found {:?}\n{out}",
        names(&s)
    );
}

/// A refused create left neither a container nor anything in the cache.
#[track_caller]
fn assert_refused_cleanly(lab: &Lab, name: &str, out: &Output) {
    assert_no_container(lab, name, out);
    assert_cache_empty(lab, out);
}

/// A create of `name` by `download` fails, with each of `errors` in its stderr, and
/// leaves neither a container nor anything in the cache.
#[track_caller]
fn assert_create_refused(lab: &Lab, download: Download, name: &str, errors: &[&str]) {
    let out = download.create(name);
    out.code_is(1);
    for e in errors {
        out.stderr_has(e);
    }
    assert_refused_cleanly(lab, name, &out);
}

/// A lab with the test image published and served over HTTP.
#[track_caller]
fn served() -> Option<(Lab, Repo, Server)> {
    let lab = Lab::new()?;
    let repo = Repo::busybox(&lab, REL);
    let server = Server::http(&lab, &repo);
    Some((lab, repo, server))
}

/// A create from `server` into the test's cache, trusting the key of `repo`.
fn trusting<'a>(lab: &'a Lab, server: &Server, repo: &Repo) -> Download<'a> {
    Download::new(lab, &cache(lab), &server.url, REL).keyring(&repo.key.public)
}

/// A cache of its own (not the test's) that holds the served image.
struct GoodCache<'a> {
    dir: PathBuf,
    download: Download<'a>,
    before: BTreeMap<String, Vec<u8>>,
}

impl<'a> GoodCache<'a> {
    /// Fills the cache by creating container `first`.
    #[track_caller]
    fn fill(lab: &'a Lab, server: &Server, repo: &Repo, first: &str) -> GoodCache<'a> {
        let dir = lab.files.join("good-cache");
        let download = Download::new(lab, &dir, &server.url, REL).keyring(&repo.key.public);
        assert_downloaded(&download.create(first));
        let before = snapshot(&dir);
        assert!(!before.is_empty());
        GoodCache {
            dir,
            download,
            before,
        }
    }

    /// A `--flush-cache` create of `name` fails with `error`, makes no container and
    /// leaves the cached image as it was.
    #[track_caller]
    fn assert_refetch_refused(self, lab: &Lab, name: &str, error: &str) {
        let out = self.download.arg("--flush-cache").create(name);
        out.code_is(1).stderr_has(error);
        assert_no_container(lab, name, &out);
        let after = snapshot(&self.dir);
        assert!(
            after == self.before,
            "a refused re-download must leave the cached image as it was: before {:?}, after {:?}\n{out}",
            names(&self.before),
            names(&after)
        );
    }
}

/// A successful create printed the download steps (not the cache's), and, its
/// output being piped, no progress bars (they redraw their line with `\r`).
#[track_caller]
fn assert_downloaded(out: &Output) {
    out.success()
        .stderr_has("Downloading the rootfs")
        .stdout_has("You just created a BusyBox");
    assert!(
        !out.stderr.contains('\r') && !out.stderr.contains(" eta "),
        "progress bars on a pipe:\n{out}"
    );
}

/// The container runs, with its name as hostname, from the templated /etc/hostname.
#[track_caller]
fn assert_boots_with_its_name(lab: &Lab, name: &str) {
    lab.start(name);
    lab.lxu(&["attach", "-n", name, "--", "hostname"])
        .success()
        .stdout_is(name);
    lab.lxu(&["attach", "-n", name, "--", "cat", "/etc/hostname"])
        .success()
        .stdout_is(name);
    let hosts = lab.sh(name, "cat /etc/hosts");
    assert!(
        hosts
            .lines()
            .any(|l| l.split_whitespace().skip(1).any(|w| w == name)),
        "/etc/hosts must name the container (LXC_NAME templated):\n{hosts}"
    );
    assert!(
        !hosts.contains("LXC_NAME"),
        "template variables must be replaced:\n{hosts}"
    );
    lab.lxu(&["attach", "-n", name, "--", "id", "-u"])
        .success()
        .stdout_is("0");
}

#[test]
fn http_image_creates_and_starts_then_comes_from_the_cache() {
    let Some((lab, repo, mut server)) = served() else {
        return;
    };
    let dl = trusting(&lab, &server, &repo);

    let first = lab.name("dl");
    let out = dl.create(&first);
    assert_downloaded(&out);
    out.stdout_has(&repo.build);
    assert!(
        image_cache(&lab).join("rootfs.tar.xz").is_file(),
        "the image must be cached in LXC_CACHE_PATH/download/busybox/{REL}/ARCH/default\n{out}"
    );
    let config = lab.read_config(&first);
    assert!(
        config.contains(&format!("lxc.uts.name = {first}")),
        "the config must name the container\n{config}"
    );
    assert_boots_with_its_name(&lab, &first);

    // The second create uses the cache: no download, and it works with the server gone.
    let second = lab.name("dl");
    let out = dl.create(&second);
    out.success()
        .stderr_has("Using image from local cache")
        .stdout_has("You just created a BusyBox");
    assert!(
        !out.stderr.contains("Downloading the rootfs") && !out.stderr.contains("image index"),
        "a cached, unexpired image must not be downloaded again\n{out}"
    );
    server.kill();
    let third = lab.name("dl");
    let out = dl.create(&third);
    out.success().stderr_has("Using image from local cache");
    assert_boots_with_its_name(&lab, &second);
    assert_boots_with_its_name(&lab, &third);
}

#[test]
fn https_image_with_the_users_trusted_keys_directory() {
    let Some(lab) = Lab::new() else { return };
    let repo = Repo::busybox(&lab, REL);
    let server = Server::https(&lab, &repo);
    // The key is trusted through ~/.config/lxc/trusted-keys, not --keyring.
    let _trusted = TrustedKey::install(&lab, &repo.key.public);

    // Without the server's CA, TLS fails: no container, nothing cached.
    let name = lab.name("tls");
    assert_create_refused(
        &lab,
        Download::new(&lab, &cache(&lab), &server.url, REL),
        &name,
        &["certificate"],
    );

    // LXC's `--server host:port` form means HTTPS.
    let dl = Download::new(&lab, &cache(&lab), server.host_port(), REL).ca(server.ca.as_deref());
    let out = dl.create(&name);
    assert_downloaded(&out);
    assert_boots_with_its_name(&lab, &name);
}

#[test]
fn list_prints_the_table_and_creates_nothing() {
    let Some((lab, repo, server)) = served() else {
        return;
    };
    let name = lab.name("ls");
    for flag in ["--list", "-l"] {
        let out = trusting(&lab, &server, &repo).arg(flag).create(&name);
        out.code_is(1);
        let row = format!(
            "busybox\t{REL}\t{}\tdefault\t{}",
            lxu_e2e::images::host_arch(),
            repo.build
        );
        assert!(
            out.lines()
                .iter()
                .any(|l| l.contains("DIST") && l.contains("RELEASE")),
            "--list prints the table header\n{out}"
        );
        assert!(
            out.lines().iter().any(|l| l.trim() == row),
            "--list shows the published image as `{row}`\n{out}"
        );
        assert_refused_cleanly(&lab, &name, &out);
    }
}

#[test]
fn a_signature_by_an_unknown_key_is_refused() {
    let Some((lab, repo, server)) = served() else {
        return;
    };
    let other = keygen(&lab, "key-b");
    let name = lab.name("uk");

    // Trusting only key B.
    assert_create_refused(
        &lab,
        Download::new(&lab, &cache(&lab), &server.url, REL).keyring(&other.public),
        &name,
        &["unknown key"],
    );

    // Both keys in the keyring, but --keyid narrows trust to B.
    let out = trusting(&lab, &server, &repo)
        .arg("--keyid")
        .arg(&other.fingerprint)
        .create(&name);
    out.failure();
    assert!(
        out.stderr.contains(&other.fingerprint) || out.stderr.contains("unknown key"),
        "the refusal names the key\n{out}"
    );
    assert_refused_cleanly(&lab, &name, &out);

    // And with the right key it works: the refusals were about the key.
    let out = trusting(&lab, &server, &repo)
        .arg("--keyid")
        .arg(&repo.key.fingerprint)
        .create(&name);
    assert_downloaded(&out);
}

#[test]
fn a_tampered_rootfs_is_refused_and_the_cache_is_kept() {
    let Some((lab, repo, server)) = served() else {
        return;
    };
    let first = lab.name("tp");
    let good = GoodCache::fill(&lab, &server, &repo, &first);

    tamper(&repo.build_dir().join("rootfs.tar.xz"));

    // A fresh cache: refused (longer than the signed image.info says), nothing kept.
    let name = lab.name("tp");
    assert_create_refused(
        &lab,
        trusting(&lab, &server, &repo),
        &name,
        &[
            "rootfs.tar.xz` is larger than the",
            "by the signed image.info",
        ],
    );

    // A good cache and --flush-cache: refused, and the good copy stays as it was.
    good.assert_refetch_refused(&lab, &name, "by the signed image.info");
    assert_boots_with_its_name(&lab, &first);
}

#[test]
fn a_missing_signature_is_refused() {
    let Some((lab, repo, server)) = served() else {
        return;
    };
    // SHA256SUMS vouches for every file of the build: without its signature, nothing.
    let asc = repo.build_dir().join("SHA256SUMS.asc");
    std::fs::remove_file(&asc).unwrap_or_else(|e| panic!("remove `{}`: {e}", asc.display()));
    let name = lab.name("ms");
    assert_create_refused(
        &lab,
        trusting(&lab, &server, &repo),
        &name,
        &["missing signature", "SHA256SUMS.asc"],
    );
}

#[test]
fn an_unknown_dist_or_release_lists_what_exists() {
    let Some((lab, repo, server)) = served() else {
        return;
    };
    let name = lab.name("un");

    assert_create_refused(
        &lab,
        Download::new(&lab, &cache(&lab), &server.url, "no-such-release").keyring(&repo.key.public),
        &name,
        &[
            "no-such-release",
            &format!("available releases of busybox: {REL}"),
        ],
    );

    assert_create_refused(
        &lab,
        Download::new(&lab, &cache(&lab), &server.url, REL)
            .dist("nodist")
            .keyring(&repo.key.public),
        &name,
        &["nodist", "available distributions: busybox"],
    );
}

#[test]
fn a_dead_server_fails_clearly_and_keeps_the_cache() {
    let Some((lab, repo, mut server)) = served() else {
        return;
    };
    let good = GoodCache::fill(&lab, &server, &repo, &lab.name("ds"));
    let port = server.host_port().to_string();
    server.kill();

    let name = lab.name("ds");
    let out = trusting(&lab, &server, &repo).create(&name);
    out.code_is(1).stderr_has(&port);
    assert!(
        out.stderr.to_lowercase().contains("refused") || out.stderr.contains("connect"),
        "the error must say the server could not be reached\n{out}"
    );
    assert!(
        out.elapsed.as_secs() < 30,
        "a refused connection must not take long\n{out}"
    );
    assert_refused_cleanly(&lab, &name, &out);

    good.assert_refetch_refused(&lab, &name, &port);
}

#[test]
fn no_validate_works_with_a_loud_warning() {
    let Some((lab, _, server)) = served() else {
        return;
    };
    // The signing key is trusted nowhere: only --no-validate lets this through.
    let name = lab.name("nv");
    let out = Download::new(&lab, &cache(&lab), &server.url, REL).create(&name);
    out.code_is(1);
    assert_no_container(&lab, &name, &out);
    let out = Download::new(&lab, &cache(&lab), &server.url, REL)
        .arg("--no-validate")
        .create(&name);
    assert_downloaded(&out);
    out.stderr_has("WARNING")
        .stderr_has("without gpg validation");
    assert_boots_with_its_name(&lab, &name);
}

/// Issue 11 finding 3: the server hands out the rootfs of another build, signed by
/// the same key (so its own `.asc` verifies). It is not the file the signed
/// `SHA256SUMS` of the chosen build lists: refused, nothing cached, a good cache kept.
#[test]
fn a_rootfs_of_another_build_by_the_same_key_is_refused() {
    let Some((lab, repo, server)) = served() else {
        return;
    };
    let good = GoodCache::fill(&lab, &server, &repo, &lab.name("sw"));

    // Another build of the same image: same recipe, a rootfs with different bytes
    // (a second xz stream appended: still a valid tarball), published with the same
    // key into a repository of its own.
    let build = lab.files.join(format!("build-{REL}"));
    let other_build = lab.files.join(format!("build-{REL}-other"));
    std::fs::create_dir_all(&other_build).unwrap();
    for e in std::fs::read_dir(&build).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), other_build.join(e.file_name())).unwrap();
    }
    let rootfs = other_build.join("rootfs.tar.xz");
    let mut data = std::fs::read(&rootfs).unwrap();
    data.extend_from_slice(&data.clone());
    std::fs::write(&rootfs, data).unwrap();
    let other_repo = lab.files.join(format!("repo-{REL}-other"));
    lab.call(&[
        "image",
        "publish",
        other_build.to_str().unwrap(),
        "--repo",
        other_repo.to_str().unwrap(),
        "--key",
        repo.key.secret.to_str().unwrap(),
    ])
    .no_lxcpath()
    .run()
    .success();
    let other_dir = std::fs::read_dir(
        other_repo
            .join("images/busybox")
            .join(REL)
            .join(lxu_e2e::images::host_arch())
            .join("default"),
    )
    .unwrap()
    .map(|e| e.unwrap().path())
    .find(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
    .expect("the other build is published");
    for n in ["rootfs.tar.xz", "rootfs.tar.xz.asc"] {
        std::fs::copy(other_dir.join(n), repo.build_dir().join(n)).unwrap();
    }

    let name = lab.name("sw");
    assert_create_refused(
        &lab,
        trusting(&lab, &server, &repo),
        &name,
        &["rootfs.tar.xz` is larger than the"],
    );

    good.assert_refetch_refused(&lab, &name, "by the signed image.info");
}

/// Appends a byte to `path` (the signature no longer matches).
fn tamper(path: &Path) {
    let mut data = std::fs::read(path).unwrap_or_else(|e| panic!("read `{}`: {e}", path.display()));
    data.push(0);
    std::fs::write(path, data).unwrap_or_else(|e| panic!("write `{}`: {e}", path.display()));
}

/// A key in the user's `~/.config/lxc/trusted-keys`, removed when dropped.
struct TrustedKey {
    path: PathBuf,
}

impl TrustedKey {
    fn install(lab: &Lab, public: &Path) -> TrustedKey {
        let dir = lab.home.join(".config/lxc/trusted-keys");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create `{}`: {e}", dir.display()));
        let path = dir.join(format!("lxu-e2e-{}.asc", lab.name("k")));
        std::fs::copy(public, &path)
            .unwrap_or_else(|e| panic!("copy to `{}`: {e}", path.display()));
        TrustedKey { path }
    }
}

impl Drop for TrustedKey {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
