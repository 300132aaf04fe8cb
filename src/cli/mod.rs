//! Command-line flags (clap derive) and the glue from flags to the library.
//!
//! These modules belong to the binary, not the library: each turns its raw flags into
//! the library's checked options before any row is read, calls the library, and prints
//! the result a script wants on stdout. Everything else goes to stderr.

mod apply;
mod bars;
mod catalog;
mod catalog_fetch;
mod docs;
mod doctor;
mod plan;
mod report;
mod sandbox;
mod status;

use std::io::Write;

use clap::{Parser, Subcommand, ValueEnum};
use cspmove::i18n::Lang;

/// Plan and carry out moves of Microsoft 365 customers into CSP on Partner Center.
#[derive(Debug, Parser)]
#[command(name = "cspmove", version, about, max_term_width = 100)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug). `RUST_LOG` also works.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read exported spreadsheets and write a migration plan.
    Plan(plan::PlanArgs),
    /// Render a plan as a report for review (.xlsx, .csv, .html, .md, .json).
    Report(report::ReportArgs),
    /// Carry out what is due in a plan through the Partner Center API.
    Apply(apply::ApplyArgs),
    /// Show per customer where a plan stands, from the plan and its journal.
    Status(status::StatusArgs),
    /// Show, search or fetch the product catalog (what each product's licence is).
    Catalog(catalog::CatalogArgs),
    /// Run a local Partner Center emulator for rehearsals and tests.
    Sandbox(sandbox::SandboxArgs),
    /// Preflight: check the token, its MFA claim and the GDAP roles before a run.
    Doctor(doctor::DoctorArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(docs::CompletionsArgs),
    /// Print the man page (roff), or write every page into a directory with --dir.
    Man(docs::ManArgs),
}

/// How a command ended when it did not fail; `main.rs` alone turns it into an exit code
/// (docs/exit-codes.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked for was done: exit 0.
    Done,
    /// `plan`: rows were rejected. The plan was written with them under `rejected` (or,
    /// with `--strict`, not written): exit 3.
    RowsRejected,
}

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Plan(args) => plan::run(args),
        Command::Report(args) => report::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Status(args) => status::run(args),
        Command::Sandbox(args) => sandbox::run(args),
        Command::Catalog(args) => catalog::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Completions(args) => docs::completions(args),
        Command::Man(args) => docs::man(args),
    }
}

/// `--lang en|ko|ja`: the language of what a person reads (`plan`'s summary and
/// reports, `report`, `apply`'s summary and execution report, the `status` and `doctor`
/// tables). One parser for every command, so each spells and rejects a language the
/// same way; JSON for scripts stays English whatever the flag says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LangArg {
    #[default]
    En,
    Ko,
    Ja,
}

impl From<LangArg> for Lang {
    fn from(arg: LangArg) -> Lang {
        match arg {
            LangArg::En => Lang::En,
            LangArg::Ko => Lang::Ko,
            LangArg::Ja => Lang::Ja,
        }
    }
}

/// A usage problem found after clap: a bad flag value, a missing file. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Standard output was closed by its reader (`cspmove status --format json | head`).
/// Not a failure: the command stops writing and exits quietly with 0.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
pub struct StdoutClosed;

/// Writes a command's result to standard output through `write`, then flushes. A broken
/// pipe while doing so becomes [`StdoutClosed`]; only this helper makes that decision,
/// so a broken connection to Partner Center is never taken for a closed `| head`.
pub fn to_stdout<T>(write: impl FnOnce(&mut dyn Write) -> anyhow::Result<T>) -> anyhow::Result<T> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = write(&mut out).and_then(|value| {
        out.flush()?;
        Ok(value)
    });
    result.map_err(|err| {
        if is_broken_pipe(&err) {
            StdoutClosed.into()
        } else {
            err
        }
    })
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let kind = if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            Some(io.kind())
        } else {
            // serde_json keeps the writer's I/O error inside its own.
            cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
        };
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// Logs go to stderr, never stdout; no colour when stderr is not a terminal or
/// `NO_COLOR` is set.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(use_colour())
        .with_target(false)
        .try_init();
}

/// Whether stderr may carry colour and progress bars.
pub fn use_colour() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}
