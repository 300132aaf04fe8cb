//! Integration tests of `cspmove apply` and `cspmove status`, all against a real
//! `cspmove sandbox` process on 127.0.0.1.
//!
//! End states are read from the sandbox's `/sandbox/state` and compared with what the
//! plan asks for: one order per accepted customer holding exactly its due lines, every
//! user of a changing line on the new SKU, nobody else touched.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cspmove::apply::testplan::{
    M365_E3_NCE, M365_E3_SKU, O365_E3_NCE, O365_E3_SKU, plan_with, with_legacy_targets,
};
use cspmove::model::{LicenseAction, Plan};
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::common::{Output, Sandbox, Workdir, run_command};

pub(crate) fn write_plan(wd: &Workdir, plan: &Plan) -> PathBuf {
    wd.write("plan.json", serde_json::to_vec_pretty(plan).unwrap())
}

pub(crate) fn apply_command(wd: &Workdir, sb: &Sandbox, extra: &[&str]) -> Command {
    let mut cmd = wd.command([
        "apply",
        "plan.json",
        "--endpoint",
        &sb.url,
        "--yes",
        "--now",
        "--rate",
        "2000",
    ]);
    cmd.args(extra).env("CSPMOVE_TOKEN", &sb.token);
    cmd
}

fn apply(wd: &Workdir, sb: &Sandbox, extra: &[&str]) -> Output {
    run_command(apply_command(wd, sb, extra), None)
}

/// Re-runs apply until it exits 0 (a cron job would do the same), at most `max` times.
fn apply_until_done(wd: &Workdir, sb: &Sandbox, extra: &[&str], max: usize) -> Output {
    let mut last = None;
    for _ in 0..max {
        let out = apply(wd, sb, extra);
        if out.code == Some(0) {
            return out;
        }
        last = Some(out);
    }
    let out = last.unwrap();
    panic!("apply did not finish after {max} runs; last run:\n{out:?}");
}

fn http(sb: &Sandbox, method: reqwest::Method, path: &str) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = reqwest::Client::new()
            .request(method, format!("{}{path}", sb.url))
            .bearer_auth(&sb.token)
            .send()
            .await
            .expect("sandbox answers");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json::<Value>().await.unwrap_or(Value::Null)
    })
}

pub(crate) fn sandbox_state(sb: &Sandbox) -> Value {
    http(sb, reqwest::Method::GET, "/sandbox/state")
}

/// What a customer ended with, without server-generated ids.
#[derive(Debug, Clone, PartialEq, Eq)]
struct End {
    accepted: bool,
    /// Each order's (offer, quantity) items.
    orders: Vec<Vec<(String, u64)>>,
    subscriptions: Vec<(String, u64)>,
    /// userPrincipalName → licence SKUs.
    users: BTreeMap<String, BTreeSet<String>>,
}

/// An offer as the plan names it: a new-commerce order or subscription carries
/// PRODUCT:SKU:AVAILABILITY, the plan PRODUCT:SKU (availabilities change over time).
fn offer_key(offer: &str) -> String {
    let lower = offer.to_ascii_lowercase();
    let parts: Vec<&str> = lower.split(':').collect();
    if parts.len() >= 2 {
        format!("{}:{}", parts[0], parts[1])
    } else {
        lower
    }
}

fn end_state(state: &Value) -> BTreeMap<String, End> {
    let s = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_ascii_lowercase();
    state["customers"]
        .as_array()
        .expect("customers")
        .iter()
        .map(|c| {
            let mut orders: Vec<Vec<(String, u64)>> = c["orders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    let mut items: Vec<(String, u64)> = o["lineItems"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|li| {
                            (
                                offer_key(&s(li, "offerId")),
                                li["quantity"].as_u64().unwrap(),
                            )
                        })
                        .collect();
                    items.sort();
                    items
                })
                .collect();
            orders.sort();
            let mut subscriptions: Vec<(String, u64)> = c["subscriptions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| (offer_key(&s(x, "offerId")), x["quantity"].as_u64().unwrap()))
                .collect();
            subscriptions.sort();
            let users = c["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| {
                    (
                        s(u, "userPrincipalName"),
                        u["licenses"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|l| l.as_str().unwrap().to_ascii_lowercase())
                            .collect(),
                    )
                })
                .collect();
            (
                s(c, "domain"),
                End {
                    accepted: c["accepted"].as_bool().unwrap(),
                    orders,
                    subscriptions,
                    users,
                },
            )
        })
        .collect()
}

/// Asserts the end state the plan asks for: accepted customers hold exactly one order of
/// their lines and their users hold the target SKU; others have nothing.
#[track_caller]
fn assert_plan_carried_out(plan: &Plan, ends: &BTreeMap<String, End>) {
    for c in &plan.customers {
        let domain = c.domain.clone().unwrap();
        let end = ends
            .get(&domain)
            .unwrap_or_else(|| panic!("{domain} not in the sandbox"));
        if !end.accepted {
            assert!(end.orders.is_empty(), "{domain} not accepted but ordered");
            continue;
        }
        let mut want: Vec<(String, u64)> = c
            .lines
            .iter()
            .map(|l| {
                (
                    l.target_offer_id.clone().unwrap().to_ascii_lowercase(),
                    l.target_seats,
                )
            })
            .collect();
        want.sort();
        assert_eq!(end.orders, vec![want.clone()], "{domain}: orders");
        assert_eq!(end.subscriptions, want, "{domain}: subscriptions");
        let reassign = c
            .lines
            .iter()
            .any(|l| l.license_action == LicenseAction::Reassign);
        assert!(!end.users.is_empty(), "{domain}: no users seeded");
        for (upn, skus) in &end.users {
            if reassign {
                assert!(
                    skus.contains(M365_E3_SKU) && !skus.contains(O365_E3_SKU),
                    "{domain} {upn} not moved: {skus:?}"
                );
            } else {
                assert!(
                    skus.contains(O365_E3_SKU) && !skus.contains(M365_E3_SKU),
                    "{domain} {upn} touched: {skus:?}"
                );
            }
        }
    }
}

fn status_json(wd: &Workdir) -> Value {
    let out = wd
        .run(["status", "plan.json", "--format", "json"])
        .expect_code(0);
    serde_json::from_str(&out.stdout).expect("status JSON")
}

fn statuses(wd: &Workdir) -> BTreeMap<String, String> {
    domain_statuses(&status_json(wd))
}

/// Customer domain → status, from `status --format json` output.
fn domain_statuses(v: &Value) -> BTreeMap<String, String> {
    v["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["domain"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn happy_path_provisions_accepted_customers_once_and_invites_the_rest() {
    let wd = Workdir::new();
    let plan = plan_with(6, 4, 2);
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap(), "--accept", "0.6"]);
    let before = end_state(&sandbox_state(&sb));
    let accepted = before.values().filter(|e| e.accepted).count();
    assert!(
        accepted > 0 && accepted < plan.customers.len(),
        "want a mix of accepted and not: {accepted}"
    );

    let out = apply(
        &wd,
        &sb,
        &[
            "--report", "run.md", "--report", "run.json", "--report", "run.csv",
        ],
    )
    .expect_code(0);
    let ends = end_state(&sandbox_state(&sb));
    assert_plan_carried_out(&plan, &ends);
    let awaiting: BTreeSet<String> = ends
        .iter()
        .filter(|(_, e)| !e.accepted)
        .map(|(d, _)| d.clone())
        .collect();
    assert!(
        out.stdout
            .contains(&format!("awaiting_acceptance {}", awaiting.len())),
        "{}",
        out.stdout
    );

    // invitations.csv lists exactly the customers who have not accepted, with the link.
    let inv = wd.read("invitations.csv");
    let mut lines = inv.lines();
    // UTF-8 with a BOM (Excel), and a note that the link grants no admin access.
    assert_eq!(
        lines.next(),
        Some("\u{feff}customer,name,contact_email,link,note")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), awaiting.len(), "{inv}");
    for c in plan
        .customers
        .iter()
        .filter(|c| awaiting.contains(c.domain.as_ref().unwrap()))
    {
        let email = c.contact_email.as_deref().unwrap();
        let row = rows.iter().find(|r| r.contains(email)).expect(email);
        assert!(row.contains("https://"), "no link in {row}");
        assert!(
            row.contains("no admin access") && row.contains("GDAP"),
            "{row}"
        );
    }

    // status reads the journal: done for the accepted, awaiting_acceptance for the rest.
    for (domain, status) in statuses(&wd) {
        let want = if awaiting.contains(&domain) {
            "awaiting_acceptance"
        } else {
            "done"
        };
        assert_eq!(status, want, "{domain}");
    }
    let text = wd.run(["status", "plan.json"]).expect_code(0);
    assert!(
        text.stdout
            .contains("lets the original subscription expire on 2026-11-25")
    );

    // The reports say the same thing.
    let report: Value = serde_json::from_str(&wd.read("run.json")).unwrap();
    assert_eq!(report["counts"]["done"], accepted);
    assert!(wd.read("run.md").contains("| done |"));
    assert_eq!(wd.read("run.csv").lines().count(), plan.customers.len() + 1);
    // UTF-8 with a BOM, so Excel reads Korean and Japanese names right.
    assert!(
        wd.read("run.csv").starts_with('\u{feff}'),
        "no BOM in run.csv"
    );

    // A customer accepts; the next run (as from cron) provisions only that one.
    let newcomer = plan
        .customers
        .iter()
        .find(|c| awaiting.contains(c.domain.as_ref().unwrap()))
        .unwrap();
    let id = before_id(&sb, newcomer.domain.as_deref().unwrap());
    http(
        &sb,
        reqwest::Method::POST,
        &format!("/sandbox/customers/{id}/accept"),
    );
    apply(&wd, &sb, &[]).expect_code(0);
    let ends2 = end_state(&sandbox_state(&sb));
    assert!(ends2[newcomer.domain.as_ref().unwrap()].accepted);
    assert_plan_carried_out(&plan, &ends2);
    assert_eq!(statuses(&wd)[newcomer.domain.as_ref().unwrap()], "done");

    // Nothing anywhere carries the token.
    for entry in std::fs::read_dir(wd.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(&sb.token),
                "{} holds the token",
                path.display()
            );
        }
    }
    assert!(!out.stdout.contains(&sb.token) && !out.stderr.contains(&sb.token));
}

