//! The planning work in memory, without reading or writing files: plans N generated rows
//! (4 per customer, a few offers, expiry dates over two years, some domain-only rows) on
//! 1 and on 2 threads, best of 3 each, and serialises each plan into a sink.
//!
//! `cargo run --release --example plan_speed -- [ROWS]` (default 1,000,000; figures in
//! docs/benchmarks.md). It was an `#[ignore]`d test in `src/plan/tests.rs`; a measurement
//! is not a test, so it lives here and uses only the library's public API.

use std::time::Instant;

use chrono::NaiveDate;
use cspmove::input::{InputTable, RowValues, SourceRow};
use cspmove::model::InputInfo;
use cspmove::plan::{Lookups, PlanOptions};

const OFFERS: [&str; 5] = [
    "Office 365 E3",
    "Office 365 E1",
    "Microsoft 365 Business Premium",
    "Office 365 E5",
    "Exchange Online (Plan 1)",
];

/// The rows `src/plan/tests.rs`'s `generated_rows` makes, so the figures stay comparable.
fn generated_rows(n: usize) -> Vec<SourceRow> {
    let start = NaiveDate::from_ymd_opt(2026, 10, 1).expect("a date");
    (0..n)
        .map(|i| {
            let c = i / 4;
            SourceRow::from(RowValues {
                row: i as u64 + 2,
                customer_id: (i % 97 != 0).then(|| format!("{c:08x}-1111-2222-3333-444444444444")),
                domain: Some(format!("customer{c}.example.com")),
                customer_name: Some(format!("Customer {c} Co., Ltd.")),
                contact_email: Some(format!("admin@customer{c}.example.com")),
                country: Some(["KR", "JP", "US"][c % 3].to_string()),
                current_offer: OFFERS[(i * 7) % 5].to_string(),
                subscription_id: Some(format!("{i:08x}-aaaa-bbbb-cccc-dddddddddddd")),
                seats: 1 + (i % 300) as u64,
                assigned: Some((i % 250) as u64),
                expires_on: Some(start + chrono::Duration::days((i % 700) as i64)),
                auto_renew: Some(i % 3 == 0),
                target_offer: (i % 5 == 0).then(|| "Microsoft 365 E3".to_string()),
                ..RowValues::default()
            })
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = match std::env::args().nth(1) {
        Some(text) => text.parse()?,
        None => 1_000_000,
    };
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 21).expect("a date");
    let mut best = [f64::MAX; 2];
    for threads in [1, 2, 1, 2, 1, 2] {
        let rows = generated_rows(n);
        let table = InputTable {
            info: InputInfo {
                path: "big.csv".to_string(),
                sha256: "0".repeat(64),
                sheet: None,
                rows: rows.len() as u64,
            },
            rows,
            rejected: Vec::new(),
        };
        let options = PlanOptions {
            threads: Some(threads),
            ..PlanOptions::new(as_of, 7)
        };
        let started = Instant::now();
        let plan = cspmove::plan::plan(vec![table], Lookups::default(), &options)?;
        let planned = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        pool.install(|| cspmove::plan::write::write_plan(&plan, &mut std::io::sink()))?;
        eprintln!(
            "{n} rows, {threads} thread(s): plan {planned:.3}s, serialise {:.3}s ({} customers)",
            started.elapsed().as_secs_f64(),
            plan.customers.len()
        );
        best[threads - 1] = best[threads - 1].min(planned);
    }
    println!(
        "best of 3: plan {:.3}s on 1 thread, {:.3}s on 2: speed-up {:.2}x",
        best[0],
        best[1],
        best[0] / best[1]
    );
    Ok(())
}
