//! Interoperability with GnuPG: files signed by gpg (with its signing subkeys)
//! verify, gpg's expired/revoked keys and SHA-1 signatures are refused, and gpg
//! accepts what rPGP signs. Skipped (with a reason) where gpg is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{shown, TestKey};
use lxu_download::trust::{Keyring, TrustError};

struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    fn new() -> Option<Gpg> {
        let installed = Command::new("gpg").arg("--version").output().is_ok();
        if !lxu_test_support::need(installed, "gpg is not installed") {
            return None;
        }
        let home = tempfile::tempdir().unwrap();
        Some(Gpg { home })
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let out = Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args([
                "--batch",
                "--yes",
                "--no-tty",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Fingerprints (primary first, then subkeys) of the key with this user id.
    fn fingerprints(&self, uid: &str) -> Vec<String> {
        let out = self.run(&["--with-colons", "--list-keys", uid]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("fpr:"))
            .map(|l| l.split(':').nth(9).unwrap().to_string())
            .collect()
    }

    /// A certification-only primary key `name <name@example.invalid>` with a signing
    /// subkey that expires after `expiry`, as `gpg --full-gen-key` makes them.
    /// Returns the fingerprints, primary first.
    fn key_with_signing_subkey(&self, name: &str, algo: &str, expiry: &str) -> Vec<String> {
        let email = format!("{name}@example.invalid");
        let uid = format!("{name} <{email}>");
        self.run(&["--quick-gen-key", &uid, algo, "cert", "0"]);
        let fp = self.fingerprints(&email);
        self.run(&["--quick-add-key", &fp[0], algo, "sign", expiry]);
        self.fingerprints(&email)
    }

    fn export(&self, fpr: &str) -> PathBuf {
        let p = self.home.path().join(format!("{fpr}.asc"));
        self.run(&["--armor", "--output", p.to_str().unwrap(), "--export", fpr]);
        p
    }

    fn sign(&self, fpr: &str, file: &Path, extra: &[&str]) -> PathBuf {
        let sig = file.with_extension("asc");
        let mut args = vec![
            "--armor",
            "--local-user",
            fpr,
            "--output",
            sig.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.extend(["--detach-sign", file.to_str().unwrap()]);
        self.run(&args);
        sig
    }
}

fn keyring(file: &Path) -> Keyring {
    let mut k = Keyring::new();
    k.add_file(file).unwrap();
    k
}

/// Verifying `sig` of `file` with key `fp` fails as revoked (the message names the
/// signing subkey, whether it or its primary was revoked).
fn assert_revoked(g: &Gpg, fp: &[String], file: &Path, sig: &Path) {
    let err = keyring(&g.export(&fp[0]))
        .verify_file(file, sig, "f")
        .unwrap_err();
    assert_eq!(
        shown(&err),
        format!(
            "signature of `f` made by key 0x{} (subkey of 0x{}), which is revoked",
            fp[1], fp[0]
        )
    );
}

fn data_file(dir: &Path) -> PathBuf {
    let p = dir.join("rootfs.tar.xz");
    std::fs::write(&p, vec![0x5au8; 300_000]).unwrap();
    p
}

#[test]
fn gpg_signatures_by_signing_subkeys_verify() {
    let Some(g) = Gpg::new() else { return };
    for (name, algo) in [("ed", "ed25519"), ("rsa", "rsa2048")] {
        let fps = g.key_with_signing_subkey(name, algo, "1y");
        assert_eq!(fps.len(), 2, "{fps:?}");
        let k = keyring(&g.export(&fps[0]));
        let file = data_file(g.home.path());
        let sig = g.sign(&fps[0], &file, &[]);
        let v = k.verify_file(&file, &sig, "rootfs.tar.xz").unwrap();
        assert_eq!(v.primary, fps[0]);
        assert_eq!(v.signer, fps[1], "gpg signs with the subkey");

        // One flipped byte.
        let mut data = std::fs::read(&file).unwrap();
        data[150_000] ^= 1;
        std::fs::write(&file, data).unwrap();
        let err = k.verify_file(&file, &sig, "rootfs.tar.xz").unwrap_err();
        assert!(matches!(err, TrustError::Bad { .. }), "{err}");
        assert!(
            shown(&err).starts_with(&format!(
                "bad signature of `rootfs.tar.xz` by key 0x{} (subkey of 0x{})",
                fps[1], fps[0]
            )),
            "{err}"
        );

        // Restricting to the key works by primary and by subkey id.
        let mut k2 = keyring(&g.export(&fps[0]));
        k2.restrict_to(&fps[1][24..]).unwrap();
    }
}

#[test]
fn gpg_sha1_signature_is_refused() {
    let Some(g) = Gpg::new() else { return };
    g.run(&[
        "--quick-gen-key",
        "old <old@example.invalid>",
        "rsa2048",
        "sign,cert",
        "0",
    ]);
    let fp = g.fingerprints("old@example.invalid");
    let k = keyring(&g.export(&fp[0]));
    let file = data_file(g.home.path());
    let sig = g.sign(&fp[0], &file, &["--digest-algo", "SHA1"]);
    let err = k.verify_file(&file, &sig, "rootfs.tar.xz").unwrap_err();
    assert_eq!(
        shown(&err),
        "signature of `rootfs.tar.xz` uses the weak hash SHA1"
    );
    // The same key with SHA-512 (and signing with the primary, flags "sc") is fine.
    let sig = g.sign(&fp[0], &file, &["--digest-algo", "SHA512"]);
    let v = k.verify_file(&file, &sig, "rootfs.tar.xz").unwrap();
    assert_eq!(v.signer, fp[0]);
}

#[test]
fn expired_keys_and_subkeys_are_refused() {
    let Some(g) = Gpg::new() else { return };
    // A key that lived one day in 2020, with a signature from its lifetime.
    let t = ["--faked-system-time", "20200101T120000!"];
    let mut a = t.to_vec();
    a.extend([
        "--quick-gen-key",
        "exp <exp@example.invalid>",
        "ed25519",
        "sign,cert",
        "1d",
    ]);
    g.run(&a);
    let fp = g.fingerprints("exp@example.invalid");
    let k = keyring(&g.export(&fp[0]));
    let file = data_file(g.home.path());
    let sig = g.sign(&fp[0], &file, &t);
    let err = k.verify_file(&file, &sig, "rootfs.tar.xz").unwrap_err();
    assert!(matches!(err, TrustError::KeyUnusable { .. }), "{err}");
    assert!(
        shown(&err).ends_with("which expired on 2020-01-02"),
        "{err}"
    );

    // A valid primary whose signing subkey expires two seconds from now.
    let fp = g.key_with_signing_subkey("sub", "ed25519", "seconds=2");
    let k = keyring(&g.export(&fp[0]));
    let sig = g.sign(&fp[0], &file, &[]);
    k.verify_file(&file, &sig, "rootfs.tar.xz").unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let err = k.verify_file(&file, &sig, "rootfs.tar.xz").unwrap_err();
    assert!(shown(&err).contains("(subkey of 0x"), "{err}");
    assert!(shown(&err).contains("which expired on"), "{err}");
}

#[test]
fn revoked_key_is_refused() {
    let Some(g) = Gpg::new() else { return };
    let fp = g.key_with_signing_subkey("rev", "ed25519", "1y");
    let file = data_file(g.home.path());
    let sig = g.sign(&fp[0], &file, &[]);
    keyring(&g.export(&fp[0]))
        .verify_file(&file, &sig, "f")
        .unwrap();

    // gpg leaves a revocation certificate behind; import it (minus its guard colon).
    let rev = g
        .home
        .path()
        .join("openpgp-revocs.d")
        .join(format!("{}.rev", fp[0]));
    let text = std::fs::read_to_string(&rev)
        .unwrap()
        .replace(":-----BEGIN", "-----BEGIN");
    let rev2 = g.home.path().join("rev.asc");
    std::fs::write(&rev2, text).unwrap();
    g.run(&["--import", rev2.to_str().unwrap()]);
    assert_revoked(&g, &fp, &file, &sig);
}

#[test]
fn revoked_subkey_is_refused() {
    let Some(g) = Gpg::new() else { return };
    let fp = g.key_with_signing_subkey("rs", "ed25519", "1y");
    let file = data_file(g.home.path());
    let sig = g.sign(&fp[0], &file, &[]);
    let mut child = Command::new("gpg")
        .env("GNUPGHOME", g.home.path())
        .args([
            "--batch",
            "--yes",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--command-fd",
            "0",
            "--edit-key",
            &fp[0],
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"key 1\nrevkey\ny\n0\n\ny\nsave\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_revoked(&g, &fp, &file, &sig);
}

#[test]
fn gpg_accepts_rpgp_signatures() {
    let Some(g) = Gpg::new() else { return };
    let key = TestKey::new("rpgp <rpgp@example.invalid>");
    let pubkey = g.home.path().join("rpgp.asc");
    std::fs::write(&pubkey, key.public_armored()).unwrap();
    g.run(&["--import", pubkey.to_str().unwrap()]);
    let file = data_file(g.home.path());
    let sig = file.with_extension("asc");
    std::fs::write(&sig, key.sign(&std::fs::read(&file).unwrap())).unwrap();
    let out = g.run(&[
        "--status-fd",
        "1",
        "--verify",
        sig.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(status.contains("[GNUPG:] GOODSIG"), "{status}");
    assert!(status.contains(&key.subkey_fingerprint()), "{status}");
}
