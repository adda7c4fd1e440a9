//! The cryptography of data at rest, all in standard formats: age files to
//! X25519 recipients (records, drafts), age's scrypt recipient at a pinned
//! work factor (the profile's secrets, passphrase-wrapped identities), and a
//! symmetric seal (XChaCha20-Poly1305) for the store's small listing and
//! audit entries. Parsing of recipients and identity files lives here too,
//! and the fixed names both sides of a signature or a chain agree on (the
//! SSHSIG namespace of bundles, the hash that stands for "no previous
//! bundle"), so that the store and `bundle` share them without one
//! importing the other. No I/O beyond the bytes it is given.

mod ssh;
pub use ssh::{encrypt_to_ssh, ssh_identity};

use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use ssh_key::rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

/// scrypt work factor (N = 2^16: 64 MiB, about half a second on a cheap
/// laptop) used for every passphrase fieldkit wraps. Pinned, not tuned: age
/// tunes to one second of the machine it runs on, which chose 1 GiB of RAM
/// on a fast machine, and a 2 GiB laptop must not swap.
pub const WORK_FACTOR: u8 = 16;
/// The highest work factor accepted when unwrapping (2^18: 256 MiB). A file
/// asking for more is refused before any work is done.
pub const MAX_WORK_FACTOR: u8 = 18;
/// The SSHSIG namespace of bundle signatures (the profile's
/// `allowed_signers` line names it; verify checks it).
pub const BUNDLE_NAMESPACE: &str = "fieldkit-bundle";
/// `prev_manifest_sha256` of a laptop's first bundle (the store's chain
/// head before any export).
pub const NO_PREVIOUS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, thiserror::Error)]
pub enum CryptError {
    #[error("wrong passphrase")]
    WrongPassphrase,
    #[error(
        "the file asks for a passphrase work factor of 2^{required}, above the limit of \
         2^{MAX_WORK_FACTOR}; re-wrap it with a lower cost (fieldkit uses 2^{WORK_FACTOR})"
    )]
    ExcessiveWork { required: u8 },
    #[error("not encrypted to any key here (no matching recipient)")]
    NoMatchingKey,
    #[error(
        "not encrypted to this data manager's key (give the key of the deployment it was \
         sent to with --identity)"
    )]
    NotForTheseKeys,
    #[error("not a valid age file: {0}")]
    Malformed(String),
    #[error("encryption failed: {0}")]
    Encrypt(String),
    #[error("the sealed entry is damaged or was not sealed with this profile's key")]
    Unseal,
    #[error("{0}")]
    Key(String),
}

fn map_decrypt(e: age::DecryptError) -> CryptError {
    match e {
        age::DecryptError::DecryptionFailed | age::DecryptError::KeyDecryptionFailed => {
            CryptError::WrongPassphrase
        }
        age::DecryptError::ExcessiveWork { required, .. } => CryptError::ExcessiveWork { required },
        age::DecryptError::NoMatchingKeys => CryptError::NoMatchingKey,
        other => CryptError::Malformed(other.to_string()),
    }
}

