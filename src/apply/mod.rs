//! Carrying a plan out through the Partner Center API, exactly once (DESIGN §8).
//!
//! The layers, lowest first: [`http`] (the reqwest client, endpoint rules, text without
//! secrets), [`auth`] (credentials and tokens), [`client`] (Partner Center calls: errors,
//! paging, retries, the global rate limit) with [`pc`] (the typed bodies it reads), and
//! [`journal`] (every state change, durable, under a lock). On top: [`run`] (one `apply`
//! run and its workers), [`due`] (which lines a run works on, shared with [`dry_run`]),
//! `purchase` (carts and legacy orders), `reconcile` (after an ambiguous purchase),
//! `licenses` (licence moves), [`preflight`] (`cspmove doctor` and the start of every
//! run), [`status`] (where each customer stands, from the journal alone) with
//! [`reason`] (why a customer is blocked or a line cannot be bought, as data), and
//! [`invitations`] and [`exec_report`] (the files a partner acts on). Progress is
//! reported through [`progress::Observer`]; the binary draws it. Every public function
//! returns its own typed error or the layer's one [`ApplyError`] ([`error`]), never a
//! string.

pub mod auth;
pub mod client;
pub mod dry_run;
pub mod due;
pub mod error;
pub mod exec_report;
pub mod http;
pub mod invitations;
pub mod journal;
pub(crate) mod licenses;
pub mod pc;
pub mod preflight;
pub mod progress;
pub(crate) mod purchase;
pub mod reason;
pub(crate) mod reconcile;
pub mod run;
pub mod status;
// Synthetic plans for the integration tests (tests/cli) and the benchmark example, which
// can reach only the library's public items; not part of the API, so hidden from docs.
#[doc(hidden)]
pub mod testplan;

pub use error::{ApplyError, StopReason};
