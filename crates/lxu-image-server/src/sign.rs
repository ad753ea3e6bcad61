//! OpenPGP repository keys and detached ASCII-armoured signatures (`gpg -a -b`),
//! with rPGP. Everything rPGP-specific stays in this module.
//!
//! Keys are v4 (what gpg 2.2 understands): a certification-only primary key and
//! a signing subkey (with its primary-key back-signature, which gpg requires),
//! like `gpg --full-gen-key` makes. Keys exported by gpg load as well, whether
//! the primary signs itself (`[SC]`, gpg's default) or a subkey does.

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use crate::error::{io_err, IoError};
use pgp::composed::{
    ArmorOptions, Deserializable, DetachedSignature, EncryptionCaps, KeyType,
    SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey, SubkeyParamsBuilder,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{SignatureConfig, SignatureHasher, SignatureType, Subpacket, SubpacketData};
use pgp::types::{KeyDetails, KeyVersion, Password, Timestamp};

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("openpgp: cannot {what}")]
    Pgp {
        what: &'static str,
        #[source]
        source: pgp::errors::Error,
    },
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("cannot read the data to sign or verify")]
    Data(#[source] io::Error),
    #[error("key {fingerprint} has no usable signing key (no valid, unrevoked, unexpired key with the sign flag)")]
    NoSigningKey { fingerprint: String },
    #[error("the secret key {fingerprint} is passphrase-protected and the passphrase is missing or wrong")]
    Locked { fingerprint: String },
    #[error("key generation parameters")]
    KeyParams(#[source] pgp::composed::SecretKeyParamsBuilderError),
    #[error("key generation parameters")]
    SubkeyParams(#[source] pgp::composed::SubkeyParamsBuilderError),
    #[error("signature was made by key {issuer}, which is not part of key {fingerprint}")]
    UnknownIssuer { issuer: String, fingerprint: String },
    #[error("bad signature")]
    BadSignature(#[source] pgp::errors::Error),
}

fn pgp_err(what: &'static str) -> impl FnOnce(pgp::errors::Error) -> SignError {
    move |source| SignError::Pgp { what, source }
}

/// Algorithm for a new repository key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// EdDSA over Curve25519 in the v4 "legacy" encoding gpg 2.2 reads.
    Ed25519,
    /// RSA with this many bits (3072 or 4096 are sensible).
    Rsa(u32),
}

impl KeyAlgorithm {
    fn key_type(self) -> KeyType {
        match self {
            KeyAlgorithm::Ed25519 => KeyType::Ed25519Legacy,
            KeyAlgorithm::Rsa(bits) => KeyType::Rsa(bits),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Component {
    Primary,
    Subkey(usize),
}

/// A secret OpenPGP key ready to make detached signatures.
#[derive(Clone)]
pub struct SigningKey {
    key: SignedSecretKey,
    component: Component,
    /// Kept as text because rPGP's `Password` is not `Clone`.
    passphrase: Option<String>,
}

/// Only the fingerprints: secret material and passphrase stay out of logs.
impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("fingerprint", &self.fingerprint())
            .field("signing_fingerprint", &self.signing_fingerprint())
            .field("protected", &self.passphrase.is_some())
            .finish()
    }
}

impl SigningKey {
    /// Generates a key: certification-only primary + signing subkey. With a
    /// passphrase, both secret keys are stored encrypted (S2K) when exported.
    pub fn generate(
        user_id: &str,
        algo: KeyAlgorithm,
        passphrase: Option<&str>,
    ) -> Result<SigningKey, SignError> {
        let mut sub = SubkeyParamsBuilder::default();
        sub.key_type(algo.key_type())
            .can_sign(true)
            .can_encrypt(EncryptionCaps::None)
            .can_authenticate(false)
            .passphrase(passphrase.map(String::from));
        let sub = sub.build().map_err(SignError::SubkeyParams)?;
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(algo.key_type())
            .version(KeyVersion::V4)
            .can_certify(true)
            .can_sign(false)
            .can_encrypt(EncryptionCaps::None)
            .primary_user_id(user_id.to_string())
            .passphrase(passphrase.map(String::from))
            .subkeys(vec![sub]);
        let params = params.build().map_err(SignError::KeyParams)?;
        let key = params
            .generate(rand::thread_rng())
            .map_err(pgp_err("generate a key"))?;
        Self::from_key(key, passphrase.map(String::from))
    }

    /// Loads an ASCII-armoured secret key (e.g. `gpg --export-secret-keys --armor`).
    pub fn from_armored(text: &str, passphrase: Option<&str>) -> Result<SigningKey, SignError> {
        let (key, _) =
            SignedSecretKey::from_string(text).map_err(pgp_err("parse the secret key"))?;
        Self::from_key(key, passphrase.map(String::from))
    }

    /// Loads a secret key file, with the passphrase (first line) from
    /// `passphrase_file` if the key is protected.
    pub fn load(path: &Path, passphrase_file: Option<&Path>) -> Result<SigningKey, SignError> {
        let text = fs::read_to_string(path).map_err(io_err("read", path))?;
        let pass = match passphrase_file {
            Some(p) => Some(
                fs::read_to_string(p)
                    .map_err(io_err("read", p))?
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string(),
            ),
            None => None,
        };
        Self::from_armored(&text, pass.as_deref())
    }

    fn password(&self) -> Password {
        self.passphrase
            .as_deref()
            .map_or_else(Password::empty, Password::from)
    }

    fn from_key(key: SignedSecretKey, passphrase: Option<String>) -> Result<SigningKey, SignError> {
        key.verify_bindings()
            .map_err(pgp_err("verify the key's self-signatures"))?;
        let fingerprint = hex(&key.fingerprint());
        let component = choose_signer(&key).ok_or(SignError::NoSigningKey {
            fingerprint: fingerprint.clone(),
        })?;
        let k = SigningKey {
            key,
            component,
            passphrase,
        };
        // Try the passphrase now, not on the first file of a publish run.
        let unlocked = match k.component {
            Component::Primary => k.key.primary_key.unlock(&k.password(), |_, _| Ok(())),
            Component::Subkey(i) => k.key.secret_subkeys[i]
                .key
                .unlock(&k.password(), |_, _| Ok(())),
        };
        match unlocked {
            Ok(Ok(())) => Ok(k),
            _ => Err(SignError::Locked { fingerprint }),
        }
    }

    /// Primary key fingerprint, upper-case hex (as gpg prints it).
    pub fn fingerprint(&self) -> String {
        hex(&self.key.fingerprint())
    }

    /// Fingerprint of the key that actually signs (the subkey, usually).
    pub fn signing_fingerprint(&self) -> String {
        match self.component {
            Component::Primary => self.fingerprint(),
            Component::Subkey(i) => hex(&self.key.secret_subkeys[i].key.fingerprint()),
        }
    }

    /// The public key, ASCII-armoured, for clients (`gpg --import`).
    pub fn public_key_armored(&self) -> Result<String, SignError> {
        self.key
            .to_public_key()
            .to_armored_string(ArmorOptions::default())
            .map_err(pgp_err("armour the public key"))
    }

    /// The secret key, ASCII-armoured (encrypted if it was generated or loaded
    /// protected: the secret packets are written as they are held).
    pub fn secret_key_armored(&self) -> Result<String, SignError> {
        self.key
            .to_armored_string(ArmorOptions::default())
            .map_err(pgp_err("armour the secret key"))
    }

    /// A streaming signer: write the data into it, then [`Signer::finish`].
    pub(crate) fn signer(&self) -> Result<Signer<'_>, SignError> {
        let (version, algorithm, fingerprint, key_id) = match self.component {
            Component::Primary => {
                let k = &self.key.primary_key;
                (
                    k.version(),
                    k.algorithm(),
                    k.fingerprint(),
                    k.legacy_key_id(),
                )
            }
            Component::Subkey(i) => {
                let k = &self.key.secret_subkeys[i].key;
                (
                    k.version(),
                    k.algorithm(),
                    k.fingerprint(),
                    k.legacy_key_id(),
                )
            }
        };
        let hash = HashAlgorithm::Sha256;
        let mut config = match version {
            KeyVersion::V6 => {
                SignatureConfig::v6(rand::thread_rng(), SignatureType::Binary, algorithm, hash)
                    .map_err(pgp_err("set up a v6 signature"))?
            }
            _ => SignatureConfig::v4(SignatureType::Binary, algorithm, hash),
        };
        let sp = |d| Subpacket::regular(d).map_err(pgp_err("build a signature subpacket"));
        config.hashed_subpackets = vec![
            sp(SubpacketData::IssuerFingerprint(fingerprint))?,
            sp(SubpacketData::SignatureCreationTime(Timestamp::now()))?,
        ];
        if version != KeyVersion::V6 {
            config.unhashed_subpackets = vec![sp(SubpacketData::IssuerKeyId(key_id))?];
        }
        let hasher = config.into_hasher().map_err(pgp_err("start hashing"))?;
        Ok(Signer { key: self, hasher })
    }

    /// Signs everything `data` yields; returns the armoured detached signature.
    pub(crate) fn sign_reader(&self, mut data: impl Read) -> Result<String, SignError> {
        let mut s = self.signer()?;
        io::copy(&mut data, &mut s).map_err(SignError::Data)?;
        s.finish()
    }

    /// Signs a file (streamed; any size).
    pub fn sign_file(&self, path: &Path) -> Result<String, SignError> {
        let f = fs::File::open(path).map_err(io_err("open", path))?;
        self.sign_reader(io::BufReader::with_capacity(1 << 20, f))
    }
}

/// Hashes data for one detached signature.
pub(crate) struct Signer<'a> {
    key: &'a SigningKey,
    hasher: SignatureHasher,
}

impl Signer<'_> {
    /// Makes the signature, ASCII-armoured (`-----BEGIN PGP SIGNATURE-----`).
    pub(crate) fn finish(self) -> Result<String, SignError> {
        let k = self.key;
        let sig = match k.component {
            Component::Primary => self.hasher.sign(&k.key.primary_key, &k.password()),
            Component::Subkey(i) => self
                .hasher
                .sign(&k.key.secret_subkeys[i].key, &k.password()),
        }
        .map_err(pgp_err("sign"))?;
        DetachedSignature::new(sig)
            .to_armored_string(ArmorOptions::default())
            .map_err(pgp_err("armour the signature"))
    }
}

