//! Carrying a plan out through the Partner Center API, exactly once (DESIGN §8).
//!
//! [`client`] speaks HTTP (errors, paging, retries, the global rate limit), [`auth`]
//! holds the credentials, [`journal`] records every state change durably under a lock,
//! [`executor`] runs the phases of one `apply` run, [`status`] rebuilds where each
//! customer stands from the journal alone, and [`invitations`] and [`exec_report`] write
//! the files a partner acts on. The binary's `cli/apply.rs` is flags and glue around
//! [`executor::execute`].

pub mod auth;
mod bars;
pub mod client;
pub mod exec_report;
pub mod executor;
pub mod invitations;
pub mod journal;
pub mod status;
pub mod testplan;

/// The sha256 of a plan file's bytes, which the journal records ([`crate::fsx::sha256_hex`]).
pub fn plan_sha256(bytes: &[u8]) -> String {
    crate::fsx::sha256_hex(bytes)
}
