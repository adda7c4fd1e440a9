//! OpenSSH ed25519 keys as age recipients and identities (age's `ssh`
//! feature, what `age -R KEY.pub` and `age -d -i KEY` do): how a record's
//! review view reaches the supervisors, whose signing keys decrypt it.

use std::str::FromStr;

use super::{CryptError, encrypt};

/// Encrypts to OpenSSH ed25519 public keys (age's `ssh-ed25519`
/// recipients, as `age -R` does with an OpenSSH key): how a record's
/// review view reaches the supervisors, whose signing keys decrypt it.
pub fn encrypt_to_ssh(
    keys: &[ssh_key::PublicKey],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptError> {
    let recipients = keys
        .iter()
        .map(|k| {
            let line = k
                .to_openssh()
                .map_err(|e| CryptError::Encrypt(e.to_string()))?;
            age::ssh::Recipient::from_str(&line)
                .map_err(|_| CryptError::Encrypt(format!("not an ssh-ed25519 key: {line}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    encrypt(
        recipients.iter().map(|r| r as &dyn age::Recipient),
        plaintext.len() + 200 + 120 * keys.len(),
        plaintext,
    )
}

/// An OpenSSH private key as an age identity (unencrypted keys, as
/// `fieldkit keygen` writes them).
pub fn ssh_identity(key: &ssh_key::PrivateKey) -> Result<age::ssh::Identity, CryptError> {
    let text = key
        .to_openssh(ssh_key::LineEnding::LF)
        .map_err(|e| CryptError::Malformed(e.to_string()))?;
    age::ssh::Identity::from_buffer(text.as_bytes(), None)
        .map_err(|e| CryptError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypt::decrypt_with_any;

    #[test]
    fn ssh_ed25519_keys_are_recipients_their_private_keys_decrypt() {
        let key = |seed: u8| {
            ssh_key::PrivateKey::from(ssh_key::private::Ed25519Keypair::from_seed(&[seed; 32]))
        };
        let (a, b, c) = (key(1), key(2), key(3));
        let ct =
            encrypt_to_ssh(&[a.public_key().clone(), b.public_key().clone()], b"view").unwrap();
        for k in [&a, &b] {
            let plain = decrypt_with_any(&[ssh_identity(k).unwrap()], &ct).unwrap();
            assert_eq!(plain, b"view");
        }
        assert!(matches!(
            decrypt_with_any(&[ssh_identity(&c).unwrap()], &ct),
            Err(CryptError::NotForTheseKeys)
        ));
        // The reference CLI reads the same file with the key as a file.
        let Ok(out) = std::process::Command::new("age").arg("--version").output() else {
            eprintln!("SKIP age CLI check: the age command is not installed (apt-get install age)");
            return;
        };
        assert!(out.status.success());
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("supervisor");
        std::fs::write(&key_file, a.to_openssh(ssh_key::LineEnding::LF).unwrap()).unwrap();
        let ct_file = dir.path().join("view.age");
        std::fs::write(&ct_file, &ct).unwrap();
        let out = std::process::Command::new("age")
            .args(["-d", "-i"])
            .arg(&key_file)
            .arg(&ct_file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, b"view");
    }
}
