//! fieldkit: offline field surveys for IOM's Displacement Tracking Matrix
//! and migrant-health work. The library holds everything; `main.rs` only
//! parses the command line and maps errors to exit codes.
// No unsafe code, but for the Windows calls in `harden` that have no safe
// binding (each with its own `allow` and a SAFETY note).
#![deny(unsafe_code)]

pub mod aggregate;
pub mod assignments;
pub mod bundle;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod crypt;
pub mod delivery;
pub mod files;
pub mod form;
pub mod harden;
pub mod lang;
pub mod pack;
pub mod paths;
pub mod printable;
pub mod record;
pub mod store;
pub mod supervise;
pub mod tui;