fn before_id(sb: &Sandbox, domain: &str) -> String {
    sandbox_state(sb)["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["domain"].as_str().unwrap().eq_ignore_ascii_case(domain))
        .map(|c| c["id"].as_str().unwrap().to_string())
        .unwrap()
}

#[test]
fn a_second_run_changes_nothing_and_uses_one_sweep() {
    let wd = Workdir::new();
    let plan = plan_with(5, 2, 1);
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    apply(&wd, &sb, &[]).expect_code(0);
    let first = end_state(&sandbox_state(&sb));
    assert_plan_carried_out(&plan, &first);
    let requests_before = sandbox_state(&sb)["stats"]["requests"].as_u64().unwrap();
    let out = apply(&wd, &sb, &[]).expect_code(0);
    let state = sandbox_state(&sb);
    assert_eq!(end_state(&state), first, "a re-run changed something");
    // The preflight's three calls and one sweep page, nothing else: every customer is
    // already done.
    let requests = state["stats"]["requests"].as_u64().unwrap() - requests_before;
    assert_eq!(requests, 4, "{}", out.stdout);
    assert!(out.stdout.contains("orders placed 0"), "{}", out.stdout);
}

#[test]
fn faults_end_state_equals_the_fault_free_run() {
    let plan = plan_with(14, 6, 2);
    // The fault-free run.
    let clean_wd = Workdir::new();
    let clean_plan = write_plan(&clean_wd, &plan);
    let clean = Sandbox::start(&["--seed", clean_plan.to_str().unwrap()]);
    apply(&clean_wd, &clean, &[]).expect_code(0);
    let want = end_state(&sandbox_state(&clean));
    assert_plan_carried_out(&plan, &want);

    // 10% 429; a 25% fail rate splits into 5xx (10%), dropped connections before (5%) and
    // after (5%) the change, and 500 after the change (5%).
    let wd = Workdir::new();
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&[
        "--seed",
        plan_path.to_str().unwrap(),
        "--fail-rate",
        "0.25",
        "--throttle-rate",
        "0.1",
        "--fault-seed",
        "20261121",
    ]);
    apply_until_done(&wd, &sb, &["--max-failures", "1000"], 8);
    let state = sandbox_state(&sb);
    let got = end_state(&state);
    assert_eq!(
        got, want,
        "faulty run ended differently from the fault-free run"
    );
    assert!(
        state["stats"]["faults"].as_u64().unwrap() > 10,
        "{}",
        state["stats"]
    );
    assert!(
        state["stats"]["throttled"].as_u64().unwrap() > 5,
        "{}",
        state["stats"]
    );
    // Some purchase went through despite a failed answer and was reconciled, not repeated.
    let journal = wd.read("plan.journal.jsonl");
    assert!(
        journal.contains("\"state\":\"ambiguous\""),
        "no ambiguous purchase was exercised"
    );
}

#[test]
fn crashes_at_random_moments_then_reruns_end_in_the_same_state() {
    let wd = Workdir::new();
    let plan = plan_with(240, 60, 0);
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap(), "--latency-ms", "40"]);
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mut kills = 0;
    // Kill at random moments until at least three kills landed and one of them landed
    // between a purchase's `started` and its outcome; how fast a run goes depends on the
    // machine, so the number of attempts is bounded rather than fixed.
    let journal_path = wd.join("plan.journal.jsonl");
    let read_journal = || std::fs::read_to_string(&journal_path).unwrap_or_default();
    // Purchases (request IDs) that were in flight when a kill landed.
    let mut pending_at_kill: BTreeSet<String> = BTreeSet::new();
    for attempt in 0..30 {
        if kills >= 3 && !pending_at_kill.is_empty() {
            break;
        }
        let before = purchases(&read_journal()).started.len();
        let mut cmd = apply_command(&wd, &sb, &[]);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("spawn apply");
        // Every other attempt kills at a random moment; the others as soon as a new
        // purchase is `started` (written durably before its request leaves), plus a few
        // random milliseconds, well under the sandbox's 40 ms latency: a loaded machine
        // that is slow to reach the purchases still gets kills that land mid-purchase.
        let at_random = attempt % 2 == 0;
        let wait = Duration::from_millis(rng.random_range(150..1200));
        let settle = Duration::from_millis(rng.random_range(0..15));
        let started = Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if at_random && started.elapsed() >= wait {
                break;
            }
            if !at_random && purchases(&read_journal()).started.len() > before {
                std::thread::sleep(settle);
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                break;
            }
            std::thread::sleep(Duration::from_millis(if at_random { 10 } else { 2 }));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL: no cleanup, no flush
            kills += 1;
            child.wait().unwrap();
            let p = purchases(&read_journal());
            pending_at_kill.extend(p.started.difference(&p.settled).cloned());
        }
        child.wait().unwrap();
    }
    assert!(
        kills >= 3,
        "apply finished too fast to be killed ({kills} kills)"
    );
    assert!(
        !pending_at_kill.is_empty(),
        "no kill landed mid-purchase ({kills} kills); the test exercised nothing"
    );
    apply_until_done(&wd, &sb, &[], 6);
    assert_plan_carried_out(&plan, &end_state(&sandbox_state(&sb)));
    assert!(statuses(&wd).values().all(|s| s == "done"));
    // Every purchase a kill left in flight was taken up by a later run (the order found,
    // or sent again under the same request ID) and settled; the end state above proves
    // nothing was ordered twice.
    let end = purchases(&wd.read("plan.journal.jsonl"));
    let left: Vec<&String> = pending_at_kill.difference(&end.settled).collect();
    assert!(
        left.is_empty(),
        "purchases in flight at a kill never settled: {left:?}"
    );
}

/// The purchases of a journal by request ID: those `started`, and those with an outcome
/// (succeeded, failed, ambiguous, or a reconcile that found them).
struct Purchases {
    started: BTreeSet<String>,
    settled: BTreeSet<String>,
}

fn purchases(journal: &str) -> Purchases {
    let mut p = Purchases {
        started: BTreeSet::new(),
        settled: BTreeSet::new(),
    };
    for e in journal
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
    {
        let Some(rid) = e["request_id"].as_str() else {
            continue;
        };
        let purchase = e["action"] == "provision" || e["action"] == "reconcile";
        if !purchase {
            continue;
        }
        if e["action"] == "provision" && e["state"] == "started" {
            p.started.insert(rid.to_string());
        } else {
            p.settled.insert(rid.to_string());
        }
    }
    p
}

#[test]
fn a_journal_written_for_another_plan_is_refused() {
    let wd = Workdir::new();
    write_plan(&wd, &plan_with(2, 0, 0));
    wd.write(
        "plan.journal.jsonl",
        "{\"journal\":\"cspmove.journal/v1\",\"plan_sha256\":\"00ff\",\"created\":\"2026-11-01T00:00:00Z\",\"generated_by\":\"cspmove 0.1.0\"}\n",
    );
    let mut cmd = wd.command([
        "apply",
        "plan.json",
        "--endpoint",
        "http://127.0.0.1:9",
        "--yes",
    ]);
    cmd.env("CSPMOVE_TOKEN", "t");
    run_command(cmd, None)
        .expect_code(1)
        .expect_stderr_contains("written for another plan");
    wd.run(["status", "plan.json"])
        .expect_code(1)
        .expect_stderr_contains("written for another plan");
}

#[test]
fn a_second_concurrent_apply_is_refused() {
    let wd = Workdir::new();
    let plan_path = write_plan(&wd, &plan_with(20, 0, 0));
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap(), "--latency-ms", "300"]);
    let mut first = apply_command(&wd, &sb, &["--concurrency", "1"]);
    first.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = first.spawn().unwrap();
    // Wait for the first run to hold its lock (its journal exists).
    let start = Instant::now();
    while !wd.join("plan.journal.jsonl").exists() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = apply(&wd, &sb, &[]);
    let _ = child.kill();
    let _ = child.wait();
    out.expect_code(1)
        .expect_stderr_contains("another `cspmove apply` is running");
}

#[test]
fn a_wrong_token_stops_the_run_with_a_clear_message() {
    let wd = Workdir::new();
    let plan_path = write_plan(&wd, &plan_with(3, 0, 0));
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let mut cmd = apply_command(&wd, &sb, &[]);
    cmd.env("CSPMOVE_TOKEN", "not-the-token-xyz");
    let out = run_command(cmd, None)
        .expect_code(1)
        .expect_stderr_contains("HTTP 401")
        .expect_stderr_contains("CSPMOVE_TOKEN");
    assert!(!out.stderr.contains("not-the-token-xyz"));
    let ends = end_state(&sandbox_state(&sb));
    assert!(ends.values().all(|e| e.orders.is_empty()));
}

