//! `cspmove status`: where each customer stands, from the plan and its journal.

use std::path::PathBuf;

use clap::Args;
use cspmove::apply::{journal, status};
use cspmove::model::{PlanReader, Sha};

use super::plan::FormatArg;
use super::{LangArg, Outcome};

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
    /// Language of the table and its next steps (JSON stays English for scripts).
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
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
    let sha = if header.is_some() {
        Sha::Compute
    } else {
        Sha::Skip
    };
    let mut reader = PlanReader::open_as_with::<status::StatusCustomer>(&args.plan, sha)?;
    let today = chrono::Local::now().date_naive();
    let progress = status::replay(&events);
    let mut table = status::TextTable::new(args.lang.into());
    // JSON rows go to a temporary file as they are derived: only the counts stay.
    let mut json = match args.format {
        FormatArg::Json => Some(status::JsonRows::new()?),
        FormatArg::Text => None,
    };
    while let Some(customer) = reader.next_customer()? {
        let row = status::derive(&customer, progress.get(&customer.key), today);
        match &mut json {
            Some(json) => json.push(&row)?,
            None => table.push(&row),
        }
    }
    if let Some(header) = header {
        let sha = reader.finish()?;
        header.check(&journal_path, &sha, None)?;
    } else {
        reader.end()?;
    }
    super::to_stdout(|out| {
        match json {
            Some(json) => json.write(&journal_path.display().to_string(), out)?,
            None => table.write(out)?,
        }
        Ok(())
    })?;
    Ok(Outcome::Done)
}
