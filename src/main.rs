//! The `cspmove` binary: flags plus glue. Each command's flags and glue live in
//! `src/cli/`; all logic lives in the library. Only this file chooses the exit code and
//! prints the final error (docs/exit-codes.md):
//!
//! | exit | when |
//! | --- | --- |
//! | 0 | [`cli::Outcome::Done`], or standard output was closed ([`cli::StdoutClosed`]) |
//! | 1 | any other error: writing a file ([`cspmove::fsx::WriteError`]), rendering a report, the API and every stop of `apply` ([`cspmove::apply::ApplyError`]: auth, MFA, `--max-failures`), the journal ([`cspmove::apply::journal::JournalError`]: another plan's, locked), the sandbox's state file |
//! | 2 | a usage error ([`cli::UsageError`], clap's own), an input that cannot be read ([`cspmove::input::InputError`]), a plan file that cannot be read ([`cspmove::model::PlanFileError`]), an unknown report format, an endpoint URL or credentials that cannot be used, an `--only` that matches no customer, a `--journal` that is not a regular file |
//! | 3 | [`cli::Outcome::RowsRejected`]: `plan` rejected rows |

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than the system allocator, chosen here in the binary so that the
/// library imposes no allocator on its users. Planning a million rows makes tens of
/// millions of small allocations from several threads, where glibc's per-thread arenas
/// grow their heaps under the kernel's memory-map lock, scale poorly and round small
/// strings up to 32 bytes. Measured on 1,000,000 rows: peak memory 1.95 GB → 1.58 GB
/// (docs/planning.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(args.verbose);
    match cli::run(args) {
        Ok(cli::Outcome::Done) => ExitCode::SUCCESS,
        Ok(cli::Outcome::RowsRejected) => ExitCode::from(3),
        Err(err) if err.chain().any(|c| c.is::<cli::StdoutClosed>()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` prints the chain once: each error's text leaves its cause to `source`.
            // A closed stderr is not worth a panic.
            let _ = writeln!(std::io::stderr(), "cspmove: error: {err:#}");
            ExitCode::from(exit_code_for(&err))
        }
    }
}

/// 2 for usage errors and for input or plan files that cannot be read at all (nothing
/// was done); 1 for everything that fails while running. The first error of the chain
/// whose type decides wins; wrappers that do not decide (context, transparent layers)
/// leave it to their cause.
fn exit_code_for(err: &anyhow::Error) -> u8 {
    err.chain().find_map(decided_code).unwrap_or(RUNNING)
}

/// Usage error or unreadable input: nothing was done.
const USAGE: u8 = 2;
/// A failure while running (I/O, the API, the journal).
const RUNNING: u8 = 1;

/// The exit code an error's type decides, if it decides one. Each library layer's error
/// is matched here variant by variant, without a catch-all, so a new variant must be
/// given its exit code in this one place.
fn decided_code(cause: &(dyn std::error::Error + 'static)) -> Option<u8> {
    use cspmove::apply::{ApplyError, StopReason, auth, exec_report, http, journal};
    use cspmove::report::ReportError;
    use cspmove::sandbox::SandboxError;
    if cause.is::<cli::UsageError>()
        || cause.is::<cspmove::input::InputError>()
        || cause.is::<cspmove::model::PlanFileError>()
        || cause.is::<http::EndpointError>()
        || cause.is::<auth::CredentialsError>()
    {
        return Some(USAGE);
    }
    if let Some(e) = cause.downcast_ref::<ReportError>() {
        return match e {
            ReportError::UnknownFormat { .. } => Some(USAGE),
            ReportError::Render { .. } | ReportError::Write(_) => Some(RUNNING),
        };
    }
    if let Some(e) = cause.downcast_ref::<exec_report::ExecReportError>() {
        return Some(exec_report_code(e));
    }
    if let Some(e) = cause.downcast_ref::<journal::JournalError>() {
        return Some(journal_code(e));
    }
    if let Some(e) = cause.downcast_ref::<ApplyError>() {
        return match e {
            // Transparent variants: their `source` is the inner error's cause, so the
            // inner error is looked at here.
            ApplyError::Endpoint(_) | ApplyError::Credentials(_) => Some(USAGE),
            ApplyError::Journal(e) => Some(journal_code(e)),
            ApplyError::ExecReport(e) => Some(exec_report_code(e)),
            ApplyError::OnlyMatchesNothing { .. } | ApplyError::Plan(_) => Some(USAGE),
            ApplyError::PlanChanged { .. } => Some(RUNNING),
            ApplyError::HttpClient(_)
            | ApplyError::Auth(_)
            | ApplyError::Write(_)
            | ApplyError::DryRunOutput(_)
            | ApplyError::ListCustomers { .. }
            // A refused token, no MFA claim, an app-only token, an endpoint that is down.
            | ApplyError::Preflight { .. }
            | ApplyError::ChecksFailed { .. }
            | ApplyError::NotConfirmed
            | ApplyError::Unfinished { .. } => Some(RUNNING),
            ApplyError::Stopped(stop) => Some(match stop {
                // Authentication, MFA (401 900421), a token that cannot do user
                // operations, an endpoint that is down: DESIGN §8 stops the run.
                StopReason::Fatal(_) | StopReason::MaxFailures { .. } | StopReason::Journal => {
                    RUNNING
                }
            }),
        };
    }
    if let Some(e) = cause.downcast_ref::<SandboxError>() {
        return Some(match e {
            SandboxError::OutOfRange { .. } | SandboxError::EmptyToken => USAGE,
            // A `--state` file that cannot be used is state of a run, not input.
            SandboxError::StateFile(_)
            | SandboxError::WriteState { .. }
            | SandboxError::Listen { .. }
            | SandboxError::Task(_) => RUNNING,
        });
    }
    None
}

fn exec_report_code(e: &cspmove::apply::exec_report::ExecReportError) -> u8 {
    use cspmove::apply::exec_report::ExecReportError;
    match e {
        ExecReportError::UnknownFormat { .. } => USAGE,
        ExecReportError::Render { .. } | ExecReportError::Write(_) => RUNNING,
    }
}

/// A journal path that is not a file is a usage error, like `-o` at a FIFO. Every other
/// journal error is a failure while running: the journal is the state of earlier runs,
/// and a journal of another plan or mode, or one locked by a running `apply`, is found
/// only once the plan has been read (tests/cli/apply.rs pins 1).
fn journal_code(e: &cspmove::apply::journal::JournalError) -> u8 {
    use cspmove::apply::journal::JournalError;
    match e {
        JournalError::NotRegular { .. } => USAGE,
        JournalError::Io { .. }
        | JournalError::OtherPlan { .. }
        | JournalError::OtherMode { .. }
        | JournalError::Corrupt { .. }
        | JournalError::NotAJournal { .. }
        | JournalError::Locked { .. } => RUNNING,
    }
}
