//! `cspmove apply`: carry out what is due in a plan.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use cspmove::apply::auth::{Credentials, Secret, TokenSource};
use cspmove::apply::client::{Client, RetryPolicy};
use cspmove::apply::journal::{self, Journal};
use cspmove::apply::run::{self, ApplyOptions, PurchasePreview};
use cspmove::apply::{ApplyError, exec_report, status};
use cspmove::apply::{dry_run, http, preflight};
use cspmove::fsx;
use cspmove::i18n::{Lang, texts};
use cspmove::model::{Plan, PlanFileError, PlanReader};

use super::{LangArg, Outcome, UsageError};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan file written by `cspmove plan`.
    #[arg(value_name = "PLAN.json")]
    pub plan: PathBuf,
    /// Partner Center base URL (e.g. https://api.partnercenter.microsoft.com). Plain
    /// http:// is refused except to loopback.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "sandbox",
        required_unless_present = "sandbox"
    )]
    pub endpoint: Option<String>,
    /// Run against an in-process sandbox seeded from the plan (a rehearsal; nothing is bought).
    #[arg(long)]
    pub sandbox: bool,
    /// Customers worked on at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,
    /// Requests per second across the whole run (default 8, about Partner Center's 500 per
    /// minute; with --sandbox the default is 500, since a rehearsal has no quota to respect).
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,
    /// Journal of every state change (default: PLAN.journal.jsonl beside the plan).
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Only these customers (customer ID, domain or plan key); repeatable.
    #[arg(long, value_name = "CUSTOMER")]
    pub only: Vec<String>,
    /// Provision every line now instead of on its `provision_on` date.
    #[arg(long)]
    pub now: bool,
    /// Print the calls that would be made and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Stop the run after this many failed customers.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub max_failures: usize,
    /// Execution report; the format follows the extension (.md .json .csv). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub report: Vec<PathBuf>,
    /// Do not ask before the first purchase (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Language of the summary, the prompt, the --dry-run listing, the execution reports
    /// (.md, .csv) and the note in invitations.csv; .json and the journal stay English.
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
}

/// Where requests go and with which credentials.
enum Target {
    Endpoint(Box<(url::Url, Credentials)>),
    Sandbox,
}

/// Partner Center allows about 500 requests per minute per tenant identifier.
const PARTNER_CENTER_RATE: f64 = 8.0;
/// A rehearsal against the in-process sandbox: thousands of licence moves in seconds.
const SANDBOX_RATE: f64 = 500.0;
/// `--rate` bounds: below one call per 10 s a run looks hung; above 100,000 per second
/// the limiter is meaningless.
const MIN_RATE: f64 = 0.1;
const MAX_RATE: f64 = 100_000.0;