#[test]
fn an_app_only_token_stops_at_the_first_user_operation() {
    let wd = Workdir::new();
    let plan = plan_with(0, 2, 0);
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    // An app-only token from the sandbox's own token endpoint (client credentials).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let token: Value = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/partner-tenant/oauth2/token", sb.url))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "app"),
                ("client_secret", "secret"),
                ("resource", "https://graph.windows.net"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let mut cmd = apply_command(&wd, &sb, &["--concurrency", "1"]);
    cmd.env("CSPMOVE_TOKEN", token["access_token"].as_str().unwrap());
    run_command(cmd, None)
        .expect_code(1)
        .expect_stderr_contains("cannot do user operations");
}

#[test]
fn the_refresh_token_flow_works_against_the_sandbox_authority() {
    let wd = Workdir::new();
    let plan = plan_with(2, 1, 0);
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let mut cmd = apply_command(&wd, &sb, &[]);
    cmd.env_remove("CSPMOVE_TOKEN")
        .env("CSPMOVE_REFRESH_TOKEN", "refresh-secret-123")
        .env("CSPMOVE_CLIENT_ID", "app")
        .env("CSPMOVE_CLIENT_SECRET", "client-secret-456")
        .env("CSPMOVE_TENANT_ID", "partner-tenant")
        .env("CSPMOVE_AUTHORITY", &sb.url);
    let out = run_command(cmd, None).expect_code(0);
    assert_plan_carried_out(&plan, &end_state(&sandbox_state(&sb)));
    let journal = wd.read("plan.journal.jsonl");
    for secret in ["refresh-secret-123", "client-secret-456", "sbx-"] {
        assert!(
            !journal.contains(secret)
                && !out.stdout.contains(secret)
                && !out.stderr.contains(secret)
        );
    }
}

#[test]
fn yes_is_required_without_a_terminal_and_dry_run_changes_nothing() {
    let wd = Workdir::new();
    let plan = plan_with(2, 1, 1);
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let mut cmd = wd.command(["apply", "plan.json", "--endpoint", &sb.url, "--now"]);
    cmd.env("CSPMOVE_TOKEN", &sb.token);
    run_command(cmd, None)
        .expect_code(2)
        .expect_stderr_contains("--yes");

    let out = apply(&wd, &sb, &["--dry-run"]).expect_code(0);
    // Today's purchases are new commerce: one cart per customer, no legacy order.
    assert_eq!(
        out.stdout.matches("/carts, POST").count(),
        4,
        "{}",
        out.stdout
    );
    assert_eq!(out.stdout.matches("/orders [").count(), 0, "{}", out.stdout);
    assert!(out.stdout.contains("licenseupdates"), "{}", out.stdout);
    assert!(out.stdout.contains("nothing was changed"));
    let state = sandbox_state(&sb);
    assert_eq!(state["stats"]["requests"].as_u64(), Some(0));
    assert!(!wd.join("plan.journal.jsonl").exists());
}

#[test]
fn only_limits_the_run_to_the_named_customers() {
    let wd = Workdir::new();
    let plan = plan_with(3, 0, 1);
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let chosen = plan.customers[3].domain.clone().unwrap(); // planned by domain alone
    apply(&wd, &sb, &["--only", &chosen]).expect_code(0);
    let ends = end_state(&sandbox_state(&sb));
    for (domain, end) in &ends {
        assert_eq!(end.orders.len(), usize::from(*domain == chosen), "{domain}");
    }
    let st = statuses(&wd);
    assert_eq!(st[&chosen], "done");
    assert_eq!(st.values().filter(|s| *s == "done").count(), 1, "{st:?}");
}

#[test]
fn not_due_lines_wait_for_their_date() {
    let wd = Workdir::new();
    let mut plan = plan_with(2, 0, 0);
    let future = chrono::Local::now().date_naive() + chrono::Days::new(30);
    plan.customers[1].lines[0].provision_on = future;
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let mut cmd = wd.command([
        "apply",
        "plan.json",
        "--endpoint",
        &sb.url,
        "--yes",
        "--rate",
        "2000",
    ]);
    cmd.env("CSPMOVE_TOKEN", &sb.token);
    run_command(cmd, None).expect_code(0);
    let ends = end_state(&sandbox_state(&sb));
    assert_eq!(
        ends[plan.customers[0].domain.as_ref().unwrap()]
            .orders
            .len(),
        1
    );
    assert!(
        ends[plan.customers[1].domain.as_ref().unwrap()]
            .orders
            .is_empty()
    );
    let st = status_json(&wd);
    let waiting = &st["customers"][1];
    assert_eq!(waiting["status"], "scheduled");
    assert_eq!(waiting["next_date"], future.to_string());
    assert_eq!(waiting["waiting_on"], "due_date");
}

#[test]
fn apply_sandbox_rehearses_the_whole_flow_in_process() {
    let wd = Workdir::new();
    write_plan(&wd, &plan_with(3, 2, 1));
    let out = wd
        .run([
            "apply",
            "plan.json",
            "--sandbox",
            "--now",
            "--yes",
            "--rate",
            "2000",
        ])
        .expect_code(0);
    assert!(out.stdout.contains("6 customers: done 6"), "{}", out.stdout);
    // A rehearsal keeps its own journal: the real run's journal is untouched.
    assert!(wd.join("plan.sandbox.journal.jsonl").exists());
    assert!(!wd.join("plan.journal.jsonl").exists());
    let status = wd
        .run([
            "status",
            "plan.json",
            "--journal",
            "plan.sandbox.journal.jsonl",
        ])
        .expect_code(0);
    assert!(
        status.stdout.contains("6 customers: done 6"),
        "{}",
        status.stdout
    );
}

#[test]
fn new_commerce_lines_go_through_a_cart_and_checkout() {
    let wd = Workdir::new();
    let mut plan = plan_with(1, 2, 0);
    // Customer 3 buys two new-commerce lines: one cart, one checkout, one order.
    let mut extra = plan.customers[2].lines[0].clone();
    extra.id = "c3-l2".into();
    extra.row += 100;
    extra.target_offer_id = Some(O365_E3_NCE.into());
    extra.target_offer = "Office 365 E3".into();
    extra.target_seats = 5;
    extra.license_action = LicenseAction::None;
    extra.licenses_to_reassign = 0;
    extra.from_sku = None;
    extra.to_sku = None;
    plan.customers[2].lines.push(extra);
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    apply(&wd, &sb, &[]).expect_code(0);
    let state = sandbox_state(&sb);
    let ends = end_state(&state);
    let c2 = &ends[plan.customers[1].domain.as_ref().unwrap()];
    assert_eq!(c2.orders.len(), 1, "{c2:?}");
    assert_eq!(c2.subscriptions.len(), 1, "{c2:?}");
    assert_eq!(c2.subscriptions[0].0, "cfq7ttc0lflx:0001", "{c2:?}");
    assert_eq!(c2.subscriptions[0].1, 10);
    for skus in c2.users.values() {
        assert!(
            skus.contains(M365_E3_SKU) && !skus.contains(O365_E3_SKU),
            "{skus:?}"
        );
    }
    let c3 = &ends[plan.customers[2].domain.as_ref().unwrap()];
    assert_eq!(c3.orders.len(), 1, "one checkout of one cart: {c3:?}");
    assert_eq!(c3.orders[0].len(), 2, "{c3:?}");
    assert_eq!(c3.subscriptions.len(), 2, "{c3:?}");
    // New-commerce orders (12 hex digits), no legacy order anywhere.
    for c in state["customers"].as_array().unwrap() {
        for o in c["orders"].as_array().unwrap() {
            let id = o["id"].as_str().unwrap();
            assert!(id.len() == 12 && !id.contains('-'), "not a cart order: {o}");
        }
    }
    // A re-run buys nothing more.
    apply(&wd, &sb, &[]).expect_code(0);
    assert_eq!(end_state(&sandbox_state(&sb)), ends);
    assert!(statuses(&wd).values().all(|s| s == "done"));
}

#[test]
fn faults_in_cart_checkouts_end_as_the_fault_free_run() {
    // Every line is bought as a new-commerce item: a cart and a checkout, whose failed
    // answers must be reconciled, never bought twice.
    let plan = plan_with(14, 6, 2);
    let clean_wd = Workdir::new();
    let clean_plan = write_plan(&clean_wd, &plan);
    let clean = Sandbox::start(&["--seed", clean_plan.to_str().unwrap()]);
    apply(&clean_wd, &clean, &[]).expect_code(0);
    let want = end_state(&sandbox_state(&clean));

    // A checkout's fate depends only on the fault seed and its request ID (stable for a
    // plan), not on the order in which concurrent requests reach the sandbox: with
    // these seeds some checkout's answer is lost, in every run on every machine.
    let mut exercised = Vec::new();
    for seed in ["7", "8"] {
        let wd = Workdir::new();
        let plan_path = write_plan(&wd, &plan);
        let sb = Sandbox::start(&[
            "--seed",
            plan_path.to_str().unwrap(),
            "--fail-rate",
            "0.25",
            "--fault-seed",
            seed,
        ]);
        apply_until_done(&wd, &sb, &["--max-failures", "1000"], 8);
        assert_eq!(
            end_state(&sandbox_state(&sb)),
            want,
            "faulty run (fault seed {seed}) ended differently from the fault-free run"
        );
        let journal = wd.read("plan.journal.jsonl");
        let ambiguous_checkouts = journal
            .lines()
            .filter(|l| l.contains("\"state\":\"ambiguous\"") && l.contains("\"cart_id\""))
            .count();
        exercised.push((seed, ambiguous_checkouts));
    }
    assert!(
        exercised.iter().all(|(_, n)| *n > 0),
        "a seed exercised no ambiguous checkout: {exercised:?}"
    );
}

#[test]
fn max_failures_stops_a_run_that_is_going_wrong() {
    let wd = Workdir::new();
    let mut plan = plan_with(6, 0, 0);
    for c in &mut plan.customers {
        // More seats than the product allows: the cart line carries error 10015.
        c.lines[0].target_seats = 20_000_000;
    }
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let out = apply(
        &wd,
        &sb,
        &[
            "--concurrency",
            "1",
            "--max-failures",
            "2",
            "--report",
            "r.csv",
        ],
    )
    .expect_code(1)
    .expect_stderr_contains("stopped after 2 failed customers");
    assert!(out.stdout.contains("code 10015"), "{}", out.stdout);
    assert!(
        out.stdout.contains("outside the offer's minimum/maximum"),
        "{}",
        out.stdout
    );
    let st = statuses(&wd);
    assert_eq!(st.values().filter(|s| *s == "failed").count(), 2, "{st:?}");
    assert_eq!(
        st.values().filter(|s| *s == "scheduled").count(),
        4,
        "{st:?}"
    );
    let csv = wd.read("r.csv");
    assert_eq!(csv.matches(",10015,").count(), 2, "{csv}");
}

/// Customer 1 of a legacy plan keeps Office 365 E3 and adds Exchange Online Archiving
/// (a legacy add-on of E3, 7 seats).
fn legacy_addon_plan() -> Plan {
    let mut plan = with_legacy_targets(plan_with(2, 0, 0));
    let mut addon = plan.customers[0].lines[0].clone();
    addon.id = "c1-l2".into();
    addon.row += 100;
    addon.current_offer = "Exchange Online Archiving for Exchange Online".into();
    addon.target_offer = addon.current_offer.clone();
    addon.current_offer_id = Some(ARCHIVING_ADDON.into());
    addon.target_offer_id = addon.current_offer_id.clone();
    addon.seats = 7;
    addon.target_seats = 7;
    plan.customers[0].lines.push(addon);
    plan
}

const ARCHIVING_ADDON: &str = "2828BE95-46BA-4F91-B2FD-0BEF192ECF60";

#[test]
fn a_legacy_add_on_is_a_patch_of_its_parents_order() {
    let wd = Workdir::new();
    let plan = legacy_addon_plan();
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start_legacy(&["--seed", plan_path.to_str().unwrap()]);
    apply(&wd, &sb, &[]).expect_code(0);
    let state = sandbox_state(&sb);
    let ends = end_state(&state);
    let c1 = &ends[plan.customers[0].domain.as_ref().unwrap()];
    // One order: the base order, to which the PATCH added the add-on's line.
    assert_eq!(c1.orders.len(), 1, "{c1:?}");
    assert_eq!(
        c1.orders[0],
        vec![
            (ARCHIVING_ADDON.to_ascii_lowercase(), 7),
            (
                cspmove::apply::testplan::O365_E3_OFFER.to_ascii_lowercase(),
                25
            ),
        ],
        "{c1:?}"
    );
    assert_eq!(c1.subscriptions.len(), 2, "{c1:?}");
    // The add-on's subscription belongs to the base order and names its parent.
    let subs = subscriptions(&sb, plan.customers[0].domain.as_ref().unwrap());
    let base = subs
        .iter()
        .find(|s| s["offerId"] != ARCHIVING_ADDON)
        .expect("base subscription");
    let addon = subs
        .iter()
        .find(|s| s["offerId"] == ARCHIVING_ADDON)
        .expect("add-on subscription");
    assert_eq!(addon["parentSubscriptionId"], base["id"], "{subs:?}");
    assert_eq!(addon["orderId"], base["orderId"], "{subs:?}");
    assert!(
        addon["friendlyName"]
            .as_str()
            .unwrap()
            .contains("[cspmove:"),
        "{addon}"
    );
    let journal = wd.read("plan.journal.jsonl");
    assert!(journal.contains("add-ons: PATCH of order"), "{journal}");
    // A re-run buys nothing more; a re-plan with a fresh journal neither.
    apply(&wd, &sb, &[]).expect_code(0);
    assert_eq!(end_state(&sandbox_state(&sb)), ends);
    assert!(statuses(&wd).values().all(|s| s == "done"));
    wd.write(
        "plan.json",
        serde_json::to_vec_pretty(&replanned(&plan)).unwrap(),
    );
    let out = apply(&wd, &sb, &["--journal", "fresh.journal.jsonl"]).expect_code(0);
    assert!(out.stdout.contains("orders placed 0"), "{}", out.stdout);
    assert_eq!(end_state(&sandbox_state(&sb)), ends);
}

#[test]
fn a_legacy_add_on_left_pending_by_a_crash_is_found_not_bought_again() {
    let wd = Workdir::new();
    let plan = legacy_addon_plan();
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start_legacy(&["--seed", plan_path.to_str().unwrap()]);
    apply(&wd, &sb, &[]).expect_code(0);
    let ends = end_state(&sandbox_state(&sb));
    // The journal as a crash right after the PATCH left it: the add-on's `started`, no
    // outcome. The next run reconciles (the add-on subscription carries the line's tag,
    // though its order is older than the purchase) and buys nothing.
    let journal = wd.read("plan.journal.jsonl");
    let kept: Vec<&str> = journal
        .lines()
        .filter(|l| !(l.contains("\"c1-l2\"") && l.contains("\"succeeded\"")))
        .collect();
    assert!(kept.len() < journal.lines().count(), "{journal}");
    wd.write("plan.journal.jsonl", kept.join("\n") + "\n");
    assert_eq!(
        statuses(&wd)[plan.customers[0].domain.as_ref().unwrap()],
        "provisioned"
    );
    let out = apply(&wd, &sb, &[]).expect_code(0);
    assert!(out.stdout.contains("orders placed 0"), "{}", out.stdout);
    assert_eq!(end_state(&sandbox_state(&sb)), ends);
    assert!(statuses(&wd).values().all(|s| s == "done"));
    // Found by the reconciliation of the pending PATCH itself.
    let journal = wd.read("plan.journal.jsonl");
    assert!(
        journal.lines().any(|l| l.contains("\"reconcile\"")
            && l.contains("\"c1-l2\"")
            && l.contains("found the order sent before the interruption")),
        "{journal}"
    );
}

#[test]
fn a_legacy_add_on_is_refused_by_todays_partner_center_with_the_reason() {
    let wd = Workdir::new();
    let mut plan = legacy_addon_plan();
    // The base is bought in new commerce; the add-on is a legacy offer nobody sells.
    plan.customers[0].lines[0].target_offer_id = Some(O365_E3_NCE.into());
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let out = apply(&wd, &sb, &[]).expect_code(1);
    // No legacy base subscription to patch: the add-on fails on its own, the base is bought.
    assert!(
        out.stdout
            .contains("no active subscription to an offer it requires"),
        "{}",
        out.stdout
    );
    let c1 = &end_state(&sandbox_state(&sb))[plan.customers[0].domain.as_ref().unwrap()];
    assert_eq!(
        c1.subscriptions,
        vec![("cfq7ttc0lf8r:0001".to_string(), 25)]
    );
}

#[test]
fn a_legacy_target_is_refused_with_the_reason_and_buys_nothing() {
    let wd = Workdir::new();
    let mut plan = plan_with(2, 0, 0);
    plan.customers[0].lines[0].target_offer_id =
        Some(cspmove::apply::testplan::O365_E3_OFFER.into());
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let out = apply(&wd, &sb, &["--report", "run.json"]).expect_code(1);
    for want in [
        "code 2091",
        "no longer sells new legacy",
        "new-commerce target (PRODUCT:SKU",
        "nothing was bought",
    ] {
        assert!(out.stdout.contains(want), "{want}: {}", out.stdout);
    }
    let ends = end_state(&sandbox_state(&sb));
    assert!(
        ends[plan.customers[0].domain.as_ref().unwrap()]
            .orders
            .is_empty()
    );
    assert_eq!(
        ends[plan.customers[1].domain.as_ref().unwrap()]
            .orders
            .len(),
        1
    );
    let st = statuses(&wd);
    assert_eq!(st[plan.customers[0].domain.as_ref().unwrap()], "failed");
    assert_eq!(st[plan.customers[1].domain.as_ref().unwrap()], "done");
    // A rehearsal follows today's rules too: it finds the same refusal before a real run.
    let rehearsal = wd
        .run(["apply", "plan.json", "--sandbox", "--now", "--yes"])
        .expect_code(1);
    assert!(
        rehearsal.stdout.contains("no longer sells new legacy"),
        "{}",
        rehearsal.stdout
    );
}

#[test]
fn the_legacy_order_path_works_where_legacy_offers_still_sell() {
    let wd = Workdir::new();
    let plan = with_legacy_targets(plan_with(2, 2, 1));
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start_legacy(&["--seed", plan_path.to_str().unwrap()]);
    let dry = apply(&wd, &sb, &["--dry-run"]).expect_code(0);
    assert_eq!(dry.stdout.matches("/orders [").count(), 5, "{}", dry.stdout);
    apply(&wd, &sb, &[]).expect_code(0);
    let state = sandbox_state(&sb);
    assert_plan_carried_out(&plan, &end_state(&state));
    // Legacy orders (GUID ids), not carts.
    for c in state["customers"].as_array().unwrap() {
        for o in c["orders"].as_array().unwrap() {
            assert!(
                uuid::Uuid::parse_str(o["id"].as_str().unwrap()).is_ok(),
                "{o}"
            );
        }
    }
    assert!(statuses(&wd).values().all(|s| s == "done"));
}

#[test]
fn a_new_commerce_add_on_is_a_cart_line() {
    let wd = Workdir::new();
    let mut plan = plan_with(1, 0, 0);
    // Exchange Online Archiving bought in new commerce beside its base: an item of the
    // plan's own catalog (the sandbox sells the plan's items), bought as a cart line.
    let mut addon = plan.customers[0].lines[0].clone();
    addon.id = "c1-l2".into();
    addon.row += 100;
    addon.current_offer = "Exchange Online Archiving for Exchange Online".into();
    addon.current_offer_id = Some(ARCHIVING_ADDON.into());
    addon.target_offer = "Exchange Online Archiving".into();
    addon.target_offer_id = Some(M365_E3_NCE.replace("LFLX", "LH0T"));
    addon.target_seats = 7;
    plan.customers[0].lines.push(addon);
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let out = apply(&wd, &sb, &[]).expect_code(0);
    let state = sandbox_state(&sb);
    let c1 = &end_state(&state)[plan.customers[0].domain.as_ref().unwrap()];
    assert_eq!(c1.orders.len(), 1, "one cart, one checkout: {c1:?}");
    assert_eq!(
        c1.orders[0],
        vec![
            ("cfq7ttc0lf8r:0001".to_string(), 25),
            ("cfq7ttc0lh0t:0001".to_string(), 7)
        ],
        "{c1:?}"
    );
    let journal = wd.read("plan.journal.jsonl");
    assert!(!journal.contains("PATCH"), "{journal}");
    assert!(out.stdout.contains("orders placed 1"), "{}", out.stdout);
}

#[test]
fn plain_http_to_another_host_and_missing_credentials_are_usage_errors() {
    let wd = Workdir::new();
    write_plan(&wd, &plan_with(1, 0, 0));
    let mut cmd = wd.command([
        "apply",
        "plan.json",
        "--endpoint",
        "http://partner.example.com",
        "--yes",
    ]);
    cmd.env("CSPMOVE_TOKEN", "t");
    run_command(cmd, None)
        .expect_code(2)
        .expect_stderr_contains("plain http:// is refused except to loopback");
    // No CSPMOVE_* variable at all (the harness removes them).
    wd.run([
        "apply",
        "plan.json",
        "--endpoint",
        "https://127.0.0.1:9",
        "--yes",
    ])
    .expect_code(2)
    .expect_stderr_contains("CSPMOVE_TOKEN");
    assert!(!wd.join("plan.journal.jsonl").exists());
}

/// A customer with a legacy line and a new-commerce line: one order and one cart (for a
/// sandbox that still sells legacy offers).
fn legacy_plus_nce_plan() -> Plan {
    let mut plan = with_legacy_targets(plan_with(0, 1, 0));
    let mut extra = plan.customers[0].lines[0].clone();
    extra.id = format!("{}-nce", extra.id);
    extra.row += 100;
    extra.target_offer_id = Some(M365_E3_NCE.into());
    extra.target_seats = 5;
    extra.license_action = LicenseAction::None;
    extra.from_sku = None;
    extra.to_sku = None;
    plan.customers[0].lines.push(extra);
    plan
}

/// Writes a journal for `plan.json` holding one `started` order of `lines` under `rid`
/// and no outcome: what a crash right after the POST leaves behind.
fn journal_with_started_order(wd: &Workdir, customer: &str, lines: &[&str], rid: &str) {
    let sha = cspmove::fsx::sha256_hex(&std::fs::read(wd.path().join("plan.json")).unwrap());
    let header = serde_json::json!({
        "journal": "cspmove.journal/v1", "plan_sha256": sha,
        "created": "2026-11-21T00:00:00Z", "generated_by": "test",
    });
    let started = serde_json::json!({
        "at": chrono::Utc::now().to_rfc3339(), "customer": customer, "action": "provision",
        "state": "started", "lines": lines, "request_id": rid,
    });
    wd.write("plan.journal.jsonl", format!("{header}\n{started}\n"));
}

#[test]
fn a_pending_order_of_one_group_is_resent_under_its_own_request_id() {
    let wd = Workdir::new();
    let plan = legacy_plus_nce_plan();
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start_legacy(&["--seed", plan_path.to_str().unwrap()]);
    let c = &plan.customers[0];
    let legacy = c.lines[0].id.as_str();
    // The crash left the legacy order started; the order is not listed (yet).
    let rid = "6f1c1a36-8a8e-4b5e-9a77-1d2d3c4b5a69";
    journal_with_started_order(&wd, &c.key, &[legacy], rid);
    apply(&wd, &sb, &[]).expect_code(0);
    let state = sandbox_state(&sb);
    let orders = state["customers"][0]["orders"].as_array().unwrap().clone();
    assert_eq!(orders.len(), 2, "one order and one checkout: {orders:?}");
    assert!(
        orders.iter().any(|o| o["requestId"] == rid),
        "the legacy order must be sent again under the journal's request ID: {orders:?}"
    );
    let journal = std::fs::read_to_string(wd.path().join("plan.journal.jsonl")).unwrap();
    assert!(!journal.contains("never placed"), "{journal}");
}

/// Sends `body` to the sandbox with `method` and returns the JSON answer.
pub(crate) fn http_send(
    sb: &Sandbox,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req = reqwest::Client::new()
            .request(method, format!("{}{path}", sb.url))
            .bearer_auth(&sb.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("sandbox answers");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json::<Value>().await.unwrap_or(Value::Null)
    })
}

