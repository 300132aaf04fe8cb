//! Planning: typed rows in, a deterministic [`model::Plan`] out (DESIGN §5).
//!
//! Planning knows nothing of flags, files or terminals. It runs in parallel with rayon
//! and keeps input order so the same rows and `as_of` give the same plan for any
//! thread count.

pub mod model;

use chrono::NaiveDate;

/// Checked planning options.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub as_of: NaiveDate,
    pub lead_days: u32,
}
