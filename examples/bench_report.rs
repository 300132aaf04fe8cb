//! Benchmark of the reports: builds a synthetic plan (`src/report/demo.rs`, compiled in) of N lines,
//! writes it as a plan file, then times `cspmove::report::write` for every format and
//! prints a Markdown table of times and sizes for docs/benchmarks.md.
//!
//! Run on purpose, in release mode:
//! `cargo run --release --example bench_report -- [LINES] [OUT_DIR] [LANG]`
//! (defaults: 100000 lines, `bench-data/reports`, `ko`).

use std::path::PathBuf;
use std::time::Instant;

use cspmove::model::Plan;
// The synthetic plan of the report tests (not cspmove's API): the same file, whose
// `crate::` paths these names resolve.
#[path = "../src/report/demo.rs"]
#[allow(dead_code)]
mod demo;
use cspmove::report::{self, Format, Lang};
use cspmove::{GENERATED_BY, model};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let lines: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "bench-data/reports".into()));
    let lang = args
        .next()
        .map(|s| Lang::from_code(&s).ok_or_else(|| anyhow::anyhow!("unknown language {s}")))
        .transpose()?
        .unwrap_or(Lang::Ko);
    std::fs::create_dir_all(&out)?;

    let started = Instant::now();
    let plan = demo::plan(lines);
    let built = started.elapsed();
    let plan_path = out.join("plan.json");
    std::fs::write(&plan_path, serde_json::to_vec(&plan)?)?;
    let started = Instant::now();
    let plan = Plan::read(&plan_path)?;
    let read = started.elapsed();
    let tasks: usize = plan.customers.iter().map(|c| c.tasks.len()).sum();
    println!(
        "plan: {} customers, {} lines, {} tasks, {} rejected rows; built in {:.2} s, \
         plan file {:.1} MB read in {:.2} s; language {}",
        plan.customers.len(),
        plan.summary.lines,
        tasks,
        plan.rejected.len(),
        built.as_secs_f64(),
        std::fs::metadata(&plan_path)?.len() as f64 / 1e6,
        read.as_secs_f64(),
        lang.code()
    );
    println!();
    println!("| format | wall time (s) | CPU time (s) | size (MB) |");
    println!("| --- | ---: | ---: | ---: |");
    for format in Format::ALL {
        let path = out.join(format!("report.{}", format.extension()));
        let started = Instant::now();
        let cpu_before = cpu_seconds();
        report::write(&plan, &path, lang)?;
        let took = started.elapsed();
        let cpu = cpu_seconds()
            .zip(cpu_before)
            .map(|(after, before)| after - before);
        let size = std::fs::metadata(&path)?.len();
        println!(
            "| .{} | {:.2} | {} | {:.1} |",
            format.extension(),
            took.as_secs_f64(),
            cpu.map_or("n/a".to_string(), |c| format!("{c:.2}")),
            size as f64 / 1e6
        );
    }
    Ok(())
}

/// User plus system CPU time of this process, from /proc (Linux); on a shared machine the
/// wall time depends on the neighbours, the CPU time much less.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Linux reports clock ticks of 1/100 s (USER_HZ) on every common platform.
    Some((utime + stime) / 100.0)
}
