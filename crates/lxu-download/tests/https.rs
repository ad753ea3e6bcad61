//! HTTPS against a self-signed certificate on 127.0.0.1: refused by the system
//! trust store, accepted once `SSL_CERT_FILE` names it. The only test in this
//! binary, because it sets a process-wide environment variable.

mod common;

use std::sync::Arc;

use common::*;
use lxu_download::prepare;

#[test]
fn https_with_ssl_cert_file() {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], key_der)
    .unwrap();

    let key = Arc::new(TestKey::new("tls <tls@example.invalid>"));
    let repo = Repo::new(key.clone());
    let e = repo.publish(
        "debian",
        "bookworm",
        "20240101_05:24",
        &small_rootfs("x"),
        &meta_tarball(4_000_000_000, ""),
    );
    repo.write_index(&[e]);
    let server = Server::start_tls(repo.root(), Arc::new(tls));
    let client = Client::new(&key);
    let opts = lxu_download::DownloadOptions::parse(&[
        "--server".into(),
        server.https_url(),
        "-d".into(),
        "debian".into(),
        "-r".into(),
        "bookworm".into(),
        "-a".into(),
        "amd64".into(),
    ])
    .unwrap();

    // The system store does not know this certificate.
    std::env::remove_var("SSL_CERT_FILE");
    let (env, _) = client.env();
    let err = prepare(&opts, &env).unwrap_err();
    assert!(shown(&err).contains("//meta/1.0/index-user`"), "{err}");
    assert!(shown(&err).to_lowercase().contains("certificate"), "{err}");

    let pem = client.home.path().join("selfsigned.pem");
    std::fs::write(&pem, cert.pem()).unwrap();
    std::env::set_var("SSL_CERT_FILE", &pem);
    let (env, _) = client.env();
    let img = prepare(&opts, &env).unwrap();
    assert!(img.downloaded);
    assert_eq!(server.hits("//rootfs.tar.xz").len(), 1);

    // An explicit CA file takes precedence over the environment.
    let (mut env, _) = client.env();
    env.ca_file = Some("/etc/ssl/certs/ca-certificates.crt".into());
    drop(img);
    let mut o = opts.clone();
    o.flush_cache = true;
    assert!(prepare(&o, &env).is_err());
}
