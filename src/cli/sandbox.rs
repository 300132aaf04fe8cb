//! `cspmove sandbox`: run the local Partner Center emulator until Ctrl-C (or SIGTERM).
//!
//! Flags become a checked `SandboxConfig` before anything starts; the first stdout line is
//! `cspmove sandbox listening on http://ADDR` so scripts and tests can read the address.

use super::Outcome;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use cspmove::sandbox::{Accept, SandboxConfig, SandboxState};

use super::UsageError;

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
    /// Keep the state durable in this file (an append-only change log, fsynced before a
    /// change is answered, compacted at start and at a clean stop) and resume from it.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Answer App+User calls whose token lacks the MFA claim with 401 900421, as Partner
    /// Center does since 2026 (tokens for a refresh token starting `nomfa` lack it).
    #[arg(long)]
    pub require_mfa: bool,
    /// Share of customers (0.0–1.0, deterministic per customer) where the partner has no
    /// GDAP role: their user and licence calls answer 403 naming the roles needed.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0)]
    pub missing_role: f64,
    /// Sell deprecated legacy offers to new buyers, as Partner Center did before 2022
    /// (default: a new order of one is refused with 403 2091 naming the new-commerce
    /// equivalent).
    #[arg(long)]
    pub sell_legacy_offers: bool,
}

impl TryFrom<SandboxArgs> for SandboxConfig {
    type Error = anyhow::Error;

    fn try_from(args: SandboxArgs) -> anyhow::Result<SandboxConfig> {
        let usage = |msg: String| anyhow::Error::new(UsageError(msg));
        let listen: SocketAddr = args.listen.parse().map_err(|_| {
            usage(format!(
                "--listen {:?} is not an address such as 127.0.0.1:8080",
                args.listen
            ))
        })?;
        let accept = match args.accept.trim().to_ascii_lowercase().as_str() {
            "all" => Accept::All,
            "none" => Accept::None,
            text => match text.parse::<f64>() {
                Ok(f) if (0.0..=1.0).contains(&f) => Accept::Fraction(f),
                _ => {
                    return Err(usage(format!(
                        "--accept {:?} is not all, none or a fraction between 0 and 1",
                        args.accept
                    )));
                }
            },
        };
        for (flag, rate) in [
            ("--fail-rate", args.fail_rate),
            ("--throttle-rate", args.throttle_rate),
            ("--missing-role", args.missing_role),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(usage(format!("{flag} {rate} must lie between 0 and 1")));
            }
        }
        let token = match args.token {
            Some(t) if t.trim().is_empty() => {
                return Err(usage("--token must not be empty".into()));
            }
            Some(t) => t,
            None => {
                let t = format!("sbx-{}", uuid::Uuid::new_v4().simple());
                eprintln!("cspmove sandbox: bearer token (App+User): {t}");
                t
            }
        };
        // The plan streams into the tenants it seeds: only what a tenant needs of each
        // customer is read, so a million-line plan does not have to fit as structs.
        let seeded = match &args.seed {
            Some(path) => Some(Box::new(
                SandboxState::seed_from_file(path, accept).context("--seed")?,
            )),
            None => None,
        };
        Ok(SandboxConfig {
            listen,
            seed: None,
            seeded,
            accept,
            token,
            latency_ms: args.latency_ms,
            fail_rate: args.fail_rate,
            throttle_rate: args.throttle_rate,
            rate_limit: args.rate_limit,
            fault_seed: args.fault_seed,
            state_file: args.state,
            require_mfa: args.require_mfa,
            missing_role: args.missing_role,
            sell_legacy_offers: args.sell_legacy_offers,
        })
    }
}

pub fn run(args: SandboxArgs) -> anyhow::Result<Outcome> {
    let config = SandboxConfig::try_from(args)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let state_file = config.state_file.clone();
        let seeded = config.seed.is_some() || config.seeded.is_some();
        let sandbox = cspmove::sandbox::start(config).await?;
        if sandbox.torn_tail {
            eprintln!(
                "cspmove sandbox: the last record of {} was cut short by a crash; it was never answered and is ignored",
                state_file
                    .as_deref()
                    .unwrap_or(std::path::Path::new(""))
                    .display()
            );
        }
        if sandbox.restored && seeded {
            eprintln!(
                "cspmove sandbox: {} exists, so its state is used and --seed is ignored",
                state_file
                    .as_deref()
                    .unwrap_or(std::path::Path::new(""))
                    .display()
            );
        }
        super::to_stdout(|out| {
            Ok(writeln!(
                out,
                "cspmove sandbox listening on {}",
                sandbox.url()
            )?)
        })?;
        wait_for_stop().await;
        eprintln!("cspmove sandbox: shutting down");
        sandbox.shutdown().await;
        Ok(Outcome::Done)
    })
}

/// Ctrl-C, or SIGTERM on Unix.
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