#[test]
fn a_pending_checkout_is_resent_under_a_stable_request_id_never_a_random_one() {
    // A crash left a checkout started whose journaled request ID cannot be read (a
    // journal edited by hand, or written by another tool): the checkout is sent again
    // under the stable ID of the planned action, the same on every run, not a random one.
    let mut rids = Vec::new();
    for _ in 0..2 {
        let wd = Workdir::new();
        let plan = plan_with(1, 0, 0);
        let plan_path = write_plan(&wd, &plan);
        let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
        let c = &plan.customers[0];
        let line = &c.lines[0];
        let tenant = sandbox_state(&sb)["customers"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (product, sku) = O365_E3_NCE.split_once(':').unwrap();
        let avail = http_send(
            &sb,
            reqwest::Method::GET,
            &format!("/v1/products/{product}/skus/{sku}/availabilities?country=US"),
            None,
        );
        let item = avail["items"][0]["catalogItemId"]
            .as_str()
            .unwrap()
            .to_string();
        let cart = http_send(
            &sb,
            reqwest::Method::POST,
            &format!("/v1/customers/{tenant}/carts"),
            Some(
                serde_json::json!({"lineItems": [{"id": 0, "catalogItemId": item,
                "quantity": line.target_seats, "billingCycle": "monthly",
                "termDuration": "P1Y"}]}),
            ),
        );
        let cart_id = cart["id"].as_str().unwrap().to_string();
        let sha = cspmove::fsx::sha256_hex(&std::fs::read(&plan_path).unwrap());
        let header = serde_json::json!({
            "journal": "cspmove.journal/v1", "plan_sha256": sha,
            "created": "2026-11-21T00:00:00Z", "generated_by": "test",
        });
        let started = serde_json::json!({
            "at": chrono::Utc::now().to_rfc3339(), "customer": c.key, "action": "provision",
            "state": "started", "lines": [line.id], "request_id": "not-a-request-id",
            "cart_id": cart_id,
        });
        wd.write("plan.journal.jsonl", format!("{header}\n{started}\n"));
        apply(&wd, &sb, &[]).expect_code(0);
        let orders = sandbox_state(&sb)["customers"][0]["orders"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(
            orders.len(),
            1,
            "the pending cart checked out once: {orders:?}"
        );
        let want =
            cspmove::apply::run::request_id(&sha, &c.key, &format!("checkout:{}", line.id), 0);
        assert_eq!(orders[0]["requestId"], want.to_string(), "{orders:?}");
        rids.push(orders[0]["requestId"].clone());
    }
    assert_eq!(rids[0], rids[1]);
}

#[test]
fn reconcile_never_claims_an_order_bought_by_hand_before_the_purchase() {
    let wd = Workdir::new();
    let plan = with_legacy_targets(plan_with(1, 0, 0));
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start_legacy(&["--seed", plan_path.to_str().unwrap()]);
    let c = &plan.customers[0];
    let line = &c.lines[0];
    let tenant = sandbox_state(&sb)["customers"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Someone bought the same offer and quantity by hand earlier.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = reqwest::Client::new()
            .post(format!("{}/v1/customers/{tenant}/orders", sb.url))
            .bearer_auth(&sb.token)
            .json(
                &serde_json::json!({"referenceCustomerId": tenant, "billingCycle": "monthly",
                "lineItems": [{"lineItemNumber": 0, "offerId": line.target_offer_id,
                "quantity": line.target_seats}]}),
            )
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
    });
    // An hour later cspmove started its own order of that line and crashed before the
    // answer; the order did not go through.
    let sha = cspmove::fsx::sha256_hex(&std::fs::read(&plan_path).unwrap());
    let header = serde_json::json!({
        "journal": "cspmove.journal/v1", "plan_sha256": sha,
        "created": "2026-11-21T00:00:00Z", "generated_by": "test",
    });
    let started = serde_json::json!({
        "at": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339(),
        "customer": c.key, "action": "provision", "state": "started",
        "lines": [line.id], "request_id": "0b6f3f0e-4a9c-4d3e-8f57-2c1d0e9b8a71",
    });
    wd.write("plan.journal.jsonl", format!("{header}\n{started}\n"));
    apply(&wd, &sb, &[]).expect_code(0);
    let orders = sandbox_state(&sb)["customers"][0]["orders"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        orders.len(),
        2,
        "the hand-bought order must not be claimed for the planned line: {orders:?}"
    );
}

#[test]
fn a_rehearsal_journal_named_like_the_real_one_is_refused_by_a_real_run() {
    let wd = Workdir::new();
    let plan_path = write_plan(&wd, &plan_with(1, 0, 0));
    wd.run([
        "apply",
        "plan.json",
        "--sandbox",
        "--now",
        "--yes",
        "--journal",
        "plan.journal.jsonl",
    ])
    .expect_code(0);
    // The real run must not read the rehearsal's orders as bought.
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    apply(&wd, &sb, &[])
        .expect_code(1)
        .expect_stderr_contains("--sandbox");
    assert!(
        sandbox_state(&sb)["customers"][0]["orders"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // And a rehearsal refuses a real run's journal.
    wd.write(
        "real.jsonl",
        format!(
            "{}\n",
            serde_json::json!({"journal": "cspmove.journal/v1",
                "plan_sha256": cspmove::fsx::sha256_hex(&std::fs::read(&plan_path).unwrap()),
                "created": "2026-11-21T00:00:00Z", "generated_by": "test", "sandbox": false})
        ),
    );
    wd.run([
        "apply",
        "plan.json",
        "--sandbox",
        "--now",
        "--yes",
        "--journal",
        "real.jsonl",
    ])
    .expect_code(1)
    .expect_stderr_contains("a real run");
}

// ---- issue 10: today's Partner Center, never twice, exact licence moves, preflight ----

/// `plan` again as a re-plan of the same input would write it: other line IDs (and task
/// references), another `as_of`, so another sha256 and a fresh journal.
fn replanned(plan: &Plan) -> Plan {
    let mut again = plan.clone();
    again.as_of = again.as_of.succ_opt().unwrap();
    for c in &mut again.customers {
        for l in &mut c.lines {
            l.id = format!("{}-replanned", l.id);
        }
        for t in &mut c.tasks {
            for id in &mut t.line_ids {
                id.push_str("-replanned");
            }
        }
    }
    again
}

/// Orders per customer domain.
fn order_counts(sb: &Sandbox) -> BTreeMap<String, usize> {
    end_state(&sandbox_state(sb))
        .into_iter()
        .map(|(d, e)| (d, e.orders.len()))
        .collect()
}

#[test]
fn a_replan_with_a_fresh_journal_buys_nothing_twice() {
    let wd = Workdir::new();
    let plan = plan_with(3, 2, 1);
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    apply(&wd, &sb, &[]).expect_code(0);
    let first = end_state(&sandbox_state(&sb));

    // A day later the same input is planned again; the new plan has a new journal.
    let again = replanned(&plan);
    wd.write("plan.json", serde_json::to_vec_pretty(&again).unwrap());
    let out = apply(&wd, &sb, &["--journal", "fresh.journal.jsonl"]).expect_code(0);
    assert_eq!(
        end_state(&sandbox_state(&sb)),
        first,
        "the re-plan bought again"
    );
    assert!(out.stdout.contains("orders placed 0"), "{}", out.stdout);
    let journal = wd.read("fresh.journal.jsonl");
    assert!(journal.contains("already bought"), "{journal}");
    let status = wd
        .run([
            "status",
            "plan.json",
            "--journal",
            "fresh.journal.jsonl",
            "--format",
            "json",
        ])
        .expect_code(0);
    let v: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(
        v["counts"]["done"],
        plan.customers.len(),
        "{}",
        status.stdout
    );
}

#[test]
fn a_replan_after_a_kill_mid_purchase_buys_nothing_twice() {
    let wd = Workdir::new();
    let plan = plan_with(40, 10, 0);
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap(), "--latency-ms", "30"]);
    // The first run is killed (SIGKILL: no cleanup) while it buys.
    let mut cmd = apply_command(&wd, &sb, &["--concurrency", "4"]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn apply");
    std::thread::sleep(Duration::from_millis(900));
    let killed = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    child.wait().unwrap();
    assert!(killed, "the first run finished before it could be killed");
    let bought_before: usize = order_counts(&sb).values().sum();
    assert!(bought_before > 0, "the kill came before any purchase");

    // Re-planned, with a fresh journal that knows nothing of the first run.
    let again = replanned(&plan);
    wd.write("plan.json", serde_json::to_vec_pretty(&again).unwrap());
    apply_until_done(&wd, &sb, &["--journal", "fresh.journal.jsonl"], 3);
    for (domain, n) in order_counts(&sb) {
        assert_eq!(n, 1, "{domain}: {n} orders for one planned line");
    }
    assert_plan_carried_out(&again, &end_state(&sandbox_state(&sb)));
}

/// A customer whose 3 users hold the old SKU but only 2 are planned to move (another
/// line keeps the rest on it: `SHARED_LICENSE_POOL`).
pub(crate) fn shared_pool_plan() -> Plan {
    let mut plan = plan_with(0, 1, 0);
    share_pool(&mut plan, 0, 2);
    plan
}

/// Makes the first line of customer `c` a shared licence pool (`SHARED_LICENSE_POOL`)
/// from which `moves` of its users move.
pub(crate) fn share_pool(plan: &mut Plan, c: usize, moves: u64) {
    let line = &mut plan.customers[c].lines[0];
    line.licenses_to_reassign = moves;
    line.warnings
        .push(cspmove::model::WarningCode::SharedLicensePool);
}

#[test]
fn a_shared_licence_pool_moves_exactly_the_planned_users() {
    let wd = Workdir::new();
    let plan = shared_pool_plan();
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let dry = wd
        .run([
            "apply",
            "plan.json",
            "--endpoint",
            &sb.url,
            "--now",
            "--dry-run",
        ])
        .expect_code(0);
    assert!(
        dry.stdout.contains("licenseupdates for 2 users"),
        "{}",
        dry.stdout
    );
    // Without credentials the dry run lists everything but the pool's users, and says
    // how to get them (tests/cli/apply_dry_run.rs lists them).
    assert!(
        dry.stdout.contains("reading them needs credentials"),
        "{}",
        dry.stdout
    );
    apply(&wd, &sb, &["--report", "run.json"]).expect_code(0);
    let ends = end_state(&sandbox_state(&sb));
    let users = &ends[plan.customers[0].domain.as_ref().unwrap()].users;
    assert_eq!(users.len(), 3, "{users:?}");
    let moved: Vec<&String> = users
        .iter()
        .filter(|(_, skus)| skus.contains(M365_E3_SKU) && !skus.contains(O365_E3_SKU))
        .map(|(u, _)| u)
        .collect();
    let kept: Vec<&String> = users
        .iter()
        .filter(|(_, skus)| skus.contains(O365_E3_SKU) && !skus.contains(M365_E3_SKU))
        .map(|(u, _)| u)
        .collect();
    assert_eq!((moved.len(), kept.len()), (2, 1), "{users:?}");
    // The first two by userPrincipalName, listed in the execution report.
    let mut names: Vec<&String> = users.keys().collect();
    names.sort();
    assert_eq!(moved, names[..2].to_vec());
    let report: Value = serde_json::from_str(&wd.read("run.json")).unwrap();
    let listed: Vec<String> = report["customers"][0]["moved_users"]
        .as_array()
        .expect("moved_users in the report")
        .iter()
        .map(|u| u.as_str().unwrap().to_ascii_lowercase())
        .collect();
    assert_eq!(listed.iter().collect::<Vec<_>>(), moved);
    // A re-run moves nobody more.
    apply(&wd, &sb, &[]).expect_code(0);
    assert_eq!(end_state(&sandbox_state(&sb)), ends);
    assert_eq!(
        statuses(&wd)[plan.customers[0].domain.as_ref().unwrap()],
        "done"
    );
}

#[test]
fn a_capacity_shortfall_blocks_the_customer_with_the_numbers_and_the_next_step() {
    let wd = Workdir::new();
    let mut plan = plan_with(1, 1, 0);
    // 3 users to move, 2 seats bought.
    plan.customers[1].lines[0].target_seats = 2;
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let out = apply(&wd, &sb, &["--report", "run.md"]).expect_code(1);
    let want = "2 seats of Microsoft 365 E3 for 3 users: buy 1 more seat";
    assert!(out.stdout.contains(want), "{}", out.stdout);
    assert!(out.stderr.contains("blocked"), "{}", out.stderr);
    let domain = plan.customers[1].domain.clone().unwrap();
    assert_eq!(statuses(&wd)[&domain], "blocked");
    assert_eq!(
        statuses(&wd)[plan.customers[0].domain.as_ref().unwrap()],
        "done"
    );
    let text = wd.run(["status", "plan.json"]).expect_code(0);
    assert!(text.stdout.contains(want), "{}", text.stdout);
    assert!(wd.read("run.md").contains(want));
    // Nobody moved: no move starts that cannot finish.
    let ends = end_state(&sandbox_state(&sb));
    assert!(
        ends[&domain]
            .users
            .values()
            .all(|s| s.contains(O365_E3_SKU))
    );
    // The next run says the same, not an endless "waiting".
    apply(&wd, &sb, &[]).expect_code(1);
    assert_eq!(statuses(&wd)[&domain], "blocked");
}

/// The sandbox's subscriptions of one customer, through the API (they carry the term).
fn subscriptions(sb: &Sandbox, domain: &str) -> Vec<Value> {
    let id = before_id(sb, domain);
    http(
        sb,
        reqwest::Method::GET,
        &format!("/v1/customers/{id}/subscriptions"),
    )["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn the_lines_term_and_billing_reach_the_cart() {
    let wd = Workdir::new();
    let mut plan = plan_with(2, 0, 0);
    for (c, (term, billing)) in plan.customers.iter_mut().zip([
        (cspmove::model::Term::P1M, cspmove::model::Billing::Monthly),
        (cspmove::model::Term::P1Y, cspmove::model::Billing::Annual),
    ]) {
        c.lines[0].target_offer_id = Some("CFQ7TTC0LF8R:0001".into());
        c.lines[0].term = term;
        c.lines[0].billing = billing;
    }
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    apply(&wd, &sb, &[]).expect_code(0);
    for (c, (term, billing)) in plan
        .customers
        .iter()
        .zip([("P1M", "monthly"), ("P1Y", "annual")])
    {
        let subs = subscriptions(&sb, c.domain.as_ref().unwrap());
        assert_eq!(subs.len(), 1, "{subs:?}");
        assert_eq!(subs[0]["termDuration"], term, "{subs:?}");
        assert_eq!(subs[0]["billingCycle"], billing, "{subs:?}");
        assert!(
            subs[0]["friendlyName"]
                .as_str()
                .unwrap()
                .contains("[cspmove:"),
            "{subs:?}"
        );
    }
}

#[test]
fn a_product_without_the_requested_term_fails_that_line_only() {
    let wd = Workdir::new();
    let mut plan = plan_with(2, 0, 0);
    let c = &mut plan.customers[0];
    c.lines[0].target_offer_id = Some("CFQ7TTC0LF8R:0001".into());
    // One month billed annually: new commerce does not sell it (a hand-edited plan).
    c.lines[0].term = cspmove::model::Term::P1M;
    c.lines[0].billing = cspmove::model::Billing::Annual;
    let mut ok = c.lines[0].clone();
    ok.id = "c1-l2".into();
    ok.row += 100;
    ok.target_offer_id = Some("CFQ7TTC0LFLX:0001".into());
    ok.term = cspmove::model::Term::P1Y;
    ok.target_seats = 4;
    c.lines.push(ok);
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let out = apply(&wd, &sb, &[]).expect_code(1);
    assert!(
        out.stdout.contains("not sold with term P1M billed annual"),
        "{}",
        out.stdout
    );
    let subs = subscriptions(&sb, plan.customers[0].domain.as_ref().unwrap());
    assert_eq!(
        subs.len(),
        1,
        "only the line with a sold term is bought: {subs:?}"
    );
    assert_eq!(subs[0]["quantity"], 4);
    assert_eq!(
        statuses(&wd)[plan.customers[1].domain.as_ref().unwrap()],
        "done"
    );
    let failed = &statuses(&wd)[plan.customers[0].domain.as_ref().unwrap()];
    assert_eq!(failed, "failed");
}

#[test]
fn doctor_on_a_healthy_and_on_a_broken_setup() {
    let wd = Workdir::new();
    let plan_path = write_plan(&wd, &plan_with(1, 1, 0));
    wd.run(["doctor", "--sandbox", "plan.json"])
        .expect_code(0)
        .expect_stdout_contains("all checks passed");
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    // A refused token: the table says so and what to do; exit 1; JSON on request.
    let mut cmd = wd.command([
        "doctor",
        "--endpoint",
        &sb.url,
        "plan.json",
        "--format",
        "json",
    ]);
    cmd.env("CSPMOVE_TOKEN", "not-the-token-xyz");
    let out = run_command(cmd, None).expect_code(1);
    let v: Value = serde_json::from_str(&out.stdout).expect("doctor JSON");
    assert_eq!(v["ok"], false);
    assert_eq!(v["stops_run"], true);
    assert_eq!(v["checks"][0]["check"], "endpoint");
    assert_eq!(v["checks"][0]["verdict"], "fail");
    assert!(!out.stdout.contains("not-the-token-xyz"));
    let mut cmd = wd.command(["doctor", "--endpoint", &sb.url, "plan.json"]);
    cmd.env("CSPMOVE_TOKEN", &sb.token);
    let out = run_command(cmd, None).expect_code(0);
    assert!(out.stdout.contains("roles"), "{}", out.stdout);
}

#[test]
fn a_report_path_equal_to_the_plan_or_the_journal_is_refused() {
    let wd = Workdir::new();
    let plan_path = write_plan(&wd, &plan_with(1, 0, 0));
    let before = std::fs::read(&plan_path).unwrap();
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    apply(&wd, &sb, &["--report", "plan.json"])
        .expect_code(2)
        .expect_stderr_contains("the plan file");
    assert_eq!(std::fs::read(&plan_path).unwrap(), before);
    apply(&wd, &sb, &["--journal", "j.json", "--report", "./j.json"])
        .expect_code(2)
        .expect_stderr_contains("the journal");
    apply(&wd, &sb, &["--report", "invitations.csv"])
        .expect_code(2)
        .expect_stderr_contains("invitations.csv");
    // Through a symlink too.
    std::os::unix::fs::symlink("plan.json", wd.join("link.md")).unwrap();
    apply(&wd, &sb, &["--report", "link.md"])
        .expect_code(2)
        .expect_stderr_contains("the plan file");
    assert_eq!(std::fs::read(&plan_path).unwrap(), before);
}

#[test]
fn an_absurd_rate_is_a_usage_error_not_a_hang() {
    let wd = Workdir::new();
    write_plan(&wd, &plan_with(1, 0, 0));
    let mut cmd = wd.command([
        "apply",
        "plan.json",
        "--endpoint",
        "http://127.0.0.1:9",
        "--yes",
        "--rate",
        "1e-300",
    ]);
    cmd.env("CSPMOVE_TOKEN", "t");
    run_command(cmd, None)
        .expect_code(2)
        .expect_stderr_contains("--rate");
}

#[test]
fn plan_ids_that_are_not_ids_never_reach_a_path() {
    let wd = Workdir::new();
    let mut plan = plan_with(2, 0, 0);
    plan.customers[0].lines[0].target_offer_id = Some("x/../../sandbox/clock?x=".into());
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let out = apply(&wd, &sb, &[]).expect_code(1);
    assert!(
        out.stdout
            .contains("neither a legacy offer GUID nor a new-commerce PRODUCT:SKU"),
        "{}",
        out.stdout
    );
    let ends = end_state(&sandbox_state(&sb));
    assert!(
        ends[plan.customers[0].domain.as_ref().unwrap()]
            .orders
            .is_empty()
    );
    assert_eq!(
        ends[plan.customers[1].domain.as_ref().unwrap()]
            .orders
            .len(),
        1
    );
}

#[test]
fn an_unreachable_token_endpoint_or_api_is_reported_as_such() {
    let wd = Workdir::new();
    write_plan(&wd, &plan_with(1, 0, 0));
    // Nothing listens on port 9 of loopback.
    let mut cmd = wd.command([
        "apply",
        "plan.json",
        "--endpoint",
        "http://127.0.0.1:9",
        "--yes",
        "--now",
    ]);
    cmd.env_remove("CSPMOVE_TOKEN")
        .env("CSPMOVE_REFRESH_TOKEN", "refresh-secret-123")
        .env("CSPMOVE_CLIENT_ID", "app")
        .env("CSPMOVE_CLIENT_SECRET", "client-secret-456")
        .env("CSPMOVE_TENANT_ID", "partner-tenant")
        .env("CSPMOVE_AUTHORITY", "http://127.0.0.1:9");
    let out = run_command(cmd, None)
        .expect_code(1)
        .expect_stderr_contains("cannot be reached");
    assert!(
        !out.stderr.contains("refused the refresh token"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("refresh-secret-123") && !out.stderr.contains("client-secret-456")
    );
    let mut cmd = wd.command([
        "apply",
        "plan.json",
        "--endpoint",
        "http://127.0.0.1:9",
        "--yes",
        "--now",
    ]);
    cmd.env("CSPMOVE_TOKEN", "t");
    run_command(cmd, None)
        .expect_code(1)
        .expect_stderr_contains("connection failed");
}

/// `cmd` authenticated through the sandbox's own token endpoint with `refresh`, a refresh
/// token; the sandbox issues tokens without the MFA claim for one starting with `nomfa`.
pub(crate) fn with_refresh_token(cmd: &mut Command, sb: &Sandbox, refresh: &str) {
    cmd.env_remove("CSPMOVE_TOKEN")
        .env("CSPMOVE_REFRESH_TOKEN", refresh)
        .env("CSPMOVE_CLIENT_ID", "app")
        .env("CSPMOVE_CLIENT_SECRET", "client-secret-456")
        .env("CSPMOVE_TENANT_ID", "partner-tenant")
        .env("CSPMOVE_AUTHORITY", &sb.url);
}

fn doctor(wd: &Workdir, sb: &Sandbox, refresh: Option<&str>, extra: &[&str]) -> Output {
    let mut cmd = wd.command(["doctor", "--endpoint", &sb.url, "plan.json"]);
    cmd.args(extra);
    match refresh {
        Some(r) => with_refresh_token(&mut cmd, sb, r),
        None => {
            cmd.env("CSPMOVE_TOKEN", &sb.token);
        }
    }
    run_command(cmd, None)
}

#[test]
fn a_token_without_mfa_stops_doctor_and_apply_with_the_plain_words() {
    let wd = Workdir::new();
    let plan = plan_with(1, 1, 0);
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap(), "--require-mfa"]);
    // A partner user who signed in with MFA: every check passes.
    doctor(&wd, &sb, Some("mfa-refresh-token-1"), &[])
        .expect_code(0)
        .expect_stdout_contains("all checks passed");

    // Without MFA: the table says so in plain words and that a run would stop; exit 1.
    let out = doctor(&wd, &sb, Some("nomfa-refresh-token-1"), &[]).expect_code(1);
    for want in [
        "did not sign in with multi-factor authentication",
        "sign in with multi-factor authentication",
        "FAIL",
        "a run would stop",
    ] {
        assert!(out.stdout.contains(want), "{want}: {}", out.stdout);
    }
    let out = doctor(
        &wd,
        &sb,
        Some("nomfa-refresh-token-1"),
        &["--format", "json"],
    )
    .expect_code(1);
    let v: Value = serde_json::from_str(&out.stdout).expect("doctor JSON");
    assert_eq!(
        (v["ok"].as_bool(), v["stops_run"].as_bool()),
        (Some(false), Some(true))
    );
    let failed: Vec<&Value> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == "fail")
        .collect();
    assert!(
        failed.iter().any(|c| c["stops_run"] == true
            && c["hint"]
                .as_str()
                .unwrap_or_default()
                .contains("sign in with multi-factor authentication")),
        "{}",
        out.stdout
    );

    // apply stops before anything is bought, with the same words and exit code 1.
    let mut cmd = apply_command(&wd, &sb, &[]);
    with_refresh_token(&mut cmd, &sb, "nomfa-refresh-token-1");
    let out = run_command(cmd, None)
        .expect_code(1)
        .expect_stderr_contains("sign in with multi-factor authentication");
    assert!(!out.stderr.contains("client-secret-456"), "{}", out.stderr);
    assert!(
        end_state(&sandbox_state(&sb))
            .values()
            .all(|e| e.orders.is_empty())
    );
    // With MFA the same run goes through.
    let mut cmd = apply_command(&wd, &sb, &[]);
    with_refresh_token(&mut cmd, &sb, "mfa-refresh-token-1");
    run_command(cmd, None).expect_code(0);
    assert_plan_carried_out(&plan, &end_state(&sandbox_state(&sb)));
}

#[test]
fn missing_gdap_roles_block_those_customers_and_name_the_roles() {
    let wd = Workdir::new();
    let plan = plan_with(1, 8, 0);
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&[
        "--seed",
        plan_path.to_str().unwrap(),
        "--missing-role",
        "0.5",
    ]);
    // doctor names the customers without a role; a run would still start.
    let out = doctor(&wd, &sb, None, &["--format", "json"]).expect_code(1);
    let v: Value = serde_json::from_str(&out.stdout).expect("doctor JSON");
    assert_eq!(
        (v["ok"].as_bool(), v["stops_run"].as_bool()),
        (Some(false), Some(false))
    );
    let no_role: BTreeSet<String> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"] == "roles" && c["verdict"] == "fail")
        .map(|c| c["subject"].as_str().unwrap().to_string())
        .collect();
    let movers = plan
        .customers
        .iter()
        .filter(|c| c.lines[0].license_action == LicenseAction::Reassign)
        .count();
    assert!(
        !no_role.is_empty() && no_role.len() < movers,
        "want a mix of customers with and without a role: {no_role:?}"
    );
    let table = doctor(&wd, &sb, None, &[]).expect_code(1);
    assert!(
        table.stdout.contains("customers named above are blocked"),
        "{}",
        table.stdout
    );

    // apply: those customers' licence calls end blocked, naming the GDAP roles; the
    // others complete; exit 1 while any is blocked.
    let out = apply(&wd, &sb, &[]).expect_code(1);
    assert!(out.stderr.contains("blocked"), "{}", out.stderr);
    let st = status_json(&wd);
    let ends = end_state(&sandbox_state(&sb));
    for c in st["customers"].as_array().unwrap() {
        let key = c["key"].as_str().unwrap();
        let domain = c["domain"].as_str().unwrap();
        let users = &ends[domain].users;
        if no_role.contains(key) {
            assert_eq!(c["status"], "blocked", "{c}");
            let next = c["next_step"].as_str().unwrap();
            for role in ["GDAP", "License Administrator", "User Administrator"] {
                assert!(next.contains(role), "{role}: {next}");
            }
            // The seats are bought (commerce calls need no directory role); nobody moved.
            assert_eq!(ends[domain].orders.len(), 1, "{domain}");
            assert!(users.values().all(|s| s.contains(O365_E3_SKU)), "{users:?}");
        } else {
            assert_eq!(c["status"], "done", "{c}");
        }
    }
    // The next run says the same and buys nothing again.
    let out = apply(&wd, &sb, &[]).expect_code(1);
    assert!(out.stdout.contains("orders placed 0"), "{}", out.stdout);
    assert_eq!(end_state(&sandbox_state(&sb)), ends);
}

