//! Reading partner exports: every CSV/TSV and spreadsheet setting lives here.
//!
//! This module is the only place that builds a `csv::ReaderBuilder` or opens a workbook.
//! It finds the header row (below any title block), maps headers to [`Field`]s through
//! English, Korean and Japanese aliases, decodes legacy encodings, parses every cell
//! into a typed [`SourceRow`] and turns each bad cell into a [`Rejection`] that names the
//! file, the row the user sees, the column header and the value. Whole-file problems
//! (unreadable, not a spreadsheet, no header) are an [`InputError`].
//!
//! The main decisions: the content, not the name, decides whether a file is a workbook
//! or text; CSV and Excel rows go through one row parser (Excel cells become text first),
//! so both follow the same rules; a big UTF-8 text file is streamed while its rows are
//! validated in parallel, and anything else is read whole. The pieces, in reading order:
//! `source` (bytes, sniffing, encodings), `stream` (chunked reading), `csv` (delimiter,
//! header row, row numbers, the parallel loop), `excel` (calamine), `header` (aliases),
//! `row` (one row → a `SourceRow` or a `Rejection`), `value` and `date` (cell values),
//! `compact` and `intern` (how a row is held: one allocation, repeated texts interned).
//! `read_small_table` reads the catalog module's `--catalog` and `--offer-map` files.
//! docs/input-format.md is the user's view.

mod compact;
mod csv;
mod date;
mod excel;
mod header;
mod intern;
mod row;
mod source;
mod stream;
mod value;

use std::path::{Path, PathBuf};

use crate::fsx::sha256_hex;
use rayon::prelude::*;

use crate::model::{InputInfo, Rejection};
use header::{HeaderMap, INPUT_SCHEMA};
use row::{RowContext, RowOutcome};

// For the catalog module's `--catalog` and `--offer-map` readers.
pub use compact::{RowValues, SourceRow, SubscriptionText};
pub(crate) use header::{FieldSpec, Schema};
pub use intern::Sym;
pub use source::parse_encoding_name;
// For the planner's sort keys.
pub(crate) use value::GuidText;
pub(crate) use value::{clean, parse_guid, parse_whole};

/// The fields of DESIGN §3, named as `--map FIELD=HEADER` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    CustomerId,
    Domain,
    CustomerName,
    ContactEmail,
    Country,
    Program,
    CurrentOffer,
    SubscriptionId,
    Seats,
    Assigned,
    ExpiresOn,
    AutoRenew,
    TargetOffer,
    TargetSeats,
    Relationship,
    /// The current offer's ID when the file has it beside the offer's name (Partner
    /// Center's reconciliation files have `OfferId` and `OfferName`).
    CurrentOfferId,
    /// New-commerce term (`P1M`, `P1Y`, `P3Y`).
    Term,
    /// Billing frequency (`monthly`, `annual`, `triennial`).
    Billing,
}

impl Field {
    pub const ALL: [Field; 18] = [
        Field::CustomerId,
        Field::Domain,
        Field::CustomerName,
        Field::ContactEmail,
        Field::Country,
        Field::Program,
        Field::CurrentOffer,
        Field::SubscriptionId,
        Field::Seats,
        Field::Assigned,
        Field::ExpiresOn,
        Field::AutoRenew,
        Field::TargetOffer,
        Field::TargetSeats,
        Field::Relationship,
        Field::CurrentOfferId,
        Field::Term,
        Field::Billing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::CustomerId => "customer_id",
            Field::Domain => "domain",
            Field::CustomerName => "customer_name",
            Field::ContactEmail => "contact_email",
            Field::Country => "country",
            Field::Program => "program",
            Field::CurrentOffer => "current_offer",
            Field::SubscriptionId => "subscription_id",
            Field::Seats => "seats",
            Field::Assigned => "assigned",
            Field::ExpiresOn => "expires_on",
            Field::AutoRenew => "auto_renew",
            Field::TargetOffer => "target_offer",
            Field::TargetSeats => "target_seats",
            Field::Relationship => "relationship",
            Field::CurrentOfferId => "current_offer_id",
            Field::Term => "term",
            Field::Billing => "billing",
        }
    }

    pub fn parse(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// Where an input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSource {
    Path(PathBuf),
    /// `-`: CSV on standard input.
    Stdin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    Ymd,
    Mdy,
    Dmy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetSelector {
    Name(String),
    /// 1-based.
    Index(usize),
}

/// Checked reading options (built from the flags before any row is read).
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub sheet: Option<SheetSelector>,
    /// `--map FIELD=HEADER` overrides, applied before aliases.
    pub map: Vec<(Field, String)>,
    /// `--encoding`; `None` = detect.
    pub encoding: Option<&'static encoding_rs::Encoding>,
    pub date_order: Option<DateOrder>,
}

