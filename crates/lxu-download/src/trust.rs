//! OpenPGP detached-signature verification against a local keyring (what
//! `gpg --verify F.asc F` did in the GPG-era `lxc-download`), with rPGP.
//!
//! rPGP is low level: it checks the maths of one signature against one key. Which key
//! is allowed to sign (subkey bindings and back-signatures, key flags, expiry,
//! revocation) is decided here.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey, SignedPublicSubKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{PublicKey, Signature, SignatureType, SubpacketData};
use pgp::types::{KeyDetails, Tag, Timestamp};

/// How far in the future a signature may claim to be made (clock skew).
const MAX_CLOCK_SKEW_SECS: u64 = 600;

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{path}` holds no usable OpenPGP public key")]
    BadKeyFile {
        path: PathBuf,
        #[source]
        source: PgpError,
    },
    #[error("`{path}` holds no usable OpenPGP public key: no public key block found")]
    NoKeyBlock { path: PathBuf },
    #[error("no trusted keys: looked in {searched} (put ASCII-armoured public keys there or pass --keyring FILE)")]
    NoKeys { searched: String },
    #[error("--keyid 0x{keyid} is not in the trusted keyring ({known})")]
    KeyIdNotFound { keyid: String, known: String },
    #[error("malformed signature `{what}.asc`")]
    BadSignatureFile {
        what: String,
        #[source]
        source: PgpError,
    },
    #[error("malformed signature `{what}.asc`: no signature packet")]
    NoSignature { what: String },
    #[error("malformed signature `{what}.asc`: no usable signature")]
    NoUsableSignature { what: String },
    #[error("signature of `{what}` made by unknown key {key}")]
    UnknownKey { what: String, key: String },
    #[error("bad signature of `{what}` by key {key}: not a data signature ({kind})")]
    NotData {
        what: String,
        key: String,
        kind: String,
    },
    #[error(
        "bad signature of `{what}` by key {key}: the file does not match the signature \
         (changed after signing, or the signature is of another file)"
    )]
    Bad { what: String, key: String },
    #[error("signature of `{what}` made by key {key}, which {problem}")]
    KeyUnusable {
        what: String,
        key: String,
        problem: KeyProblem,
    },
    #[error("signature of `{what}` uses the weak hash {hash}")]
    WeakHash { what: String, hash: String },
    #[error("signature of `{what}` has no creation time")]
    NoCreationTime { what: String },
    #[error("signature of `{what}` claims to be made in the future ({date})")]
    FromTheFuture { what: String, date: String },
    #[error("signature of `{what}` expired on {date}")]
    Expired { what: String, date: String },
    #[error("cannot read `{what}` while verifying it")]
    Read {
        what: String,
        #[source]
        source: io::Error,
    },
}

/// An rPGP error, shown by its message alone: rPGP's messages already include
/// their cause (`IO error: …`), which a chain of sources would show twice.
#[derive(Debug)]
pub struct PgpError(pub pgp::errors::Error);

impl std::fmt::Display for PgpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for PgpError {}

/// Why a trusted key may not vouch for a signature (the rest of "made by key K,
/// which …").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    #[error("is revoked")]
    Revoked,
    #[error("has no valid self-signature")]
    NoSelfSignature,
    #[error("has no valid binding to its primary key")]
    NoBinding,
    #[error("is not allowed to sign data (key flags)")]
    MayNotSign,
    #[error("has no valid primary key binding (back-signature)")]
    NoBackSignature,
    #[error("expired on {date}")]
    Expired { date: String },
    #[error("was created after the signature")]
    CreatedAfterSignature,
}

/// A successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Fingerprint (upper-case hex) of the certificate's primary key.
    pub primary: String,
    /// Fingerprint of the key that made the signature (a subkey or the primary).
    pub signer: String,
    /// Signature creation time, Unix seconds.
    pub created: u32,
}

struct Cert {
    key: SignedPublicKey,
}

/// The set of trusted certificates.
#[derive(Default)]
pub struct Keyring {
    certs: Vec<Cert>,
    searched: Vec<PathBuf>,
}

/// `/etc/lxc/trusted-keys` for root, `~/.config/lxc/trusted-keys` otherwise.
pub(crate) fn user_key_dir(uid: u32, home: &Path) -> PathBuf {
    if uid == 0 {
        PathBuf::from("/etc/lxc/trusted-keys")
    } else {
        home.join(".config/lxc/trusted-keys")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn fpr(k: &impl KeyDetails) -> String {
    hex(k.fingerprint().as_bytes())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn ts(t: Timestamp) -> u64 {
    u64::from(t.as_secs())
}

fn has_key_flags(sig: &Signature) -> bool {
    sig.config().is_some_and(|c| {
        c.hashed_subpackets()
            .any(|p| matches!(p.data, SubpacketData::KeyFlags(_)))
    })
}

/// Expiry (Unix seconds) of a key created at `created` per a self-signature.
fn expiry_of(created: u64, sig: &Signature) -> Option<u64> {
    sig.key_expiration_time()
        .map(|d| u64::from(d.as_secs()))
        .filter(|d| *d > 0)
        .map(|d| created + d)
}

fn newest<'a>(sigs: impl Iterator<Item = &'a Signature>) -> Option<&'a Signature> {
    sigs.max_by_key(|s| s.created().map(ts).unwrap_or(0))
}

/// `YYYY-MM-DD HH:MM UTC`, for messages.
pub(crate) fn fmt_utc(secs: u64) -> String {
    let s = secs % 86_400;
    format!(
        "{} {:02}:{:02} UTC",
        fmt_time(secs),
        s / 3600,
        s % 3600 / 60
    )
}

fn fmt_time(secs: u64) -> String {
    // Days since the epoch to a civil date (proleptic Gregorian), no tz database needed.
    let days = (secs / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

/// Why the primary key can't be relied on at `now`, if it can't.
/// On success, whether the newest self-signature lets the primary sign data
/// (`None`: it carries no key flags, as with very old keys).
fn primary_problem(
    cert: &SignedPublicKey,
    now: u64,
    sig_time: u64,
) -> Result<Option<bool>, KeyProblem> {
    let primary = &cert.primary_key;
    let revoked =
        cert.details.revocation_signatures.iter().any(|s| {
            s.typ() == Some(SignatureType::KeyRevocation) && s.verify_key(primary).is_ok()
        });
    if revoked {
        return Err(KeyProblem::Revoked);
    }
    let mut selfsigs: Vec<&Signature> = Vec::new();
    for user in &cert.details.users {
        for s in &user.signatures {
            if s.is_certification()
                && s.typ() != Some(SignatureType::CertRevocation)
                && s.verify_certification(primary, Tag::UserId, &user.id)
                    .is_ok()
            {
                selfsigs.push(s);
            }
        }
    }
    for s in &cert.details.direct_signatures {
        if s.typ() == Some(SignatureType::Key) && s.verify_key(primary).is_ok() {
            selfsigs.push(s);
        }
    }
    let Some(latest) = newest(selfsigs.into_iter()) else {
        return Err(KeyProblem::NoSelfSignature);
    };
    let expiry = expiry_of(ts(primary.created_at()), latest);
    if let Some(exp) = expiry {
        if exp <= now || exp <= sig_time {
            return Err(KeyProblem::Expired {
                date: fmt_time(exp),
            });
        }
    }
    Ok(has_key_flags(latest).then(|| latest.key_flags().sign()))
}

fn subkey_problem(
    primary: &PublicKey,
    sub: &SignedPublicSubKey,
    now: u64,
    sig_time: u64,
) -> Result<(), KeyProblem> {
    let revoked = sub.signatures.iter().any(|s| {
        s.typ() == Some(SignatureType::SubkeyRevocation)
            && s.verify_subkey_binding(primary, &sub.key).is_ok()
    });
    if revoked {
        return Err(KeyProblem::Revoked);
    }
    let bindings = sub.signatures.iter().filter(|s| {
        s.typ() == Some(SignatureType::SubkeyBinding)
            && s.verify_subkey_binding(primary, &sub.key).is_ok()
    });
    let Some(binding) = newest(bindings) else {
        return Err(KeyProblem::NoBinding);
    };
    if has_key_flags(binding) && !binding.key_flags().sign() {
        return Err(KeyProblem::MayNotSign);
    }
    // A signing subkey must prove it agrees to belong to the primary; otherwise
    // anyone could bind someone else's signing key to their certificate.
    let backsig_ok = binding
        .embedded_signature()
        .is_some_and(|b| b.verify_primary_key_binding(&sub.key, primary).is_ok());
    if !backsig_ok {
        return Err(KeyProblem::NoBackSignature);
    }
    if let Some(exp) = expiry_of(ts(sub.key.created_at()), binding) {
        if exp <= now || exp <= sig_time {
            return Err(KeyProblem::Expired {
                date: fmt_time(exp),
            });
        }
    }
    if ts(sub.key.created_at()) > sig_time {
        return Err(KeyProblem::CreatedAfterSignature);
    }
    Ok(())
}

/// Records the first I/O error of the data reader, so it is reported as such and
/// not as a bad signature.
struct ErrorTap<R> {
    inner: R,
    err: Option<io::Error>,
}

impl<R: Read> Read for ErrorTap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => Ok(n),
            Err(e) => {
                let copy = io::Error::new(e.kind(), e.to_string());
                self.err.get_or_insert(e);
                Err(copy)
            }
        }
    }
}

enum Component<'a> {
    Primary,
    Sub(&'a SignedPublicSubKey),
}

impl Keyring {
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// Primary fingerprints, upper-case hex.
    pub fn fingerprints(&self) -> Vec<String> {
        self.certs.iter().map(|c| fpr(&c.key)).collect()
    }

    /// Adds the certificates of armoured (or binary) key data; returns how many.
    pub(crate) fn add_bytes(&mut self, data: &[u8], source: &Path) -> Result<usize, TrustError> {
        let bad = |e| TrustError::BadKeyFile {
            path: source.to_path_buf(),
            source: PgpError(e),
        };
        let (iter, _) = SignedPublicKey::from_reader_many(data).map_err(bad)?;
        let mut n = 0;
        for key in iter {
            let key = key.map_err(bad)?;
            self.certs.push(Cert { key });
            n += 1;
        }
        if n == 0 {
            return Err(TrustError::NoKeyBlock {
                path: source.to_path_buf(),
            });
        }
        Ok(n)
    }

    /// Adds every key of one file.
    pub fn add_file(&mut self, path: &Path) -> Result<usize, TrustError> {
        self.searched.push(path.to_path_buf());
        let data = std::fs::read(path).map_err(|source| TrustError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        self.add_bytes(&data, path)
    }

    /// Adds the keys of every `*.asc` file of a directory (sorted by name); a missing
    /// directory adds nothing.
    pub(crate) fn add_dir(&mut self, dir: &Path) -> Result<usize, TrustError> {
        self.searched.push(dir.to_path_buf());
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(source) => {
                return Err(TrustError::Io {
                    path: dir.to_path_buf(),
                    source,
                })
            }
        };
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "asc") && p.is_file())
            .collect();
        files.sort();
        let mut n = 0;
        for f in files {
            let data = std::fs::read(&f).map_err(|source| TrustError::Io {
                path: f.clone(),
                source,
            })?;
            n += self.add_bytes(&data, &f)?;
        }
        Ok(n)
    }

    /// Where keys were looked for, for error messages.
    pub(crate) fn searched(&self) -> String {
        if self.searched.is_empty() {
            return "nowhere".into();
        }
        self.searched
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Errors when there is nothing to verify against.
    pub(crate) fn ensure_not_empty(&self) -> Result<(), TrustError> {
        if self.certs.is_empty() {
            return Err(TrustError::NoKeys {
                searched: self.searched(),
            });
        }
        Ok(())
    }

    /// Keeps only the certificate whose primary key or one of whose subkeys has this
    /// fingerprint or long key id (`--keyid`).
    pub fn restrict_to(&mut self, keyid: &str) -> Result<(), TrustError> {
        let want = crate::options::normalize_keyid(keyid).unwrap_or_else(|| keyid.to_uppercase());
        let matches = |k: &dyn Fn() -> String, id: &dyn Fn() -> String| {
            k() == want || (want.len() == 16 && id() == want)
        };
        let known = self.fingerprints().join(", ");
        self.certs.retain(|c| {
            let primary = &c.key.primary_key;
            matches(&|| fpr(primary), &|| hex(primary.legacy_key_id().as_ref()))
                || c.key
                    .public_subkeys
                    .iter()
                    .any(|s| matches(&|| fpr(&s.key), &|| hex(s.key.legacy_key_id().as_ref())))
        });
        if self.certs.is_empty() {
            return Err(TrustError::KeyIdNotFound {
                keyid: want,
                known: if known.is_empty() {
                    "the keyring is empty".into()
                } else {
                    format!("trusted: {known}")
                },
            });
        }
        Ok(())
    }

    /// Verifies `data` against the detached signature in `sig_path`, streaming the file.
    /// `what` names the data in errors (its URL or path).
    pub fn verify_file(
        &self,
        data: &Path,
        sig_path: &Path,
        what: &str,
    ) -> Result<Verified, TrustError> {
        let sig = std::fs::read(sig_path).map_err(|source| TrustError::Io {
            path: sig_path.to_path_buf(),
            source,
        })?;
        let file = File::open(data).map_err(|source| TrustError::Io {
            path: data.to_path_buf(),
            source,
        })?;
        self.verify_reader(BufReader::with_capacity(256 * 1024, file), &sig, what)
    }

    /// Verifies a stream against detached signature bytes (armoured or binary).
    pub(crate) fn verify_reader<R: Read>(
        &self,
        data: R,
        sig: &[u8],
        what: &str,
    ) -> Result<Verified, TrustError> {
        self.verify_reader_at(data, sig, what, unix_now())
    }

    /// [`Keyring::verify_reader`] at a given time (Unix seconds).
    pub(crate) fn verify_reader_at<R: Read>(
        &self,
        data: R,
        sig: &[u8],
        what: &str,
        now: u64,
    ) -> Result<Verified, TrustError> {
        let malformed = |e| TrustError::BadSignatureFile {
            what: what.to_string(),
            source: PgpError(e),
        };
        let (iter, _) = DetachedSignature::from_reader_many(sig).map_err(malformed)?;
        let mut sigs = Vec::new();
        for s in iter {
            sigs.push(s.map_err(malformed)?.signature);
        }
        if sigs.is_empty() {
            return Err(TrustError::NoSignature {
                what: what.to_string(),
            });
        }

        // The data can be streamed once, so settle everything that doesn't need it
        // first and hash with the one signature whose key is trusted and usable.
        let mut first_err: Option<TrustError> = None;
        for s in &sigs {
            match self.check_signature(s, what, now) {
                Ok((cert, comp)) => return self.finish(s, cert, comp, data, what),
                Err(e) => {
                    // An unusable trusted key says more than an unknown one.
                    let replace = match (&first_err, &e) {
                        (None, _) => true,
                        (Some(TrustError::UnknownKey { .. }), TrustError::UnknownKey { .. }) => {
                            false
                        }
                        (Some(TrustError::UnknownKey { .. }), _) => true,
                        _ => false,
                    };
                    if replace {
                        first_err = Some(e);
                    }
                }
            }
        }
        Err(first_err.unwrap_or_else(|| TrustError::NoUsableSignature {
            what: what.to_string(),
        }))
    }

    fn check_signature<'k>(
        &'k self,
        s: &Signature,
        what: &str,
        now: u64,
    ) -> Result<(&'k Cert, Component<'k>), TrustError> {
        let w = || what.to_string();
        let fprs: Vec<String> = s
            .issuer_fingerprint()
            .iter()
            .map(|f| hex(f.as_bytes()))
            .collect();
        let ids: Vec<String> = s.issuer_key_id().iter().map(|k| hex(k.as_ref())).collect();
        let issuer = fprs
            .first()
            .or(ids.first())
            .map(|x| format!("0x{x}"))
            .unwrap_or_else(|| "(no issuer)".into());
        if !matches!(
            s.typ(),
            Some(SignatureType::Binary) | Some(SignatureType::Text)
        ) {
            return Err(TrustError::NotData {
                what: w(),
                key: issuer,
                kind: format!("{:?}", s.typ()),
            });
        }
        let hit = |k: &dyn KeyDetails| {
            let f = hex(k.fingerprint().as_bytes());
            let id = hex(k.legacy_key_id().as_ref());
            fprs.contains(&f) || (fprs.is_empty() && ids.contains(&id))
        };
        let mut found: Option<(&Cert, Component<'_>)> = None;
        let mut unusable: Option<TrustError> = None;
        'certs: for cert in &self.certs {
            let mut comps: Vec<Component<'_>> = Vec::new();
            if hit(&cert.key.primary_key) {
                comps.push(Component::Primary);
            }
            for sub in &cert.key.public_subkeys {
                if hit(&sub.key) {
                    comps.push(Component::Sub(sub));
                }
            }
            for comp in comps {
                match usable(cert, &comp, s, now) {
                    Ok(()) => {
                        found = Some((cert, comp));
                        break 'certs;
                    }
                    Err(problem) => {
                        unusable.get_or_insert(TrustError::KeyUnusable {
                            what: w(),
                            key: describe(cert, &comp),
                            problem,
                        });
                    }
                }
            }
        }
        let Some((cert, comp)) = found else {
            return Err(unusable.unwrap_or(TrustError::UnknownKey {
                what: w(),
                key: issuer,
            }));
        };
        let hash = s.hash_alg();
        if matches!(
            hash,
            Some(HashAlgorithm::Md5 | HashAlgorithm::Sha1 | HashAlgorithm::Ripemd160) | None
        ) {
            return Err(TrustError::WeakHash {
                what: w(),
                hash: hash
                    .map(|h| h.to_string())
                    .unwrap_or_else(|| "(unknown)".into()),
            });
        }
        let Some(created) = s.created().map(ts) else {
            return Err(TrustError::NoCreationTime { what: w() });
        };
        if created > now + MAX_CLOCK_SKEW_SECS {
            return Err(TrustError::FromTheFuture {
                what: w(),
                date: fmt_time(created),
            });
        }
        if let Some(exp) = s
            .signature_expiration_time()
            .map(|d| u64::from(d.as_secs()))
        {
            if exp > 0 && created + exp <= now {
                return Err(TrustError::Expired {
                    what: w(),
                    date: fmt_time(created + exp),
                });
            }
        }
        Ok((cert, comp))
    }

    fn finish<R: Read>(
        &self,
        s: &Signature,
        cert: &Cert,
        comp: Component<'_>,
        data: R,
        what: &str,
    ) -> Result<Verified, TrustError> {
        let mut tap = ErrorTap {
            inner: data,
            err: None,
        };
        let res = match comp {
            Component::Primary => s.verify(&cert.key.primary_key, &mut tap),
            Component::Sub(sub) => s.verify(&sub.key, &mut tap),
        };
        if let Some(source) = tap.err {
            return Err(TrustError::Read {
                what: what.to_string(),
                source,
            });
        }
        let signer = match comp {
            Component::Primary => fpr(&cert.key.primary_key),
            Component::Sub(sub) => fpr(&sub.key),
        };
        // rPGP's own text for a mismatch is an internal assertion ("left == right"), so
        // say what it means instead.
        res.map_err(|_| TrustError::Bad {
            what: what.to_string(),
            key: describe(cert, &comp),
        })?;
        Ok(Verified {
            primary: fpr(&cert.key.primary_key),
            signer,
            created: s.created().map(|t| t.as_secs()).unwrap_or(0),
        })
    }
}

fn describe(cert: &Cert, comp: &Component<'_>) -> String {
    match comp {
        Component::Primary => format!("0x{}", fpr(&cert.key.primary_key)),
        Component::Sub(sub) => format!(
            "0x{} (subkey of 0x{})",
            fpr(&sub.key),
            fpr(&cert.key.primary_key)
        ),
    }
}

fn usable(cert: &Cert, comp: &Component<'_>, s: &Signature, now: u64) -> Result<(), KeyProblem> {
    let sig_time = s.created().map(ts).unwrap_or(now);
    let primary_flags = primary_problem(&cert.key, now, sig_time)?;
    match comp {
        Component::Primary => {
            if primary_flags == Some(false) {
                return Err(KeyProblem::MayNotSign);
            }
            if ts(cert.key.primary_key.created_at()) > sig_time {
                return Err(KeyProblem::CreatedAfterSignature);
            }
            Ok(())
        }
        Component::Sub(sub) => subkey_problem(&cert.key.primary_key, sub, now, sig_time),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key LXC's image server signs with (`lxc-download` in LXC 1.0–4.0.11).
    const LINUXCONTAINERS_FINGERPRINT: &str = "E7FB0CAEC8173D669066514CBAEFF88C22F6E216";

    #[test]
    fn civil_dates() {
        assert_eq!(fmt_time(0), "1970-01-01");
        assert_eq!(fmt_time(1_389_412_108), "2014-01-11");
        assert_eq!(fmt_time(951_782_400), "2000-02-29");
    }

    #[test]
    fn shipped_linuxcontainers_key_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/linuxcontainers.asc");
        let mut k = Keyring::new();
        assert_eq!(k.add_file(&path).unwrap(), 1);
        assert_eq!(
            k.fingerprints(),
            vec![LINUXCONTAINERS_FINGERPRINT.to_string()]
        );
        // Its self-signature (SHA-1, 2014) must still count as a valid binding.
        let cert = &k.certs[0].key;
        assert!(primary_problem(cert, unix_now(), unix_now()).is_ok());
        k.restrict_to("0xBAEFF88C22F6E216").unwrap();
        assert!(matches!(
            k.restrict_to("0x0000000000000001"),
            Err(TrustError::KeyIdNotFound { .. })
        ));
    }

    #[test]
    fn garbage_key_file_is_named() {
        let mut k = Keyring::new();
        let err = k
            .add_bytes(b"not a key", Path::new("/x/bad.asc"))
            .unwrap_err();
        assert!(err.to_string().contains("`/x/bad.asc`"), "{err}");
        assert!(matches!(
            k.ensure_not_empty(),
            Err(TrustError::NoKeys { .. })
        ));
        assert_eq!(k.add_dir(Path::new("/nonexistent/dir")).unwrap(), 0);
    }

    #[test]
    fn key_dirs() {
        assert_eq!(
            user_key_dir(0, Path::new("/root")),
            PathBuf::from("/etc/lxc/trusted-keys")
        );
        assert_eq!(
            user_key_dir(1000, Path::new("/home/u")),
            PathBuf::from("/home/u/.config/lxc/trusted-keys")
        );
    }
}
