//! prepare()/list() against a real HTTP server on 127.0.0.1 serving a signed
//! repository tree.

mod common;

use std::time::Duration;

use common::*;
use lxu_download::index::IndexEntry;
use lxu_download::{list, prepare, ImageError};

/// The build most tests publish.
const BUILD: &str = "20240101_05:24";

impl Fixture {
    /// The one build the index lists, expiring far in the future.
    fn only_build(&self) -> IndexEntry {
        let e = self.publish(BUILD, FUTURE);
        self.repo.write_index(std::slice::from_ref(&e));
        e
    }

    fn publish(&self, build: &str, expiry: u64) -> IndexEntry {
        self.repo.publish(
            "debian",
            "bookworm",
            build,
            &small_rootfs(build),
            &meta_tarball(expiry, &format!("built {build}\n")),
        )
    }
}

#[test]
fn prepare_downloads_verifies_and_caches() {
    let f = Fixture::new();
    let e = f.publish("20240101_05:24", FUTURE);
    f.repo.write_index(&[e]);
    let (img, out) = f.prepare(&deb());
    let img = img.unwrap();

    assert!(img.downloaded);
    assert_eq!(img.build_id, "20240101_05:24");
    let dir = f.dir();
    assert_eq!(img.cache_dir, dir);
    assert_eq!(img.rootfs_tarball, dir.join("rootfs.tar.xz"));
    for name in [
        "build_id",
        "rootfs.tar.xz",
        "rootfs.tar.xz.asc",
        "meta.tar.xz",
        "meta.tar.xz.asc",
        "config",
        "config-user",
        "excludes-user",
        "templates",
        "create-message",
        "expiry",
    ] {
        assert!(dir.join(name).is_file(), "{name} missing in cache");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("build_id")).unwrap(),
        "20240101_05:24\n"
    );
    assert!(
        img.meta.config.contains("userns.conf"),
        "user mode picks config-user"
    );
    assert_eq!(img.meta.excludes, vec!["./dev/null"]);
    assert_eq!(img.meta.templates, vec!["/etc/hostname"]);
    assert_eq!(
        lxu_download::create_message_text(&img.meta).as_deref(),
        Some("\n---\nbuilt 20240101_05:24\n")
    );
    // Nothing left behind next to the cache dir but the lock file.
    let siblings: Vec<String> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut siblings = siblings;
    siblings.sort();
    assert_eq!(siblings, vec![".default.lxu-lock", "default"]);

    // An LXC-style repository (no SHA256SUMS) still works, with a warning that its
    // files are not bound to the build.
    assert_eq!(
        out,
        "Downloading the image index\n\
         WARNING: `http://ADDR//images/debian/bookworm/amd64/default/20240101_05:24//SHA256SUMS` \
         not found: this repository publishes no signed SHA256SUMS, so each file is checked \
         against its own signature only and is NOT bound to build 20240101_05:24 (another \
         build signed by the same key could be served in its place)\n\
         Downloading the rootfs\nDownloading the metadata\nThe image cache is now ready\n"
            .replace("ADDR", &f.server.addr.to_string())
    );
    // LXC's URL rules: compat index first, then the unsuffixed one; `//` as LXC sends.
    let targets: Vec<String> = f.server.log().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        targets,
        vec![
            "//meta/1.0/index-user.7",
            "//meta/1.0/index-user",
            "//meta/1.0/index-user.asc",
            "//images/debian/bookworm/amd64/default/20240101_05:24//SHA256SUMS",
            "//images/debian/bookworm/amd64/default/20240101_05:24//rootfs.tar.xz.asc",
            "//images/debian/bookworm/amd64/default/20240101_05:24//rootfs.tar.xz",
            "//images/debian/bookworm/amd64/default/20240101_05:24//meta.tar.xz.asc",
            "//images/debian/bookworm/amd64/default/20240101_05:24//meta.tar.xz",
        ]
    );
    let ua = f.server.log()[0].user_agent.clone().unwrap();
    assert_eq!(ua, format!("lxu/{} compat:7", env!("CARGO_PKG_VERSION")));
}

#[test]
fn compat_index_is_preferred_when_published() {
    let f = Fixture::new();
    let e = f.publish("20240101_05:24", FUTURE);
    // The unsuffixed index lists nothing usable; the .7 one does.
    f.repo
        .write_index_text("other;x;amd64;default;1;/images/x/\n");
    f.repo.put_signed(
        "meta/1.0/index-user.7",
        lxu_download::index::serialize(&[e]).as_bytes(),
    );
    f.prepare(&deb()).0.unwrap();
    assert!(f.server.hits("//meta/1.0/index-user").is_empty());
    assert_eq!(f.server.hits("//meta/1.0/index-user.7.asc").len(), 1);
}

