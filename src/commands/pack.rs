//! `fieldkit pack build|verify|import`: round packs, what a data manager sends to
//! the laptops for a round (forms and their lists, entity lists,
//! assignments, the deployment's keys), signed with a deployment signer's
//! key. `build` checks every file as a laptop would before it signs
//! anything (forms load, keys and signers files parse); `verify` checks a
//! pack against the deployment signers; `import` verifies a pack against
//! the signers pinned on the laptop and the pack installed, checks that
//! every form in it loads, and installs it in one atomic write. Exit 0 ok,
//! 1 a pack is bad (nothing installed), 2 the job could not be done.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::{Globals, Outcome, print_json, print_line};
use crate::bundle::archive;
use crate::delivery;
use crate::files::{self, read_bundle};
use crate::pack::{self, NO_PREVIOUS, Plan};
use crate::store::profile::write_new;

#[derive(Debug, clap::Subcommand)]
pub enum PackCommand {
    /// Data manager: build and sign the next round pack.
    Build(Box<BuildArgs>),
    /// Check round packs against the deployment signers; exit 0 ok, 1 bad.
    Verify(VerifyArgs),
    /// Enumerator's laptop: verify a round pack against the pinned signers and install it.
    Import(ImportArgs),
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The pack file (fieldkit-pack-<deployment>-<sequence>.zip).
    #[arg(value_name = "PACK")]
    pub pack: PathBuf,
    /// Pin these deployment signers first, on a laptop set up before
    /// packs (once: later changes come only in signed packs).
    #[arg(long, value_name = "FILE")]
    pub pin_signers: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// A deployment signer's OpenSSH private key (`fieldkit keygen --role deployment`).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The folder to write the pack into (e.g. a USB stick).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The pack this one follows (the last one built): its deployment,
    /// and the next sequence number. Without it, the deployment's first pack.
    #[arg(long, value_name = "PACK")]
    pub previous: Option<PathBuf>,
    /// The deployment's id (letters, digits, '-' and '_'); needed for the first pack.
    #[arg(long, value_name = "ID")]
    pub deployment: Option<String>,
    /// The round this pack is for, e.g. "R2-2026".
    #[arg(long, value_name = "CODE", default_value = "")]
    pub round: String,
    /// Forms (*.toml) and the CSV lists they read (*.csv), from this folder.
    #[arg(long, value_name = "DIR")]
    pub forms: Option<PathBuf>,
    /// Choice lists (*.csv) to install beside the forms.
    #[arg(long, value_name = "DIR")]
    pub lists: Option<PathBuf>,
    /// Entity lists (*.csv): last round's sites, villages...
    #[arg(long, value_name = "DIR")]
    pub entities: Option<PathBuf>,
    /// Assignments (CSV): who visits what this round.
    #[arg(long, value_name = "FILE")]
    pub assignments: Option<PathBuf>,
    /// The data managers' age recipients that records are encrypted to.
    #[arg(long, value_name = "FILE")]
    pub recipients: Option<PathBuf>,
    /// Who may sign bundles (allowed_signers).
    #[arg(long, value_name = "FILE")]
    pub signers: Option<PathBuf>,
    /// Who may sign receipts (supervisors).
    #[arg(long, value_name = "FILE")]
    pub supervisors: Option<PathBuf>,
    /// New deployment signers (to rotate them; the laptops take it only
    /// from a pack signed by a signer they have pinned).
    #[arg(long, value_name = "FILE")]
    pub deployment_signers: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Pack files.
    #[arg(value_name = "PACK", required = true)]
    pub packs: Vec<PathBuf>,
    /// The deployment signers (default: keys/deployment_signers).
    #[arg(long, value_name = "FILE")]
    pub signers: Option<PathBuf>,
    /// Print one JSON report.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: PackCommand, globals: &Globals) -> Result<Outcome> {
    match cmd {
        PackCommand::Build(args) => build(*args),
        PackCommand::Verify(args) => verify(args),
        PackCommand::Import(args) => import(args, globals),
    }
}

