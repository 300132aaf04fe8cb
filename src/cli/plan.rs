//! `cspmove plan`: flags, their checks, and the summary printed on stdout.
//!
//! The flags become a checked [`PlanConfig`] before any row is read, so a typo in
//! `--as-of`, `--map`, `--encoding` or a missing input is a usage error (exit 2) that
//! costs nothing. Then: read the inputs, plan, write the plan file and reports, print
//! the summary. Rejected rows make the outcome [`Outcome::RowsRejected`] (exit 3, chosen
//! in `main.rs` like every exit code; docs/exit-codes.md).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use cspmove::catalog::{Catalog, OfferMap};
use cspmove::i18n::Lang;
use cspmove::input::{DateOrder, Field, InputSource, InputTable, ReadOptions, SheetSelector};
use cspmove::model::{Billing, Plan, Term, sells, unsold_message};
use cspmove::plan::summary::{self, PlanFile};
use cspmove::plan::{Lookups, PlanOptions};
use cspmove::report::Format;

use super::{LangArg, Outcome, UsageError};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exported spreadsheets: CSV/TSV, .xlsx .xlsm .xlsb .xls .ods; `-` reads CSV from stdin.
    /// Several inputs are merged into one plan.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Excel sheet to read, by name or 1-based number (default: the first sheet with a
    /// recognisable header row).
    #[arg(long, value_name = "NAME|N")]
    pub sheet: Option<String>,
    /// Use HEADER as the column for FIELD (e.g. `--map seats="Lizenzen"`); repeatable.
    #[arg(long = "map", value_name = "FIELD=HEADER")]
    pub map: Vec<String>,
    /// Offer catalog (CSV or Excel): offer_id, offer_name, sku_id, sku_part_number,
    /// min_quantity, max_quantity [, country].
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// Offer map (CSV or Excel): `from, to` pairs, legacy offer → CSP offer to provision.
    #[arg(long, value_name = "FILE")]
    pub offer_map: Option<PathBuf>,
    /// The day the plan is made for (default: today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
    /// Provision this many days before the original subscription expires.
    #[arg(long, value_name = "N", default_value_t = 7)]
    pub lead_days: u32,
    /// Text encoding of CSV inputs and of the --catalog and --offer-map files (utf-8,
    /// utf-16le, utf-16be, cp949, euc-kr, shift_jis, cp932, ...); default: detected.
    #[arg(long, value_name = "NAME")]
    pub encoding: Option<String>,
    /// How to read dates like 03/04/2026 when the file does not settle it.
    #[arg(long, value_enum, value_name = "ORDER")]
    pub date_order: Option<DateOrderArg>,
    /// Worker threads for planning (default: number of cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Where to write the plan file.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "PLAN.json",
        default_value = "cspmove-plan.json"
    )]
    pub output: PathBuf,
    /// Also write a report; the format follows the extension (.xlsx .csv .html .md .json).
    /// Repeatable.
    #[arg(long, value_name = "FILE")]
    pub report: Vec<PathBuf>,
    /// Language of reports and of the summary.
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
    /// Write no plan file when any row is rejected (exit 3).
    #[arg(long)]
    pub strict: bool,
    /// Print nothing on stdout.
    #[arg(short, long)]
    pub quiet: bool,
    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// New-commerce term of what is bought, for rows that do not say.
    #[arg(long, value_name = "P1M|P1Y|P3Y", default_value = "P1Y", value_parser = clap::builder::ValueParser::new(str::parse::<Term>))]
    pub term: Term,
    /// Billing frequency of what is bought, for rows that do not say (P1M is billed
    /// monthly only; P1Y monthly or annual; P3Y monthly, annual or triennial).
    #[arg(long, value_name = "monthly|annual|triennial", default_value = "monthly", value_parser = clap::builder::ValueParser::new(str::parse::<Billing>))]
    pub billing: Billing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DateOrderArg {
    Ymd,
    Mdy,
    Dmy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
}

