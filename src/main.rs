//! The `cspmove` binary: flags plus glue. Each command's flags and glue live in
//! `src/cli/`; all logic lives in the library. Only this file chooses the exit code.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(args.verbose);
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            if cli::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("cspmove: error: {err:#}");
            ExitCode::from(cli::exit_code_for(&err))
        }
    }
}
