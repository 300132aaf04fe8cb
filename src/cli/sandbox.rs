//! `cspmove sandbox`: run the local Partner Center emulator.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on (loopback unless told otherwise; port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Create a tenant for each customer of this plan, with its users and license pool.
    #[arg(long, value_name = "PLAN.json")]
    pub seed: Option<PathBuf>,
    /// Which customers accept the reseller relationship: all, none, or a fraction (0.0–1.0,
    /// deterministic per customer).
    #[arg(long, value_name = "all|none|FRACTION", default_value = "all")]
    pub accept: String,
    /// The App+User bearer token to accept (default: a random one, printed on stderr).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Added delay per request, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub latency_ms: u64,
    /// Fraction of requests that fail with 5xx or a dropped connection (some after the
    /// change was applied).
    #[arg(long, value_name = "F", default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Fraction of requests answered 429 with Retry-After.
    #[arg(long, value_name = "F", default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Requests per second served before answering 429 (0 = no limit).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub rate_limit: u32,
    /// Seed for the fault generator, for reproducible runs.
    #[arg(long, value_name = "N")]
    pub fault_seed: Option<u64>,
    /// Persist state to this file after every change (atomic write), and load it at start.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

pub fn run(_args: SandboxArgs) -> anyhow::Result<ExitCode> {
    super::not_built("sandbox")
}
