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
/// The synthetic plan of the tests; not API (tests/cli and the report benchmark compile
/// the same file themselves).
#[cfg(test)]
pub(crate) mod demo;
mod html;
mod json;
mod markdown;
pub mod safe;
pub mod tables;
mod xlsx;

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::i18n::{Texts, texts};
use crate::model::{Customer, Plan, PlanFileError, PlanHead, PlanReader, Rejection, Sha};
use tables::Figures;

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

/// Where a report's bytes go: the temporary file of [`crate::fsx::PendingFile`], or
/// memory for [`render`].
pub(crate) trait Out: Write + Seek + Send {}
impl<T: Write + Seek + Send> Out for T {}

/// What every report of a run shares: the plan's head and the language's texts.
pub(crate) struct Cx<'a> {
    pub head: &'a PlanHead,
    pub t: &'static Texts,
}

/// One report rendered while the plan streams past: it sees every customer, then every
/// rejected row, then the figures of the whole plan. A format either writes as it goes
/// (`.csv`, `.json`, the `.xlsx` table sheets) or keeps a bounded part of the plan and
/// writes at the end (`.html`, `.md`). An error is a message for [`ReportError::Render`].
pub(crate) trait Sink {
    fn customer(&mut self, cx: &Cx, customer: &Customer, out: &mut dyn Out) -> Result<(), String>;
    /// [`customer`](Sink::customer) of a customer the sink may keep (the `.xlsx` hands
    /// it to the thread filling its Moves sheet).
    fn customer_shared(
        &mut self,
        cx: &Cx,
        customer: &Arc<Customer>,
        out: &mut dyn Out,
    ) -> Result<(), String> {
        self.customer(cx, customer, out)
    }
    fn rejection(
        &mut self,
        cx: &Cx,
        rejection: &Rejection,
        out: &mut dyn Out,
    ) -> Result<(), String>;
    fn finish(self: Box<Self>, cx: &Cx, figures: &Figures, out: &mut dyn Out)
    -> Result<(), String>;
}

fn sink(format: Format, cx: &Cx) -> Box<dyn Sink> {
    match format {
        Format::Xlsx => Box::new(xlsx::XlsxSink::new(cx)),
        Format::Csv => Box::new(csv::CsvSink::new(cx)),
        Format::Html => Box::new(html::HtmlSink::new(cx)),
        Format::Markdown => Box::new(markdown::MarkdownSink::new(cx)),
        Format::Json => Box::new(json::JsonSink::new(cx)),
    }
}

/// A report of the run, until it fails or is written.
struct Slot {
    path: PathBuf,
    sink: Box<dyn Sink>,
    out: crate::fsx::Streamed,
}

enum Item {
    /// A customer with its number of tasks.
    Customer((Arc<Customer>, u64)),
    Rejection(Rejection),
}

/// The outcome of [`write_from_file`]: the reports written and those that failed.
#[derive(Debug, Default)]
pub struct Written {
    pub written: Vec<PathBuf>,
    pub failed: Vec<ReportError>,
}

/// A customer as the reports that show no task read it (`.csv`, `.md`): every field
/// but `tasks`, which is only counted (a quarter of a plan's bytes is tasks).
#[derive(serde::Deserialize)]
struct WithoutTasks {
    key: String,
    customer_id: Option<String>,
    domain: Option<String>,
    name: Option<String>,
    contact_email: Option<String>,
    country: Option<String>,
    relationship: crate::model::Relationship,
    lines: Vec<crate::model::Line>,
    tasks: crate::model::Count,
}

impl WithoutTasks {
    /// The customer (with no task) and how many tasks it has.
    fn split(self) -> (Customer, u64) {
        let customer = Customer {
            key: self.key,
            customer_id: self.customer_id,
            domain: self.domain,
            name: self.name,
            contact_email: self.contact_email,
            country: self.country,
            relationship: self.relationship,
            lines: self.lines,
            tasks: Vec::new(),
        };
        (customer, self.tasks.0)
    }
}

