//! `cspmove doctor`: the preflight of `apply` on its own, as a table (or JSON), exiting
//! non-zero when something would stop a run or block a customer.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use cspmove::apply::auth::{Credentials, Secret, TokenSource};
use cspmove::apply::client::{Client, RetryPolicy};
use cspmove::apply::{ApplyError, http, preflight};
use cspmove::model::Plan;

use super::plan::FormatArg;
use super::{LangArg, Outcome};

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Partner Center base URL (e.g. https://api.partnercenter.microsoft.com).
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "sandbox",
        required_unless_present = "sandbox"
    )]
    pub endpoint: Option<String>,
    /// Check against an in-process sandbox seeded from the plan.
    #[arg(long)]
    pub sandbox: bool,
    /// A plan: also check, per customer whose licences move, the partner's GDAP roles.
    #[arg(value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Language of the table and its checks' details (JSON stays English for scripts).
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
}

pub fn run(args: DoctorArgs) -> anyhow::Result<Outcome> {
    // The plan reader, as every command reads a plan: its errors name the file, and a
    // FIFO or a device is refused before it is opened.
    let plan = args.plan.as_deref().map(Plan::read).transpose()?;
    let target = if args.sandbox {
        None
    } else {
        let endpoint = args.endpoint.as_deref().unwrap_or_default();
        let url = http::check_endpoint_url(endpoint)?;
        let creds = Credentials::from_env()?;
        Some((url, creds))
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let (base, creds, sandbox) = match target {
            Some((url, creds)) => (url, creds, None),
            None => {
                let seed = plan.clone().unwrap_or_else(empty_plan);
                let running = super::apply::start_sandbox(&seed, None).await?;
                let url = url::Url::parse(&running.url())?;
                let creds = Credentials::Token(Secret::new(running.token().to_string()));
                (url, creds, Some(running))
            }
        };
        let http = http::http_client(std::time::Duration::from_secs(30))?;
        let auth = Arc::new(TokenSource::new(creds, http));
        let client = Client::new(base.clone(), auth, 8.0, RetryPolicy::default())?;
        let mut report =
            preflight::token_checks(&client, base.as_str().trim_end_matches('/')).await;
        if let Some(plan) = &plan
            && report.stopper().is_none()
        {
            preflight::role_checks(&client, plan, &mut report).await;
        }
        if let Some(running) = sandbox {
            running.shutdown().await;
        }
        anyhow::Ok(report)
    })?;
    super::to_stdout(|out| {
        match args.format {
            FormatArg::Text => out.write_all(report.render_text(args.lang.into()).as_bytes())?,
            FormatArg::Json => {
                #[derive(serde::Serialize)]
                struct DoctorJson<'a> {
                    doctor: &'static str,
                    ok: bool,
                    stops_run: bool,
                    checks: &'a [preflight::Check],
                }
                serde_json::to_writer_pretty(
                    &mut *out,
                    &DoctorJson {
                        doctor: "cspmove.doctor/v1",
                        ok: !report.any_failed(),
                        stops_run: report.stopper().is_some(),
                        checks: &report.checks,
                    },
                )?;
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    })?;
    // A failed check is a failure of the command (exit 1), said once on stderr; the
    // table on stdout says which.
    let failed = report
        .checks
        .iter()
        .filter(|c| c.verdict == preflight::Verdict::Fail)
        .count();
    if failed > 0 {
        return Err(ApplyError::ChecksFailed {
            failed,
            stops_run: report.stopper().is_some(),
        }
        .into());
    }
    Ok(Outcome::Done)
}

/// A plan with no customers, to seed a sandbox when `doctor --sandbox` has no plan.
fn empty_plan() -> Plan {
    Plan {
        schema: cspmove::model::SCHEMA.to_string(),
        generated_by: cspmove::GENERATED_BY.to_string(),
        as_of: chrono::Local::now().date_naive(),
        lead_days: 7,
        inputs: vec![],
        summary: Default::default(),
        customers: vec![],
        rejected: vec![],
    }
}
