//! The supervisor's OpenSSH ed25519 key as an age identity for review
//! views (`ssh-ed25519` stanzas), with everything that does not depend on
//! the file worked out once. age's own ssh identity derives, for every
//! file, the X25519 secret (SHA-512 of the seed), its public key (a
//! fixed-base multiplication), the tweak (HKDF over the public key) and
//! then does two variable-base multiplications, `tweak * (secret * epk)`:
//! 90% of the time of opening a review view, and 10,000 views are what a
//! supervisor opens at once. Here the two scalars are multiplied together
//! once, so a file costs one multiplication. The unwrapping is age's
//! otherwise, step by step (<https://github.com/FiloSottile/age>, the
//! ssh-ed25519 recipient); tests check it against age's identity on many
//! files, and the integration tests read the same files with the age CLI.
//!
//! Why the product is the same: X25519 clamps each scalar to a multiple
//! of 8 below 2^255; for a point P of the curve, whose order divides 8l,
//! `[8a]([8b]P) = [64ab]P = [64ab mod 8l]P = [8 (8ab mod l)]P`. An
//! ephemeral key is `[esk]B`, a point of the curve. A hostile ephemeral
//! key on the twist gives another result and its file does not open,
//! where age might open it: nothing a laptop writes. An all-zero shared
//! secret (a low-order key) is refused, as age does for X25519 stanzas.

use age_core::format::{FileKey, Stanza};
use age_core::primitives::{aead_decrypt, hkdf};
use base64::Engine;
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha256, Sha512};
use zeroize::Zeroizing;

const TAG: &str = "ssh-ed25519";
const LABEL: &[u8] = b"age-encryption.org/v1/ssh-ed25519";

/// An OpenSSH ed25519 private key, ready to open `ssh-ed25519` stanzas.
pub struct SupervisorIdentity {
    /// The first 4 bytes of the SHA-256 of the public key's wire form.
    tag: [u8; 4],
    /// The X25519 public key (the salt's second half).
    public: [u8; 32],
    /// `8 (8ab mod l)` as 256 bits, little-endian: the two clamped
    /// scalars' product, reduced.
    scalar: Zeroizing<[u8; 32]>,
}

/// Why a key cannot open review views.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("it is not an ed25519 key (review views are encrypted to ssh-ed25519 keys)")]
    NotEd25519,
    #[error("its public key cannot be written: {0}")]
    Public(String),
}

fn clamp(mut k: [u8; 32]) -> [u8; 32] {
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
    k
}

/// A little-endian 256-bit number shifted right by 3 (a clamped scalar
/// divided by 8: exact).
fn div8(k: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for i in 0..32 {
        let high = k.get(i + 1).copied().unwrap_or(0);
        out[i] = (k[i] >> 3) | (high << 5);
    }
    out
}

/// Times 8 (a number below 2^253: no bit is lost).
fn times8(k: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for i in 0..32 {
        let low = if i == 0 { 0 } else { k[i - 1] >> 5 };
        out[i] = (k[i] << 3) | low;
    }
    out
}

impl SupervisorIdentity {
    pub fn new(key: &ssh_key::PrivateKey) -> Result<Self, KeyError> {
        let pair = key.key_data().ed25519().ok_or(KeyError::NotEd25519)?;
        let wire = key
            .public_key()
            .to_bytes()
            .map_err(|e| KeyError::Public(e.to_string()))?;
        let mut tag = [0u8; 4];
        tag.copy_from_slice(&Sha256::digest(&wire)[..4]);
        let secret = Zeroizing::new({
            let mut sk = [0u8; 32];
            sk.copy_from_slice(&Sha512::digest(pair.private.to_bytes())[..32]);
            sk
        });
        let public =
            x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*secret)).to_bytes();
        let tweak = Zeroizing::new(hkdf(&wire, LABEL, &[]));
        let a = Scalar::from_bytes_mod_order(div8(&clamp(*tweak)));
        let b = Scalar::from_bytes_mod_order(div8(&clamp(*secret)));
        let r = Scalar::from(8u8) * a * b;
        Ok(SupervisorIdentity {
            tag,
            public,
            scalar: Zeroizing::new(times8(r.as_bytes())),
        })
    }

    fn shared(&self, epk: &[u8; 32]) -> [u8; 32] {
        let bits = (0..256)
            .rev()
            .map(|i| (self.scalar[i / 8] >> (i % 8)) & 1 == 1);
        MontgomeryPoint(*epk).mul_bits_be(bits).to_bytes()
    }
}