pub fn run(args: ApplyArgs) -> anyhow::Result<Outcome> {
    // Flags become checked options before anything is read or sent.
    if args.concurrency == 0 {
        return Err(UsageError("--concurrency must be at least 1".into()).into());
    }
    let rate = args.rate.unwrap_or(if args.sandbox {
        SANDBOX_RATE
    } else {
        PARTNER_CENTER_RATE
    });
    if !(MIN_RATE..=MAX_RATE).contains(&rate) {
        return Err(UsageError(format!(
            "--rate {rate}: give requests per second between {MIN_RATE} and {MAX_RATE} \
             (Partner Center allows about 8; a rate below {MIN_RATE} would wait hours between calls)"
        ))
        .into());
    }
    if args.max_failures == 0 {
        return Err(UsageError("--max-failures must be at least 1".into()).into());
    }
    for r in &args.report {
        exec_report::check_path(r)?;
    }
    if let Some(path) = &args.journal {
        journal::check_path(path)?;
    }
    // The plan streams (issue 12): its head is read now, so a file that is no plan stops
    // here; its customers are read one at a time by the dry run or the run itself.
    let head = PlanReader::open(&args.plan)?;
    drop(head);
    run::check_only(&args.plan, &args.only)?;
    // A rehearsal keeps its own journal and invitations by default: a real run must never
    // read "done" from a rehearsal's journal, nor send a sandbox link to a customer.
    let journal_path = args.journal.clone().unwrap_or_else(|| {
        if args.sandbox {
            journal::default_sandbox_path(&args.plan)
        } else {
            journal::default_path(&args.plan)
        }
    });
    let invitations_name = if args.sandbox {
        "sandbox-invitations.csv"
    } else {
        "invitations.csv"
    };
    let invitations_path = journal_path
        .parent()
        .map(|p| p.join(invitations_name))
        .unwrap_or_else(|| PathBuf::from(invitations_name));
    // A report written over the plan, the journal or invitations.csv would destroy it.
    let journal_lock = journal::lock_path(&journal::canonical(&journal_path));
    let sandbox_state = {
        let mut name = journal_path.file_name().unwrap_or_default().to_os_string();
        name.push(".sandbox-state");
        journal_path.with_file_name(name)
    };
    for r in &args.report {
        for (what, other) in [
            ("the plan file", args.plan.as_path()),
            ("the journal", journal_path.as_path()),
            ("the journal's lock", journal_lock.as_path()),
            ("invitations.csv", invitations_path.as_path()),
            ("the rehearsal's sandbox state", sandbox_state.as_path()),
        ] {
            if journal::canonical(r) == journal::canonical(other) {
                return Err(UsageError(format!(
                    "--report {}: that is {what} ({}); writing the report there would destroy it. Choose another file",
                    r.display(),
                    other.display()
                ))
                .into());
            }
        }
    }
    let lang: Lang = args.lang.into();
    let opts = ApplyOptions {
        today: chrono::Local::now().date_naive(),
        now: args.now,
        concurrency: args.concurrency,
        only: args.only.clone(),
        max_failures: args.max_failures,
        invitations_path,
        lang,
    };

    if args.dry_run {
        // A journal of earlier runs must be this plan's before anything is printed from
        // it: only then is the plan hashed ahead of the streaming pass.
        let prior = match journal::read(&journal_path)? {
            Some((header, events)) => {
                let sha = plan_sha256(&args.plan)?;
                header.check(&journal_path, &sha, Some(args.sandbox))?;
                events
            }
            None => Vec::new(),
        };
        // Only the users of a shared licence pool need a read (GET only): with credentials
        // (or the in-process sandbox) the pass keeps those customers' licence lines.
        let can_read = args.sandbox || Credentials::from_env().is_ok();
        let reader = PlanReader::open(&args.plan)?;
        super::to_stdout(|out| {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
            let pass = dry_run::dry_run_streaming(reader, &prior, &opts, can_read, &mut out)?;
            let mut failure = None;
            let listing = if pass.pool_customers() > 0 && can_read {
                // What is listed so far reaches the terminal before the reads start.
                out.flush()?;
                match list_pool_users(&args, rate, &sandbox_state, &pass, &opts) {
                    Ok(listing) => Some(listing),
                    Err(e) => {
                        failure = Some(e);
                        Some(dry_run::pools_stopped(&pass, &opts))
                    }
                }
            } else {
                None
            };
            dry_run::finish(&pass, listing.as_ref(), &opts, &mut out)?;
            out.flush()?;
            match failure {
                Some(e) => Err(e),
                None => Ok(()),
            }
        })?;
        return Ok(Outcome::Done);
    }

    let interactive = std::io::stdin().is_terminal();
    if !args.yes && !interactive {
        return Err(UsageError(
            "apply buys subscriptions: without a terminal to confirm on, pass --yes".into(),
        )
        .into());
    }
    let target = if args.sandbox {
        Target::Sandbox
    } else {
        let endpoint = args.endpoint.as_deref().unwrap_or_default();
        let url = http::check_endpoint_url(endpoint)?;
        let creds = Credentials::from_env()?;
        Target::Endpoint(Box::new((url, creds)))
    };

    // The journal records the sha256 of the plan's bytes; the run checks it again as the
    // plan streams by, so a plan changed in between is refused before anything is bought.
    let plan_sha = plan_sha256(&args.plan)?;
    // The earlier runs' events are replayed as the journal is read, never held.
    let mut replay = status::Replay::default();
    let journal = Journal::open_each(&journal_path, &plan_sha, args.sandbox, |e| replay.push(&e))?;
    let prior = replay.finish_boxed();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let yes = args.yes;
    let outcome = runtime.block_on(async {
        let (base, creds, sandbox) = match target {
            Target::Endpoint(target) => (target.0, target.1, None),
            Target::Sandbox => {
                // The in-process sandbox is seeded with every customer of the plan.
                let plan = Plan::read(&args.plan)?;
                let running = start_sandbox(&plan, Some(sandbox_state)).await?;
                drop(plan);
                let url = url::Url::parse(&running.url())?;
                let creds = Credentials::Token(Secret::new(running.token().to_string()));
                let notice = texts(lang).fill("apply_summary.rehearsing", &[("url", url.as_str())]);
                eprintln!("cspmove: {notice}");
                (url, creds, Some(running))
            }
        };
        // Preflight: what would stop the run is found before anything is bought.
        let client = match preflighted_client(base, creds, rate, lang).await {
            Ok(client) => client,
            Err(e) => {
                if let Some(running) = sandbox {
                    running.shutdown().await;
                }
                return Err(e);
            }
        };
        let bars = super::bars::Bars::new(super::use_colour());
        let result = run::execute(
            &args.plan,
            &plan_sha,
            client,
            journal,
            prior,
            opts,
            &bars,
            |p| yes || confirm(p, lang),
        )
        .await;
        if let Some(running) = sandbox {
            running.shutdown().await;
        }
        anyhow::Ok(result?)
    })?;
    drop(runtime);

    for r in &args.report {
        exec_report::write(&outcome, r, lang)?;
    }
    let text = summary(&outcome, &journal_path, lang);
    super::to_stdout(|out| Ok(out.write_all(text.as_bytes())?))?;
    if let Some(reason) = &outcome.stopped {
        return Err(ApplyError::Stopped(reason.clone()).into());
    }
    let blocked = outcome
        .rows
        .iter()
        .filter(|r| r.status == status::CustomerStatus::Blocked)
        .count();
    if outcome.customers_failed > 0 || blocked > 0 {
        return Err(ApplyError::Unfinished {
            failed: outcome.customers_failed,
            blocked,
            with_report: !args.report.is_empty(),
        }
        .into());
    }
    Ok(Outcome::Done)
}