/// Encrypts to one or more X25519 recipients (a binary age file).
pub fn encrypt_to(
    recipients: &[age::x25519::Recipient],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptError> {
    encrypt(
        recipients.iter().map(|r| r as &dyn age::Recipient),
        plaintext.len() + 200 + 60 * recipients.len(),
        plaintext,
    )
}

/// An age file of `plaintext` to `recipients`, in a buffer of `capacity`.
fn encrypt<'r>(
    recipients: impl Iterator<Item = &'r dyn age::Recipient>,
    capacity: usize,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptError> {
    let encryptor = age::Encryptor::with_recipients(recipients)
        .map_err(|e| CryptError::Encrypt(e.to_string()))?;
    let mut out = Vec::with_capacity(capacity);
    let write = || -> std::io::Result<()> {
        let mut w = encryptor.wrap_output(&mut out)?;
        std::io::Write::write_all(&mut w, plaintext)?;
        w.finish()?;
        Ok(())
    };
    write().map_err(|e| CryptError::Encrypt(e.to_string()))?;
    Ok(out)
}

/// Decrypts an age file with an X25519 identity.
pub fn decrypt_with(
    identity: &age::x25519::Identity,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptError> {
    let damaged = |e| match e {
        age::DecryptError::DecryptionFailed => {
            CryptError::Malformed("the payload is damaged".into())
        }
        other => map_decrypt(other),
    };
    let decryptor = age::Decryptor::new_buffered(ciphertext).map_err(damaged)?;
    let reader = decryptor
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .map_err(damaged)?;
    read_plaintext(reader, ciphertext.len())
        .map_err(|_| CryptError::Malformed("the payload is damaged".into()))
}

/// Reads a decrypted stream into a buffer that is wiped on drop, sized
/// up front (the plaintext is shorter than its ciphertext) so that no
/// partly filled copy is left behind in freed memory by a reallocation.
fn read_plaintext(
    mut reader: impl std::io::Read,
    ciphertext_len: usize,
) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut plain = Zeroizing::new(Vec::with_capacity(ciphertext_len.saturating_add(64)));
    reader.read_to_end(&mut plain)?;
    Ok(plain)
}

/// JSON of a value holding secrets, in a buffer wiped on drop: the size is
/// counted first so that the buffer is never reallocated (which would
/// leave partial copies in freed memory).
pub fn secret_json<T: serde::Serialize>(value: &T) -> Zeroizing<Vec<u8>> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // A value that cannot be serialized gives empty JSON, as before.
    let _ = serde_json::to_writer(&mut count, value);
    let mut out = Zeroizing::new(Vec::with_capacity(count.0));
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.clear();
    }
    out
}

/// Wraps with a passphrase (age's scrypt recipient at [`WORK_FACTOR`]),
/// readable by `age -d`.
pub fn wrap_with_passphrase(
    passphrase: &SecretString,
    plaintext: &[u8],
    armor: bool,
) -> Result<Vec<u8>, CryptError> {
    let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
    recipient.set_work_factor(WORK_FACTOR);
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as _))
        .map_err(|e| CryptError::Encrypt(e.to_string()))?;
    let mut out = Vec::new();
    let write = |out: &mut Vec<u8>| -> std::io::Result<()> {
        let format = if armor {
            age::armor::Format::AsciiArmor
        } else {
            age::armor::Format::Binary
        };
        let armored = age::armor::ArmoredWriter::wrap_output(out, format)?;
        let mut w = encryptor.wrap_output(armored)?;
        std::io::Write::write_all(&mut w, plaintext)?;
        w.finish()?.finish()?;
        Ok(())
    };
    write(&mut out).map_err(|e| CryptError::Encrypt(e.to_string()))?;
    Ok(out)
}

/// Unwraps a passphrase-wrapped age file (binary or armored), refusing a
/// work factor above [`MAX_WORK_FACTOR`].
pub fn unwrap_with_passphrase(
    passphrase: &SecretString,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptError> {
    let mut identity = age::scrypt::Identity::new(passphrase.clone());
    identity.set_max_work_factor(MAX_WORK_FACTOR);
    let reader = age::armor::ArmoredReader::new(ciphertext);
    let decryptor = age::Decryptor::new_buffered(reader).map_err(map_decrypt)?;
    let reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(map_decrypt)?;
    read_plaintext(reader, ciphertext.len()).map_err(|e| CryptError::Malformed(e.to_string()))
}

/// Whether bytes look like a passphrase-wrapped age file rather than a
/// plain identity file.
pub fn is_age_file(bytes: &[u8]) -> bool {
    bytes.starts_with(b"age-encryption.org/v1\n")
        || bytes.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
}

/// The keys in a key file, one per line; `#` comments, blank lines and a
/// byte-order mark (Notepad writes one) are skipped. `bad` says why a line
/// is not a key, given the line; `none` why a file without keys is refused.
fn parse_keys<T>(
    text: &str,
    parse: impl Fn(&str) -> Option<T>,
    bad: impl Fn(&str) -> String,
    none: &str,
) -> Result<Vec<T>, CryptError> {
    let mut out = Vec::new();
    for (i, line) in text.trim_start_matches('\u{FEFF}').lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key =
            parse(line).ok_or_else(|| CryptError::Key(format!("line {}: {}", i + 1, bad(line))))?;
        out.push(key);
    }
    if out.is_empty() {
        return Err(CryptError::Key(none.into()));
    }
    Ok(out)
}

