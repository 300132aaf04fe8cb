//! `cspmove apply`: carry out what is due in a plan.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan file written by `cspmove plan`.
    #[arg(value_name = "PLAN.json")]
    pub plan: PathBuf,
    /// Partner Center base URL (e.g. https://api.partnercenter.microsoft.com). Plain
    /// http:// is refused except to loopback.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "sandbox",
        required_unless_present = "sandbox"
    )]
    pub endpoint: Option<String>,
    /// Run against an in-process sandbox seeded from the plan (a rehearsal; nothing is bought).
    #[arg(long)]
    pub sandbox: bool,
    /// Customers worked on at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,
    /// Requests per second across the whole run (Partner Center allows about 500/minute).
    #[arg(long, value_name = "N", default_value_t = 8.0)]
    pub rate: f64,
    /// Journal of every state change (default: PLAN.journal.jsonl beside the plan).
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Only these customers (customer ID, domain or plan key); repeatable.
    #[arg(long, value_name = "CUSTOMER")]
    pub only: Vec<String>,
    /// Provision every line now instead of on its `provision_on` date.
    #[arg(long)]
    pub now: bool,
    /// Print the calls that would be made and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Stop the run after this many failed customers.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub max_failures: usize,
    /// Execution report; the format follows the extension (.md .json .csv). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub report: Vec<PathBuf>,
    /// Do not ask before the first purchase (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
}

pub fn run(_args: ApplyArgs) -> anyhow::Result<ExitCode> {
    super::not_built("apply")
}
