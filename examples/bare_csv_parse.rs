//! The floor for reading a CSV export: parse every record with the csv crate and count
//! them, nothing else. `bench/plan.sh` times `cspmove plan` against this, so the ratio says
//! how much planning costs on top of the unavoidable parse.
//!
//! `cargo run --release --example bare_csv_parse -- FILE`
//!
//! One `ByteRecord` is reused for the whole file (no allocation per record, no UTF-8
//! check), which is the fastest way the csv crate offers to visit every field.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .ok_or("usage: bare_csv_parse FILE")?;
    let started = Instant::now();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(&path)?;
    let mut record = csv::ByteRecord::new();
    let mut records: u64 = 0;
    let mut fields: u64 = 0;
    while reader.read_byte_record(&mut record)? {
        records += 1;
        fields += record.len() as u64;
    }
    println!(
        "{records} records, {fields} fields in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
