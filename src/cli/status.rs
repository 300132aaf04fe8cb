//! `cspmove status`: where each customer stands, from the plan and its journal.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::plan::FormatArg;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The plan file written by `cspmove plan`.
    #[arg(value_name = "PLAN.json")]
    pub plan: PathBuf,
    /// The journal `apply` wrote (default: PLAN.journal.jsonl beside the plan).
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
}

pub fn run(_args: StatusArgs) -> anyhow::Result<ExitCode> {
    super::not_built("status")
}
