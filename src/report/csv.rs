//! `.csv`: one row per planned line, for people who filter in Excel and for scripts.
//!
//! UTF-8 with a byte-order mark, because Excel opens BOM-less UTF-8 as the system code
//! page and turns Korean and Japanese text into mojibake. Headers and labels follow
//! `--lang`; dates are ISO 8601 (`2026-11-21`) in every language because that is the one
//! form Excel reads as a date in every locale; numbers have no separators so they stay
//! numbers. Every text cell is neutralised against formula injection ([`super::safe`]).
//! The file streams: rows are written as the customers are read, a megabyte at a time.

use super::safe::neutralise;
use super::tables::{self, Cell, Figures};
use super::{Cx, Out, Sink};
use crate::model::{Customer, Rejection};

/// Bytes gathered before they are written out.
const FLUSH_AT: usize = 1 << 20;

pub struct CsvSink {
    writer: csv::Writer<Vec<u8>>,
    record: Vec<String>,
}

impl CsvSink {
    pub fn new(cx: &Cx) -> CsvSink {
        let mut out = Vec::with_capacity(FLUSH_AT + 4096);
        out.extend_from_slice("\u{feff}".as_bytes());
        let mut writer = writer(out);
        let header: Vec<String> = tables::MOVE_COLUMNS
            .iter()
            .map(|c| neutralise(cx.t.get(c.key)).into_owned())
            .collect();
        // Writing into a Vec cannot fail; the csv crate only reports I/O errors.
        writer.write_record(&header).expect("write to memory");
        CsvSink {
            writer,
            record: Vec::with_capacity(header.len()),
        }
    }

    /// Writes out what is gathered.
    fn drain(&mut self, out: &mut dyn Out) -> Result<(), String> {
        let full = std::mem::replace(&mut self.writer, writer(Vec::new()));
        let mut buf = full.into_inner().map_err(|e| e.to_string())?;
        out.write_all(&buf).map_err(|e| e.to_string())?;
        buf.clear();
        self.writer = writer(buf);
        Ok(())
    }
}

fn writer(buf: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(buf)
}

impl Sink for CsvSink {
    fn customer(&mut self, cx: &Cx, customer: &Customer, out: &mut dyn Out) -> Result<(), String> {
        for line in &customer.lines {
            let row = tables::move_row(&cx.head.inputs, customer, line, cx.t);
            self.record.clear();
            self.record.extend(row.iter().map(|cell| match cell {
                Cell::Text(s) => neutralise(s).into_owned(),
                Cell::Int(n) => n.to_string(),
                Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
                Cell::Empty => String::new(),
            }));
            self.writer
                .write_record(&self.record)
                .expect("write to memory");
        }
        if self.writer.get_ref().len() >= FLUSH_AT {
            self.drain(out)?;
        }
        Ok(())
    }

    fn rejection(&mut self, _: &Cx, _: &Rejection, _: &mut dyn Out) -> Result<(), String> {
        Ok(())
    }

    fn finish(mut self: Box<Self>, _: &Cx, _: &Figures, out: &mut dyn Out) -> Result<(), String> {
        self.drain(out)?;
        out.flush().map_err(|e| e.to_string())
    }
}
