//! cspmove: move Microsoft 365 customers from license-based programs into CSP.
//!
//! The pipeline reads left to right in `src/`: [`input`] turns partner exports into
//! typed rows ([`model`] types with their spreadsheet row numbers), [`plan`] turns rows
//! into a deterministic plan file, looking products up in the [`catalog`]; [`report`]
//! renders a plan for people; [`apply`] carries a plan out through the Partner Center
//! API (its client, journal and executor) and writes invitations and execution reports;
//! [`sandbox`] emulates that API on loopback. Beneath them: [`model`] (the plan and its
//! reader), [`i18n`] (every human text, in English, Korean and Japanese), [`fsx`] (the one
//! atomic file writer and sha256) and [`text`] (the one text normaliser for headers and
//! offers). The binary (`src/main.rs` with `src/cli/`) only parses flags, calls these and
//! chooses the exit code.
//!
//! Data flows one way. Each module may use only the modules in its row (and, through
//! them, nothing else); the test in `src/layers.rs` reads this table and fails on any
//! other `crate::` use outside test code:
//!
//! | module | may use |
//! | --- | --- |
//! | `fsx` | — |
//! | `text` | — |
//! | `model` | `fsx`, `text` |
//! | `i18n` | `model` |
//! | `input` | `model`, `fsx`, `text` |
//! | `catalog` | `model`, `input`, `i18n`, `fsx`, `text` |
//! | `plan` | `model`, `input`, `catalog`, `i18n`, `fsx`, `text` |
//! | `report` | `model`, `i18n`, `fsx`, `text` |
//! | `apply` | `model`, `catalog`, `report`, `i18n`, `fsx`, `text` |
//! | `sandbox` | `model`, `catalog`, `fsx`, `text` |
//!
//! So `input` knows nothing of planning, `plan` nothing of reports, the API or the
//! emulator, `report` nothing of how a plan is made or carried out, and `apply` nothing
//! of how rows are read or planned (it reads the plan file). `apply` uses `report` only
//! for the one formula-neutralising rule of CSV cells ([`report::safe`]).

pub mod apply;
pub mod catalog;
pub mod fsx;
pub mod i18n;
pub mod input;
#[cfg(test)]
mod layers;
pub mod model;
pub mod plan;
pub mod report;
pub mod sandbox;
pub mod text;

/// `cspmove 0.1.0`, as written into plans and reports.
pub const GENERATED_BY: &str = concat!("cspmove ", env!("CARGO_PKG_VERSION"));
