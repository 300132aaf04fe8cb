//! `.csv`: one row per planned line, for people who filter in Excel and for scripts.
//!
//! UTF-8 with a byte-order mark, because Excel opens BOM-less UTF-8 as the system code
//! page and turns Korean and Japanese text into mojibake. Headers and labels follow
//! `--lang`; dates are ISO 8601 (`2026-11-21`) in every language because that is the one
//! form Excel reads as a date in every locale; numbers have no separators so they stay
//! numbers. Every text cell is neutralised against formula injection ([`super::safe`]).
//! The file streams: rows are written as the customers are read, a megabyte at a time,
//! each cell straight from the plan (no `String` per cell).

use super::safe::neutralise;
use super::tables::{self, CellRef, Figures};
use super::{Cx, Out, Sink};
use crate::model::{Customer, Rejection, iso_date};

/// Bytes gathered before they are written out.
const FLUSH_AT: usize = 1 << 20;

pub struct CsvSink {
    writer: csv::Writer<Vec<u8>>,
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
        CsvSink { writer }
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
        let mut number = itoa::Buffer::new();
        for line in &customer.lines {
            // Each cell is written from the plan as it is: no String per cell.
            for cell in tables::move_cells(&cx.head.inputs, customer, line, cx.t) {
                let written = match cell {
                    CellRef::Text(s) => self.writer.write_field(neutralise(&s).as_bytes()),
                    CellRef::Int(n) => self.writer.write_field(number.format(n)),
                    CellRef::Date(d) => match iso_date(d) {
                        Some(text) => self.writer.write_field(text),
                        None => self.writer.write_field(d.format("%Y-%m-%d").to_string()),
                    },
                    CellRef::Empty => self.writer.write_field(b""),
                };
                written.expect("write to memory");
            }
            self.writer
                .write_record(None::<&[u8]>)
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
