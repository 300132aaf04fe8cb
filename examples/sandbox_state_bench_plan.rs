//! Writes a synthetic plan for the sandbox's durable-state benchmark (docs/benchmarks.md,
//! "Sandbox: durable state"): `CUSTOMERS` customers with `USERS` users each holding Office
//! 365 E3; the first `REASSIGN` customers move every user to Microsoft 365 E3 (a licence
//! swap per user), the others keep the licence (new-commerce Office 365 E3, no swap).
//!
//! `cargo run --release --example sandbox_state_bench_plan -- CUSTOMERS USERS REASSIGN > plan.json`

use cspmove::apply::testplan::{M365_E3_SKU, O365_E3_SKU, plan_with};
use cspmove::model::LicenseAction;

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("counts are whole numbers"))
        .collect();
    let (customers, users, reassign) = (args[0], args[1], args.get(2).copied().unwrap_or(0));
    let mut plan = plan_with(customers as usize, 0, 0);
    for (i, customer) in plan.customers.iter_mut().enumerate() {
        let moves = (i as u64) < reassign;
        for line in &mut customer.lines {
            line.seats = users;
            line.target_seats = users;
            line.assigned = Some(users);
            if moves {
                line.target_offer = "Microsoft 365 E3".into();
                line.target_offer_id = Some("CFQ7TTC0LFLX:0001".into());
                line.same_offer = false;
                line.same_license = false;
                line.license_action = LicenseAction::Reassign;
                line.licenses_to_reassign = users;
                line.from_sku = Some(O365_E3_SKU.into());
                line.to_sku = Some(M365_E3_SKU.into());
            } else {
                line.target_offer_id = Some("CFQ7TTC0LF8R:0001".into());
                line.same_license = true;
            }
        }
        if moves {
            let n = i + 1;
            let row = customer.lines[0].row;
            let id = customer.lines[0].id.clone();
            customer.tasks.push(cspmove::model::Task {
                id: format!("c{n}-t3"),
                kind: cspmove::model::TaskKind::ReassignLicenses,
                due: plan.as_of,
                depends_on: vec![format!("c{n}-t2")],
                line_rows: vec![row],
                line_ids: vec![id],
            });
        }
    }
    plan.summary.reassign = reassign;
    println!(
        "{}",
        serde_json::to_string(&plan).expect("a plan serialises")
    );
}