/// What one input file gave.
#[derive(Debug, Clone)]
pub struct InputTable {
    pub info: InputInfo,
    pub rows: Vec<SourceRow>,
    pub rejected: Vec<Rejection>,
}

/// A whole input that cannot be used. Exit code 2. Every message starts with the path.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{path}: cannot read the file")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the file is empty")]
    Empty { path: String },
    #[error(
        "{path}: not a spreadsheet: {detail}; give a CSV/TSV text file or an .xlsx .xlsm .xlsb .xls .ods workbook"
    )]
    NotASpreadsheet { path: String, detail: String },
    #[error(
        "{path}: the workbook is password-protected (encrypted): open it in Excel, remove the password (File > Info > Protect Workbook > Encrypt with Password) and save a copy to read"
    )]
    PasswordProtected { path: String },
    #[error(
        "{path}: the workbook is damaged or truncated and cannot be read ({detail}); export it again"
    )]
    Damaged { path: String, detail: String },
    #[error(
        "{path}: there is no sheet {sheet}; the sheets are: {}",
        quote_list(sheets)
    )]
    NoSuchSheet {
        path: String,
        sheet: String,
        sheets: Vec<String>,
    },
    #[error("{path}{}: {what}", sheet_suffix(sheet))]
    NoHeader {
        path: String,
        /// The sheet (Excel), when one sheet was searched.
        sheet: Option<String>,
        /// The explanation: rows searched, headers found, what is missing, aliases.
        what: String,
    },
    #[error(
        "{path}: --map {field}={header:?}: the header row (row {row}) has no column named {header:?}; its headers are: {}",
        quote_list(headers)
    )]
    MapColumnNotFound {
        path: String,
        field: &'static str,
        header: String,
        row: u64,
        headers: Vec<String>,
    },
    #[error(
        "{path}: the text does not decode as {encoding}: {bad_rows} of {rows} rows hold bytes that are not {encoding} (first at row {first_row}: {hex}); pass --encoding with the file's encoding (cp949, shift_jis, utf-16le, ...) or save it as UTF-8"
    )]
    Encoding {
        path: String,
        encoding: &'static str,
        bad_rows: u64,
        rows: u64,
        first_row: u64,
        hex: String,
    },
    #[error(
        "{path}: the header row (row {row}) holds bytes that are not {encoding} ({hex}); pass --encoding with the file's encoding (cp949, shift_jis, utf-16le, ...) or save it as UTF-8"
    )]
    HeaderEncoding {
        path: String,
        encoding: &'static str,
        row: u64,
        hex: String,
    },
    #[error("{path}: row {row}, column {column:?}: {message}")]
    InvalidRow {
        path: String,
        row: u64,
        column: String,
        message: String,
    },
}

