//! Integration tests, one binary: the engine on real form files, and the
//! real `fieldkit` binary driven as a user would.

#![recursion_limit = "512"]

mod aggregate;
mod bundle;
mod cli;
mod corrections;
mod crash;
mod entities;
mod entity_rounds;
mod entry;
mod export;
mod fuzz;
mod golden;
mod hostile;
mod hostile_forms;
mod language;
mod lao_search;
mod load_errors;
mod media;
mod pack;
mod paradata;
#[cfg(feature = "parquet")]
mod parquet;
mod profile;
mod readme;
mod report;
mod resume;
mod review;
mod review_loop;
mod review_views;
#[cfg(feature = "parquet")]
mod rounds_parquet;
mod sessions;
mod shipped;
mod signers;
mod store;
mod support;
mod tables;
mod terminal;
mod tui_e2e;
mod tui_history;
mod tui_setup;
mod value_labels;
#[cfg(feature = "warehouse")]
mod warehouse;
mod xlsform;
mod xlsform_fuzz;
mod xlsform_pyxform;
