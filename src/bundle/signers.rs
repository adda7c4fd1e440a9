//! OpenSSH `allowed_signers` files (`keys/allowed_signers` for
//! enumerators, `keys/supervisors` for receipts) and SSHSIG checks against
//! them, as `ssh-keygen -Y verify` does: the principal must be listed with
//! this key, and the line's `namespaces=` (when given) must allow the
//! namespace. Certificate authorities are not supported and are refused.

use ssh_key::{PublicKey, SshSig};

/// One usable line: principals, allowed namespaces (None: any), key.
#[derive(Debug, Clone)]
pub struct Signer {
    pub principals: Vec<String>,
    pub namespaces: Option<Vec<String>>,
    pub key: PublicKey,
}

#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    pub signers: Vec<Signer>,
}

impl AllowedSigners {
    /// Parses the file; a line that cannot be read is an error naming it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut signers = Vec::new();
        for (i, line) in text.trim_start_matches('\u{FEFF}').lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: &str| format!("line {}: {why}", i + 1);
            let (principals, rest) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| bad("a principal and a key are needed"))?;
            let mut rest = rest.trim_start();
            let mut namespaces = None;
            // Options come before the key type, comma-separated, values quoted.
            if !rest.starts_with("ssh-") && !rest.starts_with("ecdsa-") && !rest.starts_with("sk-")
            {
                let end = option_end(rest);
                let options = &rest[..end];
                rest = rest[end..].trim_start();
                for option in split_options(options) {
                    let (name, value) = option.split_once('=').unwrap_or((option, ""));
                    match name.to_ascii_lowercase().as_str() {
                        "namespaces" => {
                            namespaces = Some(
                                value
                                    .trim_matches('"')
                                    .split(',')
                                    .map(str::to_string)
                                    .collect(),
                            )
                        }
                        "cert-authority" => {
                            return Err(bad("cert-authority lines are not supported"));
                        }
                        // valid-after / valid-before: not enforced.
                        _ => {}
                    }
                }
            }
            let key = PublicKey::from_openssh(rest)
                .map_err(|e| bad(&format!("not an OpenSSH public key ({e})")))?;
            signers.push(Signer {
                principals: principals.split(',').map(str::to_string).collect(),
                namespaces,
                key,
            });
        }
        Ok(AllowedSigners { signers })
    }

    /// The first line that lists `principal` with `key` for `namespace`.
    pub fn find(
        &self,
        principal: Option<&str>,
        key: &PublicKey,
        namespace: &str,
    ) -> Option<&Signer> {
        self.signers.iter().find(|s| {
            s.key.key_data() == key.key_data()
                && principal.is_none_or(|p| s.principals.iter().any(|x| x == p))
                && s.namespaces
                    .as_ref()
                    .is_none_or(|n| n.iter().any(|x| x == namespace))
        })
    }
}

fn option_end(s: &str) -> usize {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return i,
            _ => {}
        }
    }
    s.len()
}

fn split_options(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Checks an armored SSHSIG over `message`: made by `key`, for `namespace`.
pub fn check(
    key: &PublicKey,
    namespace: &str,
    message: &[u8],
    armored: &[u8],
) -> Result<(), String> {
    let sig =
        SshSig::from_pem(armored).map_err(|e| format!("the signature cannot be read ({e})"))?;
    if sig.namespace() != namespace {
        return Err(format!(
            "the signature is for '{}', not '{namespace}'",
            sig.namespace()
        ));
    }
    if sig.public_key() != key.key_data() {
        return Err("the signature was made with another key than the one named".into());
    }
    key.verify(namespace, message, &sig)
        .map_err(|_| "bad signature: the signed bytes were changed".to_string())
}

/// Signs `message` for `namespace`: an armored SSHSIG (SHA-512).
pub fn sign(key: &ssh_key::PrivateKey, namespace: &str, message: &[u8]) -> Result<String, String> {
    key.sign(namespace, ssh_key::HashAlg::Sha512, message)
        .and_then(|s| s.to_pem(ssh_key::LineEnding::LF))
        .map_err(|e| format!("cannot sign: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::rand_core::OsRng;

    #[test]
    fn parses_options_and_checks_principal_key_and_namespace() {
        let key = ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).unwrap();
        let public = key.public_key().to_openssh().unwrap();
        let text = format!(
            "# comment\nenum-03,enum-3b namespaces=\"fieldkit-bundle,other\" {public}\nsup {public}\n"
        );
        let signers = AllowedSigners::parse(&text).unwrap();
        assert_eq!(signers.signers.len(), 2);
        let pk = key.public_key();
        assert!(
            signers
                .find(Some("enum-3b"), pk, "fieldkit-bundle")
                .is_some()
        );
        assert!(
            signers
                .find(Some("enum-04"), pk, "fieldkit-bundle")
                .is_none()
        );
        assert!(
            signers
                .find(Some("enum-03"), pk, "fieldkit-receipt")
                .is_none()
        );
        assert!(signers.find(Some("sup"), pk, "fieldkit-receipt").is_some());
        let sig = sign(&key, "fieldkit-bundle", b"manifest").unwrap();
        assert!(check(pk, "fieldkit-bundle", b"manifest", sig.as_bytes()).is_ok());
        assert!(check(pk, "fieldkit-bundle", b"manifesT", sig.as_bytes()).is_err());
        assert!(check(pk, "fieldkit-receipt", b"manifest", sig.as_bytes()).is_err());
        let err = AllowedSigners::parse("enum-03 not-a-key AAAA\n").unwrap_err();
        assert!(err.starts_with("line 1"), "{err}");
        assert!(AllowedSigners::parse(&format!("ca cert-authority {public}\n")).is_err());
    }
}