fn build(args: BuildArgs) -> Result<Outcome> {
    let key = files::signing_key(
        &args.key,
        "a deployment signer's key",
        "'pack build' needs a deployment signer's OpenSSH private key",
        "fieldkit keygen --role deployment --id YOUR-ID --out FILE",
    )?;
    if !args.out.is_dir() {
        bail!(
            "{} is not a folder; plug in the USB stick or create the folder, then try again",
            args.out.display()
        );
    }
    let (deployment, sequence, prev) = follows(&args)?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(dir) = &args.forms {
        files.extend(forms(dir)?);
    }
    for (dir, folder) in [(&args.lists, "lists"), (&args.entities, "entities")] {
        if let Some(dir) = dir {
            for (name, data) in folder_files(dir, &["csv"])? {
                files.push((format!("{folder}/{name}"), data));
            }
        }
    }
    let singles = [
        (&args.assignments, "assignments.csv"),
        (&args.recipients, "keys/recipients.txt"),
        (&args.signers, "keys/allowed_signers"),
        (&args.supervisors, "keys/supervisors"),
        (&args.deployment_signers, "keys/deployment_signers"),
    ];
    for (given, path) in singles {
        if let Some(file) = given {
            let data = std::fs::read(file)
                .with_context(|| format!("cannot read {}; check the path", file.display()))?;
            delivery::pack::check_keys_file(path, &file.display().to_string(), &data)?;
            files.push((path.to_string(), data));
        }
    }
    // Every form loads as a laptop will load it: with the pack's lists
    // and entity lists.
    if let Err(problems) = delivery::pack::forms_load(&files) {
        bail!(
            "a form of the pack does not load, so no pack was written (laptops would refuse \
             it):\n  {}\n'fieldkit forms check' on the forms folder shows every problem",
            problems.join("\n  ")
        );
    }
    if files.is_empty() {
        bail!(
            "nothing to put in the pack: give --forms, --lists, --entities, --assignments or \
             keys (--recipients, --signers, --supervisors, --deployment-signers)"
        );
    }
    let count = files.len();
    let created_at = crate::clock::now().to_string();
    let built = pack::build(
        Plan {
            deployment: &deployment,
            sequence,
            prev_pack_sha256: &prev,
            round: &args.round,
            created_at: &created_at,
            files,
        },
        &key,
    )?;
    let path = args.out.join(pack::file_name(&deployment, sequence));
    write_new(&path, &built.zip, false)?;
    crate::say!(
        "fieldkit: pack {sequence} of '{deployment}'{} written: {count} file(s); check it with \
         'fieldkit pack verify'",
        if args.round.is_empty() {
            String::new()
        } else {
            format!(" (round {})", args.round)
        }
    );
    print_line(&path.display().to_string())?;
    Ok(Outcome::Done)
}

/// The deployment, the sequence and the previous pack's hash: from the
/// previous pack when given (read strictly; its signature checked against
/// the key it names, so a damaged file is not chained to), else a first pack.
fn follows(args: &BuildArgs) -> Result<(String, u64, String)> {
    let Some(previous) = &args.previous else {
        let Some(deployment) = args.deployment.clone() else {
            bail!(
                "give --deployment ID for a deployment's first pack, or --previous PACK (the \
                 last pack built) for the next one"
            );
        };
        return Ok((deployment, 1, NO_PREVIOUS.into()));
    };
    let bytes = read_bundle(previous)?;
    let bad = |why: String| anyhow::anyhow!("the previous pack {}: {why}", previous.display());
    let entries = archive::read(&bytes).map_err(|e| bad(e.to_string()))?;
    let find = |name: &str| entries.iter().find(|e| e.name == name).map(|e| e.data);
    let manifest_bytes = find(pack::MANIFEST).ok_or_else(|| bad("no manifest.json".into()))?;
    let manifest: pack::Manifest =
        serde_json::from_slice(manifest_bytes).map_err(|e| bad(format!("its manifest: {e}")))?;
    let signer = ssh_key::PublicKey::from_openssh(&manifest.signer)
        .map_err(|e| bad(format!("its signer: {e}")))?;
    let sig = find(pack::SIGNATURE).ok_or_else(|| bad("it is not signed".into()))?;
    crate::bundle::signers::check(&signer, pack::NAMESPACE, manifest_bytes, sig)
        .map_err(|e| bad(e.to_string()))?;
    if let Some(given) = &args.deployment
        && *given != manifest.deployment
    {
        bail!(
            "--deployment {given} but the previous pack {} is of '{}'",
            previous.display(),
            manifest.deployment
        );
    }
    Ok((
        manifest.deployment,
        manifest.sequence + 1,
        crate::crypt::sha256_hex(manifest_bytes),
    ))
}

