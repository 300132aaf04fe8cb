//! Writes a synthetic plan for benchmarking `cspmove apply` (bench/apply.sh,
//! docs/benchmarks.md `## Apply`):
//! `cargo run --release --example apply_bench_plan -- SAME [REASSIGN [USERS]] > plan.json`.
//!
//! The plan is today's kind of plan (DESIGN §5): every target is a new-commerce
//! `PRODUCT:SKU` item bought through a cart. `SAME` customers move Office 365 E3 to the
//! new-commerce Office 365 E3 (the same licence SKU, so no licence moves: 25 seats, 20
//! users); `REASSIGN` customers move Office 365 E3 to the new-commerce Microsoft 365 E3
//! and reassign `USERS` users each (default 40), with seats for all of them.

use cspmove::apply::testplan::{M365_E3_NCE, O365_E3_NCE};
use cspmove::model::{LicenseAction, Term};

fn main() {
    let counts: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("counts are whole numbers"))
        .collect();
    let get = |i: usize, default: usize| counts.get(i).copied().unwrap_or(default);
    let (same, reassign, users) = (get(0, 0), get(1, 0), get(2, 40) as u64);
    let mut plan = cspmove::apply::testplan::plan_with(same, reassign, 0);
    for c in &mut plan.customers {
        for l in &mut c.lines {
            l.term = Term::P1Y;
            if l.license_action == LicenseAction::Reassign {
                l.target_offer_id = Some(M365_E3_NCE.to_string());
                l.seats = users;
                l.target_seats = users;
                l.assigned = Some(users);
                l.licenses_to_reassign = users;
            } else {
                l.target_offer_id = Some(O365_E3_NCE.to_string());
                l.same_license = true;
            }
        }
    }
    plan.summary.same_license = same as u64;
    println!(
        "{}",
        serde_json::to_string(&plan).expect("a plan serialises")
    );
}
