//! `.xlsx` with rust_xlsxwriter: the operations team's working copy of the plan.
//!
//! Sheets `Summary`, `Moves`, `Tasks`, `Reassignments`, `Rejected`, named the same in
//! every language so scripts can find them; headers, labels and messages are translated.
//! Each table sheet has a frozen, bold header row with an autofilter, widths fitted to
//! the content, dates as real date cells in the language's date format and counts as
//! numbers with thousands separators. Text is always written with `write_string` (never
//! as a formula) and neutralised with a leading apostrophe when it could be read as one
//! ([`super::safe`]), so it stays inert even after the sheet is re-saved as CSV.
//!
//! At any size: the table sheets stream (rust_xlsxwriter's constant-memory mode) while
//! the plan is read; a table longer than Excel's 1,048,576 rows goes on in numbered
//! sheets (`Moves 2`, `Moves 3`, ...) placed after the first, each with its header. A
//! value longer than a cell holds (32,767 characters) is cut with a visible marker and a
//! warning naming the sheet, row and column, instead of failing the workbook. Every sheet
//! prints as reviewers print it: landscape, one page wide, the header row on every page,
//! and the plan date, sheet name and page number in the footer.

use std::sync::{Arc, Mutex, mpsc};

use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook, Worksheet, XlsxError};

use super::safe::neutralise;
use super::tables::{self, Cell, CellRef, Figures, Kind, Table, Which};
use super::{Cx, Out, Sink};
use crate::i18n::Texts;
use crate::model::{Customer, InputInfo, Rejection};

/// How many rows are looked at to fit column widths: enough to be representative, few
/// enough that a 100,000-line plan does not pay for measuring every cell.
const WIDTH_SAMPLE_ROWS: usize = 2_000;
const MIN_WIDTH: f64 = 6.0;
const MAX_WIDTH: f64 = 60.0;

#[derive(Clone)]
struct Formats {
    header: Format,
    title: Format,
    bold: Format,
    date: Format,
    number: Format,
    text: Format,
}

impl Formats {
    fn new(t: &Texts) -> Formats {
        Formats {
            header: Format::new()
                .set_bold()
                .set_background_color(Color::RGB(0xDDE7F3))
                .set_border_bottom(FormatBorder::Thin),
            title: Format::new().set_bold().set_font_size(14),
            bold: Format::new().set_bold(),
            date: Format::new().set_num_format(t.xlsx_date_format()),
            number: Format::new().set_num_format("#,##0"),
            text: Format::new(),
        }
    }

    /// Every format (a field added without being listed here does not compile).
    fn all(&self) -> [&Format; 6] {
        let Formats {
            header,
            title,
            bold,
            date,
            number,
            text,
        } = self;
        [header, title, bold, date, number, text]
    }
}

/// The zip compression level of the workbook (1 fastest … 9 smallest; 6 is the zip
/// default).
const ZIP_LEVEL: u8 = 1;
/// Rows in one Excel sheet, header included.
pub(crate) const EXCEL_MAX_ROWS: usize = 1_048_576;
/// Characters (UTF-16 units) in one Excel cell.
const EXCEL_MAX_CHARS: usize = 32_767;

/// One table's sheets: the first is named as the table, the next ones `NAME 2`, ...
/// The sheets are standalone until the workbook is saved, so a table can be filled on
/// a thread of its own.
struct TableSheets {
    table: Table,
    /// The parts, in order.
    parts: Vec<Worksheet>,
    /// Next row to write in the last part.
    row: u32,
    widths: Vec<f64>,
    sampled: usize,
}

/// What filling a table needs, on whichever thread fills it.
#[derive(Clone)]
struct Writer {
    /// Only locked to create a sheet (a few times per table) and to save.
    workbook: Arc<Mutex<Workbook>>,
    formats: Formats,
    /// Rows per sheet, header included (Excel's limit; smaller in tests).
    max_rows: usize,
    t: &'static Texts,
}

