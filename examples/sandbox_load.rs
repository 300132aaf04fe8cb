//! Load generator for `cspmove sandbox`, for the figures in docs/benchmarks.md ("Sandbox").
//!
//! ```text
//! cargo run --release --example sandbox_load -- [--customers 10000] [--concurrency 1000]
//!     [--seconds 10] [--state FILE] [--url http://127.0.0.1:PORT --token TOKEN]
//! ```
//!
//! Without `--url` it seeds an in-process sandbox with `--customers` generated customers
//! (one Office 365 E3 line of 25 seats, 20 assigned, each); with `--url` it drives a
//! running `cspmove sandbox` seeded by the caller. Then it pages once through all
//! customers, and runs `--concurrency` workers (each keeps one request in flight, so the
//! client holds that many connections) for `--seconds`, with a mix of 40 % GET customer,
//! 30 % GET subscribedskus, 20 % GET users (size 100) and 10 % POST orders. Only loopback
//! URLs are accepted. `--state FILE` (in-process only) keeps the state durable, as
//! `cspmove sandbox --state` does (the change log); an existing FILE is replaced.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use cspmove::model::{
    Billing, Customer, LicenseAction, Line, OriginalAction, Plan, Relationship, SCHEMA, Summary,
    Term,
};
use cspmove::sandbox::{SandboxConfig, start};

const E3_OFFER: &str = "796B6B5F-613C-4E24-A17C-EBA730D49C02";

struct Args {
    customers: usize,
    concurrency: usize,
    seconds: u64,
    url: Option<String>,
    token: Option<String>,
    state: Option<std::path::PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        customers: 10_000,
        concurrency: 1_000,
        seconds: 10,
        url: None,
        token: None,
        state: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--customers" => args.customers = value()?.parse()?,
            "--concurrency" => args.concurrency = value()?.parse()?,
            "--seconds" => args.seconds = value()?.parse()?,
            "--url" => args.url = Some(value()?),
            "--token" => args.token = Some(value()?),
            "--state" => args.state = Some(value()?.into()),
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    anyhow::ensure!(
        args.concurrency > 0 && args.customers > 0,
        "counts must be > 0"
    );
    if let Some(url) = &args.url {
        anyhow::ensure!(
            url.starts_with("http://127.0.0.1:") || url.starts_with("http://[::1]:"),
            "only loopback sandboxes are driven: {url}"
        );
    }
    Ok(args)
}

/// The tenant id of generated customer `n`.
fn customer_id(n: usize) -> String {
    format!("10000000-0000-4000-8000-{n:012}")
}