impl age::Identity for SupervisorIdentity {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        if stanza.tag != TAG {
            return None;
        }
        let invalid = Some(Err(age::DecryptError::InvalidHeader));
        let [tag, epk] = &stanza.args[..] else {
            return invalid;
        };
        let b64 = base64::prelude::BASE64_STANDARD_NO_PAD;
        let mut got = [0u8; 6];
        match b64.decode_slice(tag, &mut got) {
            Ok(4) if got[..4] == self.tag => {}
            Ok(4) => return None,
            _ => return invalid,
        }
        let mut point = [0u8; 33];
        match b64.decode_slice(epk, &mut point) {
            Ok(32) => {}
            _ => return invalid,
        }
        let epk: [u8; 32] = point[..32].try_into().ok()?;
        if stanza.body.len() != 32 {
            return invalid;
        }
        let shared = Zeroizing::new(self.shared(&epk));
        if shared.iter().all(|&b| b == 0) {
            return invalid;
        }
        let mut salt = [0u8; 64];
        salt[..32].copy_from_slice(&epk);
        salt[32..].copy_from_slice(&self.public);
        let key = Zeroizing::new(hkdf(&salt, LABEL, &shared[..]));
        // The tag matched: a failure to decrypt is this file's, as in age.
        Some(
            aead_decrypt(&key, 16, &stanza.body)
                .map_err(|_| age::DecryptError::DecryptionFailed)
                .map(|plain| {
                    let plain = Zeroizing::new(plain);
                    FileKey::init_with_mut(|k| k.copy_from_slice(&plain))
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::rand_core::OsRng;

    fn new_key() -> ssh_key::PrivateKey {
        ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).expect("key")
    }

    #[test]
    fn opens_what_age_opens_and_nothing_else() {
        let key = new_key();
        let ours = SupervisorIdentity::new(&key).expect("identity");
        let age_own = crate::crypt::ssh_identity(&key).expect("age identity");
        let other = new_key();
        for n in 0..64usize {
            let plain = vec![n as u8; n * 7];
            // To this key alone, and to another key and this one.
            let to = if n % 2 == 0 {
                vec![key.public_key().clone()]
            } else {
                vec![other.public_key().clone(), key.public_key().clone()]
            };
            let file = crate::crypt::encrypt_to_ssh(&to, &plain).expect("encrypt");
            let by_us = crate::crypt::decrypt_with_any(std::slice::from_ref(&ours), &file)
                .expect("ours opens it");
            let by_age = crate::crypt::decrypt_with_any(std::slice::from_ref(&age_own), &file)
                .expect("age opens it");
            assert_eq!(by_us, plain);
            assert_eq!(by_age, plain);
            let not_ours = crate::crypt::encrypt_to_ssh(&[other.public_key().clone()], &plain)
                .expect("encrypt");
            assert!(matches!(
                crate::crypt::decrypt_with_any(std::slice::from_ref(&ours), &not_ours),
                Err(crate::crypt::CryptError::NotForTheseKeys)
            ));
        }
    }

    #[test]
    fn the_scalar_arithmetic_is_exact() {
        let k = clamp([0xff; 32]);
        assert_eq!(times8(&div8(&k)), k, "a clamped scalar is a multiple of 8");
        let mut one = [0u8; 32];
        one[0] = 1;
        let mut eight = [0u8; 32];
        eight[0] = 8;
        assert_eq!(times8(&one), eight);
        assert_eq!(div8(&eight), one);
    }

    #[test]
    fn rsa_and_other_keys_are_refused() {
        // A stanza of another kind is not this identity's.
        let ours = SupervisorIdentity::new(&new_key()).expect("identity");
        let stanza = Stanza {
            tag: "X25519".into(),
            args: vec!["x".into()],
            body: vec![0; 32],
        };
        assert!(age::Identity::unwrap_stanza(&ours, &stanza).is_none());
        // A low-order ephemeral key is refused, not used.
        let b64 = base64::prelude::BASE64_STANDARD_NO_PAD;
        let stanza = Stanza {
            tag: TAG.into(),
            args: vec![b64.encode(ours.tag), b64.encode([0u8; 32])],
            body: vec![0; 32],
        };
        assert!(matches!(
            age::Identity::unwrap_stanza(&ours, &stanza),
            Some(Err(age::DecryptError::InvalidHeader))
        ));
    }
}
