//! Workbooks through calamine: .xlsx .xlsm .xlsb .xls .ods, sheet choice, and cells as text.
//!
//! The main decisions: the container (ZIP or OLE) found by `source::sniff` and then the
//! extension pick the reader, trying the others before giving up, so a misnamed workbook
//! still opens. Every cell becomes text before row parsing (numbers without a trailing
//! `.0`, date cells as ISO dates, booleans as TRUE/FALSE, errors as `#N/A`...), so CSV and
//! Excel rows go through one parser and one set of rules. Rows are kept **sparse** (only
//! the cells that hold something, with their sheet column), and .xlsx/.xlsb sheets are
//! read cell by cell, so one stray cell at `XFD1048576` costs one cell, not the 17
//! billion of the rectangle around it. A ZIP workbook whose parts unpack to more than
//! [`MAX_UNZIPPED`] is refused before anything is unpacked (a "zip bomb"); the zip
//! reader stops every part at its declared size, so the declared sizes are a bound.
//! Hidden sheets are not read unless `--sheet` names them. Row numbers are the sheet's own.

use std::io::Cursor;

use calamine::{
    Data, DataRef, Ods, Range, Reader, SheetVisible, Sheets, Xls, Xlsb, Xlsx, open_workbook_from_rs,
};

use super::row::Cells;
use super::source::Kind;
use super::{InputError, SheetSelector};

type Book = Sheets<Cursor<Vec<u8>>>;

/// The most a ZIP workbook's parts may unpack to, together. A 1,000,000-row export of
/// 20 columns is some 600 MB of sheet XML; more is not a partner export.
pub(crate) const MAX_UNZIPPED: u64 = 1 << 30;

/// The most non-empty cells one sheet may have (a 1,000,000 × 30 table).
pub(crate) const MAX_CELLS: usize = 30_000_000;