impl Write for Signer<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Picks the newest valid signing subkey, else the primary if it may sign.
fn choose_signer(key: &SignedSecretKey) -> Option<Component> {
    let now = Timestamp::now().as_secs();
    let primary_pub = key.primary_key.public_key();
    let mut best: Option<(u32, usize)> = None;
    for (i, sub) in key.secret_subkeys.iter().enumerate() {
        if sub
            .signatures
            .iter()
            .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation))
        {
            continue;
        }
        let created = sub.key.created_at().as_secs();
        let binding = sub
            .signatures
            .iter()
            .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))
            .filter(|s| {
                s.verify_subkey_binding(primary_pub, sub.key.public_key())
                    .is_ok()
            })
            .max_by_key(|s| s.created().map(|t| t.as_secs()));
        let Some(binding) = binding else { continue };
        if !binding.key_flags().sign() {
            continue;
        }
        if let Some(exp) = binding.key_expiration_time() {
            if exp.as_secs() != 0 && u64::from(created) + u64::from(exp.as_secs()) <= u64::from(now)
            {
                continue;
            }
        }
        if best.is_none_or(|(c, _)| created >= c) {
            best = Some((created, i));
        }
    }
    if let Some((_, i)) = best {
        return Some(Component::Subkey(i));
    }
    let self_sigs = key
        .details
        .users
        .iter()
        .flat_map(|u| u.signatures.iter())
        .chain(key.details.direct_signatures.iter());
    let mut any_flags = false;
    for s in self_sigs {
        let flags = s.key_flags();
        if flags.sign() {
            return Some(Component::Primary);
        }
        any_flags |= flags.certify() || flags.encrypt_comms() || flags.encrypt_storage();
    }
    // Old keys without key flags: the primary is the signing key.
    (!any_flags).then_some(Component::Primary)
}

