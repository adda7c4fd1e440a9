//! Process hardening done once at start: no core dumps. A core of the
//! running screen would hold the profile's secret keys and the open draft
//! in plain text, so the process asks the system never to write one.
//!
//! - Unix: the core file size limit is set to 0 (soft and hard, so nothing
//!   started from fieldkit can raise it again).
//! - Linux: the process is also marked not dumpable (`PR_SET_DUMPABLE` 0),
//!   which covers core handlers that pipe cores to a program
//!   (`systemd-coredump`, `apport`) whatever the limit says, and keeps other
//!   processes of the same user from attaching a debugger or reading
//!   `/proc/PID/mem`.
//! - Windows: nothing is done yet. Windows Error Reporting writes dumps
//!   only where `LocalDumps` is configured in the registry; the calls that
//!   would opt out (`WerAddExcludedApplication`, `SetErrorMode`) need
//!   `unsafe` bindings, which this crate forbids.

/// What could not be hardened, as sentences (empty when all went well).
/// Failing to harden never stops fieldkit: the caller may say so.
pub fn no_core_dumps() -> Vec<String> {
    #[allow(unused_mut)]
    let mut failed = Vec::new();
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, setrlimit};
        let zero = Rlimit {
            current: Some(0),
            maximum: Some(0),
        };
        if let Err(e) = setrlimit(Resource::Core, zero) {
            failed.push(format!("cannot turn off core dumps: {e}"));
        }
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::process::{DumpableBehavior, set_dumpable_behavior};
        if let Err(e) = set_dumpable_behavior(DumpableBehavior::NotDumpable) {
            failed.push(format!("cannot mark the process not dumpable: {e}"));
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    #[test]
    fn hardening_succeeds_here() {
        assert_eq!(super::no_core_dumps(), Vec::<String>::new());
        #[cfg(unix)]
        assert_eq!(
            rustix::process::getrlimit(rustix::process::Resource::Core).maximum,
            Some(0)
        );
        #[cfg(target_os = "linux")]
        assert_eq!(
            rustix::process::dumpable_behavior().ok(),
            Some(rustix::process::DumpableBehavior::NotDumpable)
        );
    }
}
