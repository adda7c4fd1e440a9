//! Signers files mean the same to fieldkit as to `ssh-keygen -Y verify`:
//! principal patterns, quoted principals, and `valid-after` /
//! `valid-before`, which retire a key (a bundle signed by an expired
//! enumerator key fails `verify`; a retired supervisor's receipt purges
//! nothing). The tests' clock is pinned (FIELDKIT_NOW, 2026-11-22 09:00
//! +07:00); ssh-keygen is given the same time with `-O verify-time`.

use std::path::Path;

use crate::bundle::{demo_receipt, export, ssh_keygen_verify, with_records};
use crate::support::{fieldkit, have, repo, stderr};

/// The pinned test clock, as ssh-keygen's `verify-time` reads it.
const TEST_TIME: &str = "20261122020000Z";

/// The enumerator's line with the principals and options changed.
fn line(signers_line: &str, principals: &str, options: &str) -> String {
    let key = signers_line
        .find("ssh-ed25519")
        .map(|at| &signers_line[at..])
        .expect("an ed25519 key");
    format!("{principals} {options} {key}\n")
}

/// `ssh-keygen -Y verify` of the bundle's manifest against `signers` as
/// `principal`, at the test clock: whether it says "Good".
fn ssh_keygen_accepts(bundle: &Path, signers: &Path, principal: &str, dir: &Path) -> bool {
    let time = format!("verify-time={TEST_TIME}");
    ssh_keygen_verify(bundle, signers, principal, dir, &["-O", &time])
        .status
        .success()
}

#[test]
fn signers_files_mean_the_same_to_fieldkit_and_ssh_keygen() {
    let test = "signers_files_mean_the_same_to_fieldkit_and_ssh_keygen";
    let (e, _) = with_records(1);
    let bundle = export(&e, &e.dir.path().join("usb"));
    let signers = e.dir.path().join("signers");
    let ns = "namespaces=\"fieldkit-bundle\"";
    // (principals, options, accepted)
    let cases = [
        ("enum-03", ns, true),
        ("enum-*", ns, true),
        ("\"enum-0?\"", ns, true),
        ("sup,*", "namespaces=\"fieldkit-*\"", true),
        ("enum-*,!enum-03", ns, false),
        ("enum-04", ns, false),
        ("enum-03", "namespaces=\"fieldkit-receipt\"", false),
        // Retired: expired before the test clock (and, as UTC, at a time).
        ("enum-03", "valid-before=\"20260101\"", false),
        ("enum-03", "valid-before=\"20261122015959Z\"", false),
        ("enum-03", "valid-before=\"20261122020000Z\"", true),
        // Not yet valid.
        ("enum-03", "valid-after=\"20270101\"", false),
        (
            "enum-03",
            "valid-after=\"20260101\",valid-before=\"20270101\"",
            true,
        ),
    ];
    let ssh = have("ssh-keygen", test);
    for (principals, options, accepted) in cases {
        std::fs::write(&signers, line(&e.signers_line, principals, options)).unwrap();
        let out = fieldkit(&[
            "verify",
            bundle.to_str().unwrap(),
            "--signers",
            signers.to_str().unwrap(),
        ]);
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert_eq!(
            out.status.code(),
            Some(if accepted { 0 } else { 1 }),
            "{principals} {options}: {said}"
        );
        if options.contains("valid-") && !accepted {
            assert!(
                said.contains("expired") || said.contains("not valid before"),
                "{principals} {options}: the refusal says why: {said}"
            );
        }
        if ssh {
            assert_eq!(
                ssh_keygen_accepts(&bundle, &signers, "enum-03", e.dir.path()),
                accepted,
                "ssh-keygen disagrees on: {principals} {options}"
            );
        }
    }
}

#[test]
fn a_retired_supervisors_receipt_purges_nothing() {
    let (e, signers) = with_records(2);
    let bundle = export(&e, &e.dir.path().join("usb"));
    let receipt = e.dir.path().join("receipt.json");
    let out = demo_receipt(&bundle, &signers, &receipt);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let shipped = std::fs::read_to_string(repo().join("keys/supervisors")).unwrap();
    let retired = shipped.replace(
        "namespaces=\"fieldkit-receipt\"",
        "namespaces=\"fieldkit-receipt\",valid-before=\"20261001\"",
    );
    assert_ne!(retired, shipped);
    let file = e.dir.path().join("supervisors");
    std::fs::write(&file, retired).unwrap();
    let out = e.run(&[
        "ack",
        receipt.to_str().unwrap(),
        "--supervisors",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("expired"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing was purged"),
        "{}",
        stderr(&out)
    );
    assert_eq!(e.status()["sent"], 2);

    // The same supervisor, still in office: the receipt purges.
    let out = e.run(&["ack", receipt.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(e.status()["sent"], 0);
}

#[test]
fn a_signers_line_ssh_keygen_would_refuse_is_named() {
    let (e, _) = with_records(1);
    let bundle = export(&e, &e.dir.path().join("usb"));
    let signers = e.dir.path().join("signers");
    std::fs::write(
        &signers,
        format!(
            "# ok\n{}",
            line(&e.signers_line, "enum-03", "valid-before=20270101")
        ),
    )
    .unwrap();
    let out = fieldkit(&[
        "verify",
        bundle.to_str().unwrap(),
        "--signers",
        signers.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("line 2: the value of valid-before must be in double quotes"),
        "{}",
        stderr(&out)
    );
}