/// Verifies an armoured detached signature over `data` against an armoured
/// public key: the issuer must be the primary key or one of its subkeys with a
/// valid binding that allows signing.
pub fn verify_detached(
    public_key: &str,
    signature: &str,
    data: impl Read,
) -> Result<(), SignError> {
    let (pubkey, _) =
        SignedPublicKey::from_string(public_key).map_err(pgp_err("parse the public key"))?;
    let (sig, _) =
        DetachedSignature::from_string(signature).map_err(pgp_err("parse the signature"))?;
    let sig = sig.signature;
    let issuers: Vec<String> = sig.issuer_fingerprint().iter().map(|f| hex(f)).collect();
    let issuer_ids: Vec<String> = sig.issuer_key_id().iter().map(|k| key_id_hex(k)).collect();
    let matches = |fp: &pgp::types::Fingerprint, id: &pgp::types::KeyId| {
        issuers.contains(&hex(fp)) || issuer_ids.contains(&key_id_hex(id))
    };
    let data = io::BufReader::with_capacity(1 << 20, data);
    let primary = &pubkey.primary_key;
    if matches(&primary.fingerprint(), &primary.legacy_key_id()) {
        return sig.verify(primary, data).map_err(SignError::BadSignature);
    }
    for sub in &pubkey.public_subkeys {
        if !matches(&sub.key.fingerprint(), &sub.key.legacy_key_id()) {
            continue;
        }
        let bound = sub
            .signatures
            .iter()
            .any(|s| s.key_flags().sign() && s.verify_subkey_binding(primary, &sub.key).is_ok());
        if !bound {
            return Err(SignError::NoSigningKey {
                fingerprint: hex(&sub.key.fingerprint()),
            });
        }
        return sig.verify(&sub.key, data).map_err(SignError::BadSignature);
    }
    Err(SignError::UnknownIssuer {
        issuer: issuers
            .first()
            .or(issuer_ids.first())
            .cloned()
            .unwrap_or_default(),
        fingerprint: hex(&primary.fingerprint()),
    })
}

