//! Serve throughput for a 100 MiB file over loopback. A measurement, not a
//! check: run it explicitly, in release mode, on an idle machine:
//! `cargo test --release -p lxu-image-server --test throughput -- --ignored --nocapture`

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use common::*;

const SIZE: usize = 100 << 20;

#[test]
#[ignore = "measurement; run with --ignored --nocapture in release mode"]
fn serve_100_mib_over_loopback() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    fs::create_dir_all(repo.join("images")).unwrap();
    let mut data = vec![0u8; SIZE];
    let mut x: u64 = 1;
    for c in data.chunks_mut(8) {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        c.copy_from_slice(&x.to_le_bytes());
    }
    fs::write(repo.join("images/big"), &data).unwrap();
    drop(data);
    let (server, certs) = serve_both(&repo, &tmp.path().join("tls"));
    let http = server.http_addr.unwrap();
    let https = server.https_addr.unwrap();

    for round in 0..3 {
        // Plain HTTP, raw socket reader.
        let t = Instant::now();
        let mut s = TcpStream::connect(http).unwrap();
        s.write_all(b"GET /images/big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0usize;
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
        let dt = t.elapsed();
        assert!(total > SIZE);
        eprintln!(
            "round {round}: http  raw client: {:.0} MiB/s",
            SIZE as f64 / (1 << 20) as f64 / dt.as_secs_f64()
        );

        // HTTPS with a rustls client (ureq).
        let ca = ureq::tls::Certificate::from_pem(&fs::read(&certs.ca).unwrap()).unwrap();
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![ca])))
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder().tls_config(tls).build().into();
        let t = Instant::now();
        let mut resp = agent
            .get(&format!("https://127.0.0.1:{}/images/big", https.port()))
            .call()
            .unwrap();
        let n = std::io::copy(
            &mut resp.body_mut().with_config().limit(u64::MAX).reader(),
            &mut std::io::sink(),
        )
        .unwrap();
        let dt = t.elapsed();
        assert_eq!(n as usize, SIZE);
        eprintln!(
            "round {round}: https ureq client: {:.0} MiB/s",
            SIZE as f64 / (1 << 20) as f64 / dt.as_secs_f64()
        );

        // External clients for comparison.
        for (name, url, extra) in [
            ("http  curl", format!("http://{http}/images/big"), vec![]),
            (
                "https curl",
                format!("https://127.0.0.1:{}/images/big", https.port()),
                vec!["--cacert".to_string(), certs.ca.display().to_string()],
            ),
        ] {
            if !have("curl") {
                break;
            }
            let out = Command::new("curl")
                .args([
                    "-s",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{speed_download} %{size_download}",
                ])
                .args(&extra)
                .arg(&url)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let mut it = text.split_whitespace();
            let speed: f64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
            let size: usize = it.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            assert_eq!(size, SIZE, "{name}: {text}");
            eprintln!(
                "round {round}: {name}: {:.0} MiB/s",
                speed / (1 << 20) as f64
            );
        }
    }
    server.shutdown().unwrap();
}
