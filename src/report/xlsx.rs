//! `.xlsx` with rust_xlsxwriter: the operations team's working copy of the plan.
//!
//! Sheets `Summary`, `Moves`, `Tasks`, `Reassignments`, `Rejected`, named the same in
//! every language so scripts can find them; headers, labels and messages are translated.
//! Each table sheet has a frozen, bold header row with an autofilter, widths fitted to
//! the content, dates as real date cells in the language's date format and counts as
//! numbers with thousands separators. Text is always written with `write_string` (never
//! as a formula) and neutralised with a leading apostrophe when it could be read as one
//! ([`super::safe`]), so it stays inert even after the sheet is re-saved as CSV.

use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook, Worksheet, XlsxError};

use super::safe::neutralise;
use super::tables::{self, Cell, Figures, Kind, Table};
use crate::i18n::Lang;
use crate::i18n::{Texts, texts};
use crate::model::Plan;

/// How many rows are looked at to fit column widths: enough to be representative, few
/// enough that a 100,000-line plan does not pay for measuring every cell.
const WIDTH_SAMPLE_ROWS: usize = 2_000;
const MIN_WIDTH: f64 = 6.0;
const MAX_WIDTH: f64 = 60.0;

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
}

/// Rows in one Excel sheet, header included.
const EXCEL_MAX_ROWS: usize = 1_048_576;

/// The workbook in memory; the error is a message for the user.
pub fn render(plan: &Plan, lang: Lang) -> Result<Vec<u8>, String> {
    let t = texts(lang);
    let tables = tables::all(plan, t);
    // Said plainly up front rather than as rust_xlsxwriter's generic limit error.
    if let Some(table) = tables.iter().find(|tb| tb.rows.len() + 1 > EXCEL_MAX_ROWS) {
        return Err(format!(
            "sheet {} would have {} rows and Excel holds at most {EXCEL_MAX_ROWS}: \
             write a .csv or .html report instead",
            table.sheet,
            table.rows.len() + 1
        ));
    }
    let formats = Formats::new(t);
    let mut workbook = Workbook::new();
    let built: Result<Vec<u8>, XlsxError> = (|| {
        summary_sheet(workbook.add_worksheet(), plan, t, &formats)?;
        for table in &tables {
            // Table sheets stream their rows to a temporary file (rust_xlsxwriter's
            // constant-memory mode, inline strings): a 100,000-line plan needs a third of
            // the memory and half the time. Rows are written strictly top to bottom.
            table_sheet(
                workbook.add_worksheet_with_constant_memory()?,
                table,
                t,
                &formats,
            )?;
        }
        workbook.save_to_buffer()
    })();
    built.map_err(|e| e.to_string())
}

/// Writes a text cell: always a string cell, neutralised.
fn text(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    value: &str,
    format: &Format,
) -> Result<(), XlsxError> {
    sheet.write_string_with_format(row, col, neutralise(value).as_ref(), format)?;
    Ok(())
}

fn cell(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    value: &Cell,
    f: &Formats,
) -> Result<(), XlsxError> {
    match value {
        // No format on plain text: rust_xlsxwriter looks every format up per cell, and
        // text cells are most of the workbook.
        Cell::Text(s) => {
            sheet.write_string(row, col, neutralise(s).as_ref())?;
        }
        Cell::Int(n) => {
            sheet.write_number_with_format(row, col, *n as f64, &f.number)?;
        }
        Cell::Date(d) => {
            sheet.write_date_with_format(row, col, d, &f.date)?;
        }
        Cell::Empty => {}
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

fn table_sheet(
    sheet: &mut Worksheet,
    table: &Table,
    t: &Texts,
    f: &Formats,
) -> Result<(), XlsxError> {
    sheet.set_name(table.sheet)?;
    let mut widths: Vec<f64> = Vec::with_capacity(table.columns.len());
    for (c, column) in table.columns.iter().enumerate() {
        let label = t.get(column.key);
        text(sheet, 0, c as u16, label, &f.header)?;
        // Room for the autofilter button beside the header text.
        widths.push(display_width(label) + 3.0);
    }
    for (r, row) in table.rows.iter().enumerate() {
        let xl_row = u32::try_from(r + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
        for (c, value) in row.iter().enumerate() {
            cell(sheet, xl_row, c as u16, value, f)?;
            if r < WIDTH_SAMPLE_ROWS {
                let shown = match (value, table.columns[c].kind) {
                    (Cell::Date(_), _) | (_, Kind::Date) => 12.0,
                    (v, _) => display_width(&v.display(t, true)) + 1.0,
                };
                widths[c] = widths[c].max(shown);
            }
        }
    }
    for (c, width) in widths.iter().enumerate() {
        sheet.set_column_width(c as u16, width.clamp(MIN_WIDTH, MAX_WIDTH))?;
    }
    let last_row = table.rows.len() as u32;
    let last_col = (table.columns.len() - 1) as u16;
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, last_row, last_col)?;
    Ok(())
}

fn summary_sheet(
    sheet: &mut Worksheet,
    plan: &Plan,
    t: &Texts,
    f: &Formats,
) -> Result<(), XlsxError> {
    sheet.set_name("Summary")?;
    let figures = Figures::of(plan);
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
    cell(sheet, row, 1, &Cell::Date(plan.as_of), f)?;
    row += 1;
    text(sheet, row, 0, t.get("summary.generated_by"), &f.bold)?;
    text(sheet, row, 1, &plan.generated_by, &f.text)?;
    row += 1;
    text(sheet, row, 0, t.get("summary.lead_days"), &f.bold)?;
    cell(sheet, row, 1, &Cell::Int(u64::from(plan.lead_days)), f)?;
    row += 1;
    for (key, value) in figures.items() {
        text(sheet, row, 0, t.get(key), &f.bold)?;
        cell(sheet, row, 1, &Cell::Int(value), f)?;
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
        cell(sheet, row, 1, &Cell::Int(*lines), f)?;
        cell(sheet, row, 2, &Cell::Int(*same), f)?;
        cell(sheet, row, 3, &Cell::Int(*reassign), f)?;
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
        cell(sheet, row, 2, &Cell::Int(*count), f)?;
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
        cell(sheet, row, 2, &Cell::Int(input.rows), f)?;
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