fn hex(fp: &pgp::types::Fingerprint) -> String {
    format!("{fp:X}")
}

fn key_id_hex(id: &pgp::types::KeyId) -> String {
    id.as_ref().iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_signs_with_subkey_and_verifies() {
        let k =
            SigningKey::generate("lxu test <test@invalid>", KeyAlgorithm::Ed25519, None).unwrap();
        assert_ne!(k.fingerprint(), k.signing_fingerprint());
        let sig = k.sign_reader(&b"hello"[..]).unwrap();
        assert!(sig.starts_with("-----BEGIN PGP SIGNATURE-----"));
        let public = k.public_key_armored().unwrap();
        verify_detached(&public, &sig, &b"hello"[..]).unwrap();
        assert!(matches!(
            verify_detached(&public, &sig, &b"hellO"[..]),
            Err(SignError::BadSignature(_))
        ));
        let other = SigningKey::generate("other", KeyAlgorithm::Ed25519, None).unwrap();
        assert!(matches!(
            verify_detached(&other.public_key_armored().unwrap(), &sig, &b"hello"[..]),
            Err(SignError::UnknownIssuer { .. })
        ));
    }

    #[test]
    fn protected_key_needs_its_passphrase() {
        let k = SigningKey::generate("p", KeyAlgorithm::Ed25519, Some("s3cret")).unwrap();
        let armored = k.secret_key_armored().unwrap();
        assert!(matches!(
            SigningKey::from_armored(&armored, None),
            Err(SignError::Locked { .. })
        ));
        assert!(matches!(
            SigningKey::from_armored(&armored, Some("wrong")),
            Err(SignError::Locked { .. })
        ));
        let k2 = SigningKey::from_armored(&armored, Some("s3cret")).unwrap();
        assert_eq!(k2.fingerprint(), k.fingerprint());
        let sig = k2.sign_reader(&b"x"[..]).unwrap();
        verify_detached(&k.public_key_armored().unwrap(), &sig, &b"x"[..]).unwrap();
    }

    #[test]
    fn debug_output_hides_secrets() {
        let k = SigningKey::generate("d", KeyAlgorithm::Ed25519, Some("hunter2")).unwrap();
        let dbg = format!("{k:?}");
        assert!(dbg.contains(&k.fingerprint()));
        assert!(!dbg.contains("hunter2"));
        assert!(dbg.len() < 300, "{dbg}");
    }

    #[test]
    fn unprotected_export_round_trips() {
        let k = SigningKey::generate("u", KeyAlgorithm::Ed25519, None).unwrap();
        let k2 = SigningKey::from_armored(&k.secret_key_armored().unwrap(), None).unwrap();
        assert_eq!(k2.signing_fingerprint(), k.signing_fingerprint());
    }
}
