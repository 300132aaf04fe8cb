//! Human reports rendered from a plan (DESIGN §7): `.xlsx`, `.csv`, `.html`, `.md`, `.json`.
//!
//! Every format is drawn from the same tables ([`tables`]): one place decides which
//! columns a reviewer sees, every renderer only decides how a cell looks. The main safety
//! decision lives in [`safe`]: any text that came from the input is neutralised against
//! formula injection in CSV and XLSX (a leading apostrophe, always a text cell) and
//! escaped in HTML and Markdown. Labels, headings and messages come from [`crate::i18n`];
//! `.json` is the plan itself and is not translated.
//! A report is rendered first (the XLSX table sheets through temporary files) and then
//! written in one go, so a failed render never leaves half a file behind.

mod csv;
pub mod demo;
mod html;
mod markdown;
pub mod safe;
pub mod tables;
mod xlsx;

use std::path::{Path, PathBuf};

use crate::model::Plan;

pub use crate::i18n::Lang;

/// A report format, chosen by the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Xlsx,
    Csv,
    Html,
    Markdown,
    Json,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Xlsx,
        Format::Csv,
        Format::Html,
        Format::Markdown,
        Format::Json,
    ];

    /// The format a path asks for by its extension (case-insensitive; `.htm` and
    /// `.markdown` are accepted too).
    pub fn from_path(path: &Path) -> Result<Format, ReportError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("xlsx") => Ok(Format::Xlsx),
            Some("csv") => Ok(Format::Csv),
            Some("html" | "htm") => Ok(Format::Html),
            Some("md" | "markdown") => Ok(Format::Markdown),
            Some("json") => Ok(Format::Json),
            _ => Err(ReportError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
            Format::Html => "html",
            Format::Markdown => "md",
            Format::Json => "json",
        }
    }
}

/// Why a report was not written; every variant names the report's path.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "{}: unknown report format (use .xlsx, .csv, .html or .htm, .md or .markdown, .json)",
        .path.display()
    )]
    UnknownFormat { path: PathBuf },
    #[error("cannot render the report {}: {message}", .path.display())]
    Render { path: PathBuf, message: String },
    #[error(transparent)]
    Write(#[from] crate::fsx::WriteError),
}

/// Writes `plan` as a report at `path`; the format follows the extension. The report is
/// rendered whole first and then written atomically ([`crate::fsx::write_atomic`]).
pub fn write(plan: &Plan, path: &Path, lang: Lang) -> Result<(), ReportError> {
    let format = Format::from_path(path)?;
    let bytes = render(plan, format, lang).map_err(|message| ReportError::Render {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(crate::fsx::write_atomic(path, &bytes)?)
}

/// Renders `plan` in `format` into memory. The error is a message for [`ReportError`].
pub fn render(plan: &Plan, format: Format, lang: Lang) -> Result<Vec<u8>, String> {
    match format {
        Format::Xlsx => xlsx::render(plan, lang),
        Format::Csv => Ok(csv::render(plan, lang)),
        Format::Html => Ok(html::render(plan, lang).into_bytes()),
        Format::Markdown => Ok(markdown::render(plan, lang).into_bytes()),
        Format::Json => render_json(plan),
    }
}

/// `.json` is the plan itself, pretty-printed: it is already the stable, documented export
/// (DESIGN §6) and `cspmove report` on it reads it back.
fn render_json(plan: &Plan) -> Result<Vec<u8>, String> {
    let mut bytes = serde_json::to_vec_pretty(plan).map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::report::safe::is_formula_like;

    #[test]
    fn empty_and_tiny_plans_render_in_every_format_and_language() {
        for lines in [0, 1, 3] {
            let plan = demo::plan(lines);
            for format in Format::ALL {
                for lang in Lang::ALL {
                    let bytes = render(&plan, format, lang)
                        .unwrap_or_else(|e| panic!("{lines} lines, {format:?}, {lang:?}: {e}"));
                    assert!(!bytes.is_empty());
                }
            }
        }
    }

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(
            Format::from_path(Path::new("a/b.XLSX")).unwrap(),
            Format::Xlsx
        );
        assert_eq!(Format::from_path(Path::new("r.htm")).unwrap(), Format::Html);
        assert_eq!(
            Format::from_path(Path::new("r.md")).unwrap(),
            Format::Markdown
        );
        assert!(Format::from_path(Path::new("r.txt")).is_err());
        assert!(Format::from_path(Path::new("report")).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever a customer is called, its CSV cell reads back as the name itself or the
        /// name behind one apostrophe, and never as something a spreadsheet would evaluate.
        #[test]
        fn any_customer_name_survives_csv_neutralised(name in "\\PC{0,12}|[=+@\\t\\r-]\\PC{0,8}") {
            let mut plan = demo::plan(1);
            plan.customers[0].name = Some(name.clone());
            let bytes = render(&plan, Format::Csv, Lang::En).unwrap();
            let mut reader = ::csv::Reader::from_reader(&bytes[3..]);
            let record = reader.records().next().unwrap().unwrap();
            let cell = &record[0];
            prop_assert!(!is_formula_like(cell));
            if is_formula_like(&name) {
                prop_assert_eq!(cell.to_string(), format!("'{name}"));
            } else {
                prop_assert_eq!(cell, name.as_str());
            }
        }
    }
}
