//! CSV/TSV text: delimiter sniffing, header-row search, spreadsheet row numbers, and the
//! parallel row loop.
//!
//! The main decisions: the delimiter is the one among `,` `;` tab `|` under which a row
//! of the first hundred records names the required fields (the header row settles the
//! delimiter, so a title block without any delimiter does not confuse it). Row numbers are
//! what Excel would show: the csv crate skips blank lines and reports physical lines, so
//! each record's row is the previous record's row + 1 + the blank lines between them,
//! where the previous record spans 1 + its embedded newlines. Records are read on one
//! thread in batches while the previous batch is parsed on the others (`rayon::join`),
//! with the `ByteRecord`s reused from batch to batch.

use rayon::prelude::*;

use super::DateOrder;
use super::header::{HeaderMap, Schema, match_row, satisfies};
use super::row::{Cells, Collector, RowContext, RowOutcome};
use super::source::{BadBytes, hex_bytes};
use crate::model::RejectCode;
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];
/// How far down a title block may push the header row.
pub(crate) const HEADER_SEARCH_ROWS: usize = 100;
const BATCH: usize = 16 * 1024;

fn reader(text: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    reader_from(text.as_bytes(), delimiter)
}

/// The one csv reader configuration: no header handling (we find it), ragged rows allowed.
pub(crate) fn reader_from<R: std::io::Read>(source: R, delimiter: u8) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(64 * 1024)
        .from_reader(source)
}

/// Turns csv records into spreadsheet row numbers.
///
/// The csv crate skips blank lines silently and its line numbers count the newlines
/// inside quoted cells, so neither gives Excel's row. What it does give is the span of
/// bytes each read consumed: the blank lines skipped before the record, the record, and
/// (part of) its terminator. Every line break at the start of that span is a blank row.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RowCounter {
    prev_row: u64,
    /// The previous span ended in `\r`: a `\n` opening this span completes its `\r\n`.
    prev_ended_cr: bool,
}

impl RowCounter {
    /// The row of the record just read; `rdr` must be the reader that read it.
    pub(crate) fn row_of<R: std::io::Read>(
        &mut self,
        bytes: &(impl SpanBytes + ?Sized),
        record: &csv::ByteRecord,
        rdr: &csv::Reader<R>,
    ) -> u64 {
        let start = record.position().map_or(0, |p| p.byte());
        let end = rdr.position().byte();
        let at = |pos: u64| if pos < end { bytes.byte_at(pos) } else { None };
        let mut pos = start;
        if self.prev_ended_cr && at(pos) == Some(b'\n') {
            pos += 1;
        }
        let mut blank = 0;
        loop {
            match at(pos) {
                Some(b'\r') if at(pos + 1) == Some(b'\n') => pos += 2,
                Some(b'\r' | b'\n') => pos += 1,
                _ => break,
            }
            blank += 1;
        }
        self.prev_ended_cr = end > start && bytes.byte_at(end - 1) == Some(b'\r');
        self.prev_row += 1 + blank;
        self.prev_row
    }
}

/// Random access to the input's bytes by stream offset, for [`RowCounter`].
pub(crate) trait SpanBytes: Sync {
    fn byte_at(&self, pos: u64) -> Option<u8>;
}

impl SpanBytes for [u8] {
    fn byte_at(&self, pos: u64) -> Option<u8> {
        self.get(usize::try_from(pos).ok()?).copied()
    }
}

/// Where the table starts in a text.
#[derive(Debug)]
pub(crate) struct Located {
    pub delimiter: u8,
    pub map: HeaderMap,
    /// Spreadsheet row of the header.
    pub header_row: u64,
    /// Records up to and including the header.
    pub skip: usize,
    /// Byte offset just past the header record.
    pub header_end: u64,
}

/// The best near-miss, for the "no header row" message.
#[derive(Debug, Default)]
pub(crate) struct NearMiss {
    pub row: u64,
    pub cells: Vec<String>,
    pub map: Option<HeaderMap>,
}