impl TableSheets {
    fn new(which: Which) -> TableSheets {
        TableSheets {
            table: which.table(),
            parts: Vec::new(),
            row: 0,
            widths: Vec::new(),
            sampled: 0,
        }
    }

    /// Adds the next sheet of the table and writes its header.
    fn new_part(&mut self, w: &Writer) -> Result<(), XlsxError> {
        let name = match self.parts.len() {
            0 => self.table.sheet.to_string(),
            n => format!("{} {}", self.table.sheet, n + 1),
        };
        // Table sheets stream their rows to a temporary file (rust_xlsxwriter's
        // constant-memory mode, inline strings): a 100,000-line plan needs a third of
        // the memory and half the time. Rows are written strictly top to bottom.
        let mut sheet = w
            .workbook
            .lock()
            .map_err(|_| XlsxError::ParameterError("a thread writing the workbook failed".into()))?
            .new_worksheet_with_constant_memory()?;
        sheet.set_name(&name)?;
        let fresh = self.widths.is_empty();
        for (c, column) in self.table.columns.iter().enumerate() {
            let label = w.t.get(column.key);
            text(&mut sheet, 0, c as u16, label, &w.formats.header)?;
            if fresh {
                // Room for the autofilter button beside the header text.
                self.widths.push(display_width(label) + 3.0);
            }
        }
        self.parts.push(sheet);
        self.row = 1;
        Ok(())
    }

    /// The sheet the next row goes on, and that row.
    fn next_row(&mut self, w: &Writer) -> Result<u32, XlsxError> {
        if self.parts.is_empty() || self.row as usize >= w.max_rows {
            self.new_part(w)?;
        }
        Ok(self.row)
    }

    /// [`push`](TableSheets::push) of a borrowed row (the Moves rows, most of the
    /// workbook): owned cells only for the rows sampled for column widths.
    fn push_cells(&mut self, w: &Writer, row: &[CellRef]) -> Result<(), XlsxError> {
        if self.sampled < WIDTH_SAMPLE_ROWS {
            let owned: Vec<Cell> = row.iter().cloned().map(CellRef::into_cell).collect();
            return self.push(w, &owned);
        }
        let xl_row = self.next_row(w)?;
        let sheet = self.parts.last_mut().expect("a part");
        for (c, value) in row.iter().enumerate() {
            cell(sheet, xl_row, c as u16, value, &w.formats)?;
        }
        self.sampled += 1;
        self.row += 1;
        Ok(())
    }

    fn push(&mut self, w: &Writer, row: &[Cell]) -> Result<(), XlsxError> {
        let xl_row = self.next_row(w)?;
        let sheet = self.parts.last_mut().expect("a part");
        for (c, value) in row.iter().enumerate() {
            cell(sheet, xl_row, c as u16, &value.borrowed(), &w.formats)?;
            if self.sampled < WIDTH_SAMPLE_ROWS {
                let shown = match (value, self.table.columns[c].kind) {
                    (Cell::Date(_), _) | (_, Kind::Date) => 12.0,
                    (v, _) => display_width(&v.display(w.t, true)) + 1.0,
                };
                self.widths[c] = self.widths[c].max(shown);
            }
        }
        self.sampled += 1;
        self.row += 1;
        Ok(())
    }

    /// Widths, frozen header, autofilter and print setup of every part, then the parts
    /// into the workbook, in order.
    fn finish(self, workbook: &mut Workbook, cx: &Cx, max_rows: usize) -> Result<(), XlsxError> {
        let last_col = (self.table.columns.len() - 1) as u16;
        let n_parts = self.parts.len();
        for (p, mut sheet) in self.parts.into_iter().enumerate() {
            let last_row = if p + 1 == n_parts {
                self.row - 1
            } else {
                (max_rows - 1) as u32
            };
            for (c, width) in self.widths.iter().enumerate() {
                sheet.set_column_width(c as u16, width.clamp(MIN_WIDTH, MAX_WIDTH))?;
            }
            sheet.set_freeze_panes(1, 0)?;
            sheet.autofilter(0, 0, last_row, last_col)?;
            print_setup(&mut sheet, cx)?;
            sheet.set_repeat_rows(0, 0)?;
            workbook.push_worksheet(sheet);
        }
        Ok(())
    }
}

