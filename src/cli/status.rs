//! `cspmove status`: where each customer stands, from the plan and its journal.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use cspmove::apply::{self, journal, status};
use cspmove::model::{Plan, PlanFileError};

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

pub fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.plan)
        .map_err(PlanFileError::Io)
        .with_context(|| format!("{}", args.plan.display()))?;
    let plan = Plan::from_json_slice(&bytes).with_context(|| format!("{}", args.plan.display()))?;
    let sha = apply::plan_sha256(&bytes);
    let journal_path = args
        .journal
        .clone()
        .unwrap_or_else(|| journal::default_path(&args.plan));
    let events = journal::read_for(&journal_path, &sha, None)?;
    let today = chrono::Local::now().date_naive();
    let rows = status::rows(&plan, &events, today, &[]);
    let mut out = std::io::stdout().lock();
    match args.format {
        FormatArg::Text => out.write_all(status::render_text(&rows).as_bytes())?,
        FormatArg::Json => {
            #[derive(serde::Serialize)]
            struct StatusJson<'a> {
                status: &'static str,
                journal: String,
                counts: std::collections::BTreeMap<&'static str, usize>,
                customers: &'a [status::CustomerRow],
            }
            let doc = StatusJson {
                status: "cspmove.status/v1",
                journal: journal_path.display().to_string(),
                counts: status::counts(&rows)
                    .into_iter()
                    .map(|(s, n)| (s.as_str(), n))
                    .collect(),
                customers: &rows,
            };
            serde_json::to_writer_pretty(&mut out, &doc)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
