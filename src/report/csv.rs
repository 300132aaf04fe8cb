//! `.csv`: one row per planned line, for people who filter in Excel and for scripts.
//!
//! UTF-8 with a byte-order mark, because Excel opens BOM-less UTF-8 as the system code
//! page and turns Korean and Japanese text into mojibake. Headers and labels follow
//! `--lang`; dates are ISO 8601 (`2026-11-21`) in every language because that is the one
//! form Excel reads as a date in every locale; numbers have no separators so they stay
//! numbers. Every text cell is neutralised against formula injection ([`super::safe`]).

use super::safe::neutralise;
use super::tables::{self, Cell};
use crate::i18n::Lang;
use crate::i18n::texts;
use crate::model::Plan;

pub fn render(plan: &Plan, lang: Lang) -> Vec<u8> {
    let t = texts(lang);
    let table = tables::moves(plan, t);
    let mut out = Vec::with_capacity(64 + table.rows.len() * 256);
    out.extend_from_slice("\u{feff}".as_bytes());
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    // Writing into a Vec cannot fail; the csv crate only reports I/O errors.
    let header: Vec<String> = table
        .columns
        .iter()
        .map(|c| neutralise(t.get(c.key)).into_owned())
        .collect();
    writer.write_record(&header).expect("write to memory");
    let mut record: Vec<String> = Vec::with_capacity(table.columns.len());
    for row in &table.rows {
        record.clear();
        record.extend(row.iter().map(|cell| match cell {
            Cell::Text(s) => neutralise(s).into_owned(),
            Cell::Int(n) => n.to_string(),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Empty => String::new(),
        }));
        writer.write_record(&record).expect("write to memory");
    }
    writer.into_inner().expect("flush to memory")
}