#[test]
fn cache_is_reused_without_network() {
    let f = Fixture::new();
    f.only_build();
    f.prepare(&deb()).0.unwrap();
    f.server.clear_log();
    let (img, out) = f.prepare(&deb());
    let img = img.unwrap();
    assert!(!img.downloaded);
    assert_eq!(out, "Using image from local cache\n");
    assert!(f.server.log().is_empty(), "{:?}", f.server.log());
}

#[test]
fn expired_cache_rechecks_index_and_redownloads_new_build() {
    let f = Fixture::new();
    let old = f.publish("20240101_05:24", 1_000);
    f.repo.write_index(std::slice::from_ref(&old));
    f.prepare(&deb()).0.unwrap();

    // Expired, but the index still lists the same build: keep the cache.
    f.server.clear_log();
    let (img, out) = f.prepare(&deb());
    let img = img.unwrap();
    assert!(!img.downloaded);
    // The image holds a shared lock on the cache until dropped.
    drop(img);
    assert_eq!(
        out,
        "The cached copy has expired, re-downloading...\nDownloading the image index\n\
         The cache is already up to date\nUsing image from local cache\n"
    );
    assert!(f.server.hits("rootfs.tar.xz").is_empty());

    // --force-cache: no network at all.
    f.server.clear_log();
    let (r, out) = f.prepare(&with(&["--force-cache"]));
    r.unwrap();
    assert_eq!(out, "Using image from local cache\n");
    assert!(f.server.log().is_empty());

    // A newer build appears: it is downloaded and replaces the cache.
    let new = f.publish("20240201_05:24", FUTURE);
    f.repo.write_index(&[old, new]);
    let img = f.prepare(&deb()).0.unwrap();
    assert!(img.downloaded);
    assert_eq!(img.build_id, "20240201_05:24");
    let dir = f.dir();
    assert_eq!(
        std::fs::read_to_string(dir.join("build_id")).unwrap(),
        "20240201_05:24\n"
    );
}

#[test]
fn flush_cache_redownloads() {
    let f = Fixture::new();
    f.only_build();
    f.prepare(&deb()).0.unwrap();
    let (img, out) = f.prepare(&with(&["--flush-cache"]));
    let img = img.unwrap();
    assert!(img.downloaded);
    assert!(out.starts_with("Flushing the cache...\nDownloading the image index\n"));
    assert_eq!(f.server.hits("//rootfs.tar.xz").len(), 2);
}