#[test]
fn a_killed_rehearsal_resumes_against_the_sandbox_state_beside_its_journal() {
    let wd = Workdir::new();
    let plan = plan_with(150, 150, 0);
    write_plan(&wd, &plan);
    let rehearse = || {
        let mut cmd = wd.command([
            "apply",
            "plan.json",
            "--sandbox",
            "--now",
            "--yes",
            "--concurrency",
            "2",
            "--rate",
            "300",
        ]);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    };
    let journal = wd.join("plan.sandbox.journal.jsonl");
    let state_file = wd.join("plan.sandbox.journal.jsonl.sandbox-state");
    // Kill the rehearsal (SIGKILL: no cleanup) twice: once after some purchases, once
    // after some licence moves.
    for (what, at_least) in [("\"action\":\"provision\"", 20), ("\"license_update\"", 20)] {
        let mut child = rehearse().spawn().expect("spawn apply --sandbox");
        let start = Instant::now();
        loop {
            let seen = std::fs::read_to_string(&journal)
                .map(|j| j.lines().filter(|l| l.contains(what)).count())
                .unwrap_or(0);
            if seen >= at_least || child.try_wait().unwrap().is_some() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{what} never reached"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let killed = child.try_wait().unwrap().is_none();
        let _ = child.kill();
        child.wait().unwrap();
        assert!(
            killed,
            "the rehearsal finished before it could be killed ({what})"
        );
    }
    assert!(state_file.exists(), "no sandbox state beside the journal");
    let before = statuses_of(&wd, "plan.sandbox.journal.jsonl");
    assert!(
        before.values().any(|s| s != "done"),
        "the kills came too late: {before:?}"
    );
    // The same command again finishes: no customer left `reassigning`, nothing bought
    // twice, every user of a changing line on the new SKU.
    let out = run_command(
        {
            let mut cmd = rehearse();
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            cmd
        },
        None,
    )
    .expect_code(0);
    let after = statuses_of(&wd, "plan.sandbox.journal.jsonl");
    assert!(
        after.values().all(|s| s == "done"),
        "{after:?}\n{}",
        out.stdout
    );
    let loaded = cspmove::sandbox::persist::load(&state_file).expect("sandbox state");
    let state = serde_json::to_value(&loaded.state).unwrap();
    for c in &plan.customers {
        let t = &state["customers"][c.customer_id.as_deref().unwrap()];
        assert_eq!(t["orders"].as_array().unwrap().len(), 1, "{}: {t}", c.key);
        let moves = c.lines[0].license_action == LicenseAction::Reassign;
        for u in t["users"].as_object().unwrap().values() {
            let skus: Vec<&str> = u["licenses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            let want = if moves { M365_E3_SKU } else { O365_E3_SKU };
            assert_eq!(skus, vec![want], "{}: {u}", c.key);
        }
    }
}

/// Customer domain → status, from `status` on `journal`.
fn statuses_of(wd: &Workdir, journal: &str) -> BTreeMap<String, String> {
    let out = wd
        .run([
            "status",
            "plan.json",
            "--journal",
            journal,
            "--format",
            "json",
        ])
        .expect_code(0);
    domain_statuses(&serde_json::from_str(&out.stdout).expect("status JSON"))
}

#[test]
fn a_swap_left_ambiguous_that_went_through_counts_against_the_lines_moves() {
    // Regression: a licence swap whose answer was lost (but that went through) was not
    // counted for its line, so the next run moved one user too many out of a shared pool.
    let wd = Workdir::new();
    let plan = shared_pool_plan(); // 3 users on the old SKU, 2 planned to move
    let plan_path = write_plan(&wd, &plan);
    let state_file = wd.join("sandbox.state");
    let state_arg = state_file.to_str().unwrap();
    {
        // The seats are bought; the licence calls are refused (no GDAP role yet).
        let sb = Sandbox::start(&[
            "--seed",
            plan_path.to_str().unwrap(),
            "--state",
            state_arg,
            "--missing-role",
            "1",
        ]);
        apply(&wd, &sb, &[]).expect_code(1);
    }
    let sb = Sandbox::start(&["--state", state_arg]);
    let state = sandbox_state(&sb);
    let tenant = &state["customers"][0];
    let mut users: Vec<(String, String)> = tenant["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["userPrincipalName"]
                    .as_str()
                    .unwrap()
                    .to_ascii_lowercase(),
                u["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    users.sort();
    // The first user's swap was sent, went through, and its answer was lost.
    let (_, first) = &users[0];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = reqwest::Client::new()
            .post(format!(
                "{}/v1/customers/{}/users/{first}/licenseupdates",
                sb.url,
                tenant["id"].as_str().unwrap()
            ))
            .bearer_auth(&sb.token)
            .json(
                &serde_json::json!({"licensesToAssign": [{"skuId": M365_E3_SKU}],
                "licensesToRemove": [O365_E3_SKU]}),
            )
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
    });
    let ambiguous = serde_json::json!({
        "at": chrono::Utc::now().to_rfc3339(), "customer": plan.customers[0].key,
        "action": "license_update", "state": "ambiguous", "lines": ["c1-l1"],
        "user": first, "request_id": "3c9b1d2e-5f60-4a71-8b82-93a4b5c6d7e8",
        "error": {"kind": "transient", "ambiguous": true, "call": "POST …/licenseupdates",
                  "status": null, "code": null, "description": "connection closed", "hint": ""},
    });
    let journal = wd.read("plan.journal.jsonl");
    wd.write("plan.journal.jsonl", format!("{journal}{ambiguous}\n"));

    let out = apply(&wd, &sb, &[]).expect_code(0);
    let ends = end_state(&sandbox_state(&sb));
    let held = &ends[plan.customers[0].domain.as_ref().unwrap()].users;
    let moved: Vec<&String> = held
        .iter()
        .filter(|(_, s)| s.contains(M365_E3_SKU) && !s.contains(O365_E3_SKU))
        .map(|(u, _)| u)
        .collect();
    assert_eq!(
        moved,
        vec![&users[0].0, &users[1].0],
        "exactly the 2 planned users move: {held:?}\n{}",
        out.stdout
    );
    assert!(
        wd.read("plan.journal.jsonl")
            .contains("the swap left ambiguous by an earlier run went through")
    );
    assert_eq!(
        statuses(&wd)[plan.customers[0].domain.as_ref().unwrap()],
        "done"
    );
}

#[test]
fn a_customer_id_that_is_not_a_guid_never_reaches_a_path() {
    let wd = Workdir::new();
    let mut plan = plan_with(2, 0, 0);
    plan.customers[0].customer_id = Some("x/../../sandbox/clock?x=".into());
    plan.customers[0].key = "x/../../sandbox/clock?x=".into();
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let clock = http(&sb, reqwest::Method::GET, "/sandbox/clock");
    let out = apply(&wd, &sb, &[]).expect_code(1);
    assert!(out.stdout.contains("is not a GUID"), "{}", out.stdout);
    // Nothing reached the sandbox's clock (or any path built from that ID).
    assert_eq!(
        http(&sb, reqwest::Method::GET, "/sandbox/clock")["offsetSeconds"],
        clock["offsetSeconds"]
    );
    let st = statuses(&wd);
    assert_eq!(st[plan.customers[1].domain.as_ref().unwrap()], "done");
    assert_eq!(st[plan.customers[0].domain.as_ref().unwrap()], "failed");
}

#[test]
fn an_endpoint_that_dies_mid_run_stops_the_run_soon_with_a_clear_message() {
    let wd = Workdir::new();
    let plan = plan_with(0, 60, 0);
    let plan_path = write_plan(&wd, &plan);
    let mut sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap(), "--latency-ms", "20"]);
    let mut cmd = apply_command(&wd, &sb, &["--concurrency", "2"]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn apply");
    // Once licences are moving, the endpoint goes away.
    let start = Instant::now();
    while !std::fs::read_to_string(wd.join("plan.journal.jsonl"))
        .is_ok_and(|j| j.contains("\"license_update\""))
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no licence moved"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    sb.child.kill().unwrap();
    sb.child.wait().unwrap();
    let died = Instant::now();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot be reached"), "{stderr}");
    // Not every user's swap retried with backoff: the run stops within seconds.
    assert!(
        died.elapsed() < Duration::from_secs(45),
        "took {:?} to stop",
        died.elapsed()
    );
}

#[test]
fn a_legacy_add_on_to_a_legacy_base_is_refused_today_with_the_reason() {
    let wd = Workdir::new();
    let full = legacy_addon_plan();
    // Years ago, the base was bought as a legacy offer (a sandbox that still sold them).
    let mut base_only = full.clone();
    base_only.customers[0].lines.truncate(1);
    let plan_path = write_plan(&wd, &base_only);
    let state = wd.join("sandbox.state");
    {
        let sb = Sandbox::start_legacy(&[
            "--seed",
            plan_path.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ]);
        apply(&wd, &sb, &[]).expect_code(0);
    }
    // Today the add-on is planned too; Partner Center no longer sells it.
    let sb = Sandbox::start(&["--state", state.to_str().unwrap()]);
    let before = end_state(&sandbox_state(&sb));
    write_plan(&wd, &full);
    let out = apply(&wd, &sb, &["--journal", "today.journal.jsonl"]).expect_code(1);
    for want in [
        "code 2091",
        "no longer sells new legacy",
        "nothing was bought",
    ] {
        assert!(out.stdout.contains(want), "{want}: {}", out.stdout);
    }
    let journal = wd.read("today.journal.jsonl");
    assert!(journal.contains("add-ons: PATCH of order"), "{journal}");
    assert!(journal.contains("already bought"), "{journal}");
    assert_eq!(
        end_state(&sandbox_state(&sb)),
        before,
        "something was bought"
    );
}