/// Gives every format its workbook-wide index, on one thread, before any table is
/// filled. rust_xlsxwriter (0.102) numbers a constant-memory sheet's format on its first
/// use, and its lookup lets go of the read lock before it takes the write lock: two
/// threads meeting a new format at once (the Moves thread and the Tasks sheet, say) both
/// add it, and the cells of one refer to an index the saved styles give to another
/// format. A date then reads back as a plain number. Once every format is known, the
/// threads only read.
fn register_formats(w: &Writer) -> Result<(), String> {
    let mut scratch = w
        .workbook
        .lock()
        .map_err(|_| "a thread writing the workbook failed".to_string())?
        .new_worksheet_with_constant_memory()
        .map_err(|e| e.to_string())?;
    // The scratch sheet is never added to the workbook: only its formats' indices stay.
    for (c, format) in w.formats.all().into_iter().enumerate() {
        scratch
            .write_blank(0, c as u16, format)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The Moves table (half the workbook's cells) filled on a thread of its own while the
/// caller fills the others: the customers are shared with it, not copied.
struct MovesThread {
    tx: mpsc::SyncSender<Arc<Customer>>,
    thread: std::thread::JoinHandle<Result<TableSheets, String>>,
}

/// Customers on their way to the Moves thread at most.
const MOVES_QUEUE: usize = 256;

impl MovesThread {
    fn start(w: &Writer, inputs: Arc<Vec<InputInfo>>) -> Result<MovesThread, String> {
        let (tx, rx) = mpsc::sync_channel::<Arc<Customer>>(MOVES_QUEUE);
        let w = w.clone();
        let thread = std::thread::Builder::new()
            .name("xlsx-moves".to_string())
            .spawn(move || {
                let mut moves = TableSheets::new(Which::Moves);
                moves.new_part(&w).map_err(|e| e.to_string())?;
                for customer in rx {
                    for line in &customer.lines {
                        let row = tables::move_cells(&inputs, &customer, line, w.t);
                        moves.push_cells(&w, &row).map_err(|e| e.to_string())?;
                    }
                }
                Ok(moves)
            })
            .map_err(|e| format!("cannot start a thread for the Moves sheet: {e}"))?;
        Ok(MovesThread { tx, thread })
    }

    /// Its table, or why it failed.
    fn join(self) -> Result<TableSheets, String> {
        drop(self.tx);
        self.thread
            .join()
            .unwrap_or_else(|_| Err("the thread writing the Moves sheet failed".to_string()))
    }
}

pub struct XlsxSink {
    writer: Writer,
    /// Tasks, Reassignments, Rejected (filled here).
    sheets: Vec<TableSheets>,
    moves: Option<MovesThread>,
    /// Set when a table failed: every later call reports it.
    broken: Option<String>,
    started: bool,
}

impl XlsxSink {
    pub fn new(cx: &Cx) -> XlsxSink {
        XlsxSink::with_max_rows(cx, EXCEL_MAX_ROWS)
    }

    pub(crate) fn with_max_rows(cx: &Cx, max_rows: usize) -> XlsxSink {
        let mut workbook = Workbook::new();
        // Compressing the sheets' XML is most of the time a large workbook takes to
        // save; the fastest level takes about half the time for a somewhat larger file
        // (1M-line plan: see docs/benchmarks.md).
        workbook.set_zip_compression_level(ZIP_LEVEL);
        // The Summary first: it is filled at the end, when the figures are known.
        workbook
            .add_worksheet()
            .set_name("Summary")
            .expect("a valid name");
        XlsxSink {
            writer: Writer {
                workbook: Arc::new(Mutex::new(workbook)),
                formats: Formats::new(cx.t),
                max_rows: max_rows.max(2),
                t: cx.t,
            },
            sheets: [Which::Tasks, Which::Reassignments, Which::Rejected]
                .into_iter()
                .map(TableSheets::new)
                .collect(),
            moves: None,
            broken: None,
            started: false,
        }
    }

    fn start(&mut self, cx: &Cx) -> Result<(), String> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        if self.started {
            return Ok(());
        }
        self.started = true;
        let started = register_formats(&self.writer)
            .and_then(|()| MovesThread::start(&self.writer, Arc::new(cx.head.inputs.clone())))
            .and_then(|moves| {
                self.moves = Some(moves);
                for sheets in &mut self.sheets {
                    sheets.new_part(&self.writer).map_err(|e| e.to_string())?;
                }
                Ok(())
            });
        started.map_err(|e| self.broke(e))
    }

    /// Records why the workbook cannot be written, and returns it.
    fn broke(&mut self, message: String) -> String {
        self.broken = Some(message.clone());
        message
    }

    /// The message of the Moves thread, once it stopped early.
    fn moves_failed(&mut self) -> String {
        let message = match self.moves.take().map(MovesThread::join) {
            Some(Err(e)) => e,
            _ => "the thread writing the Moves sheet stopped".to_string(),
        };
        self.broke(message)
    }

    /// Fills table `i` of [`XlsxSink::sheets`] with `row`.
    fn push(&mut self, i: usize, row: &[Cell]) -> Result<(), String> {
        let pushed = self.sheets[i].push(&self.writer, row);
        pushed.map_err(|e| self.broke(e.to_string()))
    }

    fn shared(&mut self, cx: &Cx, customer: &Arc<Customer>) -> Result<(), String> {
        self.start(cx)?;
        let sent = match &self.moves {
            Some(moves) => moves.tx.send(Arc::clone(customer)).is_ok(),
            None => false,
        };
        if !sent {
            return Err(self.moves_failed());
        }
        for row in tables::task_rows(customer, cx.t) {
            self.push(0, &row)?;
        }
        for line in &customer.lines {
            if let Some(row) = tables::reassignment_row(customer, line) {
                self.push(1, &row)?;
            }
        }
        Ok(())
    }
}

/// Landscape, one page wide (as many pages down as needed), and the plan date, the
/// sheet name and "page / pages" in the footer.
fn print_setup(sheet: &mut Worksheet, cx: &Cx) -> Result<(), XlsxError> {
    sheet.set_landscape();
    sheet.set_print_fit_to_pages(1, 0);
    let date = cx.t.date(cx.head.as_of).replace('&', "&&");
    sheet.set_footer(format!("&L{date}&C&A&R&P / &N"));
    Ok(())
}

impl Sink for XlsxSink {
    fn customer(&mut self, cx: &Cx, customer: &Customer, _: &mut dyn Out) -> Result<(), String> {
        // A plan held in memory (`render`): the Moves thread needs a customer of its own.
        self.shared(cx, &Arc::new(customer.clone()))
    }

    fn customer_shared(
        &mut self,
        cx: &Cx,
        customer: &Arc<Customer>,
        _: &mut dyn Out,
    ) -> Result<(), String> {
        self.shared(cx, customer)
    }

    fn rejection(&mut self, cx: &Cx, rejection: &Rejection, _: &mut dyn Out) -> Result<(), String> {
        self.start(cx)?;
        self.push(2, &tables::rejected_row(rejection, cx.t))
    }

    fn finish(
        mut self: Box<Self>,
        cx: &Cx,
        figures: &Figures,
        out: &mut dyn Out,
    ) -> Result<(), String> {
        self.start(cx)?;
        let moves = match self.moves.take() {
            Some(moves) => moves.join()?,
            None => return Err(self.moves_failed()),
        };
        let XlsxSink { writer, sheets, .. } = *self;
        let max_rows = writer.max_rows;
        let formats = writer.formats;
        let mut workbook = Arc::try_unwrap(writer.workbook)
            .ok()
            .and_then(|m| m.into_inner().ok())
            .ok_or_else(|| "the workbook is still in use by a thread".to_string())?;
        let built: Result<(), XlsxError> = (|| {
            let summary = workbook.worksheet_from_index(0)?;
            summary_sheet(summary, cx, &formats, figures)?;
            print_setup(summary, cx)?;
            // The Summary first, then each table's sheets in order.
            moves.finish(&mut workbook, cx, max_rows)?;
            for table in sheets {
                table.finish(&mut workbook, cx, max_rows)?;
            }
            workbook.save_to_writer(&mut *out)?;
            Ok(())
        })();
        built.map_err(|e| e.to_string())
    }
}

/// Writes a text cell: always a string cell, neutralised.
fn text(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    value: &str,
    format: &Format,
) -> Result<(), XlsxError> {
    sheet.write_string_with_format(
        row,
        col,
        fit(neutralise(value).as_ref(), sheet, row, col).as_ref(),
        format,
    )?;
    Ok(())
}

/// `value`, or when it is longer than a cell holds, its start with a marker saying how
/// long it was (and a warning naming the sheet, row and column).
fn fit<'a>(value: &'a str, sheet: &Worksheet, row: u32, col: u16) -> std::borrow::Cow<'a, str> {
    // UTF-8 never takes fewer bytes than UTF-16 units: short values need no count.
    if value.len() <= EXCEL_MAX_CHARS || value.encode_utf16().count() <= EXCEL_MAX_CHARS {
        return value.into();
    }
    let total = value.chars().count();
    let marker = format!(
        " … [cut: {total} characters, Excel holds {EXCEL_MAX_CHARS}; the full value is in the plan file and the .csv report]"
    );
    let room = EXCEL_MAX_CHARS - marker.encode_utf16().count();
    let mut units = 0;
    let mut end = 0;
    for (i, c) in value.char_indices() {
        if units + c.len_utf16() > room {
            break;
        }
        units += c.len_utf16();
        end = i + c.len_utf8();
    }
    tracing::warn!(
        "xlsx report: sheet {}, row {}, column {}: a value of {total} characters was cut to \
         Excel's {EXCEL_MAX_CHARS} (the .csv report holds it whole)",
        sheet.name(),
        row + 1,
        col + 1
    );
    format!("{}{marker}", &value[..end]).into()
}