/// The checked options of one `cspmove plan` run.
#[derive(Debug)]
pub struct PlanConfig {
    pub inputs: Vec<InputSource>,
    pub read: ReadOptions,
    pub catalog: Option<PathBuf>,
    pub offer_map: Option<PathBuf>,
    pub plan: PlanOptions,
    pub output: PathBuf,
    pub reports: Vec<PathBuf>,
    pub lang: Lang,
    pub strict: bool,
    pub quiet: bool,
    pub format: FormatArg,
}

fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// `YYYY-MM-DD`.
pub fn parse_as_of(text: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| usage(format!("--as-of: {text:?} is not a date like 2026-11-21")))
}

/// `FIELD=HEADER`, FIELD one of the names of DESIGN §3.
pub fn parse_map(text: &str) -> anyhow::Result<(Field, String)> {
    let fields = || {
        Field::ALL
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some((field, header)) = text.split_once('=') else {
        return Err(usage(format!(
            "--map {text:?}: expected FIELD=HEADER, FIELD one of: {}",
            fields()
        )));
    };
    let Some(field) = Field::parse(field.trim()) else {
        return Err(usage(format!(
            "--map {text:?}: unknown field {:?}; fields are: {}",
            field.trim(),
            fields()
        )));
    };
    if header.trim().is_empty() {
        return Err(usage(format!("--map {text:?}: the header is empty")));
    }
    Ok((field, header.trim().to_string()))
}

/// A sheet name, or a 1-based sheet number.
pub fn parse_sheet(text: &str) -> anyhow::Result<SheetSelector> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err(usage("--sheet: sheet numbers start at 1")),
        Ok(n) => Ok(SheetSelector::Index(n)),
        Err(_) => Ok(SheetSelector::Name(text.to_string())),
    }
}

/// An input file (a spreadsheet, `--catalog`, `--offer-map`) must be a regular file, by
/// the one rule of [`cspmove::fsx::follow`]: a FIFO blocks the open until someone writes
/// to it and a device reads forever, so they are refused (exit 2) before being opened.
fn existing_file(flag: &str, path: &Path) -> anyhow::Result<()> {
    use cspmove::fsx::Followed;
    match cspmove::fsx::follow(path) {
        Ok(Followed::Regular(..)) => Ok(()),
        Ok(Followed::Other { target, kind }) => {
            let link = if target == path {
                String::new()
            } else {
                format!("is a link to {}, which ", target.display())
            };
            Err(usage(format!(
                "{flag}{}: {link}is {kind}, not an input file (give a CSV/TSV or workbook file)",
                path.display()
            )))
        }
        // The system's own words ("No such file or directory").
        Ok(Followed::Missing(_)) => match std::fs::metadata(path) {
            Err(e) => Err(usage(format!("{flag}{}: {e}", path.display()))),
            Ok(_) => Ok(()),
        },
        Err(e) => Err(usage(format!("{flag}{}: {e}", path.display()))),
    }
}

/// An output path that leads to a device, a FIFO or a directory is refused before any
/// row is read (exit 2); writing it would replace it.
pub fn writable(path: &Path) -> anyhow::Result<()> {
    cspmove::fsx::check_target(path).map_err(|e| usage(e.to_string()))
}

impl TryFrom<PlanArgs> for PlanConfig {
    type Error = anyhow::Error;

