//! Workbooks through calamine: .xlsx .xlsm .xlsb .xls .ods, sheet choice, and cells as text.
//!
//! The main decisions: the container (ZIP or OLE) found by `source::sniff` and then the
//! extension pick the reader, trying the others before giving up, so a misnamed workbook
//! still opens. Every cell becomes text before row parsing (numbers without a trailing
//! `.0`, date cells as ISO dates, booleans as TRUE/FALSE, errors as `#N/A`...), so CSV and
//! Excel rows go through one parser and one set of rules. Row numbers are the sheet's own:
//! the used range may start below row 1, and its start is added back.

use std::io::Cursor;

use calamine::{Data, Ods, Range, Reader, Sheets, Xls, Xlsb, Xlsx, open_workbook_from_rs};

use super::source::Kind;
use super::{InputError, SheetSelector};

type Book = Sheets<Cursor<Vec<u8>>>;

/// Opens a workbook from its bytes.
pub(crate) fn open(
    bytes: Vec<u8>,
    kind: Kind,
    extension: &str,
    display: &str,
) -> Result<Book, InputError> {
    let cursor = Cursor::new(bytes);
    let order: &[&str] = match (kind, extension) {
        (Kind::Cfb, _) => &["xls", "xlsx", "xlsb"],
        (_, "xlsb") => &["xlsb", "xlsx", "ods"],
        (_, "ods") => &["ods", "xlsx", "xlsb"],
        _ => &["xlsx", "xlsb", "ods"],
    };
    let mut first_error: Option<String> = None;
    for format in order {
        let result: Result<Book, String> = match *format {
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
        };
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

/// A sheet's cells as text, with the sheet row number of each row.
pub(crate) struct SheetText {
    pub name: String,
    /// (sheet row number, cells).
    pub rows: Vec<(u64, Vec<String>)>,
}

/// Reads one sheet as text rows.
pub(crate) fn sheet_text(
    book: &mut Book,
    name: &str,
    display: &str,
) -> Result<SheetText, InputError> {
    let range: Range<Data> = book.worksheet_range(name).map_err(|e| {
        let detail = e.to_string();
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
    })?;
    let first_row = range.start().map_or(0, |(r, _)| r as u64);
    let rows = range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            (
                first_row + i as u64 + 1,
                cells.iter().map(cell_text).collect(),
            )
        })
        .collect();
    Ok(SheetText {
        name: name.to_string(),
        rows,
    })
}

/// The sheet names of the book, in workbook order.
pub(crate) fn sheet_names(book: &Book) -> Vec<String> {
    book.sheet_names()
}

/// Picks the sheets to look at: the one `--sheet` names, or all in order.
pub(crate) fn candidate_sheets(
    names: &[String],
    selector: Option<&SheetSelector>,
    display: &str,
) -> Result<Vec<String>, InputError> {
    let no_such = |wanted: String| InputError::NoSuchSheet {
        path: display.to_string(),
        sheet: wanted,
        sheets: names.to_vec(),
    };
    match selector {
        None => Ok(names.to_vec()),
        Some(SheetSelector::Index(n)) => match names.get(n.wrapping_sub(1)) {
            Some(name) => Ok(vec![name.clone()]),
            // `--sheet 2` may be the name of a sheet, too.
            None => names
                .iter()
                .find(|s| s.trim() == n.to_string())
                .map(|s| vec![s.clone()])
                .ok_or_else(|| no_such(format!("number {n}"))),
        },
        Some(SheetSelector::Name(wanted)) => {
            let key = super::header::header_key(wanted);
            names
                .iter()
                .find(|s| s.as_str() == wanted)
                .or_else(|| {
                    names
                        .iter()
                        .find(|s| super::header::header_key(s) == key && !key.is_empty())
                })
                .map(|s| vec![s.clone()])
                .ok_or_else(|| no_such(format!("{wanted:?}")))
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
    fn sheet_selection() {
        let names = vec!["Summary".to_string(), "고객".to_string()];
        assert_eq!(
            candidate_sheets(&names, Some(&SheetSelector::Index(2)), "f").unwrap(),
            vec!["고객"]
        );
        assert_eq!(
            candidate_sheets(&names, Some(&SheetSelector::Name("summary".into())), "f").unwrap(),
            vec!["Summary"]
        );
        let err =
            candidate_sheets(&names, Some(&SheetSelector::Name("Moves".into())), "f").unwrap_err();
        assert!(err.to_string().contains("\"Summary\", \"고객\""), "{err}");
        assert!(candidate_sheets(&names, Some(&SheetSelector::Index(3)), "f").is_err());
    }
}
