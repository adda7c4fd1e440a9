//! fieldkit: offline field surveys for IOM's Displacement Tracking Matrix
//! and migrant-health work. The library holds everything; `main.rs` only
//! parses the command line and maps errors to exit codes.
#![forbid(unsafe_code)]

pub mod aggregate;
pub mod bundle;
pub mod cli;
pub mod commands;
pub mod crypt;
pub mod form;
pub mod harden;
pub mod paths;
pub mod printable;
pub mod record;
pub mod store;
pub mod tui;