/// Renders every report in `paths` (format by extension) in one pass over the plan file
/// at `plan`, which streams: a customer is read, shown to every report and dropped. A
/// report that fails does not stop the others; none is written unless the whole plan
/// was read (a truncated or broken plan is an `Err` and leaves no report behind). When
/// no report shows tasks, customers are read without them.
pub fn write_from_file(
    plan: &Path,
    paths: &[PathBuf],
    lang: Lang,
) -> Result<Written, PlanFileError> {
    let shows_tasks = paths.iter().any(|p| {
        matches!(
            Format::from_path(p),
            Ok(Format::Xlsx | Format::Html | Format::Json)
        )
    });
    if shows_tasks {
        stream(
            PlanReader::open_as_with(plan, Sha::Skip)?,
            paths,
            lang,
            |c: Customer| {
                let tasks = c.tasks.len() as u64;
                (c, tasks)
            },
        )
    } else {
        stream(
            PlanReader::open_as_with::<WithoutTasks>(plan, Sha::Skip)?,
            paths,
            lang,
            WithoutTasks::split,
        )
    }
}

fn stream<C: serde::de::DeserializeOwned + Send + 'static>(
    mut reader: PlanReader<std::fs::File, C>,
    paths: &[PathBuf],
    lang: Lang,
    split: impl Fn(C) -> (Customer, u64),
) -> Result<Written, PlanFileError> {
    let head = reader.head().clone();
    let cx = Cx {
        head: &head,
        t: texts(lang),
    };
    let mut done = Written::default();
    let mut slots = Vec::new();
    for path in paths {
        let format = match Format::from_path(path) {
            Ok(f) => f,
            Err(e) => {
                done.failed.push(e);
                continue;
            }
        };
        match crate::fsx::PendingFile::create(path) {
            Ok(out) => slots.push(Slot {
                path: path.clone(),
                sink: sink(format, &cx),
                out: out.streamed(),
            }),
            Err(e) => done.failed.push(e.into()),
        }
    }
    let mut figures = Figures::default();
    let mut customers_done = false;
    loop {
        let item = if customers_done {
            reader.next_rejection()?.map(Item::Rejection)
        } else {
            match reader.next_customer()? {
                Some(c) => {
                    let (c, tasks) = split(c);
                    Some(Item::Customer((Arc::new(c), tasks)))
                }
                None => {
                    customers_done = true;
                    continue;
                }
            }
        };
        let Some(item) = item else { break };
        match &item {
            Item::Customer((c, tasks)) => figures.add_customer(c, *tasks),
            Item::Rejection(_) => figures.add_rejection(),
        }
        let mut i = 0;
        while i < slots.len() {
            let slot = &mut slots[i];
            let result = match &item {
                Item::Customer((c, _)) => slot.sink.customer_shared(&cx, c, &mut slot.out),
                Item::Rejection(r) => slot.sink.rejection(&cx, r, &mut slot.out),
            };
            match result {
                Ok(()) => i += 1,
                Err(message) => {
                    let slot = slots.remove(i);
                    done.failed.push(ReportError::Render {
                        path: slot.path,
                        message,
                    });
                }
            }
        }
    }
    // No report shows the plan's sha256: it is not computed.
    reader.end()?;
    for mut slot in slots {
        match slot.sink.finish(&cx, &figures, &mut slot.out) {
            Ok(()) => match slot.out.commit() {
                Ok(()) => done.written.push(slot.path),
                Err(e) => done.failed.push(e.into()),
            },
            Err(message) => done.failed.push(ReportError::Render {
                path: slot.path,
                message,
            }),
        }
    }
    Ok(done)
}

/// Writes `plan` (held in memory) as a report at `path`; the format follows the
/// extension. Rendered by the same code as [`write_from_file`].
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
    render_with(plan, lang, |cx| sink(format, cx))
}

