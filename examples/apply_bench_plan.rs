//! Writes a synthetic plan for benchmarking `cspmove apply` (see docs/benchmarks.md):
//! `cargo run --release --example apply_bench_plan -- SAME [REASSIGN] [BY_DOMAIN] > plan.json`.

fn main() {
    let counts: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("counts are whole numbers"))
        .collect();
    let get = |i: usize| counts.get(i).copied().unwrap_or(0);
    let plan = cspmove::apply::testplan::plan_with(get(0), get(1), get(2));
    println!(
        "{}",
        serde_json::to_string_pretty(&plan).expect("a plan serialises")
    );
}