    fn try_from(args: PlanArgs) -> anyhow::Result<PlanConfig> {
        let mut inputs = Vec::with_capacity(args.inputs.len());
        for path in &args.inputs {
            if path.as_os_str() == "-" {
                if inputs.contains(&InputSource::Stdin) {
                    return Err(usage("`-` (standard input) can be given only once"));
                }
                inputs.push(InputSource::Stdin);
            } else {
                existing_file("", path)?;
                inputs.push(InputSource::Path(path.clone()));
            }
        }
        for (flag, path) in [
            ("--catalog ", &args.catalog),
            ("--offer-map ", &args.offer_map),
        ] {
            if let Some(path) = path {
                existing_file(flag, path)?;
            }
        }
        let as_of = match &args.as_of {
            Some(text) => parse_as_of(text)?,
            None => chrono::Local::now().date_naive(),
        };
        let map = args
            .map
            .iter()
            .map(|m| parse_map(m))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let encoding = match &args.encoding {
            Some(name) => Some(cspmove::input::parse_encoding_name(name).ok_or_else(|| {
                usage(format!(
                    "--encoding: unknown encoding {name:?} (try utf-8, utf-16le, utf-16be, cp949, euc-kr, shift_jis, cp932)"
                ))
            })?),
            None => None,
        };
        if !sells(args.term, args.billing) {
            return Err(usage(format!(
                "--term {} --billing {}: {}",
                args.term,
                args.billing,
                unsold_message(args.term, args.billing)
            )));
        }
        if args.threads == Some(0) {
            return Err(usage("--threads must be at least 1"));
        }
        for report in &args.report {
            // The same rule `cspmove report -o` follows.
            if let Err(err) = Format::from_path(report) {
                return Err(usage(format!("--report {err}")));
            }
            writable(report)?;
        }
        writable(&args.output)?;
        let parent = args.output.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(dir) = parent
            && !dir.is_dir()
        {
            return Err(usage(format!(
                "-o {}: directory {} does not exist",
                args.output.display(),
                dir.display()
            )));
        }
        Ok(PlanConfig {
            inputs,
            read: ReadOptions {
                sheet: args.sheet.as_deref().map(parse_sheet).transpose()?,
                map,
                encoding,
                date_order: args.date_order.map(|d| match d {
                    DateOrderArg::Ymd => DateOrder::Ymd,
                    DateOrderArg::Mdy => DateOrder::Mdy,
                    DateOrderArg::Dmy => DateOrder::Dmy,
                }),
            },
            catalog: args.catalog,
            offer_map: args.offer_map,
            plan: PlanOptions {
                as_of,
                lead_days: args.lead_days,
                term: args.term,
                billing: args.billing,
                threads: args.threads,
            },
            output: args.output,
            reports: args.report,
            lang: args.lang.into(),
            strict: args.strict,
            quiet: args.quiet,
            format: args.format,
        })
    }
}

/// The catalog in use: the built-in one, extended and overridden by `--catalog`, read
/// in `encoding` (`--encoding`; `None`: detected).
pub fn load_catalog(
    path: Option<&Path>,
    encoding: Option<&'static encoding_rs::Encoding>,
) -> anyhow::Result<std::borrow::Cow<'static, Catalog>> {
    let builtin = Catalog::builtin();
    Ok(match path {
        None => std::borrow::Cow::Borrowed(builtin),
        Some(path) => {
            let rows = cspmove::catalog::read_catalog(path, encoding)?;
            tracing::info!("--catalog {}: {} rows", path.display(), rows.len());
            let mut catalog = builtin.clone();
            catalog.extend(rows);
            std::borrow::Cow::Owned(catalog)
        }
    })
}

/// At most this many rejected rows are listed on stderr; the plan file has them all.
const REJECTED_ON_STDERR: usize = 10;

/// Lists the first rejected rows on stderr. A closed stderr does not fail the run: the
/// plan file has them all.
fn print_rejected(plan: &Plan, pointer: Option<&Path>) {
    let _ = write_rejected(plan, pointer);
}

fn write_rejected(plan: &Plan, pointer: Option<&Path>) -> std::io::Result<()> {
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for r in plan.rejected.iter().take(REJECTED_ON_STDERR) {
        write!(err, "cspmove: rejected {}: row {}", r.input, r.row)?;
        if let Some(column) = &r.column {
            write!(err, ", column {column:?}")?;
        }
        if let Some(value) = &r.value {
            write!(err, ", value {value:?}")?;
        }
        writeln!(err, ": {} [{}]", r.message, r.code.as_str())?;
    }
    let more = plan.rejected.len().saturating_sub(REJECTED_ON_STDERR);
    if more > 0 {
        match pointer {
            Some(path) => writeln!(
                err,
                "cspmove: … and {more} more rejected rows, listed under \"rejected\" in {}",
                path.display()
            )?,
            None => writeln!(err, "cspmove: … and {more} more rejected rows")?,
        }
    }
    Ok(())
}