/// The `age1...` recipients in a recipients file, with the line of the
/// first bad one.
pub fn parse_recipients(text: &str) -> Result<Vec<age::x25519::Recipient>, CryptError> {
    parse_keys(
        text,
        |l| age::x25519::Recipient::from_str(l).ok(),
        |l| {
            format!(
                "not an age X25519 recipient (it must start with 'age1'): {}",
                shorten(l)
            )
        },
        "no recipients: the file lists no 'age1...' keys",
    )
}

/// The `AGE-SECRET-KEY-1...` identities in an identity file.
pub fn parse_identities(text: &str) -> Result<Vec<age::x25519::Identity>, CryptError> {
    parse_keys(
        text,
        |l| age::x25519::Identity::from_str(l).ok(),
        |_| "not an age identity (it must start with 'AGE-SECRET-KEY-1')".into(),
        "no identities: the file holds no 'AGE-SECRET-KEY-1...' key",
    )
}

/// Decrypts with the first of several identities that fits (a data
/// manager may hold more than one key).
pub fn decrypt_with_any<I: age::Identity>(
    identities: &[I],
    ciphertext: &[u8],
) -> Result<Vec<u8>, CryptError> {
    let malformed = |e: &dyn std::fmt::Display| CryptError::Malformed(e.to_string());
    let decryptor = age::Decryptor::new_buffered(ciphertext).map_err(|e| malformed(&e))?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => CryptError::NotForTheseKeys,
            other => malformed(&other),
        })?;
    // The plaintext is shorter than the ciphertext: one allocation.
    let mut out = Vec::with_capacity(ciphertext.len());
    std::io::Read::read_to_end(&mut reader, &mut out).map_err(|e| malformed(&e))?;
    Ok(out)
}

/// An age X25519 identity that works out its public key once. age's own
/// identity derives it again for every file it opens (a fixed-base scalar
/// multiplication, 15% of the time of opening a 2 KB record), which is what
/// a data manager's aggregation of a million records spends most on after
/// the key agreement itself. The unwrapping is age's, step by step
/// (<https://c2sp.org/age#x25519-recipient-stanza>), with age-core's HKDF
/// and AEAD; tests check it against age's identity and the age CLI.
pub struct X25519Identity {
    secret: x25519_dalek::StaticSecret,
    public: x25519_dalek::PublicKey,
}

impl X25519Identity {
    pub fn new(identity: &age::x25519::Identity) -> Self {
        let text = identity.to_string();
        let bytes = bech32::decode(text.expose_secret())
            .ok()
            .map(|(_, data)| Zeroizing::new(data))
            .and_then(|data| <[u8; 32]>::try_from(data.as_slice()).ok())
            .map(Zeroizing::new)
            .expect("an age identity is 32 bytes in bech32");
        let secret = x25519_dalek::StaticSecret::from(*bytes);
        let public = x25519_dalek::PublicKey::from(&secret);
        X25519Identity { secret, public }
    }
}

impl age::Identity for X25519Identity {
    fn unwrap_stanza(
        &self,
        stanza: &age_core::format::Stanza,
    ) -> Option<Result<age_core::format::FileKey, age::DecryptError>> {
        use base64::Engine;
        if stanza.tag != "X25519" {
            return None;
        }
        let invalid = Some(Err(age::DecryptError::InvalidHeader));
        // Canonical base64 of exactly 32 bytes, a body of exactly 32.
        let [arg] = &stanza.args[..] else {
            return invalid;
        };
        let mut epk = [0u8; 33];
        match base64::prelude::BASE64_STANDARD_NO_PAD.decode_slice(arg, &mut epk) {
            Ok(32) => {}
            _ => return invalid,
        }
        let epk: [u8; 32] = epk[..32].try_into().expect("32 bytes");
        if stanza.body.len() != 32 {
            return invalid;
        }
        let shared = self
            .secret
            .diffie_hellman(&x25519_dalek::PublicKey::from(epk));
        if !shared.was_contributory() {
            return invalid;
        }
        let mut salt = [0; 64];
        salt[..32].copy_from_slice(&epk);
        salt[32..].copy_from_slice(self.public.as_bytes());
        let key = Zeroizing::new(age_core::primitives::hkdf(
            &salt,
            b"age-encryption.org/v1/X25519",
            shared.as_bytes(),
        ));
        // Not ours (another recipient's stanza): try the next one.
        let plain =
            Zeroizing::new(age_core::primitives::aead_decrypt(&key, 16, &stanza.body).ok()?);
        Some(Ok(age_core::format::FileKey::init_with_mut(|k| {
            k.copy_from_slice(&plain)
        })))
    }
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(24).collect();
    if s.chars().count() > 24 {
        out.push_str("...");
    }
    out
}