/// The dry run's reads for the users of the shared licence pools: the same preflight as
/// a run (what would stop a run stops the listing, with the same error), then
/// [`dry_run::list_pool_users`]. A rehearsal reads an in-process sandbox made from the
/// rehearsal's state when there is one (read, never written), else seeded from the plan.
fn list_pool_users(
    args: &ApplyArgs,
    rate: f64,
    sandbox_state: &std::path::Path,
    pass: &dry_run::Pass,
    opts: &ApplyOptions,
) -> anyhow::Result<dry_run::PoolListing> {
    let target = if args.sandbox {
        Target::Sandbox
    } else {
        let url = http::check_endpoint_url(args.endpoint.as_deref().unwrap_or_default())?;
        Target::Endpoint(Box::new((url, Credentials::from_env()?)))
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (base, creds, sandbox) = match target {
            Target::Endpoint(target) => (target.0, target.1, None),
            Target::Sandbox => {
                let state = if sandbox_state.exists() {
                    cspmove::sandbox::persist::load(sandbox_state)?.state
                } else {
                    cspmove::sandbox::state::SandboxState::seed_from_file(
                        &args.plan,
                        cspmove::sandbox::state::Accept::All,
                    )?
                };
                let token = format!("sandbox-{}", uuid::Uuid::new_v4());
                let mut config = cspmove::sandbox::SandboxConfig::new(token);
                config.seeded = Some(Box::new(state));
                let running = cspmove::sandbox::start(config).await?;
                let url = url::Url::parse(&running.url())?;
                let creds = Credentials::Token(Secret::new(running.token().to_string()));
                (url, creds, Some(running))
            }
        };
        let listed = async {
            let client = preflighted_client(base, creds, rate, opts.lang).await?;
            anyhow::Ok(dry_run::list_pool_users(&client, pass, opts).await?)
        }
        .await;
        if let Some(running) = sandbox {
            running.shutdown().await;
        }
        listed
    })
}

