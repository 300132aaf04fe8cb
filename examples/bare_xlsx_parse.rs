//! The floor for reading an Excel export: open the workbook with calamine, load the first
//! sheet and count its rows and non-empty cells, nothing else. `bench/plan.sh` times
//! `cspmove plan` on an .xlsx against this.
//!
//! `cargo run --release --example bare_xlsx_parse -- FILE`

use std::time::Instant;

use calamine::{Data, Reader, open_workbook_auto};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .ok_or("usage: bare_xlsx_parse FILE")?;
    let started = Instant::now();
    let mut workbook = open_workbook_auto(&path)?;
    let sheet = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or("the workbook has no sheet")?;
    let range = workbook.worksheet_range(&sheet)?;
    let mut rows: u64 = 0;
    let mut cells: u64 = 0;
    for row in range.rows() {
        rows += 1;
        cells += row.iter().filter(|c| !matches!(c, Data::Empty)).count() as u64;
    }
    println!(
        "{rows} rows, {cells} non-empty cells in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