/// A plan with `n` customers, one E3 line each (25 seats, 20 assigned).
pub fn generated_plan(n: usize) -> Plan {
    let day = NaiveDate::from_ymd_opt(2030, 1, 31).expect("date");
    let customers = (0..n)
        .map(|i| Customer {
            key: customer_id(i),
            customer_id: Some(customer_id(i)),
            domain: Some(format!("customer{i}.example")),
            name: Some(format!("Customer {i}")),
            contact_email: None,
            country: Some("US".into()),
            relationship: Relationship::Accepted,
            lines: vec![Line {
                id: format!("c{}-l1", i + 1),
                input: 0,
                row: i as u64 + 2,
                current_offer: "Office 365 Enterprise E3".into(),
                current_offer_id: Some(E3_OFFER.into()),
                target_offer: "Office 365 Enterprise E3".into(),
                target_offer_id: Some(E3_OFFER.into()),
                seats: 25,
                target_seats: 25,
                same_offer: true,
                same_license: true,
                license_action: LicenseAction::None,
                licenses_to_reassign: 0,
                from_sku: None,
                to_sku: None,
                expires_on: Some(day),
                provision_on: day,
                wave: "2030-01".into(),
                original_action: OriginalAction::LetExpire,
                subscription_id: None,
                program: None,
                assigned: Some(20),
                auto_renew: None,
                term: Term::P1Y,
                billing: Billing::Monthly,
                warnings: vec![],
            }],
            tasks: vec![],
        })
        .collect();
    Plan {
        schema: SCHEMA.into(),
        generated_by: cspmove::GENERATED_BY.into(),
        as_of: day,
        lead_days: 7,
        inputs: vec![],
        summary: Summary::default(),
        customers,
        rejected: vec![],
    }
}

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    failed: AtomicU64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let mut running = None;
    let (base, token) = match (&args.url, &args.token) {
        (Some(url), Some(token)) => (url.clone(), token.clone()),
        (Some(_), None) => anyhow::bail!("--url needs --token"),
        _ => {
            let seeding = Instant::now();
            let mut config = SandboxConfig::new("load-token".into());
            config.seed = Some(generated_plan(args.customers));
            if let Some(path) = &args.state {
                let _ = std::fs::remove_file(path);
                config.state_file = Some(path.clone());
            }
            let sb = start(config).await?;
            eprintln!(
                "seeded {} customers in {:.2} s",
                args.customers,
                seeding.elapsed().as_secs_f64()
            );
            let pair = (sb.url(), sb.token().to_string());
            running = Some(sb);
            pair
        }
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(args.concurrency)
        .build()?;

    // One full paging pass, as `apply` does once per run.
    let paging = Instant::now();
    let mut uri = format!("{base}/v1/customers?size=1000");
    let mut header: Option<String> = None;
    let mut listed = 0usize;
    loop {
        let mut req = http.get(&uri).bearer_auth(&token);
        if let Some(h) = &header {
            req = req.header("MS-ContinuationToken", h);
        }
        let body: serde_json::Value = req.send().await?.error_for_status()?.json().await?;
        listed += body["items"].as_array().map_or(0, Vec::len);
        match body["links"].get("next") {
            Some(next) => {
                uri = format!("{base}{}", next["uri"].as_str().unwrap_or_default());
                header = next["headers"][0]["value"].as_str().map(str::to_string);
            }
            None => break,
        }
    }
    println!(
        "paged {listed} customers (size 1000) in {:.3} s",
        paging.elapsed().as_secs_f64()
    );

    let counts = Arc::new(Counts::default());
    let latencies = Arc::new(std::sync::Mutex::new(Vec::<u32>::new()));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let began = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..args.concurrency {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        let (counts, latencies) = (counts.clone(), latencies.clone());
        let customers = args.customers;
        workers.spawn(async move {
            let mut mine = Vec::new();
            let mut i = 0usize;
            while Instant::now() < deadline {
                let cid = customer_id((w * 7919 + i * 104_729) % customers);
                let at = Instant::now();
                let req = match i % 10 {
                    0..=3 => http.get(format!("{base}/v1/customers/{cid}")),
                    4..=6 => http.get(format!("{base}/v1/customers/{cid}/subscribedskus")),
                    7 | 8 => http.get(format!("{base}/v1/customers/{cid}/users?size=100")),
                    _ => http
                        .post(format!("{base}/v1/customers/{cid}/orders"))
                        .header("MS-RequestId", format!("load-{w}-{i}"))
                        .json(&serde_json::json!({"lineItems": [{"lineItemNumber": 0, "offerId": E3_OFFER, "quantity": 1}]})),
                };
                let ok = match req.bearer_auth(&token).send().await {
                    Ok(resp) => resp.status().is_success() && resp.bytes().await.is_ok(),
                    Err(_) => false,
                };
                mine.push(at.elapsed().as_micros().min(u32::MAX as u128) as u32);
                if ok {
                    counts.ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    counts.failed.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
            latencies.lock().expect("lock").extend(mine);
        });
    }
    while workers.join_next().await.is_some() {}
    let secs = began.elapsed().as_secs_f64();
    let ok = counts.ok.load(Ordering::Relaxed);
    let failed = counts.failed.load(Ordering::Relaxed);
    let mut lat = latencies.lock().expect("lock").clone();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    println!(
        "{} workers, {:.1} s: {ok} ok, {failed} failed, {:.0} requests/s; latency p50 {:.1} ms, p99 {:.1} ms",
        args.concurrency,
        secs,
        (ok + failed) as f64 / secs,
        pct(0.5),
        pct(0.99)
    );
    if let Some(sb) = running {
        sb.shutdown().await;
    }
    Ok(())
}
