//! `cspmove plan`: flags, their checks, and the summary printed on stdout.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

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
    /// Text encoding of CSV inputs (utf-8, utf-16le, utf-16be, cp949, euc-kr, shift_jis,
    /// cp932, ...); default: detected.
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DateOrderArg {
    Ymd,
    Mdy,
    Dmy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    En,
    Ko,
    Ja,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
}

pub fn run(_args: PlanArgs) -> anyhow::Result<ExitCode> {
    super::not_built("plan")
}