/// Renders `plan` into memory through the sink `make` returns.
fn render_with(
    plan: &Plan,
    lang: Lang,
    make: impl FnOnce(&Cx) -> Box<dyn Sink>,
) -> Result<Vec<u8>, String> {
    let head = PlanHead::of(plan);
    let cx = Cx {
        head: &head,
        t: texts(lang),
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut sink = make(&cx);
    let mut figures = Figures::default();
    for customer in &plan.customers {
        figures.add_customer(customer, customer.tasks.len() as u64);
        sink.customer(&cx, customer, &mut out)?;
    }
    for rejection in &plan.rejected {
        figures.add_rejection();
        sink.rejection(&cx, rejection, &mut out)?;
    }
    sink.finish(&cx, &figures, &mut out)?;
    Ok(out.into_inner())
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
    fn json_is_the_plan_pretty_printed_byte_for_byte() {
        for lines in [0, 1, 40] {
            let mut plan = demo::plan(lines);
            let mut want = serde_json::to_vec_pretty(&plan).unwrap();
            want.push(b'\n');
            assert_eq!(render(&plan, Format::Json, Lang::En).unwrap(), want);
            plan.rejected.clear();
            let mut want = serde_json::to_vec_pretty(&plan).unwrap();
            want.push(b'\n');
            assert_eq!(render(&plan, Format::Json, Lang::En).unwrap(), want);
        }
    }

    fn workbook(bytes: Vec<u8>) -> calamine::Xlsx<std::io::Cursor<Vec<u8>>> {
        calamine::Reader::new(std::io::Cursor::new(bytes)).unwrap()
    }

    #[test]
    fn xlsx_tables_longer_than_a_sheet_go_on_in_numbered_sheets() {
        use calamine::Reader;
        let plan = demo::plan(40);
        let tasks: usize = plan.customers.iter().map(|c| c.tasks.len()).sum();
        // 10 rows a sheet: the header and 9 data rows.
        let bytes = render_with(&plan, Lang::En, |cx| {
            Box::new(xlsx::XlsxSink::with_max_rows(cx, 10))
        })
        .unwrap();
        let mut book = workbook(bytes);
        let names = book.sheet_names();
        let parts = |table: &str, rows: usize| -> Vec<String> {
            (1..=rows.div_ceil(9).max(1))
                .map(|n| match n {
                    1 => table.to_string(),
                    n => format!("{table} {n}"),
                })
                .collect()
        };
        let mut want = vec!["Summary".to_string()];
        want.extend(parts("Moves", 40));
        want.extend(parts("Tasks", tasks));
        let reassign = plan
            .lines()
            .filter(|(_, l)| l.license_action == crate::model::LicenseAction::Reassign)
            .count();
        want.extend(parts("Reassignments", reassign));
        want.extend(parts("Rejected", plan.rejected.len()));
        assert_eq!(names, want);
        // Every part has the header; together they hold every line once, in plan order.
        let mut rows = Vec::new();
        for name in parts("Moves", 40) {
            let range = book.worksheet_range(&name).unwrap();
            assert!(range.height() <= 10, "{name}: {}", range.height());
            assert_eq!(range.get((0, 0)).unwrap().to_string(), "Customer", "{name}");
            for r in 1..range.height() {
                rows.push(range.get((r, 6)).unwrap().to_string());
            }
        }
        let want_rows: Vec<String> = plan.lines().map(|(_, l)| l.row.to_string()).collect();
        assert_eq!(rows, want_rows);
        // The real limit: Excel's 1,048,576 rows, header included.
        assert_eq!(xlsx::EXCEL_MAX_ROWS, 1 << 20);
    }

    #[test]
    fn a_value_longer_than_a_cell_is_cut_with_a_marker_and_the_rest_is_written() {
        use calamine::Reader;
        let mut plan = demo::plan(3);
        let long: String = "가나다라마바사".chars().cycle().take(40_000).collect();
        plan.customers[0].name = Some(long.clone());
        let mut book = workbook(render(&plan, Format::Xlsx, Lang::En).unwrap());
        let moves = book.worksheet_range("Moves").unwrap();
        let cell = moves.get((1, 0)).unwrap().to_string();
        assert!(cell.encode_utf16().count() <= 32_767);
        assert!(cell.starts_with(&long[..300]));
        assert!(
            cell.contains("[cut: 40000 characters"),
            "{}",
            &cell[cell.len() - 200..]
        );
        assert_eq!(moves.height(), 4);
        // The other formats hold the value whole.
        let csv = render(&plan, Format::Csv, Lang::En).unwrap();
        assert!(String::from_utf8(csv).unwrap().contains(&long));
    }

    #[test]
    fn markdown_stays_small_for_a_huge_hostile_plan() {
        let mut plan = demo::plan(3_000);
        let long = "=|<b>*_".repeat(5_000);
        for (i, c) in plan.customers.iter_mut().enumerate() {
            c.name = Some(long[..5_000].to_string());
            for (j, line) in c.lines.iter_mut().enumerate() {
                line.wave = format!("{:04}-{:02}", 2000 + i, j + 1);
            }
        }
        let rejected = plan.rejected[0].clone();
        plan.rejected = (0..10_000)
            .map(|n| crate::model::Rejection {
                row: n,
                value: Some(long.clone()),
                column: Some(long.clone()),
                ..rejected.clone()
            })
            .collect();
        for lang in Lang::ALL {
            let md = render(&plan, Format::Markdown, lang).unwrap();
            assert!(md.len() < 200_000, "{lang:?}: {} bytes", md.len());
            let text = String::from_utf8(md).unwrap();
            assert!(text.contains("cspmove report PLAN.json"), "{lang:?}");
        }
    }

    #[test]
    fn html_keeps_the_rows_needing_review_first_and_says_what_it_left_out() {
        let plan = demo::plan(200);
        let bytes = render_with(&plan, Lang::En, |_| {
            Box::new(html::HtmlSink::with_max_rows(25))
        })
        .unwrap();
        let page = String::from_utf8(bytes).unwrap();
        assert!(
            page.contains("data-shown=\"25\" data-total=\"200\""),
            "moves note"
        );
        assert!(page.contains("175 rows are left out here"));
        let full = String::from_utf8(render(&plan, Format::Html, Lang::En).unwrap()).unwrap();
        assert!(!full.contains("class=\"note partial\""));
        // The kept Moves rows are the first 25 lines needing review, in plan order.
        let mut kept = tables::Kept::new(tables::Which::Moves.table(), 25);
        for (c, l) in plan.lines() {
            kept.push(tables::needs_review(l), || {
                vec![tables::Cell::Int(l.row), tables::Cell::Text(c.key.clone())]
            });
        }
        let (table, total) = kept.into_table();
        assert_eq!(total, 200);
        let review: Vec<u64> = plan
            .lines()
            .filter(|(_, l)| tables::needs_review(l))
            .take(25)
            .map(|(_, l)| l.row)
            .collect();
        assert_eq!(review.len(), 25);
        let rows: Vec<u64> = table
            .rows
            .iter()
            .map(|r| match r[0] {
                tables::Cell::Int(n) => n,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(rows, review);
    }

    #[test]
    fn reports_read_without_tasks_are_the_reports_of_the_whole_plan() {
        let plan = demo::plan(500);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plan.json");
        let mut bytes = Vec::new();
        crate::plan::write::write_plan(&plan, &mut bytes).unwrap();
        std::fs::write(&file, &bytes).unwrap();
        let (csv, md, json) = (
            dir.path().join("a.csv"),
            dir.path().join("a.md"),
            dir.path().join("a.json"),
        );
        for lang in Lang::ALL {
            // Without tasks (only .csv and .md), then with them (the .json shows them).
            for paths in [
                vec![csv.clone(), md.clone()],
                vec![csv.clone(), md.clone(), json.clone()],
            ] {
                let done = write_from_file(&file, &paths, lang).unwrap();
                assert!(done.failed.is_empty(), "{:?}", done.failed);
                assert_eq!(
                    std::fs::read(&csv).unwrap(),
                    render(&plan, Format::Csv, lang).unwrap(),
                    "{lang:?} {paths:?}"
                );
                assert_eq!(
                    std::fs::read(&md).unwrap(),
                    render(&plan, Format::Markdown, lang).unwrap(),
                    "{lang:?} {paths:?}"
                );
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
