//! One integration-test crate that runs the real `cspmove` binary. Each area has its
//! own module; `common` holds the per-test work directory and the sandbox launcher.

mod common;
mod conventions;

mod input;

mod apply;
mod apply_calls;
mod catalog;
mod exit_codes;
mod files;
mod plan;
mod report;
mod samples;
mod sandbox;