fn quote_list(items: &[String]) -> String {
    if items.is_empty() {
        return "(none)".into();
    }
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn sheet_suffix(sheet: &Option<String>) -> String {
    sheet
        .as_ref()
        .map(|s| format!(": sheet {s:?}"))
        .unwrap_or_default()
}

/// The text of a "no header row" error: the closest row, what it lacks, what was looked for.
fn no_header_what(
    schema: &Schema,
    near: Option<(u64, &[String], &HeaderMap)>,
    searched: &str,
) -> String {
    let looked_for = header::describe_required(schema);
    match near {
        Some((row, cells, map)) if map.matched() > 0 => format!(
            "no header row of a {} found in {searched}: the closest is row {row} with headers {}, which lacks a column for {}; looked for: {looked_for}. If the column has another header, name it with --map FIELD=HEADER",
            schema.what,
            quote_list(cells),
            header::missing_required(schema, map).join(", "),
        ),
        Some((row, cells, _)) => format!(
            "no header row of a {} found in {searched} (row {row} reads {}); looked for: {looked_for}. If the columns have other headers, name them with --map FIELD=HEADER",
            schema.what,
            quote_list(&cells.iter().take(12).cloned().collect::<Vec<_>>()),
        ),
        None => format!(
            "no header row of a {} found in {searched}: there are no rows; looked for: {looked_for}",
            schema.what
        ),
    }
}

/// No header row was found. When the closest row is a header row that lacks only what a
/// `--map FIELD=HEADER` asked for, the error says that (`--map seats=Lizenzen`: the
/// header row has no column "Lizenzen"; its headers are ...) instead of listing aliases.
fn no_header_error(
    display: &str,
    sheet: Option<String>,
    schema: &Schema,
    near: Option<(u64, &[String], &HeaderMap)>,
    searched: &str,
    overrides: &[(usize, String)],
) -> InputError {
    if let Some((row, _, map)) = near
        && map.matched() > 0
        && let Some((field, wanted)) = overrides.iter().find(|(f, _)| map.column(*f).is_none())
    {
        return InputError::MapColumnNotFound {
            path: display.to_string(),
            field: schema.fields[*field].name,
            header: wanted.clone(),
            row,
            headers: map.headers.clone(),
        };
    }
    InputError::NoHeader {
        path: display.to_string(),
        sheet,
        what: no_header_what(schema, near, searched),
    }
}

/// `--map` names a header the header row does not have: say so rather than ignore it.
fn check_overrides(
    display: &str,
    row: u64,
    map: &HeaderMap,
    overrides: &[(usize, String)],
    schema: &Schema,
) -> Result<(), InputError> {
    for (field, wanted) in overrides {
        if map.column(*field).is_none() {
            return Err(InputError::MapColumnNotFound {
                path: display.to_string(),
                field: schema.fields[*field].name,
                header: wanted.clone(),
                row,
                headers: map.headers.clone(),
            });
        }
    }
    Ok(())
}

/// Logs the columns that map to no field (debug level).
fn log_ignored(input: &str, map: &HeaderMap) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let used: Vec<usize> = map.columns.iter().flatten().copied().collect();
    let ignored: Vec<&str> = (0..map.headers.len())
        .filter(|c| !used.contains(c))
        .map(|c| map.header(c))
        .filter(|h| !h.is_empty())
        .collect();
    if !ignored.is_empty() {
        tracing::debug!(
            input,
            ?ignored,
            "columns ignored (no field has such a header)"
        );
    }
}

/// Reads one input file (or stdin) into valid rows and rejected rows.
///
/// `index` is the input's position among the plan's inputs; it is stored in every row.
pub fn read_input(
    source: &InputSource,
    index: usize,
    opts: &ReadOptions,
) -> Result<InputTable, InputError> {
    read_input_with_head(source, index, opts, STREAM_HEAD)
}

/// Files longer than this are streamed when they start as plain UTF-8 (see `stream.rs`).
const STREAM_HEAD: usize = 1 << 20;