/// Finds the delimiter and the header row; on failure, the row that came closest.
pub(crate) fn locate(
    text: &str,
    schema: &'static Schema,
    overrides: &[(usize, String)],
) -> Result<Located, NearMiss> {
    let mut best: Option<Located> = None;
    let mut near = NearMiss::default();
    let mut near_score = (0usize, 0usize);
    for delimiter in DELIMITERS {
        let mut rdr = reader(text, delimiter);
        let mut record = csv::ByteRecord::new();
        let mut counter = RowCounter::default();
        for index in 0..HEADER_SEARCH_ROWS {
            match rdr.read_byte_record(&mut record) {
                Ok(true) => {}
                _ => break,
            }
            let row = counter.row_of(text.as_bytes(), &record, &rdr);
            if record.is_blank() {
                continue;
            }
            let cells: Vec<&str> = (0..record.len())
                .map(|c| record.cell(c).unwrap_or(""))
                .collect();
            let map = match_row(schema, &cells, overrides);
            if satisfies(schema, &map) {
                let better = match &best {
                    None => true,
                    Some(b) => map.matched() > b.map.matched(),
                };
                if better {
                    best = Some(Located {
                        delimiter,
                        map,
                        header_row: row,
                        skip: index + 1,
                        header_end: rdr.position().byte(),
                    });
                }
                break;
            }
            let score = (map.matched(), cells.len());
            if score > near_score {
                near_score = score;
                near = NearMiss {
                    row,
                    cells: cells.iter().map(|c| c.trim().to_string()).collect(),
                    map: Some(map),
                };
            }
        }
    }
    best.ok_or(near)
}

/// A record's cells as `&str`, validated as UTF-8 once per record rather than per cell.
pub(crate) struct RecordCells<'r> {
    record: &'r csv::ByteRecord,
    text: &'r str,
}

impl<'r> RecordCells<'r> {
    /// `None` when the record is not UTF-8 (only possible when streaming undecoded bytes:
    /// whole text was decoded before parsing, and fields split at ASCII bytes).
    pub(crate) fn new(record: &'r csv::ByteRecord) -> Option<Self> {
        let text = std::str::from_utf8(record.as_slice()).ok()?;
        Some(RecordCells { record, text })
    }
}

impl Cells for RecordCells<'_> {
    fn cell(&self, column: usize) -> Option<&str> {
        self.text.get(self.record.range(column)?)
    }
    fn len(&self) -> usize {
        self.record.len()
    }
    fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }
}

#[derive(Default)]
struct Item {
    row: u64,
    /// Indices into the bad-bytes list of the markers inside this record.
    bad: Option<(usize, usize)>,
    record: csv::ByteRecord,
}

/// Reads the data rows below the header, parsing them in parallel in input order.
pub(crate) fn parse_text_rows(
    text: &str,
    located: &Located,
    ctx: &RowContext<'_>,
    bad: &[BadBytes],
    encoding: &'static encoding_rs::Encoding,
) -> Result<Collector, csv::Error> {
    let mut rdr = reader(text, located.delimiter);
    let source = RowSource {
        bytes: text.as_bytes(),
        total_len: text.len() as u64,
        bad,
        encoding,
        utf8_failed: None,
    };
    parse_rows(&mut rdr, &source, located, ctx)
}

/// Where the rows come from, besides the csv reader.
pub(crate) struct RowSource<'a, B: SpanBytes + ?Sized> {
    pub bytes: &'a B,
    /// Input size in bytes, for the capacity estimate.
    pub total_len: u64,
    /// Bytes that did not decode (whole-text reading only).
    pub bad: &'a [BadBytes],
    pub encoding: &'static encoding_rs::Encoding,
    /// Streaming reading: set when a record is not UTF-8 (the caller then starts over
    /// with the whole file and encoding detection); its rows are then meaningless.
    pub utf8_failed: Option<&'a std::sync::atomic::AtomicBool>,
}

