//! cspmove: move Microsoft 365 customers from license-based programs into CSP.
//!
//! The pipeline reads left to right in `src/`: [`input`] turns partner exports into
//! typed rows, [`plan`] turns rows into a deterministic plan file, [`report`] renders a
//! plan for people, [`apply`] carries a plan out through the Partner Center API (its
//! client, journal and executor), and [`sandbox`] emulates that API on loopback. The
//! binary (`src/main.rs` with `src/cli/`) only parses flags and calls these.

pub mod apply;
pub mod catalog;
pub mod fsx;
pub mod i18n;
pub mod input;
pub mod model;
pub mod plan;
pub mod report;
pub mod sandbox;
pub mod text;

/// `cspmove 0.1.0`, as written into plans and reports.
pub const GENERATED_BY: &str = concat!("cspmove ", env!("CARGO_PKG_VERSION"));