fn read_input_with_head(
    source: &InputSource,
    index: usize,
    opts: &ReadOptions,
    head_len: usize,
) -> Result<InputTable, InputError> {
    let (display, path) = match source {
        InputSource::Path(p) => (p.display().to_string(), Some(p.as_path())),
        InputSource::Stdin => ("-".to_string(), None),
    };
    let overrides: Vec<(usize, String)> = opts
        .map
        .iter()
        .map(|(f, h)| (*f as usize, h.clone()))
        .collect();
    if let Some(path) = path {
        let unreadable = |source| InputError::Unreadable {
            path: display.clone(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(unreadable)?;
        let head = stream::read_head(&mut file, head_len).map_err(unreadable)?;
        if head.len() == head_len
            && source::sniff_as(&head, &display, opts.encoding)? == source::Kind::Text
            && let Some(table) = read_streaming(file, head, &display, index, opts, &overrides)?
        {
            return Ok(table);
        }
    }
    let bytes = source::read_bytes(path, &display)?;
    let kind = source::sniff_as(&bytes, &display, opts.encoding)?;
    if kind == source::Kind::Text && opts.sheet.is_some() {
        let input = display.as_str();
        tracing::warn!(
            input,
            "--sheet is ignored: this input is text (CSV/TSV), not a workbook"
        );
    }
    match kind {
        source::Kind::Text => read_text_input(bytes, &display, index, opts, &overrides),
        _ => read_workbook_input(bytes, kind, path, &display, index, opts, &overrides),
    }
}

/// The length of a leading `sep=X` line (Excel's delimiter hint), or 0.
fn sep_line(bytes: &[u8]) -> usize {
    if bytes.len() >= 5 && bytes[..4].eq_ignore_ascii_case(b"sep=") {
        let rest = &bytes[5..];
        let end = match rest {
            [b'\r', b'\n', ..] => 7,
            [b'\n', ..] | [b'\r', ..] => 6,
            [] => 5,
            _ => return 0,
        };
        return end;
    }
    0
}

/// The streaming path for big UTF-8 text; `None` when the file does not qualify or
/// turns out not to be UTF-8 (the caller then reads it whole).
fn read_streaming(
    file: std::fs::File,
    head: Vec<u8>,
    display: &str,
    index: usize,
    opts: &ReadOptions,
    overrides: &[(usize, String)],
) -> Result<Option<InputTable>, InputError> {
    if opts.encoding.is_some_and(|e| e != encoding_rs::UTF_8) {
        return Ok(None);
    }
    let skip = match encoding_rs::Encoding::for_bom(&head) {
        None => 0,
        Some((e, len)) if e == encoding_rs::UTF_8 => len,
        Some(_) => return Ok(None),
    };
    let skip = skip + sep_line(&head[skip..]);
    let body = head[skip..].to_vec();
    let Some(cut) = body.iter().rposition(|&b| b == b'\n') else {
        return Ok(None);
    };
    let Ok(head_text) = std::str::from_utf8(&body[..=cut]) else {
        return Ok(None);
    };
    let Ok(located) = csv::locate(head_text, &INPUT_SCHEMA, overrides) else {
        return Ok(None);
    };
    if located.header_end >= head_text.len() as u64 {
        // The header record may go on past the head: read whole to be sure of it.
        return Ok(None);
    }
    check_overrides(
        display,
        located.header_row,
        &located.map,
        overrides,
        &INPUT_SCHEMA,
    )?;
    log_ignored(display, &located.map);
    if opts.sheet.is_some() {
        let input = display;
        tracing::warn!(
            input,
            "--sheet is ignored: this input is text (CSV/TSV), not a workbook"
        );
    }
    let total_len = file.metadata().map_or(0, |m| m.len());
    let store = std::sync::Arc::new(stream::ChunkStore::default());
    let reader = stream::ChunkReader::new(file, &head[..skip], body, std::sync::Arc::clone(&store));
    let mut rdr = csv::reader_from(reader, located.delimiter);
    let failed = std::sync::atomic::AtomicBool::new(false);
    let ctx = RowContext {
        path: display,
        input: index,
        map: &located.map,
        date_order: opts.date_order,
        notes: Default::default(),
    };
    let source = csv::RowSource {
        bytes: &*store,
        total_len,
        bad: &[],
        encoding: encoding_rs::UTF_8,
        utf8_failed: Some(&failed),
    };
    let collector =
        csv::parse_rows(&mut rdr, &source, &located, &ctx).map_err(|e| InputError::File {
            path: display.to_string(),
            message: format!("cannot parse the CSV text: {e}"),
        })?;
    if failed.load(std::sync::atomic::Ordering::Relaxed) {
        let input = display;
        tracing::debug!(input, "not all UTF-8: reading the file again whole");
        return Ok(None);
    }
    let sha256 = rdr
        .into_inner()
        .finish()
        .map_err(|source| InputError::Unreadable {
            path: display.to_string(),
            source,
        })?;
    Ok(Some(collector.into_table(&ctx, display, sha256, None)))
}

fn read_text_input(
    bytes: Vec<u8>,
    display: &str,
    index: usize,
    opts: &ReadOptions,
    overrides: &[(usize, String)],
) -> Result<InputTable, InputError> {
    let decoded = source::decode(bytes, opts.encoding);
    if decoded.text.trim().is_empty() {
        return Err(InputError::Empty {
            path: display.to_string(),
        });
    }
    // Excel's `sep=;` hint line is not a row in Excel: leave it out of rows and numbers.
    let sep = sep_line(decoded.text.as_bytes());
    let text = &decoded.text[sep..];
    let shifted: Vec<source::BadBytes>;
    let bad = if sep == 0 {
        &decoded.bad
    } else {
        shifted = decoded
            .bad
            .iter()
            .map(|b| source::BadBytes {
                offset: b.offset.saturating_sub(sep),
                bytes: b.bytes.clone(),
            })
            .collect();
        &shifted
    };
    let located = csv::locate(text, &INPUT_SCHEMA, overrides).map_err(|near| {
        no_header_error(
            display,
            None,
            &INPUT_SCHEMA,
            near.map
                .as_ref()
                .map(|m| (near.row, near.cells.as_slice(), m)),
            &format!(
                "the first {} rows (read as {})",
                csv::HEADER_SEARCH_ROWS,
                decoded.encoding.name()
            ),
            overrides,
        )
    })?;
    check_overrides(
        display,
        located.header_row,
        &located.map,
        overrides,
        &INPUT_SCHEMA,
    )?;
    if !decoded.bad.is_empty() && located.map.headers.iter().any(|h| h.contains('\u{FFFD}')) {
        return Err(InputError::HeaderEncoding {
            path: display.to_string(),
            encoding: decoded.encoding.name(),
            row: located.header_row,
            hex: source::hex_bytes(&decoded.bad[0].bytes),
        });
    }
    log_ignored(display, &located.map);
    let ctx = RowContext {
        path: display,
        input: index,
        map: &located.map,
        date_order: opts.date_order,
        notes: Default::default(),
    };
    let hashed = decoded.raw.as_deref().unwrap_or(decoded.text.as_bytes());
    let (sha256, parsed) = rayon::join(
        || sha256_hex(hashed),
        || csv::parse_text_rows(text, &located, &ctx, bad, decoded.encoding),
    );
    let collector = parsed.map_err(|e| InputError::File {
        path: display.to_string(),
        message: format!("cannot parse the CSV text: {e}"),
    })?;
    if collector.bad_rows >= 2 && collector.bad_rows * 10 > collector.data_rows {
        let first = collector
            .rejected
            .iter()
            .find(|r| r.code == crate::model::RejectCode::InvalidEncoding);
        let first_row = first.map_or(0, |r| r.row);
        let hex = first
            .and_then(|r| r.message.split(['(', ')']).nth(1))
            .unwrap_or("")
            .to_string();
        return Err(InputError::Encoding {
            path: display.to_string(),
            encoding: decoded.encoding.name(),
            bad_rows: collector.bad_rows,
            rows: collector.data_rows,
            first_row,
            hex,
        });
    }
    // The text is not needed any more: free it before the planner allocates.
    drop(decoded);
    Ok(collector.into_table(&ctx, display, sha256, None))
}

/// The row that came closest to a header: its number, cells and matches.
type NearRow = (u64, Vec<String>, HeaderMap);

/// The header of a sheet: its index among the sheet's rows and its map.
fn locate_in_sheet(
    rows: &[(u64, excel::SparseRow)],
    schema: &'static Schema,
    overrides: &[(usize, String)],
) -> Result<(usize, HeaderMap), Option<NearRow>> {
    let mut near: Option<NearRow> = None;
    for (i, (row, sparse)) in rows.iter().enumerate().take(csv::HEADER_SEARCH_ROWS) {
        if sparse.0.iter().all(|(_, c)| c.trim().is_empty()) {
            continue;
        }
        let cells = sparse.dense(None);
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        let map = header::match_row(schema, &refs, overrides);
        if header::satisfies(schema, &map) {
            return Ok((i, map));
        }
        if near
            .as_ref()
            .is_none_or(|(_, _, m)| map.matched() > m.matched())
        {
            let shown = cells.iter().map(|c| c.trim().to_string()).collect();
            near = Some((*row, shown, map));
        }
    }
    Err(near)
}

/// Opens a workbook and finds the sheet and header row; shared with catalog reading.
/// Without `--sheet`, hidden sheets are skipped (a stale hidden copy of the table must
/// not be planned), and the skip is logged.
fn locate_workbook(
    bytes: Vec<u8>,
    kind: source::Kind,
    path: Option<&Path>,
    display: &str,
    sheet: Option<&SheetSelector>,
    schema: &'static Schema,
    overrides: &[(usize, String)],
) -> Result<(excel::SheetText, usize, HeaderMap), InputError> {
    let extension = path
        .and_then(|p| p.extension())
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut book = excel::open(bytes, kind, &extension, display)?;
    let names = excel::sheet_names(&book);
    let all = excel::candidate_sheets(&names, sheet, display)?;
    let (candidates, hidden): (Vec<_>, Vec<_>) = all.into_iter().partition(|(_, v)| *v);
    let candidates: Vec<String> = candidates.into_iter().map(|(n, _)| n).collect();
    let hidden: Vec<String> = hidden.into_iter().map(|(n, _)| n).collect();
    let position = |name: &str| names.iter().position(|(n, _)| n == name);
    let mut near_all: Option<(String, u64, Vec<String>, HeaderMap)> = None;
    for name in &candidates {
        let text = excel::sheet_text(&mut book, name, display)?;
        match locate_in_sheet(&text.rows, schema, overrides) {
            Ok((at, map)) => {
                check_overrides(display, text.rows[at].0, &map, overrides, schema)?;
                for skipped in hidden.iter().filter(|h| position(h) < position(name)) {
                    let input = display;
                    tracing::warn!(
                        input,
                        "sheet {skipped:?} is hidden and was skipped; sheet {name:?} is read (pass --sheet {skipped:?} to read the hidden one)"
                    );
                }
                return Ok((text, at, map));
            }
            Err(Some((row, cells, map))) => {
                if near_all
                    .as_ref()
                    .is_none_or(|(_, _, _, m)| map.matched() > m.matched())
                {
                    near_all = Some((name.clone(), row, cells, map));
                }
            }
            Err(None) => {}
        }
    }
    let mut searched = if candidates.len() == 1 {
        format!("the first {} rows", csv::HEADER_SEARCH_ROWS)
    } else {
        format!(
            "the first {} rows of any sheet ({})",
            csv::HEADER_SEARCH_ROWS,
            quote_list(&candidates)
        )
    };
    if !hidden.is_empty() {
        searched.push_str(&format!(
            " (hidden sheets are not read unless --sheet names them: {})",
            quote_list(&hidden)
        ));
    }
    let near = near_all
        .as_ref()
        .map(|(_, row, cells, map)| (*row, cells.as_slice(), map));
    let sheet = match (candidates.len(), &near_all) {
        (1, _) => candidates.first().cloned(),
        (_, Some((name, _, _, m))) if m.matched() > 0 => Some(name.clone()),
        _ => None,
    };
    Err(no_header_error(
        display, sheet, schema, near, &searched, overrides,
    ))
}

fn read_workbook_input(
    bytes: Vec<u8>,
    kind: source::Kind,
    path: Option<&Path>,
    display: &str,
    index: usize,
    opts: &ReadOptions,
    overrides: &[(usize, String)],
) -> Result<InputTable, InputError> {
    let sha256 = sha256_hex(&bytes);
    let (sheet, at, map) = locate_workbook(
        bytes,
        kind,
        path,
        display,
        opts.sheet.as_ref(),
        &INPUT_SCHEMA,
        overrides,
    )?;
    log_ignored(display, &map);
    let ctx = RowContext {
        path: display,
        input: index,
        map: &map,
        date_order: opts.date_order,
        notes: Default::default(),
    };
    let results: Vec<(u64, (RowOutcome, Option<DateOrder>))> = sheet.rows[at + 1..]
        .par_iter()
        .map(|(row, cells)| (*row, ctx.parse(cells, *row)))
        .collect();
    let mut collector = row::Collector::default();
    for (row, (outcome, order)) in results {
        collector.push(row, outcome, order);
    }
    Ok(collector.into_table(&ctx, display, sha256, Some(sheet.name)))
}

/// A small table (catalog, offer map) read whole: its header map and its text rows.
pub(crate) struct SmallTable {
    pub display: String,
    pub map: HeaderMap,
    pub rows: Vec<(u64, Vec<String>)>,
}

/// Reads a catalog or offer-map file (CSV or Excel) with the same machinery as inputs.
/// Catalog files must be right: bytes that do not decode are an error, not a rejection.
pub(crate) fn read_small_table(
    path: &Path,
    schema: &'static Schema,
    encoding: Option<&'static encoding_rs::Encoding>,
) -> Result<SmallTable, InputError> {
    let display = path.display().to_string();
    let bytes = source::read_bytes(Some(path), &display)?;
    let kind = source::sniff(&bytes, &display)?;
    if kind != source::Kind::Text {
        let (sheet, at, map) =
            locate_workbook(bytes, kind, Some(path), &display, None, schema, &[])?;
        let width = Some(map.headers.len());
        let rows = sheet
            .rows
            .into_iter()
            .skip(at + 1)
            .filter(|(_, cells)| !row::Cells::is_blank(cells))
            .map(|(n, cells)| (n, cells.dense(width)))
            .collect();
        return Ok(SmallTable { display, map, rows });
    }
    // `--encoding` applies to these files as to the inputs: a partner's CP949 or
    // Shift_JIS catalog reads like its exports.
    let decoded = source::decode(bytes, encoding);
    if let Some(bad) = decoded.bad.first() {
        let row = decoded.text[..bad.offset].matches('\n').count() as u64 + 1;
        return Err(InputError::Encoding {
            path: display,
            encoding: decoded.encoding.name(),
            bad_rows: decoded.bad.len() as u64,
            rows: decoded.text.lines().count() as u64,
            first_row: row,
            hex: source::hex_bytes(&bad.bytes),
        });
    }
    if decoded.text.trim().is_empty() {
        return Err(InputError::Empty { path: display });
    }
    let located = csv::locate(&decoded.text, schema, &[]).map_err(|near| InputError::NoHeader {
        path: display.clone(),
        sheet: None,
        what: no_header_what(
            schema,
            near.map
                .as_ref()
                .map(|m| (near.row, near.cells.as_slice(), m)),
            &format!("the first {} rows", csv::HEADER_SEARCH_ROWS),
        ),
    })?;
    let rows = csv::collect_rows(&decoded.text, &located).map_err(|e| InputError::File {
        path: display.clone(),
        message: format!("cannot parse the CSV text: {e}"),
    })?;
    Ok(SmallTable {
        display,
        map: located.map,
        rows,
    })
}

#[cfg(test)]
mod tests;