/// Reads the data rows below the header from `rdr` (positioned at the start of the
/// input), parsing them in parallel in input order.
pub(crate) fn parse_rows<R: std::io::Read + Send, B: SpanBytes + ?Sized>(
    rdr: &mut csv::Reader<R>,
    source: &RowSource<'_, B>,
    located: &Located,
    ctx: &RowContext<'_>,
) -> Result<Collector, csv::Error> {
    let (bad, encoding, text_bytes) = (source.bad, source.encoding, source.bytes);
    let mut counter = RowCounter::default();
    let mut scratch = csv::ByteRecord::new();
    for _ in 0..located.skip {
        rdr.read_byte_record(&mut scratch)?;
        counter.row_of(text_bytes, &scratch, rdr);
    }
    let mut bad_cursor = 0;
    // Bytes consumed by the end of the first batch, for the capacity estimate.
    let rdr_position = AtomicU64::new(0);
    let mut read_batch = |pool: &mut Vec<Item>| -> Result<usize, csv::Error> {
        let mut count = 0;
        while count < BATCH {
            if count == pool.len() {
                pool.push(Item::default());
            }
            let item = &mut pool[count];
            if !rdr.read_byte_record(&mut item.record)? {
                break;
            }
            item.row = counter.row_of(text_bytes, &item.record, rdr);
            item.bad = None;
            if bad_cursor < bad.len() {
                let start = item.record.position().map_or(0, |p| p.byte()) as usize;
                let end = rdr.position().byte() as usize;
                while bad_cursor < bad.len() && bad[bad_cursor].offset < start {
                    bad_cursor += 1;
                }
                let first = bad_cursor;
                while bad_cursor < bad.len() && bad[bad_cursor].offset < end {
                    bad_cursor += 1;
                }
                if bad_cursor > first {
                    item.bad = Some((first, bad_cursor));
                }
            }
            count += 1;
        }
        if rdr_position.load(Ordering::Relaxed) == 0 {
            rdr_position.store(rdr.position().byte(), Ordering::Relaxed);
        }
        Ok(count)
    };

    let process = |item: &Item| -> (RowOutcome, Option<DateOrder>) {
        match item.bad {
            Some((first, last)) => (
                encoding_rejection(ctx, item, &bad[first..last], encoding),
                None,
            ),
            None => match RecordCells::new(&item.record) {
                Some(cells) => ctx.parse(&cells, item.row),
                None => {
                    if let Some(flag) = source.utf8_failed {
                        flag.store(true, Ordering::Relaxed);
                    }
                    (RowOutcome::Blank, None)
                }
            },
        }
    };

    let mut collector = Collector::default();
    // Reused from batch to batch: a fresh multi-megabyte vector per batch would be
    // mapped and unmapped by the allocator every time.
    let mut results: Vec<(u64, (RowOutcome, Option<DateOrder>))> = Vec::with_capacity(BATCH);
    let mut current: Vec<Item> = Vec::new();
    let mut spare: Vec<Item> = Vec::new();
    let mut count = read_batch(&mut current)?;
    while count > 0 {
        let (next, ()) = rayon::join(
            || read_batch(&mut spare),
            || {
                current[..count]
                    .par_iter()
                    .map(|item| (item.row, process(item)))
                    .collect_into_vec(&mut results)
            },
        );
        if collector.rows.capacity() == 0 && count == BATCH {
            // Reserve for the whole file from the first batch's bytes per record, so the
            // row vector is not copied while it doubles (it is the biggest allocation).
            let consumed = rdr_position.load(Ordering::Relaxed).max(1);
            let estimate =
                (source.total_len as f64 / consumed as f64 * count as f64 * 1.05) as usize;
            collector.rows.reserve(estimate);
        }
        for (row, (outcome, order)) in results.drain(..) {
            collector.push(row, outcome, order);
        }
        if source
            .utf8_failed
            .is_some_and(|f| f.load(Ordering::Relaxed))
        {
            // The caller starts over with the whole file: stop reading this one.
            break;
        }
        count = next?;
        std::mem::swap(&mut current, &mut spare);
    }
    Ok(collector)
}

