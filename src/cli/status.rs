//! `cspmove status`: where each customer stands, from the plan and its journal.

use std::path::PathBuf;

use clap::Args;
use cspmove::apply::{journal, status};
// DESIGN §2 gives `status` no `--lang`: its table is in English (the texts are in
// src/i18n for every language).
use cspmove::i18n::Lang;
use cspmove::model::{PlanReader, Sha};

use super::Outcome;
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

pub fn run(args: StatusArgs) -> anyhow::Result<Outcome> {
    // The plan streams: one customer at a time (only the fields a status needs) becomes
    // its status row and is dropped; the text format keeps only what it prints. The
    // reader's errors name the plan file.
    let journal_path = args
        .journal
        .clone()
        .unwrap_or_else(|| journal::default_path(&args.plan));
    journal::check_path(&journal_path)?;
    // The plan's sha256 is known once it has streamed by, so the journal is checked
    // after (by the one check `apply` makes too), before anything is printed. Without
    // a journal there is nothing to check it against: it is not computed.
    let (header, events) = match journal::read(&journal_path)? {
        Some((header, events)) => (Some(header), events),
        None => (None, Vec::new()),
    };
    let sha = if header.is_some() { Sha::Compute } else { Sha::Skip };
    let mut reader = PlanReader::open_as_with::<status::StatusCustomer>(&args.plan, sha)?;
    let today = chrono::Local::now().date_naive();
    let progress = status::replay(&events);
    let mut rows = Vec::new();
    let mut table = status::TextTable::new(Lang::En);
    while let Some(customer) = reader.next_customer()? {
        let row = status::derive(&customer, progress.get(&customer.key), today);
        match args.format {
            FormatArg::Text => table.push(&row),
            FormatArg::Json => rows.push(row),
        }
    }
    if let Some(header) = header {
        let sha = reader.finish()?;
        header.check(&journal_path, &sha, None)?;
    } else {
        reader.end()?;
    }
    super::to_stdout(|out| {
        match args.format {
            FormatArg::Text => table.write(out)?,
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
                serde_json::to_writer_pretty(&mut *out, &doc)?;
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}
