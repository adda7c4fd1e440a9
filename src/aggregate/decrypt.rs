//! The workers: each takes a run of a bundle's records off the queue,
//! checks its bytes are the ones verified, decrypts every record, reads it
//! as a `FinalRecord` checked against the signed manifest, and makes its
//! rows and summary facts. Runs on every core; no files, no merge.

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender};

use super::changes;
use super::error::RecordProblem;
use super::forms::FormTables;
use super::read::changed;
use super::review::{Reviews, Status};
use super::runs::{Item, Job, Prepared, Row, RunDone, Taken};
use super::tables::{self, Layout, Line, RecordRef};
use super::versions::Plan;
use super::{Good, WorkCount, summary};
use crate::crypt;
use crate::record::{ENTITY_KEY, EntityOp};

pub(super) fn sha(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// Decrypts a record, reads it and makes its rows. The signed manifest
/// says what the record is (`item`: id, form, version) and who made it
/// (`good`): a body naming another id or form is left out (which table
/// and which id would be a guess); a body naming another enumerator or
/// device is kept, credited to the signer, and the disagreement said.
pub(super) fn prepare(
    shared: &Shared,
    data: &[u8],
    item: &Item,
    bundle: u32,
) -> Result<Prepared, RecordProblem> {
    let Shared {
        identities,
        forms,
        good,
        count,
        reviews,
        plan,
    } = *shared;
    let good = &good[bundle as usize];
    let sealed;
    let plain: &[u8] = if item.plain {
        data
    } else {
        WorkCount::count(&count.decryptions);
        sealed = crypt::decrypt_with_any(identities, data)?;
        &sealed
    };
    // A later layout is named as such, not read as a broken record.
    let record: RecordRef = serde_json::from_slice(plain).map_err(|e| {
        crate::record::unknown_format(plain).map_or_else(
            || RecordProblem::NotARecord(e.to_string()),
            RecordProblem::Format,
        )
    })?;
    record.check_format()?;
    if record.record_id != item.record_id {
        return Err(RecordProblem::OtherId {
            body: record.record_id.into_owned(),
            manifest: item.record_id.clone(),
        });
    }
    if record.form_id != item.form_id || record.form_version != item.form_version {
        return Err(RecordProblem::OtherForm {
            body_form: record.form_id.into_owned(),
            body_version: record.form_version.into_owned(),
            form: item.form_id.clone(),
            version: item.form_version.clone(),
        });
    }
    if record.version != item.version || record.supersedes != item.supersedes {
        return Err(RecordProblem::OtherVersion {
            body: record.version,
            body_supersedes: record.supersedes,
            manifest: item.version,
            supersedes: item.supersedes,
        });
    }
    let form = forms
        .iter()
        .position(|f| f.form_id == item.form_id)
        .ok_or(RecordProblem::FormNotCarried)?;
    let status = reviews.status(bundle, &item.record_id, item.version);
    let rows = rows(&forms[form].layout, &record, good, status);
    // Only a record with more than one version keeps its answers by
    // path (for the change log): the others go by as rows.
    let answers = plan
        .versioned(&item.record_id)
        .then(|| Box::new(changes::answers(&record, &forms[form].layout)));
    let model = forms[form]
        .versions
        .get(item.form_version.as_str())
        .map(|f| f.as_ref());
    let mut disagrees = Vec::new();
    if record.enumerator_id != good.enumerator_id {
        disagrees.push(format!("enumerator {:?}", record.enumerator_id));
    }
    if record.device_id != good.device_id {
        disagrees.push(format!("device {:?}", record.device_id));
    }
    let disagrees = (!disagrees.is_empty()).then(|| {
        format!(
            "its body says {}, but the bundle is signed by {} on device {}: credited to {}",
            disagrees.join(" and "),
            good.enumerator_id,
            good.device_id,
            good.enumerator_id
        )
    });
    let entity = record.values.get(ENTITY_KEY).map(|raw| {
        serde_json::from_str::<EntityOp>(raw.get())
            .map(|op| (op, record.finalized_at.to_string()))
            .map_err(|e| format!("its entity operation cannot be read ({e}); not applied"))
    });
    let digest = sha(plain);
    let mut facts = summary::Facts::of(&record, model);
    facts.enumerator = good.enumerator_id.clone();
    Ok(Prepared {
        sha: digest[..8].try_into().unwrap_or_default(),
        facts,
        form,
        rows,
        disagrees,
        entity,
        attachments: record.attachments.clone(),
        status,
        answers,
    })
}

/// A record's rows in every table of its form, credited to the bundle's
/// signer and device.
pub(super) fn rows(layout: &Layout, record: &RecordRef, good: &Good, status: Status) -> Vec<Row> {
    let mut out = Vec::new();
    let version = record.version.to_string();
    let status = status.name();
    let round = record.round.as_deref().unwrap_or("");
    for (t, table) in layout.tables.iter().enumerate() {
        if table.paradata {
            let lines = record.paradata.as_ref().map(|p| {
                tables::paradata_rows(&record.record_id, &version, round, p)
                    .into_iter()
                    .map(|line| Row { table: t, line })
            });
            out.extend(lines.into_iter().flatten());
        } else if table.repeat.is_none() {
            let mut line = Line::with_capacity(4096);
            for meta in [
                &*record.record_id,
                &good.enumerator_id,
                &good.device_id,
                &good.bundle_id,
                &record.form_version,
                &record.started,
                &record.finalized_at,
                &version,
                status,
                round,
            ] {
                line.field(meta);
            }
            tables::write_row(
                &mut line,
                table,
                &record.values,
                &layout.labels,
                &record.record_id,
            );
            out.push(Row {
                table: t,
                line: line.end(),
            });
        } else {
            for (parent, key, index, item) in tables::instances(&record.values, &table.path) {
                let mut line = Line::with_capacity(1024);
                let index = index.to_string();
                for k in [
                    &*record.record_id,
                    &parent,
                    &key,
                    &index,
                    &version,
                    status,
                    round,
                ] {
                    line.field(k);
                }
                tables::write_row(&mut line, table, &item, &layout.labels, &record.record_id);
                out.push(Row {
                    table: t,
                    line: line.end(),
                });
            }
        }
    }
    out
}

/// What every worker reads: the keys, the forms, the bundles, the
/// review statuses and which records have more than one version.
#[derive(Clone, Copy)]
pub(super) struct Shared<'a> {
    pub(super) identities: &'a [crypt::X25519Identity],
    pub(super) forms: &'a [FormTables],
    pub(super) good: &'a [Good],
    pub(super) count: &'a WorkCount,
    pub(super) reviews: &'a Reviews,
    pub(super) plan: &'a Plan,
}

/// A worker: takes runs off the queue until it is empty and closed.
pub(super) fn work(jobs: &Mutex<Receiver<Job>>, done: Sender<RunDone>, shared: Shared) {
    loop {
        let job = match jobs.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let this = &shared.good[job.bundle as usize];
        let mut out = Vec::with_capacity(job.items.len());
        let mut outcome = Ok(());
        for item in &job.items {
            let data = &job.bytes[item.at.clone()];
            // The very bytes that were verified (a stick may change under
            // us when the bundle was read again).
            if !job.verified && sha(data)[..] != item.sha256[..] {
                outcome = Err(changed(this));
                break;
            }
            out.push(Taken {
                entry: item.entry,
                record_id: item.record_id.clone(),
                version: item.version,
                result: prepare(&shared, data, item, job.bundle),
            });
        }
        let run = RunDone {
            seq: job.seq,
            bundle: job.bundle,
            outcome: outcome.map(|_| out),
        };
        if done.send(run).is_err() {
            return;
        }
    }
}