#[test]
fn tampered_files_are_refused_and_the_cache_is_untouched() {
    let f = Fixture::new();
    // Expired, so every run below consults the index.
    let good = f.publish("20240101_05:24", 1_000);
    f.repo.write_index(std::slice::from_ref(&good));
    f.prepare(&deb()).0.unwrap();
    let dir = f.dir();
    let before = snapshot(&dir);

    // A newer build whose rootfs was changed after signing.
    let bad = f.publish("20240301_05:24", FUTURE);
    std::fs::write(
        f.repo.file(&format!("{}rootfs.tar.xz", bad.path)),
        small_rootfs("evil"),
    )
    .unwrap();
    f.repo.write_index(&[good.clone(), bad.clone()]);
    let msg = f.failure(&deb());
    assert!(msg.starts_with("bad signature of `"), "{msg}");
    assert!(msg.contains("20240301_05:24//rootfs.tar.xz`"), "{msg}");
    assert!(msg.contains(&f.key.subkey_fingerprint()), "{msg}");
    assert_eq!(snapshot(&dir), before);
    assert!(
        !lxu_download::cache::staging_dir(&dir).exists(),
        "poisoned download kept"
    );

    // Same with the metadata.
    let bad = f.publish("20240301_05:24", FUTURE);
    std::fs::write(
        f.repo.file(&format!("{}meta.tar.xz", bad.path)),
        meta_tarball(FUTURE, "evil"),
    )
    .unwrap();
    let msg = f.failure(&deb());
    assert!(msg.contains("//meta.tar.xz`"), "{msg}");
    assert_eq!(snapshot(&dir), before);

    // And the index itself.
    f.repo
        .write_index(&[good.clone(), f.publish("20240301_05:24", FUTURE)]);
    let idx = f.repo.file("meta/1.0/index-user");
    let mut text = std::fs::read_to_string(&idx).unwrap();
    text.push_str("debian;bookworm;amd64;default;20990101_00:00;/images/evil/\n");
    std::fs::write(&idx, text).unwrap();
    let msg = f.failure(&deb());
    assert!(msg.contains("//meta/1.0/index-user`"), "{msg}");
    assert_eq!(snapshot(&dir), before);
    // Even --flush-cache keeps the old copy until a new one is verified.
    let (env, _) = f.client.env();
    let err = prepare(
        &args(
            &f.server,
            &["-d", "debian", "-r", "bookworm", "--flush-cache"],
        ),
        &env,
    )
    .unwrap_err();
    assert!(shown(&err).starts_with("bad signature of `"), "{err}");
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn tampered_cache_is_detected_and_replaced() {
    let f = Fixture::new();
    f.only_build();
    f.prepare(&deb()).0.unwrap();
    let dir = f.dir();
    let good = std::fs::read(dir.join("rootfs.tar.xz")).unwrap();
    std::fs::write(dir.join("rootfs.tar.xz"), small_rootfs("evil")).unwrap();
    let (img, out) = f.prepare(&deb());
    let img = img.unwrap();
    assert!(img.downloaded);
    assert!(
        out.starts_with("The cached copy cannot be verified (bad signature of `"),
        "{}",
        out
    );
    assert_eq!(std::fs::read(dir.join("rootfs.tar.xz")).unwrap(), good);
}

#[test]
fn unknown_key_and_missing_signature_are_refused() {
    let f = Fixture::new();
    let e = f.only_build();
    let other = TestKey::new("someone else <x@example.invalid>");
    let rootfs = f.repo.file(&format!("{}rootfs.tar.xz", e.path));
    let data = std::fs::read(&rootfs).unwrap();
    std::fs::write(rootfs.with_extension("xz.asc"), other.sign(&data)).unwrap();
    let msg = f.failure(&deb());
    assert_eq!(
        msg,
        format!(
            "signature of `{}/{}/rootfs.tar.xz` made by unknown key 0x{}",
            f.server.url(),
            e.path,
            other.subkey_fingerprint()
        )
    );
    let dir = f.dir();
    assert!(!dir.exists());

    std::fs::remove_file(rootfs.with_extension("xz.asc")).unwrap();
    let err = f.prepare(&deb()).0.unwrap_err();
    assert!(matches!(err, ImageError::MissingSignature { .. }), "{err}");
    assert_eq!(
        shown(&err),
        format!(
            "missing signature `{}/{}/rootfs.tar.xz.asc`",
            f.server.url(),
            e.path
        )
    );

    // --no-validate: one loud warning, and the image is used.
    let (img, out) = f.prepare(&with(&["--no-validate"]));
    let img = img.unwrap();
    assert!(img.downloaded);
    let text = out;
    assert_eq!(
        text.matches("WARNING: Running without gpg validation!")
            .count(),
        1,
        "{text}"
    );
    assert!(text.starts_with("WARNING: Running without gpg validation!\n"));
    assert!(!dir.join("rootfs.tar.xz.asc").exists());
    drop(img);

    // Such a cache has no signatures: a validating run downloads again.
    let sig = f.key.sign(&data);
    std::fs::write(rootfs.with_extension("xz.asc"), sig).unwrap();
    let (img, out) = f.prepare(&deb());
    let img = img.unwrap();
    assert!(img.downloaded, "{}", out);
    assert!(dir.join("rootfs.tar.xz.asc").exists());
}

#[test]
fn keyid_and_keyring_options() {
    let f = Fixture::new();
    f.only_build();
    // Trust only a key that did not sign: refused as unknown.
    let other = TestKey::new("other <o@example.invalid>");
    let ring = f.client.home.path().join("other.asc");
    std::fs::write(&ring, other.public_armored()).unwrap();
    let (env, _) = f.client.env();
    let keyid = format!("0x{}", other.fingerprint());
    let mut a = deb().to_vec();
    a.extend(["--keyring", ring.to_str().unwrap(), "--keyid", &keyid]);
    let err = prepare(&args(&f.server, &a), &env).unwrap_err();
    assert!(shown(&err).contains("made by unknown key"), "{err}");

    // --keyid naming the signing key (by its primary's long id) works.
    let long_id = f.key.fingerprint()[24..].to_string();
    let (env, _) = f.client.env();
    prepare(
        &args(
            &f.server,
            &["-d", "debian", "-r", "bookworm", "--keyid", &long_id],
        ),
        &env,
    )
    .unwrap();

    // --keyid not in the keyring.
    let (env, _) = f.client.env();
    let err = prepare(
        &args(
            &f.server,
            &[
                "-d",
                "debian",
                "-r",
                "bookworm",
                "--keyid",
                "0x0123456789ABCDEF",
            ],
        ),
        &env,
    )
    .unwrap_err();
    assert!(
        shown(&err).starts_with("--keyid 0x0123456789ABCDEF is not in the trusted keyring"),
        "{err}"
    );

    // --keyring alone, with the shipped keys gone, is enough; --keyserver is only noted.
    std::fs::remove_file(f.client.keys.join("test.asc")).unwrap();
    let ring2 = f.client.home.path().join("repo.asc");
    std::fs::write(&ring2, f.key.public_armored()).unwrap();
    let (env, out) = f.client.env();
    let mut a = deb().to_vec();
    a.extend([
        "--flush-cache",
        "--keyring",
        ring2.to_str().unwrap(),
        "--keyserver",
        "hkp://keyserver.ubuntu.com",
    ]);
    prepare(&args(&f.server, &a), &env).unwrap();
    assert!(
        out.text().starts_with("Note: --keyserver is ignored"),
        "{}",
        out.text()
    );

    // No keys at all.
    let msg = f.failure(&deb());
    assert!(msg.starts_with("no trusted keys: looked in"), "{msg}");
}

#[test]
fn signature_by_a_certify_only_primary_is_refused() {
    let f = Fixture::new();
    let e = f.only_build();
    let rootfs = f.repo.file(&format!("{}rootfs.tar.xz", e.path));
    let data = std::fs::read(&rootfs).unwrap();
    std::fs::write(
        rootfs.with_extension("xz.asc"),
        f.key
            .sign_with(&data, pgp::crypto::hash::HashAlgorithm::Sha256, true),
    )
    .unwrap();
    let msg = f.failure(&deb());
    assert!(
        msg.ends_with("which is not allowed to sign data (key flags)"),
        "{msg}"
    );
    // (A SHA-1 signature is refused too: see the gpg interop tests, rPGP won't make one.)
}

#[test]
fn malformed_index_names_the_line() {
    let f = Fixture::new();
    let e = f.publish("20240101_05:24", FUTURE);
    f.repo.write_index_text(&format!(
        "{}\ndebian;sid;amd64;default;/images/x/\n",
        e.to_line()
    ));
    let msg = f.failure(&deb());
    assert_eq!(
        msg,
        format!(
            "bad index `{}//meta/1.0/index-user`: index line 2: expected 6 `;`-separated fields, found 5: \
             `debian;sid;amd64;default;/images/x/`",
            f.server.url()
        )
    );
    f.repo
        .write_index_text("debian;bookworm;amd64;default;20240101_05:24;/images/../../../etc/\n");
    let msg = f.failure(&deb());
    assert!(
        msg.contains("index line 1: unsafe image path `/images/../../../etc/`"),
        "{msg}"
    );
}

#[test]
fn unknown_image_lists_what_exists() {
    let f = Fixture::new();
    let a = f.publish("20240101_05:24", FUTURE);
    let b = f.repo.publish(
        "debian",
        "trixie",
        "20240102_05:24",
        &small_rootfs("t"),
        &meta_tarball(FUTURE, ""),
    );
    f.repo.write_index(&[a, b]);
    let msg = f.failure(&["-d", "debian", "-r", "sid"]);
    assert_eq!(
        msg,
        format!(
            "couldn't find a matching image for `debian sid amd64 default` on `{}`; available releases of debian: bookworm, trixie",
            f.server.url()
        )
    );
    let msg = f.failure(&["-d", "ubuntu", "-r", "noble"]);
    assert!(msg.ends_with("available distributions: debian"), "{msg}");
    let (env, _) = f.client.env();
    let err = prepare(
        &lxu_download::DownloadOptions::parse(&[
            "--server".into(),
            f.server.url(),
            "-d".into(),
            "debian".into(),
            "-r".into(),
            "bookworm".into(),
            "-a".into(),
            "s390x".into(),
        ])
        .unwrap(),
        &env,
    )
    .unwrap_err();
    assert!(
        shown(&err).ends_with("available architectures of debian bookworm: amd64"),
        "{err}"
    );

    let err = f.prepare(&["-d", "debian"]).0.unwrap_err();
    assert!(matches!(err, ImageError::MissingSelector { .. }), "{err}");
}

#[test]
fn list_prints_lxc_table() {
    let f = Fixture::new();
    let a = f.publish("20240101_05:24", FUTURE);
    let mut cloud = a.clone();
    cloud.variant = "cloud".into();
    let b = f.repo.publish(
        "debian",
        "trixie",
        "20240102_05:24",
        &small_rootfs("t"),
        &meta_tarball(FUTURE, ""),
    );
    f.repo.write_index(&[a, cloud, b]);
    let (env, out) = f.client.env();
    let opts =
        lxu_download::DownloadOptions::parse(&["--server".into(), f.server.url(), "--list".into()])
            .unwrap();
    let text = list(&opts, &env).unwrap();
    assert_eq!(
        text,
        "\n---\nDIST\tRELEASE\tARCH\tVARIANT\tBUILD\n---\n\
         debian\tbookworm\tamd64\tdefault\t20240101_05:24\n\
         debian\ttrixie\tamd64\tdefault\t20240102_05:24\n---\n"
    );
    assert_eq!(out.text(), "Downloading the image index\n");
    let (env, _) = f.client.env();
    let text = list(&args(&f.server, &["-l", "-r", "trixie"]), &env).unwrap();
    assert!(text.contains("trixie") && !text.contains("bookworm"));
}

#[test]
fn connection_cut_mid_file_fails_cleanly_then_resumes() {
    let f = Fixture::new();
    let old = f.publish("20240101_05:24", 1_000);
    f.repo.write_index(std::slice::from_ref(&old));
    f.prepare(&deb()).0.unwrap();
    let dir = f.dir();
    let before = snapshot(&dir);

    // A bigger rootfs, cut after 1000 bytes on every attempt.
    // Incompressible, so the .xz stays larger than three cuts.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let big: Vec<u8> = (0..200_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut t = Tar::new();
    t.dir("./", 0o755).file("./big", &big, 0o644);
    let rootfs = xz(&t.tar());
    let new = f.repo.publish(
        "debian",
        "bookworm",
        "20240201_05:24",
        &rootfs,
        &meta_tarball(FUTURE, ""),
    );
    f.repo.write_index(&[old, new.clone()]);
    f.server.cut("20240201_05:24//rootfs.tar.xz", 1000, 3);
    let msg = f.failure(&deb());
    // The first attempt is cut at 1000 bytes; the resumed ones are cut 1000 bytes later each.
    assert!(msg.starts_with("connection closed after "), "{msg}");
    assert!(
        msg.contains(&format!(
            "of {} bytes of `{}/{}/rootfs.tar.xz`",
            rootfs.len(),
            f.server.url(),
            new.path
        )),
        "{msg}"
    );
    assert!(msg.ends_with("(gave up after 3 attempts)"), "{msg}");
    assert_eq!(snapshot(&dir), before, "cache changed by a failed download");
    let ranges: Vec<Option<String>> = f
        .server
        .hits("20240201_05:24//rootfs.tar.xz")
        .iter()
        .map(|r| r.range.clone())
        .collect();
    assert_eq!(
        ranges,
        vec![None, Some("bytes=1000-".into()), Some("bytes=2000-".into())]
    );

    // Next run: the partial file is resumed, verified and installed.
    f.server.clear_log();
    let img = f.prepare(&deb()).0.unwrap();
    assert_eq!(img.build_id, "20240201_05:24");
    assert_eq!(std::fs::read(dir.join("rootfs.tar.xz")).unwrap(), rootfs);
    let ranges: Vec<Option<String>> = f
        .server
        .hits("20240201_05:24//rootfs.tar.xz")
        .iter()
        .map(|r| r.range.clone())
        .collect();
    assert_eq!(ranges, vec![Some("bytes=3000-".into())]);
}

#[test]
fn one_cut_recovers_within_the_same_run_and_range_ignoring_servers_work() {
    let f = Fixture::new();
    let e = f.publish("20240101_05:24", FUTURE);
    f.repo.write_index(&[e]);
    f.server.cut("//rootfs.tar.xz", 100, 1);
    f.server.ignore_range(true);
    let img = f.prepare(&deb()).0.unwrap();
    assert!(img.downloaded);
    assert_eq!(f.server.hits("//rootfs.tar.xz").len(), 2);
}

#[test]
fn concurrent_prepares_download_once() {
    let f = Fixture::new();
    f.only_build();
    f.server
        .delay("//rootfs.tar.xz", Duration::from_millis(400));
    let opts = args(&f.server, &deb());
    let results: Vec<(bool, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    let (env, out) = f.client.env();
                    let img = prepare(&opts, &env).unwrap();
                    (img.downloaded, out.text())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        f.server.hits("//rootfs.tar.xz").len(),
        1,
        "{:?}",
        f.server.log()
    );
    assert_eq!(results.iter().filter(|r| r.0).count(), 1);
    for (downloaded, text) in &results {
        if !downloaded {
            assert!(text.ends_with("Using image from local cache\n"), "{text}");
        }
    }
}

#[test]
fn rollback_is_refused_unless_allow_downgrade() {
    let f = Fixture::new();
    let old = f.publish("20240101_05:24", 1_000);
    let new = f.publish("20240201_05:24", 1_000);
    f.repo.write_index(&[old.clone(), new]);
    f.prepare(&deb()).0.unwrap();
    let dir = f.dir();
    let before = snapshot(&dir);

    // The old index, replayed: refused, also with --flush-cache and --no-validate.
    f.repo.write_index(&[old]);
    for extra in [&[][..], &["--flush-cache"], &["--no-validate"]] {
        let (env, _) = f.client.env();
        let mut a = deb().to_vec();
        a.extend_from_slice(extra);
        let err = prepare(&args(&f.server, &a), &env).unwrap_err();
        assert!(
            matches!(err, ImageError::Rollback { .. }),
            "{extra:?}: {err}"
        );
        assert!(shown(&err).contains("build 20240101_05:24"), "{err}");
        assert!(shown(&err).contains("--allow-downgrade"), "{err}");
        assert_eq!(snapshot(&dir), before, "{extra:?}");
    }

    let (img, out) = f.prepare(&with(&["--allow-downgrade"]));
    let img = img.unwrap();
    assert_eq!(img.build_id, "20240101_05:24");
    assert!(out.contains(
        "WARNING: --allow-downgrade: installing build 20240101_05:24 over the newer cached build 20240201_05:24"
    ), "{}", out);
}

#[test]
fn http_404_of_the_rootfs_is_clear() {
    let f = Fixture::new();
    let e = f.only_build();
    std::fs::remove_file(f.repo.file(&format!("{}rootfs.tar.xz", e.path))).unwrap();
    let msg = f.failure(&deb());
    assert_eq!(
        msg,
        format!(
            "`{}/{}/rootfs.tar.xz` not found (HTTP 404)",
            f.server.url(),
            e.path
        )
    );
}

#[test]
fn whole_create_flow_prepare_unpack_substitute_assemble() {
    let f = Fixture::new();
    f.only_build();
    let (env, out) = f.client.env();
    let img = prepare(&args(&f.server, &deb()), &env).unwrap();
    let rootfs = f.client.home.path().join("c1/rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    let stats = lxu_download::unpack_image(&img, &rootfs, &env.progress).unwrap();
    assert_eq!(stats.skipped_excludes, 1, "./dev/null is in excludes-user");
    assert_eq!(stats.skipped_devices, 0);
    assert!(rootfs.join("usr/bin/tool").is_file());

    let vars = lxu_download::TemplateVars {
        name: "c1".into(),
        path: f.client.home.path().join("c1").display().to_string(),
        rootfs: rootfs.display().to_string(),
        template_config: "/usr/share/lxc/config".into(),
        hook_dir: "/usr/share/lxc/hooks".into(),
    };
    let changed = lxu_download::substitute_templates(&rootfs, &img.meta.templates, &vars).unwrap();
    assert_eq!(changed, vec!["/etc/hostname"]);
    assert_eq!(
        std::fs::read_to_string(rootfs.join("etc/hostname")).unwrap(),
        "c1\n"
    );

    let config = lxu_download::assemble_config(
        "lxc.net.0.type = veth\nlxc.idmap = u 0 100000 65536\n",
        &img.meta.config,
        &vars,
        lxu_download::KeyStyle::Modern,
        None,
    );
    assert!(config.contains(
        "# Distribution configuration\nlxc.include = /usr/share/lxc/config/common.conf\n"
    ));
    assert!(
        config.ends_with("lxc.uts.name = c1\n\n# Network configuration\nlxc.net.0.type = veth\n")
    );
    assert!(
        out.text()
            .ends_with("The image cache is now ready\nUnpacking the rootfs\n"),
        "{}",
        out.text()
    );
}