/// A row holding bytes that did not decode: named by the first such cell, with the bytes
/// shown in hex in place of the U+FFFD they became.
fn encoding_rejection(
    ctx: &RowContext<'_>,
    item: &Item,
    bad: &[BadBytes],
    encoding: &'static encoding_rs::Encoding,
) -> RowOutcome {
    let record = &item.record;
    // The first cell holding a U+FFFD holds the record's first bad bytes (cells before it
    // have none); show them in hex where the U+FFFD stands.
    let mut markers = bad.iter();
    let mut column = None;
    let mut value = None;
    if let Some(c) =
        (0..record.len()).find(|&c| record.cell(c).is_some_and(|s| s.contains('\u{FFFD}')))
    {
        let cell = record.cell(c).unwrap_or("");
        let mut shown = String::with_capacity(cell.len() + 8);
        for ch in cell.chars() {
            if ch == '\u{FFFD}'
                && let Some(m) = markers.next()
            {
                shown.push_str(&hex_bytes(&m.bytes));
            } else {
                shown.push(ch);
            }
        }
        column = Some(c);
        value = Some(shown.trim().to_string());
    }
    let hex: String = bad
        .iter()
        .map(|b| hex_bytes(&b.bytes))
        .collect::<Vec<_>>()
        .join(" ");
    let rejection = ctx.rejection(
        item.row,
        column,
        value,
        RejectCode::InvalidEncoding,
        format!(
            "the row holds bytes that are not valid {} ({hex}): save the file as UTF-8 (or pass --encoding with the file's real encoding) and run again",
            encoding.name()
        ),
    );
    RowOutcome::Rejected(rejection)
}

/// Reads every non-blank record below the header as text cells (catalog and offer-map
/// files: small, read sequentially).
pub(crate) fn collect_rows(
    text: &str,
    located: &Located,
) -> Result<Vec<(u64, Vec<String>)>, csv::Error> {
    let mut rdr = reader(text, located.delimiter);
    let mut counter = RowCounter::default();
    let mut record = csv::ByteRecord::new();
    let mut rows = Vec::new();
    let mut index = 0;
    while rdr.read_byte_record(&mut record)? {
        let row = counter.row_of(text.as_bytes(), &record, &rdr);
        index += 1;
        if index <= located.skip || record.is_blank() {
            continue;
        }
        rows.push((
            row,
            (0..record.len())
                .map(|c| record.cell(c).unwrap_or("").to_string())
                .collect(),
        ));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_of(text: &str) -> Vec<u64> {
        let mut rdr = reader(text, b',');
        let mut counter = RowCounter::default();
        let mut record = csv::ByteRecord::new();
        let mut rows = Vec::new();
        while rdr.read_byte_record(&mut record).unwrap() {
            rows.push(counter.row_of(text.as_bytes(), &record, &rdr));
        }
        rows
    }

    #[test]
    fn row_numbers_count_blank_lines_and_not_embedded_newlines() {
        assert_eq!(rows_of("a,b\n1,2\n"), vec![1, 2]);
        assert_eq!(rows_of("\n\na,b\n\n1,2\n"), vec![3, 5]);
        assert_eq!(rows_of("a,b\r\n\r\n1,2\r\n3,4"), vec![1, 3, 4]);
        assert_eq!(
            rows_of("a,b\n\"x\ny\nz\",2\n3,4\n\n5,6\n"),
            vec![1, 2, 3, 5]
        );
        assert_eq!(rows_of("a,b\n\"x\r\ny\",2\r\n\r\n3,4\r\n"), vec![1, 2, 4]);
        assert_eq!(rows_of("a,b\r\r1,2\r"), vec![1, 3]);
        assert_eq!(rows_of("a,b\n   \n,,\n1,2"), vec![1, 2, 3, 4]);
    }

    #[test]
    fn delimiter_follows_the_header_row() {
        let schema = &super::super::header::INPUT_SCHEMA;
        for (text, want) in [
            ("Domain,Offer,Seats\nx.com,E3,1\n", b','),
            ("Domain;Offer;Seats\nx.com;E3;1,5\n", b';'),
            ("Domain\tOffer\tSeats\n", b'\t'),
            ("Domain|Offer|Seats\n", b'|'),
            ("Customer export, November\n\nDomain;Offer;Seats\n", b';'),
        ] {
            let located = locate(text, schema, &[]).unwrap();
            assert_eq!(located.delimiter, want, "{text:?}");
        }
        let located = locate(
            "Export of 2026-11-21\nGenerated by PC\n\nDomain,Offer,Seats\n",
            schema,
            &[],
        )
        .unwrap();
        assert_eq!(located.header_row, 4);
        assert_eq!(located.skip, 3);
    }
}
