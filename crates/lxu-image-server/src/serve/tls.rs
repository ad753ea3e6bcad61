//! TLS: loading a PEM certificate chain and key, and making a throwaway CA +
//! server certificate for tests and `lxu image serve --self-signed`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls;

use super::ServeError;
use crate::error::io_err;

/// Server config with the ring provider, TLS 1.2 and 1.3, HTTP/1.1 via ALPN.
pub(crate) fn load_config(
    cert: &Path,
    key: &Path,
) -> Result<Arc<rustls::ServerConfig>, ServeError> {
    let pem_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ServeError::Pem { path, source }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(pem_err(cert))?
        .collect::<Result<_, _>>()
        .map_err(pem_err(cert))?;
    if certs.is_empty() {
        return Err(ServeError::NoCertificate {
            path: cert.to_path_buf(),
        });
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(pem_err(key))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ServeError::Tls)?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(ServeError::Tls)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A private CA and a server certificate it signed.
///
/// Clients trust `ca_pem` (e.g. `SSL_CERT_FILE`, wget's `ca_certificate`);
/// the server presents `cert_pem` (leaf then CA) with `key_pem`. A separate CA
/// is used because rustls/webpki refuse a self-signed leaf as a trust anchor.
#[derive(Debug, Clone)]
pub struct SelfSigned {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// Paths written by [`SelfSigned::write`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfSignedFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl SelfSigned {
    /// Writes `ca.pem`, `cert.pem` and `key.pem` (0600) into `dir`.
    pub fn write(&self, dir: &Path) -> Result<SelfSignedFiles, ServeError> {
        use std::os::unix::fs::OpenOptionsExt;
        let io_err = |path| io_err("write", path);
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let files = SelfSignedFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        fs::write(&files.ca, &self.ca_pem).map_err(io_err(&files.ca))?;
        fs::write(&files.cert, &self.cert_pem).map_err(io_err(&files.cert))?;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&files.key)
            .map_err(io_err(&files.key))?;
        io::Write::write_all(&mut f, self.key_pem.as_bytes()).map_err(io_err(&files.key))?;
        Ok(files)
    }
}

/// Makes a CA and a server certificate valid for `names` (DNS names or IP
/// addresses; `localhost`, `127.0.0.1` and `::1` are always included), valid
/// from yesterday for ten years.
pub fn generate_self_signed(names: &[String]) -> Result<SelfSigned, ServeError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let now = crate::timefmt::utc(crate::timefmt::unix_seconds(std::time::SystemTime::now()));
    let year = i32::try_from(now.year).unwrap_or(2000);
    let not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    let not_after = rcgen::date_time_ymd(year + 10, 1, 1);

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(ServeError::Cert)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "lxu image server test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca_key = KeyPair::generate().map_err(ServeError::Cert)?;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(ServeError::Cert)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut all: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    for n in names {
        if !all.contains(n) {
            all.push(n.clone());
        }
    }
    let mut params = CertificateParams::new(all).map_err(ServeError::Cert)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "lxu image server");
    params.not_before = not_before;
    params.not_after = not_after;
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().map_err(ServeError::Cert)?;
    let cert = params.signed_by(&key, &issuer).map_err(ServeError::Cert)?;
    Ok(SelfSigned {
        ca_pem: ca_cert.pem(),
        cert_pem: format!("{}{}", cert.pem(), ca_cert.pem()),
        key_pem: key.serialize_pem(),
    })
}
