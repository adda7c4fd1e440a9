//! `fieldkit keygen --role data-manager|supervisor|deployment --out FILE`:
//! key pairs for the deployment, in the standard formats other tools read.
//! A data manager gets an age identity file (optionally passphrase-wrapped,
//! as `age -p` does, so `age -d` can read it); a supervisor (signs
//! receipts) and a deployment signer (signs round packs) get an Ed25519
//! key in OpenSSH form. The secret half is written 0600; the public half
//! is printed.

use std::path::PathBuf;

use age::secrecy::ExposeSecret;
use anyhow::Result;
use ssh_key::rand_core::OsRng;

use super::{Globals, Outcome, print_line};
use crate::crypt;
use crate::store::profile::{self, write_new};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Decrypts records: an age X25519 identity; its public half goes in keys/recipients.txt.
    DataManager,
    /// Signs receipts: an Ed25519 OpenSSH key; its public half goes in keys/supervisors.
    Supervisor,
    /// Signs round packs: an Ed25519 OpenSSH key; its public half goes in keys/deployment_signers.
    Deployment,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum)]
    pub role: Role,
    /// Where to write the secret key (must not exist yet).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Wrap the data manager's identity with a passphrase (asked twice, or --passphrase-file).
    #[arg(long)]
    pub protect: bool,
    /// The name the supervisors or deployment signers file gives this key's holder (its principal).
    #[arg(long, value_name = "ID", default_value = "supervisor")]
    pub id: String,
    /// A comment stored with the key (e.g. who holds it).
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
}

pub fn run(args: Args, globals: &Globals) -> Result<Outcome> {
    if args.out.exists() {
        anyhow::bail!(
            "{} already exists; fieldkit never overwrites a key. Choose another --out",
            args.out.display()
        );
    }
    match args.role {
        Role::DataManager => {
            let identity = age::x25519::Identity::generate();
            let public = identity.to_public().to_string();
            let mut text = zeroize::Zeroizing::new(String::new());
            if let Some(c) = &args.comment {
                for line in c.lines() {
                    text.push_str(&format!("# {line}\n"));
                }
            }
            text.push_str(&format!("# created: {}\n", crate::clock::now()));
            text.push_str(&format!("# public key: {public}\n"));
            text.push_str(identity.to_string().expose_secret());
            text.push('\n');
            let bytes = if args.protect {
                let pass = globals.passphrase("Passphrase for the new key", true)?;
                if crypt::passphrase_len(&pass) < profile::MIN_PASSPHRASE {
                    return Err(profile::ProfileError::ShortPassphrase.into());
                }
                crypt::wrap_with_passphrase(&pass, text.as_bytes(), true)?
            } else {
                text.as_bytes().to_vec()
            };
            write_new(&args.out, &bytes, true)?;
            crate::say!(
                "fieldkit: data manager identity written to {}. Add the public key below to the \
                 deployment's keys/recipients.txt; keep the file itself off the enumerators' laptops.",
                args.out.display()
            );
            print_line(&public)?;
        }
        Role::Supervisor | Role::Deployment => {
            let (who, file, namespace) = match args.role {
                Role::Supervisor => ("supervisor", "supervisors", "fieldkit-receipt"),
                _ => (
                    "deployment signer",
                    "deployment_signers",
                    crate::pack::NAMESPACE,
                ),
            };
            profile::check_enumerator_id(&args.id)?;
            let mut key = ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519)?;
            key.set_comment(
                args.comment
                    .clone()
                    .unwrap_or_else(|| format!("{}@fieldkit", args.id)),
            );
            let pem = key.to_openssh(ssh_key::LineEnding::LF)?;
            write_new(&args.out, pem.as_bytes(), true)?;
            let public = key.public_key().to_openssh()?;
            crate::say!(
                "fieldkit: {who} key written to {}. Add this line to the deployment's keys/{file}:",
                args.out.display()
            );
            crate::say!("{} namespaces=\"{namespace}\" {public}", args.id);
            print_line(&public)?;
        }
    }
    Ok(Outcome::Done)
}
