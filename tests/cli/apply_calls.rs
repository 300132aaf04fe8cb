//! How many Partner Center calls `cspmove apply` makes, counted by the sandbox
//! (`/sandbox/state` stats): the per-customer cost the benchmark (bench/apply.sh,
//! docs/benchmarks.md `## Apply`) measures at 5,000 customers, pinned here at a small
//! size so a change that adds a call per customer, or reads availabilities once per
//! worker instead of once per product and market, fails a test.

use cspmove::apply::testplan::{O365_E3_NCE, plan_with};
use cspmove::model::Plan;

use crate::apply::{apply_command, sandbox_state, write_plan};
use crate::common::{Sandbox, Workdir, run_command};

/// `n` customers moving to new-commerce Office 365 E3 (same licence, so no licence
/// moves), the first `in_de` of them in Germany, the rest in the US.
fn new_commerce_plan(n: usize, in_de: usize) -> Plan {
    let mut plan = plan_with(n, 0, 0);
    for (i, c) in plan.customers.iter_mut().enumerate() {
        c.country = Some(if i < in_de { "DE" } else { "US" }.to_string());
        for l in &c.lines {
            assert_eq!(l.target_offer_id.as_deref(), Some(O365_E3_NCE));
        }
    }
    plan
}

/// Runs one fresh `apply` of `plan` against a fresh sandbox with 16 workers; returns the
/// requests the sandbox served, after checking every customer bought once.
fn requests_of_a_fresh_run(plan: &Plan) -> u64 {
    let wd = Workdir::new();
    let path = write_plan(&wd, plan);
    let sb = Sandbox::start(&["--seed", path.to_str().unwrap()]);
    let cmd = apply_command(&wd, &sb, &["--concurrency", "16"]);
    let out = run_command(cmd, None).expect_code(0);
    let state = sandbox_state(&sb);
    let customers = state["customers"].as_array().unwrap();
    assert_eq!(customers.len(), plan.customers.len());
    for c in customers {
        assert_eq!(c["subscriptions"].as_array().unwrap().len(), 1, "{c}");
    }
    let served = state["stats"]["requests"].as_u64().unwrap();
    // apply's own count agrees with the sandbox's.
    assert!(
        out.stdout.contains(&format!("API requests {served} ")),
        "sandbox served {served}; apply said:\n{}",
        out.stdout
    );
    served
}

#[test]
fn each_customer_costs_three_calls_and_availabilities_are_read_once_per_product_and_market() {
    let base = requests_of_a_fresh_run(&new_commerce_plan(16, 0));
    // 16 more customers of the same product and market: one subscriptions read, one cart
    // and one checkout each, nothing more (16 workers start at once: the availability
    // lookup is still made once).
    let more = requests_of_a_fresh_run(&new_commerce_plan(32, 0));
    assert_eq!(
        more - base,
        3 * 16,
        "{base} calls for 16 customers, {more} for 32"
    );
    // The same 16 customers, half of them in another market: one lookup more.
    let two_markets = requests_of_a_fresh_run(&new_commerce_plan(16, 8));
    assert_eq!(
        two_markets,
        base + 1,
        "{base} in one market, {two_markets} in two"
    );
    // What is left of the base is per run: preflight, one sweep page, one lookup.
    assert!(base - 3 * 16 <= 5, "{base} calls for 16 customers");
}
