//! Receipts: a supervisor's signed word that a bundle arrived intact. The
//! file is JSON: `receipt` holds the exact JSON text that was signed (so
//! it can be checked byte for byte, also with `ssh-keygen -Y verify`),
//! `signature` its armored SSHSIG in the `fieldkit-receipt` namespace.
//! Format 2 adds the supervisor's verdicts on the bundle's records (from
//! `fieldkit review`): approved, or returned with comments per question;
//! format 1 receipts (no verdicts) are still read.

use serde::{Deserialize, Serialize};
use ssh_key::PublicKey;

use super::signers::{self, AllowedSigners, Refusal, SignatureError};

pub const FORMAT: &str = "fieldkit-receipt/1";
/// A receipt with verdicts.
pub const FORMAT_V2: &str = "fieldkit-receipt/2";
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
    /// Format 2: the supervisor's verdict on each record reviewed. A
    /// record of the bundle without one was received, not reviewed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verdicts: Vec<Verdict>,
}

impl Receipt {
    /// The format a receipt with these verdicts is written in: 1 without
    /// any (byte for byte what earlier fieldkits wrote), else 2.
    pub fn format_for(verdicts: &[Verdict]) -> &'static str {
        if verdicts.is_empty() {
            FORMAT
        } else {
            FORMAT_V2
        }
    }

    /// The verdict on a record's version, if the supervisor gave one.
    pub fn verdict(&self, record_id: &str, version: u32) -> Option<&Verdict> {
        self.verdicts
            .iter()
            .find(|v| v.record_id == record_id && v.version == version)
    }
}

/// A supervisor's verdict on one version of one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub record_id: String,
    pub version: u32,
    pub decision: Decision,
    /// Comments on single questions (on a returned record, what to
    /// correct).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<Comment>,
    /// A comment on the record as a whole.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The record is accepted as it is.
    Approved,
    /// The enumerator is to correct the record and finalize it again.
    Returned,
}

/// A supervisor's comment on one question of a record: `field` is the
/// answer's path as the record's values name it (`members[2]/age`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub field: String,
    pub text: String,
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
    if receipt.format != Receipt::format_for(&receipt.verdicts)
        && !(receipt.format == FORMAT_V2 && receipt.verdicts.is_empty())
    {
        return Err(ReceiptError::OtherFormat(receipt.format));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = receipt
        .verdicts
        .iter()
        .find(|v| !seen.insert((v.record_id.as_str(), v.version)))
    {
        return Err(ReceiptError::NotAReceipt(format!(
            "it gives two verdicts on record {} version {}",
            twice.record_id, twice.version
        )));
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
