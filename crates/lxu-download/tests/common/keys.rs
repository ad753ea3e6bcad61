//! OpenPGP keys made with rPGP, signing as a repository does.

use pgp::composed::{
    ArmorOptions, DetachedSignature, EncryptionCaps, KeyType, SecretKeyParamsBuilder,
    SignedPublicKey, SignedSecretKey, SubkeyParamsBuilder,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::{KeyDetails, Password};

pub struct TestKey {
    pub secret: SignedSecretKey,
}

impl TestKey {
    /// Ed25519 primary (certify only) with an Ed25519 signing subkey, as gpg makes them.
    pub fn new(uid: &str) -> TestKey {
        let mut sub = SubkeyParamsBuilder::default();
        sub.key_type(KeyType::Ed25519Legacy)
            .can_sign(true)
            .can_encrypt(EncryptionCaps::None)
            .can_authenticate(false);
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(false)
            .can_encrypt(EncryptionCaps::None)
            .primary_user_id(uid.into())
            .subkeys(vec![sub.build().unwrap()]);
        let secret = params
            .build()
            .unwrap()
            .generate(rand::thread_rng())
            .unwrap();
        TestKey { secret }
    }

    pub fn public_armored(&self) -> String {
        SignedPublicKey::from(self.secret.clone())
            .to_armored_string(ArmorOptions::default())
            .unwrap()
    }

    pub fn fingerprint(&self) -> String {
        hex(self.secret.fingerprint().as_bytes())
    }

    pub fn subkey_fingerprint(&self) -> String {
        hex(self.secret.secret_subkeys[0].key.fingerprint().as_bytes())
    }

    /// Armoured detached signature by the signing subkey.
    pub fn sign(&self, data: &[u8]) -> String {
        self.sign_with(data, HashAlgorithm::Sha256, false)
    }

    pub fn sign_with(&self, data: &[u8], hash: HashAlgorithm, with_primary: bool) -> String {
        let sig = if with_primary {
            DetachedSignature::sign_binary_data(
                rand::thread_rng(),
                &self.secret.primary_key,
                &Password::empty(),
                hash,
                data,
            )
        } else {
            DetachedSignature::sign_binary_data(
                rand::thread_rng(),
                &self.secret.secret_subkeys[0].key,
                &Password::empty(),
                hash,
                data,
            )
        };
        sig.unwrap()
            .to_armored_string(ArmorOptions::default())
            .unwrap()
    }
}

pub fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}
