//! OpenPGP interoperability with GnuPG in both directions.

mod common;

use std::fs;
use std::io::Write;
use std::time::Instant;

use common::*;
use lxu_image_server::verify_detached;
use lxu_image_server::{KeyAlgorithm, SigningKey};

#[test]
fn gpg_verifies_our_signatures_over_a_large_file() {
    let Some(gpg) = Gpg::new() else { return };
    let tmp = tempfile::tempdir().unwrap();
    // RSA-2048 rather than 3072: key generation in a debug build takes a minute at 3072.
    for algo in [KeyAlgorithm::Ed25519, KeyAlgorithm::Rsa(2048)] {
        let t = Instant::now();
        let key = SigningKey::generate("lxu interop <interop@invalid>", algo, None).unwrap();
        eprintln!("{algo:?} key generated in {:?}", t.elapsed());
        gpg.import(&key.public_key_armored().unwrap());
        let small = tmp.path().join("index-user");
        fs::write(&small, b"busybox;1.35.0;amd64;default;x;/images/x/\n").unwrap();
        fs::write(asc(&small), key.sign_file(&small).unwrap()).unwrap();
        let out = gpg.verify(&asc(&small), &small).unwrap();
        // gpg names the subkey that made the signature.
        assert!(out.contains(&key.signing_fingerprint()), "{out}");

        let tampered = tmp.path().join("tampered");
        fs::write(&tampered, b"busybox;1.35.0;amd64;default;y;/images/x/\n").unwrap();
        assert!(gpg.verify(&asc(&small), &tampered).is_err());
    }

    // 120 MiB, streamed: memory stays flat and gpg agrees.
    let big = tmp.path().join("rootfs.tar.xz");
    {
        let mut f = std::io::BufWriter::new(fs::File::create(&big).unwrap());
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..120 {
            for chunk in block.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                chunk.copy_from_slice(&x.to_le_bytes());
            }
            f.write_all(&block).unwrap();
        }
    }
    let key = SigningKey::generate("lxu big <big@invalid>", KeyAlgorithm::Ed25519, None).unwrap();
    gpg.import(&key.public_key_armored().unwrap());
    let t = Instant::now();
    let sig = key.sign_file(&big).unwrap();
    let dt = t.elapsed();
    eprintln!(
        "signed 120 MiB in {dt:?} ({:.0} MiB/s)",
        120.0 / dt.as_secs_f64()
    );
    fs::write(asc(&big), &sig).unwrap();
    gpg.verify(&asc(&big), &big).unwrap();
    verify_detached(
        &key.public_key_armored().unwrap(),
        &sig,
        fs::File::open(&big).unwrap(),
    )
    .unwrap();
}

#[test]
fn keys_made_by_gpg_sign_for_us() {
    let Some(gpg) = Gpg::new() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("SHA256SUMS");
    fs::write(&data, b"0000  rootfs.tar.xz\n").unwrap();

    // gpg 2.2's "default" (RSA-3072 [SC] + [E]) and an ed25519 [SC] key: the primary signs.
    for (uid, email, algo) in [
        ("Plain <plain@invalid>", "plain@invalid", "default"),
        ("Ed <ed@invalid>", "ed@invalid", "ed25519"),
    ] {
        let (ok, out) = gpg.run(&[
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-gen-key",
            uid,
            algo,
            "default",
            "never",
        ]);
        assert!(ok, "{out}");
        let plain = gpg.stdout(&["--armor", "--export-secret-keys", email]);
        let key = SigningKey::from_armored(&plain, None).unwrap();
        assert_eq!(
            key.fingerprint(),
            key.signing_fingerprint(),
            "the primary signs"
        );
        fs::write(asc(&data), key.sign_file(&data).unwrap()).unwrap();
        let out = gpg.verify(&asc(&data), &data).unwrap();
        assert!(out.contains(email), "{out}");
    }

    // RSA: certification-only primary + signing subkey, passphrase-protected.
    let pw = "correct horse";
    let (ok, out) = gpg.run(&[
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        pw,
        "--quick-gen-key",
        "Rsa <rsa@invalid>",
        "rsa3072",
        "cert",
        "never",
    ]);
    assert!(ok, "{out}");
    let listing = gpg.stdout(&["--with-colons", "--list-keys", "rsa@invalid"]);
    let fpr = listing
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .unwrap()
        .split(':')
        .nth(9)
        .unwrap()
        .to_string();
    let (ok, out) = gpg.run(&[
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        pw,
        "--quick-add-key",
        &fpr,
        "rsa3072",
        "sign",
        "never",
    ]);
    assert!(ok, "{out}");
    let protected = gpg.stdout(&[
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        pw,
        "--armor",
        "--export-secret-keys",
        &fpr,
    ]);
    let key_file = tmp.path().join("repo.key");
    fs::write(&key_file, &protected).unwrap();
    let pass_file = tmp.path().join("passphrase");
    fs::write(&pass_file, format!("{pw}\n")).unwrap();
    assert!(
        SigningKey::load(&key_file, None).is_err(),
        "protected key without passphrase"
    );
    let key = SigningKey::load(&key_file, Some(&pass_file)).unwrap();
    assert_eq!(key.fingerprint(), fpr);
    assert_ne!(key.signing_fingerprint(), fpr, "the subkey signs");
    fs::write(asc(&data), key.sign_file(&data).unwrap()).unwrap();
    let out = gpg.verify(&asc(&data), &data).unwrap();
    assert!(out.contains(&key.signing_fingerprint()), "{out}");

    // And the other way: gpg's own detached signature verifies with our code.
    let gpg_sig = tmp.path().join("gpg.asc");
    let (ok, out) = gpg.run(&[
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        pw,
        "--local-user",
        &fpr,
        "--armor",
        "--detach-sign",
        "--output",
        gpg_sig.to_str().unwrap(),
        data.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let public = gpg.stdout(&["--armor", "--export", &fpr]);
    verify_detached(
        &public,
        &fs::read_to_string(&gpg_sig).unwrap(),
        fs::File::open(&data).unwrap(),
    )
    .unwrap();
    assert!(verify_detached(
        &public,
        &fs::read_to_string(&gpg_sig).unwrap(),
        &b"other"[..]
    )
    .is_err());
}