/// A client of `base` that passed the preflight (token kind, MFA, the customer list),
/// for the run and for the dry run's reads alike: its warnings are printed in `lang`, and
/// a check that would stop a run is the error, before anything is read or bought.
async fn preflighted_client(
    base: url::Url,
    creds: Credentials,
    rate: f64,
    lang: Lang,
) -> anyhow::Result<Client> {
    let http = http::http_client(std::time::Duration::from_secs(60))?;
    let auth = Arc::new(TokenSource::new(creds, http));
    let client = Client::new(base.clone(), auth, rate, RetryPolicy::default())?;
    let pre = preflight::token_checks(&client, base.as_str().trim_end_matches('/')).await;
    for c in pre
        .checks
        .iter()
        .filter(|c| c.verdict == preflight::Verdict::Warn)
    {
        eprintln!("cspmove: {}", c.warning_text(lang));
    }
    if let Some(stop) = pre.stopper() {
        return Err(ApplyError::Preflight {
            check: stop.check,
            subject: stop.subject.clone(),
            text: stop.error_text(),
        }
        .into());
    }
    Ok(client)
}

/// The sha256 of the plan file's bytes. A plan that cannot be read is the plan reader's
/// typed error with its path, so it exits 2 like every unreadable plan (a string error
/// would exit 1 and hide the I/O error's kind from main.rs).
fn plan_sha256(path: &std::path::Path) -> Result<String, PlanFileError> {
    fsx::sha256_file(path).map_err(|e| PlanFileError::InFile {
        path: path.to_path_buf(),
        source: Box::new(PlanFileError::Io(e)),
    })
}

/// Asks on the terminal before the first purchase.
fn confirm(p: &PurchasePreview, lang: Lang) -> bool {
    let t = texts(lang);
    eprint!(
        "{}",
        t.fill(
            "apply_summary.confirm",
            &[
                ("lines", &t.number(p.lines as u64)),
                ("seats", &t.number(p.seats)),
                ("customers", &t.number(p.customers as u64)),
            ],
        )
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

fn summary(o: &run::RunOutcome, journal: &std::path::Path, lang: Lang) -> String {
    let t = texts(lang);
    let n = |v: u64| t.number(v);
    let mut lines = vec![t.fill(
        "apply_summary.customers",
        &[
            ("count", &n(o.rows.len() as u64)),
            ("statuses", &status::status_counts(&o.rows, t)),
        ],
    )];
    let secs = o.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        o.requests as f64 / secs
    } else {
        0.0
    };
    lines.push(t.fill(
        "apply_summary.calls",
        &[
            ("orders", &n(o.orders_placed)),
            ("users", &n(o.users_moved)),
            ("requests", &n(o.requests)),
            ("retries", &n(o.retries)),
            ("throttled", &n(o.throttled)),
            ("seconds", &format!("{secs:.1}")),
            ("rate", &format!("{rate:.1}")),
        ],
    ));
    if let Some((path, count)) = &o.invitations {
        lines.push(t.fill(
            "apply_summary.invitations",
            &[
                ("count", &n(*count as u64)),
                ("path", &path.display().to_string()),
            ],
        ));
    }
    for r in &o.rows {
        if r.status == status::CustomerStatus::Blocked {
            lines.push(t.fill(
                "apply_summary.blocked",
                &[("customer", &r.key), ("step", &r.next.text(t))],
            ));
        } else if let Some(e) = &r.error {
            lines.push(t.fill(
                "apply_summary.failed",
                &[("customer", &r.key), ("error", &e.text_in(t))],
            ));
        }
    }
    lines.push(t.fill(
        "apply_summary.journal",
        &[("path", &journal.display().to_string())],
    ));
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// The in-process sandbox of `apply --sandbox`, seeded from the plan (every customer
/// accepted, loopback only, a token of its own).
pub(super) async fn start_sandbox(
    plan: &Plan,
    state_file: Option<PathBuf>,
) -> Result<cspmove::sandbox::RunningSandbox, cspmove::sandbox::SandboxError> {
    let token = format!("sandbox-{}", uuid::Uuid::new_v4());
    let mut config = cspmove::sandbox::SandboxConfig::new(token);
    config.seed = Some(plan.clone());
    // A rehearsal keeps its sandbox's state beside its journal, so a killed
    // `apply --sandbox` resumes against the seats and users its journal recorded (an
    // existing state file wins over the seed).
    config.state_file = state_file;
    // A rehearsal follows today's Partner Center: a line whose target is a legacy offer
    // is refused there (403 2091) as it would be for real, with the hint to re-plan it
    // with a new-commerce target, so the rehearsal finds it before a real run does.
    cspmove::sandbox::start(config).await
}