/// A 256-bit key for [`seal`] / [`open`].
#[derive(Clone)]
pub struct SealKey(Zeroizing<[u8; 32]>);

impl SealKey {
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(key.as_mut());
        SealKey(key)
    }

    pub fn from_hex(hex: &str) -> Option<Self> {
        // Decoded in place: no temporary copy of the key.
        if hex.len() != 64 {
            return None;
        }
        let mut key = Zeroizing::new([0u8; 32]);
        for (i, b) in key.iter_mut().enumerate() {
            *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(SealKey(key))
    }

    pub fn to_hex(&self) -> Zeroizing<String> {
        // Written into a buffer of the final size: no reallocation leaves
        // a partial copy of the key behind.
        let mut out = Zeroizing::new(String::with_capacity(64));
        for b in self.0.iter() {
            for nibble in [b >> 4, b & 0xf] {
                out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
            }
        }
        out
    }
}

/// A keyed 128-bit tag of `data` (HMAC-SHA-256 under the seal key, with
/// `context` first, cut to 16 bytes): a store key that names something
/// (an attachment) without showing what to anyone without the key.
pub fn keyed_tag(key: &SealKey, context: &[u8], data: &[u8]) -> [u8; 16] {
    use sha2::{Digest, Sha256};
    let mut ipad = Zeroizing::new([0x36u8; 64]);
    let mut opad = Zeroizing::new([0x5cu8; 64]);
    for (i, b) in key.0.iter().enumerate() {
        ipad[i] ^= b;
        opad[i] ^= b;
    }
    let inner = Sha256::new()
        .chain_update(&ipad[..])
        .chain_update((context.len() as u64).to_be_bytes())
        .chain_update(context)
        .chain_update(data)
        .finalize();
    let outer = Sha256::new()
        .chain_update(&opad[..])
        .chain_update(inner)
        .finalize();
    let mut tag = [0u8; 16];
    tag.copy_from_slice(&outer[..16]);
    tag
}

/// `n` random bytes in lower-case hex (names that must tell nothing).
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    OsRng.fill_bytes(&mut bytes);
    to_hex(&bytes)
}

