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
//! - Windows: Windows Error Reporting (WER) is what writes a crashed
//!   program's memory to disk. The process turns off WER's crash dialog
//!   (`SetErrorMode` with `SEM_NOGPFAULTERRORBOX`, so no report is offered
//!   for sending), asks that any report WER still makes leave out the heap,
//!   where keys and answers live (`WerSetFlags` with
//!   `WER_FAULT_REPORTING_FLAG_NOHEAP`), and adds `fieldkit.exe` to the
//!   current user's list of programs WER leaves alone
//!   (`WerAddExcludedApplication`, under HKEY_CURRENT_USER; no
//!   administrator rights needed). An administrator's `LocalDumps` policy
//!   for the whole machine is theirs to set: the README says to leave it
//!   off on field laptops. These calls have no safe binding: the one
//!   `unsafe` block of the crate is here.

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
    #[cfg(windows)]
    windows::no_crash_dumps(&mut failed);
    failed
}

#[cfg(windows)]
#[allow(unsafe_code)]
mod windows {
    use windows_sys::Win32::System::Diagnostics::Debug::{
        SEM_FAILCRITICALERRORS, SEM_NOGPFAULTERRORBOX, SetErrorMode,
    };
    use windows_sys::Win32::System::ErrorReporting::{
        WER_FAULT_REPORTING_FLAG_NOHEAP, WerAddExcludedApplication, WerSetFlags,
    };

    pub(super) fn no_crash_dumps(failed: &mut Vec<String>) {
        // SAFETY: SetErrorMode takes flags by value and only changes this
        // process's error mode; it cannot fail.
        unsafe { SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX) };
        // SAFETY: WerSetFlags takes flags by value and returns an HRESULT.
        let hr = unsafe { WerSetFlags(WER_FAULT_REPORTING_FLAG_NOHEAP) };
        if hr < 0 {
            failed.push(format!(
                "cannot keep the heap out of crash reports (error {hr:#x})"
            ));
        }
        let name = std::env::current_exe()
            .ok()
            .and_then(|path| path.file_name().map(|n| n.to_os_string()));
        let Some(name) = name else {
            failed.push("cannot exclude fieldkit from crash reports: no program name".into());
            return;
        };
        use std::os::windows::ffi::OsStrExt;
        let wide: Vec<u16> = name.encode_wide().chain(Some(0)).collect();
        // SAFETY: `wide` is a NUL-terminated UTF-16 string that outlives
        // the call; WER copies it into the registry and keeps no pointer.
        let hr = unsafe { WerAddExcludedApplication(wide.as_ptr(), 0) };
        if hr < 0 {
            failed.push(format!(
                "cannot exclude fieldkit from crash reports (error {hr:#x})"
            ));
        }
    }
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