fn cell(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    value: &CellRef,
    f: &Formats,
) -> Result<(), XlsxError> {
    match value {
        // No format on plain text: rust_xlsxwriter looks every format up per cell, and
        // text cells are most of the workbook.
        CellRef::Text(s) => {
            let safe = neutralise(s);
            let shown = fit(safe.as_ref(), sheet, row, col);
            sheet.write_string(row, col, shown.as_ref())?;
        }
        CellRef::Int(n) => {
            sheet.write_number_with_format(row, col, *n as f64, &f.number)?;
        }
        CellRef::Date(d) => {
            sheet.write_date_with_format(row, col, d, &f.date)?;
        }
        CellRef::Empty => {}
    }
    Ok(())
}

/// Display width of text in Excel's character units: East Asian wide characters take two.
fn display_width(text: &str) -> f64 {
    text.chars()
        .map(|c| if is_wide(c) { 2.0 } else { 1.0 })
        .sum()
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xA960..=0xA97F | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6)
}

fn summary_sheet(
    sheet: &mut Worksheet,
    cx: &Cx,
    f: &Formats,
    figures: &Figures,
) -> Result<(), XlsxError> {
    let (plan, t) = (cx.head, cx.t);
    sheet.set_name("Summary")?;
    text(sheet, 0, 0, t.get("report.title"), &f.title)?;
    text(
        sheet,
        1,
        0,
        &t.fill(
            "report.subtitle",
            &[
                ("as_of", &t.date(plan.as_of)),
                ("generated_by", &plan.generated_by),
                ("lead_days", &plan.lead_days.to_string()),
            ],
        ),
        &f.text,
    )?;

    let mut row = 3;
    text(sheet, row, 0, t.get("col.item"), &f.header)?;
    text(sheet, row, 1, t.get("col.value"), &f.header)?;
    row += 1;
    text(sheet, row, 0, t.get("summary.as_of"), &f.bold)?;
    cell(sheet, row, 1, &CellRef::Date(plan.as_of), f)?;
    row += 1;
    text(sheet, row, 0, t.get("summary.generated_by"), &f.bold)?;
    text(sheet, row, 1, &plan.generated_by, &f.text)?;
    row += 1;
    text(sheet, row, 0, t.get("summary.lead_days"), &f.bold)?;
    cell(sheet, row, 1, &CellRef::Int(u64::from(plan.lead_days)), f)?;
    row += 1;
    for (key, value) in figures.items() {
        text(sheet, row, 0, t.get(key), &f.bold)?;
        cell(sheet, row, 1, &CellRef::Int(value), f)?;
        row += 1;
    }

    row += 1;
    text(sheet, row, 0, t.get("heading.waves"), &f.title)?;
    row += 1;
    for (c, key) in ["col.wave", "col.lines", "col.same_offer", "col.reassign"]
        .iter()
        .enumerate()
    {
        text(sheet, row, c as u16, t.get(key), &f.header)?;
    }
    row += 1;
    for (wave, (lines, same, reassign)) in &figures.waves {
        text(sheet, row, 0, wave, &f.text)?;
        cell(sheet, row, 1, &CellRef::Int(*lines), f)?;
        cell(sheet, row, 2, &CellRef::Int(*same), f)?;
        cell(sheet, row, 3, &CellRef::Int(*reassign), f)?;
        row += 1;
    }

    row += 1;
    text(sheet, row, 0, t.get("heading.warnings"), &f.title)?;
    row += 1;
    for (c, key) in ["col.code", "col.warning", "col.lines"].iter().enumerate() {
        text(sheet, row, c as u16, t.get(key), &f.header)?;
    }
    row += 1;
    for (code, count) in &figures.warnings {
        text(sheet, row, 0, code.as_str(), &f.text)?;
        text(sheet, row, 1, t.warning(*code), &f.text)?;
        cell(sheet, row, 2, &CellRef::Int(*count), f)?;
        row += 1;
    }

    row += 1;
    text(sheet, row, 0, t.get("heading.inputs"), &f.title)?;
    row += 1;
    for (c, key) in ["col.path", "col.sheet", "col.data_rows", "col.sha256"]
        .iter()
        .enumerate()
    {
        text(sheet, row, c as u16, t.get(key), &f.header)?;
    }
    row += 1;
    for input in &plan.inputs {
        text(sheet, row, 0, &input.path, &f.text)?;
        text(sheet, row, 1, input.sheet.as_deref().unwrap_or(""), &f.text)?;
        cell(sheet, row, 2, &CellRef::Int(input.rows), f)?;
        text(sheet, row, 3, &input.sha256, &f.text)?;
        row += 1;
    }

    let labels = [
        "summary.relationship_requests",
        "summary.licenses_to_reassign",
    ];
    let widest = labels
        .iter()
        .chain(figures.items().iter().map(|(k, _)| k))
        .map(|k| display_width(t.get(k)))
        .fold(20.0, f64::max);
    sheet.set_column_width(0, (widest + 2.0).min(MAX_WIDTH))?;
    sheet.set_column_width(1, 24)?;
    sheet.set_column_width(2, 14)?;
    sheet.set_column_width(3, 16)?;
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}
