//! Human reports rendered from a plan (DESIGN §7): `.xlsx`, `.csv`, `.html`, `.md`, `.json`.

use std::path::Path;

use crate::plan::model::Plan;

/// Language of headings, labels and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    Ko,
    Ja,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: unknown report format (use .xlsx, .csv, .html, .md or .json)")]
    UnknownFormat { path: String },
    #[error("{path}: {message}")]
    Write { path: String, message: String },
}

/// Writes `plan` as a report at `path`; the format follows the extension.
pub fn write(plan: &Plan, path: &Path, lang: Lang) -> Result<(), ReportError> {
    let _ = (plan, lang);
    Err(ReportError::UnknownFormat {
        path: path.display().to_string(),
    })
}