/// Encrypts a small entry: `nonce (24 bytes) || ciphertext+tag`. `context`
/// binds the entry to its place (tree and key), so a sealed value moved
/// elsewhere does not open.
pub fn seal(key: &SealKey, context: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&key.0[..]));
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: context,
            },
        )
        .unwrap_or_default();
    let mut out = Vec::with_capacity(24 + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

pub fn open(
    key: &SealKey,
    context: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptError> {
    if sealed.len() < 24 + 16 {
        return Err(CryptError::Unseal);
    }
    let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&key.0[..]));
    cipher
        .decrypt(
            XNonce::from_slice(&sealed[..24]),
            Payload {
                msg: &sealed[24..],
                aad: context,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptError::Unseal)
}

/// SHA-256 of some bytes, in lower-case hex (manifest entries, form
/// hashes, the bundle chain).
pub fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn from_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A passphrase as a secret.
pub fn passphrase(text: &str) -> SecretString {
    SecretString::from(text.to_string())
}

/// Exposes a passphrase for checks (length, emptiness) without copying it.
pub fn passphrase_len(p: &SecretString) -> usize {
    p.expose_secret().chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x25519_round_trip_to_several_recipients() {
        let a = age::x25519::Identity::generate();
        let b = age::x25519::Identity::generate();
        let ct = encrypt_to(&[a.to_public(), b.to_public()], b"hello").unwrap();
        assert_eq!(&decrypt_with(&a, &ct).unwrap()[..], b"hello");
        assert_eq!(&decrypt_with(&b, &ct).unwrap()[..], b"hello");
        let c = age::x25519::Identity::generate();
        assert!(matches!(
            decrypt_with(&c, &ct),
            Err(CryptError::NoMatchingKey)
        ));
    }

    #[test]
    fn passphrase_wrap_pins_the_work_factor_and_refuses_wrong_or_costly() {
        let p = passphrase("correct horse");
        let ct = wrap_with_passphrase(&p, b"secret", false).unwrap();
        let header = String::from_utf8_lossy(&ct[..120]).to_string();
        assert!(header.contains(" 16\n"), "{header}");
        assert_eq!(&unwrap_with_passphrase(&p, &ct).unwrap()[..], b"secret");
        assert!(matches!(
            unwrap_with_passphrase(&passphrase("wrong"), &ct),
            Err(CryptError::WrongPassphrase)
        ));
        // Rewrite the stanza's work factor to 2^30: refused before scrypt runs.
        let costly = String::from_utf8_lossy(&ct).replacen(" 16\n", " 30\n", 1);
        assert!(matches!(
            unwrap_with_passphrase(&p, costly.as_bytes()),
            Err(CryptError::ExcessiveWork { required: 30 })
        ));
        let armored = wrap_with_passphrase(&p, b"secret", true).unwrap();
        assert!(armored.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
        assert_eq!(
            &unwrap_with_passphrase(&p, &armored).unwrap()[..],
            b"secret"
        );
    }

    #[test]
    fn secret_buffers_are_never_reallocated() {
        let value = serde_json::json!({"age_identity": "AGE-SECRET-KEY-1X", "n": [1, 2, 3]});
        let json = secret_json(&value);
        assert_eq!(&json[..], &serde_json::to_vec(&value).unwrap()[..]);
        assert_eq!(json.capacity(), json.len(), "sized once, never grown");
        let p = passphrase("correct horse");
        let plain = vec![7u8; 200_000];
        let ct = wrap_with_passphrase(&p, &plain, true).unwrap();
        let back = unwrap_with_passphrase(&p, &ct).unwrap();
        assert_eq!(&back[..], &plain[..]);
        assert_eq!(back.capacity(), ct.len() + 64, "sized once, never grown");
        let id = age::x25519::Identity::generate();
        let ct = encrypt_to(&[id.to_public()], &plain).unwrap();
        let back = decrypt_with(&id, &ct).unwrap();
        assert_eq!((&back[..], back.capacity()), (&plain[..], ct.len() + 64));
        let key = SealKey::generate();
        let hex = key.to_hex();
        assert_eq!((hex.len(), hex.capacity()), (64, 64));
        assert!(SealKey::from_hex(&hex[..63]).is_none());
        assert!(SealKey::from_hex(&format!("{}zz", &hex[..62])).is_none());
    }

    #[test]
    fn seal_binds_context_and_detects_tampering() {
        let key = SealKey::generate();
        let sealed = seal(&key, b"listing/1", b"meta");
        assert_eq!(&open(&key, b"listing/1", &sealed).unwrap()[..], b"meta");
        assert!(open(&key, b"listing/2", &sealed).is_err());
        let mut bad = sealed.clone();
        bad[30] ^= 1;
        assert!(open(&key, b"listing/1", &bad).is_err());
        assert!(open(&SealKey::generate(), b"listing/1", &sealed).is_err());
        let again = SealKey::from_hex(&key.to_hex()).unwrap();
        assert!(open(&again, b"listing/1", &sealed).is_ok());
    }

    #[test]
    fn recipients_and_identities_parse_with_line_numbers() {
        let id = age::x25519::Identity::generate();
        let text = format!("# DEMO\n\n{}\n", id.to_public());
        assert_eq!(parse_recipients(&text).unwrap().len(), 1);
        let err = parse_recipients("# c\nssh-ed25519 AAAA\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(parse_recipients("# only a comment\n").is_err());
        let ids = format!("# DEMO\n{}\n", id.to_string().expose_secret());
        assert_eq!(parse_identities(&ids).unwrap().len(), 1);
        assert!(parse_identities("AGE-SECRET-KEY-1XYZ\n").is_err());
    }

    // ---- fieldkit's X25519 identity against age's own ----

    /// age's identity and fieldkit's, on one stanza: the same outcome.
    fn both_unwrap(
        dm: &age::x25519::Identity,
        stanza: &age_core::format::Stanza,
    ) -> (Option<bool>, Option<bool>) {
        use age::Identity;
        let ours = X25519Identity::new(dm);
        let theirs = dm.unwrap_stanza(stanza).map(|r| r.is_ok());
        (ours.unwrap_stanza(stanza).map(|r| r.is_ok()), theirs)
    }

    fn stanza(tag: &str, args: &[&str], body: Vec<u8>) -> age_core::format::Stanza {
        age_core::format::Stanza {
            tag: tag.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            body,
        }
    }

    #[test]
    fn fieldkit_identity_opens_what_age_opens_among_other_recipients() {
        let others: Vec<age::x25519::Identity> =
            (0..3).map(|_| age::x25519::Identity::generate()).collect();
        let dm = age::x25519::Identity::generate();
        let mut to: Vec<age::x25519::Recipient> = others.iter().map(|o| o.to_public()).collect();
        to.insert(2, dm.to_public());
        let plain = "ລາວ record".repeat(500);
        let file = encrypt_to(&to, plain.as_bytes()).unwrap();
        let ours = [X25519Identity::new(&dm)];
        assert_eq!(decrypt_with_any(&ours, &file).unwrap(), plain.as_bytes());
        assert_eq!(
            decrypt_with_any(std::slice::from_ref(&dm), &file).unwrap(),
            plain.as_bytes()
        );
        // A key the file is not for.
        let stranger = [X25519Identity::new(&age::x25519::Identity::generate())];
        let err = decrypt_with_any(&stranger, &file).unwrap_err().to_string();
        assert!(
            err.contains("not encrypted to this data manager's key"),
            "{err}"
        );
        // A flipped byte of the payload is refused, as age refuses it.
        let mut bad = file.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(decrypt_with_any(&ours, &bad).is_err());
    }

    #[test]
    fn fieldkit_identity_refuses_the_stanzas_age_refuses() {
        let dm = age::x25519::Identity::generate();
        let zero = "A".repeat(43); // 32 zero bytes: a low-order point
        let point = {
            use base64::Engine;
            let secret = x25519_dalek::StaticSecret::from([7u8; 32]);
            base64::prelude::BASE64_STANDARD_NO_PAD
                .encode(x25519_dalek::PublicKey::from(&secret).as_bytes())
        };
        let cases = [
            stanza("scrypt", &["c2FsdA", "16"], vec![0; 32]),
            stanza("X25519", &[&zero], vec![0; 32]),
            stanza("X25519", &[], vec![0; 32]),
            stanza("X25519", &[&zero, &zero], vec![0; 32]),
            // Not canonical base64 (the last character carries stray bits).
            stanza("X25519", &[&format!("{}B", "A".repeat(42))], vec![0; 32]),
            stanza("X25519", &["AAAA"], vec![0; 32]),
            stanza("X25519", &[&point], vec![0; 31]),
            // A well-formed stanza for someone else: not ours, try the next.
            stanza("X25519", &[&point], vec![0; 32]),
        ];
        for (i, s) in cases.iter().enumerate() {
            let (ours, theirs) = both_unwrap(&dm, s);
            assert_eq!(ours, theirs, "case {i}");
        }
        assert_eq!(both_unwrap(&dm, &cases[0]), (None, None));
        assert_eq!(both_unwrap(&dm, &cases[1]), (Some(false), Some(false)));
        assert_eq!(both_unwrap(&dm, &cases[7]), (None, None));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

        /// Any plaintext to any number of recipients: fieldkit's identity and
        /// age's read the same bytes.
        #[test]
        fn fieldkit_identity_agrees_with_age(
            plain in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..70_000),
            others in 0usize..4,
            at in 0usize..4,
        ) {
            let dm = age::x25519::Identity::generate();
            let mut to: Vec<age::x25519::Recipient> =
                (0..others).map(|_| age::x25519::Identity::generate().to_public()).collect();
            to.insert(at.min(others), dm.to_public());
            let file = encrypt_to(&to, &plain).unwrap();
            let ours = decrypt_with_any(&[X25519Identity::new(&dm)], &file).unwrap();
            proptest::prop_assert_eq!(&ours, &plain);
            proptest::prop_assert_eq!(age::decrypt(&dm, &file).unwrap(), plain);
        }
    }
}
