//! One integration-test crate that runs the real `cspmove` binary. Each area has its
//! own module; `common` holds the per-test work directory and the sandbox launcher.

mod common;
mod conventions;

// The synthetic plan of the report tests (src/report/demo.rs) is a test helper, not
// cspmove's API: the library compiles it for its own unit tests only, and this crate
// compiles the same file, whose `crate::` paths these names resolve.
#[path = "../../src/report/demo.rs"]
mod demo;
use cspmove::{GENERATED_BY, i18n, model};

mod input;
mod lang;

mod apply;
mod apply_calls;
mod apply_dry_run;
mod catalog;
mod exit_codes;
mod files;
mod plan;
mod report;
mod samples;
mod sandbox;
