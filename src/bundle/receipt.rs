//! Receipts: a supervisor's signed word that a bundle arrived intact. The
//! file is JSON: `receipt` holds the exact JSON text that was signed (so
//! it can be checked byte for byte, also with `ssh-keygen -Y verify`),
//! `signature` its armored SSHSIG in the `fieldkit-receipt` namespace.

use serde::{Deserialize, Serialize};
use ssh_key::PublicKey;

use super::signers::{self, AllowedSigners, Refusal, SignatureError};

pub const FORMAT: &str = "fieldkit-receipt/1";
pub const NAMESPACE: &str = "fieldkit-receipt";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub format: String,
    pub bundle_id: String,
    pub enumerator_id: String,
    pub device_id: String,
    pub sequence: u64,
    pub manifest_sha256: String,
    pub received_at: String,
    /// The supervisor's OpenSSH public key.
    pub supervisor: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ReceiptFile {
    receipt: String,
    signature: String,
}

/// Why a receipt is not taken (or could not be signed). Each ends in
/// what to do, except where the caller says it (`ack` adds that nothing
/// was purged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("not a fieldkit receipt ({0})")]
    NotAReceipt(String),
    #[error("not a fieldkit receipt (format '{0}')")]
    OtherFormat(String),
    #[error("the receipt's supervisor key cannot be read")]
    KeyUnreadable,
    #[error("forged or damaged receipt: {0}; ask the supervisor for the receipt again")]
    Forged(SignatureError),
    #[error("the receipt is signed by a supervisor who is not in the supervisors file")]
    NotListed,
    #[error("the receipt's supervisor may not sign receipts now: {0}")]
    NotNow(Refusal),
    #[error(transparent)]
    Sign(#[from] SignatureError),
}

/// The receipt file's bytes, signed with the supervisor's key.
pub fn sign(receipt: &Receipt, key: &ssh_key::PrivateKey) -> Result<Vec<u8>, ReceiptError> {
    // Plain strings and numbers: serializing cannot fail.
    let text = serde_json::to_string(receipt).unwrap_or_default();
    let signature = signers::sign(key, NAMESPACE, text.as_bytes())?;
    let mut out = serde_json::to_vec_pretty(&ReceiptFile {
        receipt: text,
        signature,
    })
    .unwrap_or_default();
    out.push(b'\n');
    Ok(out)
}

/// Reads a receipt file and checks its signature against the supervisors
/// file: the receipt, and who signed it (their principal).
pub fn check(
    bytes: &[u8],
    supervisors: &AllowedSigners,
) -> Result<(Receipt, String), ReceiptError> {
    let (receipt, key) = genuine(bytes)?;
    let signer = supervisors
        .check_signer(None, &key, NAMESPACE)
        .map_err(|why| match why {
            Refusal::NotListed => ReceiptError::NotListed,
            other => ReceiptError::NotNow(other),
        })?;
    Ok((receipt, signer.principals.clone()))
}

/// What a receipt says of itself, checked: it reads as a receipt of this
/// format and its signature is good for the key it names. Whether that
/// key is a supervisor's is [`check`]'s.
pub fn genuine(bytes: &[u8]) -> Result<(Receipt, PublicKey), ReceiptError> {
    let not_one = |e: serde_json::Error| ReceiptError::NotAReceipt(e.to_string());
    let file: ReceiptFile = serde_json::from_slice(bytes).map_err(not_one)?;
    let receipt: Receipt = serde_json::from_str(&file.receipt).map_err(not_one)?;
    if receipt.format != FORMAT {
        return Err(ReceiptError::OtherFormat(receipt.format));
    }
    let key =
        PublicKey::from_openssh(&receipt.supervisor).map_err(|_| ReceiptError::KeyUnreadable)?;
    signers::check(
        &key,
        NAMESPACE,
        file.receipt.as_bytes(),
        file.signature.as_bytes(),
    )
    .map_err(ReceiptError::Forged)?;
    Ok((receipt, key))
}
