//! What bounds an export: the records and bytes of one bundle (within the
//! supervisor's reader's caps), the records of one of the store's writes,
//! their overrides from the environment, and the steps of an export,
//! counted (with the crash tests' pause).

use anyhow::{Result, bail};

use crate::bundle::archive;
use crate::store::MoveStep;

/// At most this many records in one bundle: far below the zip's 65,535
/// entries, a manifest of a few MB, a supervisor's check in seconds.
/// Export's memory grows with one bundle's records (their ciphertext and
/// the bundle's bytes); the store records them in bounded writes.
pub const MAX_RECORDS: usize = 10_000;
/// At most this many bytes of records (ciphertext) in one bundle: a
/// bundle's zip is made in memory (its records are not held besides), so
/// a 2 GB laptop exports any outbox (it took 390 MB for 32 MiB of 13 KB
/// records until they were read one at a time and recorded in bounded
/// writes).
pub const MAX_RECORD_BYTES: u64 = 32 * 1024 * 1024;
/// Environment overrides of the two limits (tests, benchmarks).
pub const MAX_RECORDS_ENV: &str = "FIELDKIT_BUNDLE_MAX_RECORDS";
pub const MAX_BYTES_ENV: &str = "FIELDKIT_BUNDLE_MAX_BYTES";
/// Records in one of the store's writes that move a bundle's records to
/// "sent" (tests: a few, so that a small bundle takes several writes).
pub const STEP_RECORDS_ENV: &str = "FIELDKIT_EXPORT_STEP_RECORDS";
/// Test aid (crash tests): after this many steps of an export (each
/// write to the store, each bundle file written), it says so on stderr and
/// waits there to be killed.
pub const PAUSE_ENV: &str = "FIELDKIT_TEST_PAUSE_EXPORT_AFTER";
/// Bytes counted for each entry beyond its content: its two zip headers
/// and its line in the manifest (about 500 bytes), generously.
pub(super) const ENTRY_OVERHEAD: u64 = 1024;

/// How many records and bytes of records go in one bundle at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub records: usize,
    pub bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            records: MAX_RECORDS,
            bytes: MAX_RECORD_BYTES,
        }
    }
}

/// A positive whole number from the environment, if set.
fn env_number(name: &str) -> Result<Option<u64>> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => bail!("{name}={text:?} is not a positive whole number; unset it or fix it"),
        },
    }
}

impl Limits {
    /// The defaults, or what [`MAX_RECORDS_ENV`] and [`MAX_BYTES_ENV`] say.
    pub fn from_env() -> Result<Limits> {
        let read = env_number;
        let default = Limits::default();
        Ok(Limits {
            records: read(MAX_RECORDS_ENV)?.map_or(default.records, |n| {
                usize::try_from(n).unwrap_or(usize::MAX)
            }),
            bytes: read(MAX_BYTES_ENV)?.unwrap_or(default.bytes),
        })
    }

    /// Never past the reader's caps, however they were set: a record may
    /// bring its form (two entries), plus the manifest and its signature;
    /// a bundle of one record over the byte limit, its form, and the
    /// limit itself stay under the reader's total.
    pub(super) fn within_caps(self) -> Limits {
        let entries = archive::MAX_ENTRIES;
        Limits {
            records: self.records.clamp(1, (entries - 2) / 2),
            bytes: self.bytes.min(archive::MAX_BUNDLE_BYTES / 4),
        }
    }
}

/// The steps of an export, counted as they are done: each write to the
/// store and each bundle file written.
pub struct Steps {
    done: usize,
    /// Records in one write of a bundle's move to "sent".
    moves: MoveStep,
    /// [`PAUSE_ENV`]: the step after which to wait to be killed.
    pause_after: Option<u64>,
}

impl Steps {
    /// Counted from 0, with [`STEP_RECORDS_ENV`] and [`PAUSE_ENV`] read.
    pub fn from_env() -> Result<Steps> {
        let default = MoveStep::default();
        Ok(Steps {
            done: 0,
            moves: MoveStep {
                records: env_number(STEP_RECORDS_ENV)?.map_or(default.records, |n| {
                    usize::try_from(n).unwrap_or(usize::MAX)
                }),
                ..default
            },
            pause_after: env_number(PAUSE_ENV)?,
        })
    }

    /// What one write of a bundle's move to "sent" holds at most.
    pub(super) fn moves(&self) -> MoveStep {
        self.moves
    }

    pub(super) fn step(&mut self, what: &str) {
        self.done += 1;
        if self.pause_after == u64::try_from(self.done).ok() {
            eprintln!(
                "fieldkit: {PAUSE_ENV}: paused after step {} ({what})",
                self.done
            );
            loop {
                std::thread::park();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_never_pass_the_readers_caps() {
        let wild = Limits {
            records: usize::MAX,
            bytes: u64::MAX,
        }
        .within_caps();
        assert!(wild.records * 2 + 2 <= archive::MAX_ENTRIES);
        let worst =
            wild.bytes + wild.records as u64 * ENTRY_OVERHEAD + 2 * archive::MAX_ENTRY_BYTES as u64;
        assert!(worst < archive::MAX_BUNDLE_BYTES);
        assert_eq!(Limits::default().within_caps(), Limits::default());
    }
}
