//! The per-form history the home page shows (issue 15 point 11): the
//! store's sealed tally counts what was sent and receipted of each form,
//! in the same write as the export and the purge, and keeps it after the
//! records leave. The screen's side is in `tui_setup.rs` (export and
//! receipt in tmux) and in the TUI's unit tests.

use std::path::PathBuf;

use crate::support::{Enumerator, stderr};

/// Two flow-monitoring records finalized (`fill`), and an empty folder
/// for the bundle.
pub(crate) fn two_records_and_a_stick(e: &Enumerator) -> PathBuf {
    let line = crate::cli::readme_fill_example();
    let out = e.fill(
        "dtm_flow_monitoring",
        &format!("{line}\n{line}\n"),
        &["--finalize"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let usb = e.dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    usb
}

#[test]
fn the_store_tallies_what_was_sent_and_receipted_per_form() {
    let e = Enumerator::init("enum-03");
    // A store that never exported has no tally, and opens fine.
    assert!(e.open().tallies().unwrap().is_empty());
    let usb = two_records_and_a_stick(&e);
    let out = e.run(&["export", "--out", usb.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let tallies = e.open().tallies().unwrap();
    let t = &tallies["dtm_flow_monitoring"];
    assert_eq!((t.sent, t.receipted), (2, 0), "{tallies:?}");
    assert!(!t.last_export.is_empty() && t.last_receipt.is_empty());
    assert_eq!(tallies.len(), 1, "only the form that was sent");

    let bundle = std::fs::read_dir(&usb).unwrap().flatten().next().unwrap();
    let signers = e.dir.path().join("signers");
    std::fs::write(&signers, format!("{}\n", e.signers_line)).unwrap();
    let receipt = e.dir.path().join("receipt.json");
    let out = crate::bundle::demo_receipt(&bundle.path(), &signers, &receipt);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = e.run(&["ack", receipt.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // The records are gone; the tally stays, receipted.
    assert_eq!(e.status()["sent"], 0);
    let tallies = e.open().tallies().unwrap();
    let t = &tallies["dtm_flow_monitoring"];
    assert_eq!((t.sent, t.receipted), (2, 2), "{tallies:?}");
    assert!(!t.last_receipt.is_empty());
    // The same receipt again purges nothing and counts nothing.
    let _ = e.run(&["ack", receipt.to_str().unwrap()]);
    assert_eq!(e.open().tallies().unwrap(), tallies);
}
