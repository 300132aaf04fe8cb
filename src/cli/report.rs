//! `cspmove report`: render a plan file for review.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::plan::LangArg;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The plan file written by `cspmove plan`.
    #[arg(value_name = "PLAN.json")]
    pub plan: PathBuf,
    /// The report to write; the format follows the extension (.xlsx .csv .html .md .json).
    #[arg(short = 'o', long = "output", value_name = "FILE", required = true)]
    pub output: PathBuf,
    /// Language of headings, labels and messages.
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
}

pub fn run(_args: ReportArgs) -> anyhow::Result<ExitCode> {
    super::not_built("report")
}