/// The forms of `dir` (each must load, with the lists beside it) and
/// their CSV lists.
fn forms(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    Ok(folder_files(dir, &["toml", "csv"])?
        .into_iter()
        .map(|(name, data)| (format!("forms/{name}"), data))
        .collect())
}

/// The files of `dir` with one of `kinds` as extension, by name.
fn folder_files(dir: &Path, kinds: &[&str]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let listing = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}; check the path", dir.display()))?;
    for entry in listing {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        let kind = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !path.is_file() || !kinds.contains(&kind) {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{}: a file name that is not UTF-8", path.display()))?
            .to_string();
        let data =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        out.push((name, data));
    }
    out.sort();
    Ok(out)
}

fn verify(args: VerifyArgs) -> Result<Outcome> {
    let signers = files::signers(args.signers.as_deref(), "deployment_signers")?;
    let mut reports = Vec::new();
    for file in &args.packs {
        let bytes = read_bundle(file)?;
        let (report, _) = pack::verify::verify(&file.display().to_string(), &bytes, &signers, None);
        reports.push(report);
    }
    let ok = reports.iter().all(|r| r.ok);
    if args.json {
        print_json(&json!({ "ok": ok, "packs": reports }), true)?;
    } else {
        for r in &reports {
            let what = match (&r.deployment, r.sequence) {
                (Some(d), Some(n)) => format!(
                    "pack {n} of '{d}'{}, {} file(s){}",
                    r.round
                        .as_deref()
                        .filter(|x| !x.is_empty())
                        .map(|x| format!(" (round {x})"))
                        .unwrap_or_default(),
                    r.files,
                    r.signed_by
                        .as_deref()
                        .map(|s| format!(", signed by {s}"))
                        .unwrap_or_default()
                ),
                _ => String::new(),
            };
            super::print_checked(r.ok, &r.file, &what, &r.problems)?;
        }
    }
    Ok(if ok { Outcome::Done } else { Outcome::Invalid })
}

fn import(args: ImportArgs, globals: &Globals) -> Result<Outcome> {
    let bytes = read_bundle(&args.pack)?;
    let store = globals.open_store()?;
    let now = crate::clock::now().to_string();
    if let Some(file) = &args.pin_signers {
        let text = files::deployment_signers(Some(file))?.unwrap_or_default();
        store.pin_signers(&text, &now)?;
        crate::say!(
            "fieldkit: deployment signers from {} pinned",
            file.display()
        );
    }
    let name = args.pack.display().to_string();
    let done = match delivery::pack::import(&store, &bytes, &name, &now)? {
        Ok(done) => done,
        Err(refused) => {
            for p in &refused.problems {
                crate::say!("fieldkit: {name}: {p}");
            }
            crate::say!("fieldkit: nothing installed: {}", refused.why);
            return Ok(Outcome::Invalid);
        }
    };
    crate::say!("fieldkit: {} installed: {}", done.pack(), done.counts());
    let changes = &done.changes;
    for (what, paths) in [
        ("added", &changes.added),
        ("changed", &changes.changed),
        ("removed", &changes.removed),
    ] {
        for p in paths {
            print_line(&format!("{what} {p}"))?;
        }
    }
    Ok(Outcome::Done)
}
