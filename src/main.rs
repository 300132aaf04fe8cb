//! The `cspmove` binary: flags plus glue. Each command's flags and glue live in
//! `src/cli/`; all logic lives in the library. Only this file chooses the exit code and
//! prints the final error (docs/exit-codes.md):
//!
//! | exit | when |
//! | --- | --- |
//! | 0 | [`cli::Outcome::Done`], or standard output was closed ([`cli::StdoutClosed`]) |
//! | 1 | any other error: writing a file ([`cspmove::fsx::WriteError`]), rendering a report, the API, the journal |
//! | 2 | a usage error ([`cli::UsageError`], clap's own), an input that cannot be read ([`cspmove::input::InputError`]), a plan file that cannot be read ([`cspmove::model::PlanFileError`]), an unknown report format |
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
/// was done); 1 for everything that fails while running.
fn exit_code_for(err: &anyhow::Error) -> u8 {
    use cspmove::report::ReportError;
    for cause in err.chain() {
        if cause.is::<cli::UsageError>()
            || cause.is::<cspmove::input::InputError>()
            || cause.is::<cspmove::model::PlanFileError>()
            || matches!(
                cause.downcast_ref::<ReportError>(),
                Some(ReportError::UnknownFormat { .. })
            )
        {
            return 2;
        }
    }
    1
}