/// Refuses a ZIP whose declared part sizes add up to more than [`MAX_UNZIPPED`].
fn check_unzipped_size(bytes: &[u8], display: &str) -> Result<(), InputError> {
    // An archive the zip reader cannot list is left to calamine, which says "damaged".
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Ok(());
    };
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        if let Ok(part) = archive.by_index_raw(i) {
            total = total.saturating_add(part.size());
        }
    }
    if total > MAX_UNZIPPED {
        return Err(InputError::File {
            path: display.to_string(),
            message: format!(
                "the workbook unpacks to {} of XML, more than the {} cspmove reads from one workbook: it is not a plausible export (it may be a \"zip bomb\"); export the table again, or save it as CSV",
                mib(total),
                mib(MAX_UNZIPPED)
            ),
        });
    }
    Ok(())
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Opens a workbook from its bytes.
pub(crate) fn open(
    bytes: Vec<u8>,
    kind: Kind,
    extension: &str,
    display: &str,
) -> Result<Book, InputError> {
    if kind != Kind::Cfb {
        check_unzipped_size(&bytes, display)?;
    }
    let cursor = Cursor::new(bytes);
    let order: &[&str] = match (kind, extension) {
        (Kind::Cfb, _) => &["xls", "xlsx", "xlsb"],
        (_, "xlsb") => &["xlsb", "xlsx", "ods"],
        (_, "ods") => &["ods", "xlsx", "xlsb"],
        _ => &["xlsx", "xlsb", "ods"],
    };
    let mut first_error: Option<String> = None;
    for format in order {
        let result: Result<Book, String> = guarded(|| match *format {
            "xls" => open_workbook_from_rs::<Xls<_>, _>(cursor.clone())
                .map(Sheets::Xls)
                .map_err(|e| e.to_string()),
            "xlsx" => open_workbook_from_rs::<Xlsx<_>, _>(cursor.clone())
                .map(Sheets::Xlsx)
                .map_err(|e| e.to_string()),
            "xlsb" => open_workbook_from_rs::<Xlsb<_>, _>(cursor.clone())
                .map(Sheets::Xlsb)
                .map_err(|e| e.to_string()),
            _ => open_workbook_from_rs::<Ods<_>, _>(cursor.clone())
                .map(Sheets::Ods)
                .map_err(|e| e.to_string()),
        })
        .and_then(|r| r);
        match result {
            Ok(book) => return Ok(book),
            Err(e) if e.to_lowercase().contains("password") => {
                return Err(InputError::PasswordProtected {
                    path: display.to_string(),
                });
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(InputError::Damaged {
        path: display.to_string(),
        detail: first_error.unwrap_or_default(),
    })
}

/// Runs a calamine call, turning a panic inside it into an error: calamine indexes
/// out of bounds on some damaged files (a mutated .xls's sector chain, found by
/// bench/fuzz.sh), and a damaged workbook must be "damaged" (exit 2), not a crash.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|_| "the reader stopped on an inconsistency in the file".to_string())
}

/// One sheet row: the cells that hold something, as (sheet column, text), columns
/// ascending (column 0 is A). Empty cells are not stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SparseRow(pub Vec<(u32, String)>);

impl SparseRow {
    /// The row as consecutive cells from column A, up to its last cell or `width`.
    pub(crate) fn dense(&self, width: Option<usize>) -> Vec<String> {
        let len = self.len().min(width.unwrap_or(usize::MAX));
        let mut out = vec![String::new(); len];
        for (c, text) in &self.0 {
            if let Some(slot) = out.get_mut(*c as usize) {
                slot.clone_from(text);
            }
        }
        out
    }
}

impl Cells for SparseRow {
    fn cell(&self, column: usize) -> Option<&str> {
        let column = u32::try_from(column).ok()?;
        match self.0.binary_search_by_key(&column, |(c, _)| *c) {
            Ok(i) => Some(self.0[i].1.as_str()),
            Err(_) if (column as usize) < self.len() => Some(""),
            Err(_) => None,
        }
    }
    fn len(&self) -> usize {
        self.0.last().map_or(0, |(c, _)| *c as usize + 1)
    }
    fn is_blank(&self) -> bool {
        self.0.iter().all(|(_, t)| t.trim().is_empty())
    }
}

/// A sheet's cells as text, with the sheet row number of each row.
pub(crate) struct SheetText {
    pub name: String,
    /// (sheet row number, cells); rows without any cell are left out.
    pub rows: Vec<(u64, SparseRow)>,
}

/// Reads one sheet as text rows, without ever building the sheet's rectangle for
/// .xlsx and .xlsb (cell by cell), and refusing a sheet of more than [`MAX_CELLS`].
pub(crate) fn sheet_text(
    book: &mut Book,
    name: &str,
    display: &str,
) -> Result<SheetText, InputError> {
    guarded(|| read_sheet(book, name, display)).unwrap_or_else(|detail| {
        Err(InputError::Damaged {
            path: display.to_string(),
            detail: format!("sheet {name:?}: {detail}"),
        })
    })
}

fn read_sheet(book: &mut Book, name: &str, display: &str) -> Result<SheetText, InputError> {
    let damaged = |detail: String| {
        if detail.to_lowercase().contains("password") {
            InputError::PasswordProtected {
                path: display.to_string(),
            }
        } else {
            InputError::Damaged {
                path: display.to_string(),
                detail: format!("sheet {name:?}: {detail}"),
            }
        }
    };
    let mut cells: Vec<(u32, u32, String)> = Vec::new();
    let too_many = |cells: &Vec<(u32, u32, String)>, bounds: String| -> Result<(), InputError> {
        if cells.len() > MAX_CELLS {
            return Err(InputError::File {
                path: display.to_string(),
                message: format!(
                    "sheet {name:?} has more than {MAX_CELLS} cells that hold something{bounds}: that is not a partner export; delete what is not the table, or save the table as CSV"
                ),
            });
        }
        Ok(())
    };
    match book {
        Sheets::Xlsx(x) => {
            let mut reader = match x.worksheet_cells_reader(name) {
                Ok(reader) => reader,
                // A chart sheet has no cells.
                Err(calamine::XlsxError::NotAWorksheet(_)) => {
                    return Ok(SheetText {
                        name: name.to_string(),
                        rows: Vec::new(),
                    });
                }
                Err(e) => return Err(damaged(e.to_string())),
            };
            while let Some(cell) = reader.next_cell().map_err(|e| damaged(e.to_string()))? {
                push_ref(&mut cells, cell.get_position(), cell.get_value());
                if cells.len() > MAX_CELLS {
                    too_many(&cells, String::new())?;
                }
            }
        }
        Sheets::Xlsb(x) => {
            let mut reader = x
                .worksheet_cells_reader(name)
                .map_err(|e| damaged(e.to_string()))?;
            while let Some(cell) = reader.next_cell().map_err(|e| damaged(e.to_string()))? {
                push_ref(&mut cells, cell.get_position(), cell.get_value());
                if cells.len() > MAX_CELLS {
                    too_many(&cells, String::new())?;
                }
            }
        }
        _ => {
            let range: Range<Data> = book
                .worksheet_range(name)
                .map_err(|e| damaged(e.to_string()))?;
            let bounds = match (range.start(), range.end()) {
                (Some(s), Some(e)) => {
                    format!(" (its used range is {}:{})", cell_name(s), cell_name(e))
                }
                _ => String::new(),
            };
            let (row, col) = range.start().unwrap_or((0, 0));
            for (r, c, value) in range.used_cells() {
                let text = cell_text(value);
                if !text.is_empty() {
                    cells.push((row + r as u32, col + c as u32, text));
                }
                if cells.len() > MAX_CELLS {
                    too_many(&cells, bounds.clone())?;
                }
            }
        }
    }
    // Cells come in row order in every file Excel writes; sort to be sure.
    if !cells.is_sorted_by(|a, b| (a.0, a.1) <= (b.0, b.1)) {
        cells.sort_by_key(|c| (c.0, c.1));
    }
    let mut rows: Vec<(u64, SparseRow)> = Vec::new();
    for (row, col, text) in cells {
        match rows.last_mut() {
            Some((r, cells)) if *r == row as u64 + 1 => {
                // A repeated position (a damaged file) keeps its first value.
                if cells.0.last().is_none_or(|(c, _)| *c != col) {
                    cells.0.push((col, text));
                }
            }
            _ => rows.push((row as u64 + 1, SparseRow(vec![(col, text)]))),
        }
    }
    Ok(SheetText {
        name: name.to_string(),
        rows,
    })
}

fn push_ref(cells: &mut Vec<(u32, u32, String)>, (row, col): (u32, u32), value: &DataRef<'_>) {
    let text = match value {
        DataRef::Empty => return,
        DataRef::SharedString(s) => (*s).to_string(),
        other => cell_text(&Data::from(other.clone())),
    };
    if !text.is_empty() {
        cells.push((row, col, text));
    }
}

/// `A1`-style name of a 0-based (row, column).
fn cell_name((row, col): (u32, u32)) -> String {
    let mut letters = Vec::new();
    let mut n = col as u64 + 1;
    while n > 0 {
        letters.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!(
        "{}{}",
        String::from_utf8(letters).unwrap_or_default(),
        row as u64 + 1
    )
}

/// The sheet names of the book, in workbook order, each with whether it is visible.
pub(crate) fn sheet_names(book: &Book) -> Vec<(String, bool)> {
    book.sheets_metadata()
        .iter()
        .map(|s| (s.name.clone(), s.visible == SheetVisible::Visible))
        .collect()
}

/// Picks the sheets to look at, in workbook order: the one `--sheet` names (hidden or
/// not), or every sheet. Each comes with whether it may be read without being named:
/// hidden and very hidden sheets may not.
pub(crate) fn candidate_sheets(
    names: &[(String, bool)],
    selector: Option<&SheetSelector>,
    display: &str,
) -> Result<Vec<(String, bool)>, InputError> {
    let no_such = |wanted: String| InputError::NoSuchSheet {
        path: display.to_string(),
        sheet: wanted,
        sheets: names.iter().map(|(n, _)| n.clone()).collect(),
    };
    let named = |name: &String| Ok(vec![(name.clone(), true)]);
    match selector {
        None => Ok(names.to_vec()),
        Some(SheetSelector::Index(n)) => match names.get(n.wrapping_sub(1)) {
            Some((name, _)) => named(name),
            // `--sheet 2` may be the name of a sheet, too.
            None => names
                .iter()
                .find(|(s, _)| s.trim() == n.to_string())
                .map_or_else(|| Err(no_such(format!("number {n}"))), |(s, _)| named(s)),
        },
        Some(SheetSelector::Name(wanted)) => {
            let key = super::header::header_key(wanted);
            names
                .iter()
                .find(|(s, _)| s.as_str() == wanted)
                .or_else(|| {
                    names
                        .iter()
                        .find(|(s, _)| super::header::header_key(s) == key && !key.is_empty())
                })
                .map_or_else(|| Err(no_such(format!("{wanted:?}"))), |(s, _)| named(s))
        }
    }
}

/// A cell as the user reads it.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().to_string(),
            Some(t) if dt.is_datetime() => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
            // A duration or a time of day in a date column is not a date.
            _ => float_text(dt.as_f64()),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => e.to_string(),
    }
}

fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_written() {
        assert_eq!(cell_text(&Data::Float(12.0)), "12");
        assert_eq!(cell_text(&Data::Float(12.5)), "12.5");
        assert_eq!(cell_text(&Data::Int(7)), "7");
        assert_eq!(cell_text(&Data::Bool(true)), "TRUE");
    }

    #[test]
    fn sparse_rows_read_like_dense_ones() {
        let row = SparseRow(vec![(1, "b".into()), (4, "e".into())]);
        assert_eq!(row.len(), 5);
        assert_eq!(row.cell(0), Some(""));
        assert_eq!(row.cell(1), Some("b"));
        assert_eq!(row.cell(4), Some("e"));
        assert_eq!(row.cell(5), None);
        assert_eq!(row.dense(None), vec!["", "b", "", "", "e"]);
        assert_eq!(row.dense(Some(2)), vec!["", "b"]);
        assert!(SparseRow(vec![(3, " ".into())]).is_blank());
        assert_eq!(cell_name((1_048_575, 16_383)), "XFD1048576");
        assert_eq!(cell_name((0, 0)), "A1");
        assert_eq!(cell_name((4, 27)), "AB5");
    }

    #[test]
    fn sheet_selection() {
        let names = vec![("Summary".to_string(), false), ("고객".to_string(), true)];
        let one = |name: &str| vec![(name.to_string(), true)];
        assert_eq!(
            candidate_sheets(&names, Some(&SheetSelector::Index(2)), "f").unwrap(),
            one("고객")
        );
        // Naming a hidden sheet reads it.
        assert_eq!(
            candidate_sheets(&names, Some(&SheetSelector::Name("summary".into())), "f").unwrap(),
            one("Summary")
        );
        assert_eq!(candidate_sheets(&names, None, "f").unwrap(), names);
        let err =
            candidate_sheets(&names, Some(&SheetSelector::Name("Moves".into())), "f").unwrap_err();
        assert!(err.to_string().contains("\"Summary\", \"고객\""), "{err}");
        assert!(candidate_sheets(&names, Some(&SheetSelector::Index(3)), "f").is_err());
    }
}
