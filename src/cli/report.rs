//! `cspmove report`: render a plan file for review.

use std::path::PathBuf;

use clap::Args;
use cspmove::report::{self, Format, ReportError};

use super::{LangArg, Outcome, UsageError};

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

pub fn run(args: ReportArgs) -> anyhow::Result<Outcome> {
    // A wrong extension is a usage error, found before the plan is read.
    if let Err(err @ ReportError::UnknownFormat { .. }) = Format::from_path(&args.output) {
        return Err(UsageError(err.to_string()).into());
    }
    super::plan::writable(&args.output)?;
    // The plan streams through the report: memory stays flat for any plan size.
    let done = report::write_from_file(
        &args.plan,
        std::slice::from_ref(&args.output),
        args.lang.into(),
    )?;
    if let Some(err) = done.failed.into_iter().next() {
        return Err(err.into());
    }
    super::to_stdout(|out| Ok(writeln!(out, "{}", args.output.display())?))?;
    Ok(Outcome::Done)
}