pub fn run(args: PlanArgs) -> anyhow::Result<Outcome> {
    let config = PlanConfig::try_from(args)?;

    let started = Instant::now();
    let mut tables: Vec<InputTable> = Vec::with_capacity(config.inputs.len());
    for (index, source) in config.inputs.iter().enumerate() {
        let table = cspmove::input::read_input(source, index, &config.read)?;
        tracing::info!(
            "read {}: {} rows, {} rejected",
            table.info.path,
            table.rows.len(),
            table.rejected.len()
        );
        tables.push(table);
    }
    let catalog = load_catalog(config.catalog.as_deref(), config.read.encoding)?;
    let offer_map = match &config.offer_map {
        Some(path) => Some(OfferMap::new(
            cspmove::catalog::read_offer_map(path, config.read.encoding)?,
            &catalog,
        )),
        None => None,
    };
    let read_time = started.elapsed();
    tracing::debug!(
        "after reading: cpu {:.2}s, peak memory {}",
        cspmove::plan::cpu_seconds(),
        cspmove::plan::peak_memory()
    );

    let started = Instant::now();
    let lookups = Lookups {
        catalog: &catalog,
        offer_map: offer_map.as_ref(),
    };
    // Every line is decided and counted before any customer is built, so the plan's
    // head (and whether `--strict` lets it be written) is known first.
    let prepared = cspmove::plan::prepare(tables, lookups, &config.plan)?;
    let plan_time = started.elapsed();
    tracing::debug!(
        "after planning: cpu {:.2}s, peak memory {}",
        cspmove::plan::cpu_seconds(),
        cspmove::plan::peak_memory()
    );

    let rejected = !prepared.head().rejected.is_empty();
    let written = !(config.strict && rejected);
    let started = Instant::now();
    let plan = if !written {
        let head = prepared.head().clone();
        // As at the end: the rows are not handed back one by one before the exit.
        std::mem::forget(prepared);
        head
    } else {
        // Nothing needs the customers as structs: each is built, serialised straight
        // into the plan file and dropped, which keeps the memory of a million lines low.
        // Reports are then rendered from the plan file as it streams back.
        let plan = cspmove::plan::write::write_prepared_file(prepared, &config.output)?;
        if !config.reports.is_empty() {
            let done =
                cspmove::report::write_from_file(&config.output, &config.reports, config.lang)?;
            // Every report that could be written is; the first failure ends the run.
            for err in done.failed.iter().skip(1) {
                tracing::error!("{err:#}");
            }
            if let Some(err) = done.failed.into_iter().next() {
                return Err(anyhow::Error::new(err).context("cannot write every report"));
            }
        }
        plan
    };
    let write_time = started.elapsed();
    tracing::debug!("after writing: cpu {:.2}s", cspmove::plan::cpu_seconds());
    tracing::info!(
        "stages: read {:.3}s, plan {:.3}s, write {:.3}s, peak memory {} ({} lines, {} customers, {} rejected)",
        read_time.as_secs_f64(),
        plan_time.as_secs_f64(),
        write_time.as_secs_f64(),
        cspmove::plan::peak_memory(),
        plan.summary.lines,
        plan.summary.customers,
        plan.summary.rejected_rows
    );

    if rejected {
        print_rejected(&plan, written.then_some(config.output.as_path()));
    }
    if !config.quiet {
        let output = config.output.display().to_string();
        let plan_file = if written {
            PlanFile::Written(&output)
        } else {
            PlanFile::NotWrittenStrict
        };
        super::to_stdout(|mut out| {
            match config.format {
                FormatArg::Text => {
                    summary::write_text(&mut out, &plan.summary, plan_file, config.lang)?
                }
                FormatArg::Json => summary::write_json(&mut out, &plan.summary, plan_file)?,
            }
            Ok(())
        })?;
    }
    // The process ends here: handing a million lines back to the allocator one by one
    // would only delay the exit.
    std::mem::forget(plan);
    Ok(if rejected {
        Outcome::RowsRejected
    } else {
        Outcome::Done
    })
}
