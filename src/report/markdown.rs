//! `.md`: a summary of bounded size for a ticket or a pull request.
//!
//! A ticket is read by people, so this report holds what they decide on and stays under
//! 200 KB for any plan: the summary, the waves and warnings, the rejected rows (the first
//! 50), the 20 largest customers by seats, and a pointer to the full reports; long values
//! are cut at 120 characters. Every line and task is in the `.xlsx`, `.csv` and `.html`.
//! GitHub-flavoured Markdown tables. Every value is escaped ([`super::safe::markdown`]):
//! a customer called `<img src=x onerror=…>` or `[click](http://…)` shows as text and
//! `|` cannot break a table. Numbers carry thousands separators and dates follow the
//! language, because this report is read, not computed with.

use std::collections::BinaryHeap;
use std::fmt::Write;

use super::safe::markdown as esc;
use super::tables::{self, Cell, Figures, Kind, Table, Which};
use super::{Cx, Out, Sink};
use crate::i18n::Texts;
use crate::model::{Customer, LicenseAction, Rejection};

/// Rows of the Rejected table, waves and top customers a ticket shows at most, and the
/// characters of a value: with them a ticket stays under 200 KB for any plan.
const MAX_REJECTED: usize = 50;
const MAX_WAVES: usize = 120;
const TOP_CUSTOMERS: usize = 20;
const MAX_CELL_CHARS: usize = 120;

/// One of the largest customers: seats to provision, then plan order (earlier first).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Top {
    seats: u64,
    order: std::cmp::Reverse<u64>,
    name: String,
    key: String,
    lines: u64,
    reassign: u64,
}

pub struct MarkdownSink {
    /// The largest customers so far, smallest on top.
    top: BinaryHeap<std::cmp::Reverse<Top>>,
    customers: u64,
    rejected: Vec<Vec<Cell>>,
}

impl MarkdownSink {
    pub fn new(_: &Cx) -> MarkdownSink {
        MarkdownSink {
            top: BinaryHeap::new(),
            customers: 0,
            rejected: Vec::new(),
        }
    }
}

/// `text` cut to [`MAX_CELL_CHARS`] characters, with `…` when cut.
fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_CELL_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

impl Sink for MarkdownSink {
    fn customer(&mut self, _: &Cx, customer: &Customer, _: &mut dyn Out) -> Result<(), String> {
        let seats = customer.lines.iter().map(|l| l.target_seats).sum();
        let order = std::cmp::Reverse(self.customers);
        self.customers += 1;
        let smallest = self.top.peek().map(|t| (t.0.seats, t.0.order));
        if self.top.len() < TOP_CUSTOMERS || smallest < Some((seats, order)) {
            let key = customer
                .customer_id
                .as_deref()
                .or(customer.domain.as_deref())
                .unwrap_or(&customer.key);
            self.top.push(std::cmp::Reverse(Top {
                seats,
                order,
                name: cut(customer.name.as_deref().unwrap_or("")),
                key: cut(key),
                lines: customer.lines.len() as u64,
                reassign: customer
                    .lines
                    .iter()
                    .filter(|l| l.license_action == LicenseAction::Reassign)
                    .count() as u64,
            }));
            if self.top.len() > TOP_CUSTOMERS {
                self.top.pop();
            }
        }
        Ok(())
    }

    fn rejection(&mut self, cx: &Cx, r: &Rejection, _: &mut dyn Out) -> Result<(), String> {
        if self.rejected.len() < MAX_REJECTED {
            let value = r.value.as_deref().map(cut);
            let column = r.column.as_deref().map(cut);
            let shown = Rejection {
                input: cut(&r.input),
                row: r.row,
                column,
                value,
                code: r.code,
                message: String::new(),
            };
            self.rejected.push(tables::rejected_row(&shown, cx.t));
        }
        Ok(())
    }

    fn finish(
        self: Box<Self>,
        cx: &Cx,
        figures: &Figures,
        out: &mut dyn Out,
    ) -> Result<(), String> {
        let text = render(cx, figures, *self);
        std::io::Write::write_all(out, text.as_bytes()).map_err(|e| e.to_string())
    }
}

fn render(cx: &Cx, figures: &Figures, sink: MarkdownSink) -> String {
    let (plan, t) = (cx.head, cx.t);
    let mut out = String::new();
    // `write!` into a String cannot fail.
    let _ = writeln!(out, "# {}\n", esc(t.get("report.title")));
    let _ = writeln!(
        out,
        "{}\n",
        esc(&t.fill(
            "report.subtitle",
            &[
                ("as_of", &t.date(plan.as_of)),
                ("generated_by", &cut(&plan.generated_by)),
                ("lead_days", &plan.lead_days.to_string()),
            ],
        ))
    );

    let _ = writeln!(out, "## {}\n", esc(t.get("heading.summary")));
    let mut items: Vec<Vec<String>> = vec![
        vec![t.get("summary.as_of").into(), t.date(plan.as_of)],
        vec![
            t.get("summary.lead_days").into(),
            t.number(plan.lead_days.into()),
        ],
    ];
    items.extend(
        figures
            .items()
            .into_iter()
            .map(|(key, n)| vec![t.get(key).to_string(), t.number(n)]),
    );
    simple_table(
        &mut out,
        t,
        &["col.item", "col.value"],
        &[false, true],
        &items,
    );

    let _ = writeln!(out, "## {}\n", esc(t.get("heading.waves")));
    let waves: Vec<Vec<String>> = figures
        .waves
        .iter()
        .take(MAX_WAVES)
        .map(|(wave, (lines, same, reassign))| {
            vec![
                cut(wave),
                t.number(*lines),
                t.number(*same),
                t.number(*reassign),
            ]
        })
        .collect();
    simple_table(
        &mut out,
        t,
        &["col.wave", "col.lines", "col.same_offer", "col.reassign"],
        &[false, true, true, true],
        &waves,
    );
    more(&mut out, t, figures.waves.len(), MAX_WAVES);

    let _ = writeln!(out, "## {}\n", esc(t.get("heading.warnings")));
    let warnings: Vec<Vec<String>> = figures
        .warnings
        .iter()
        .map(|(code, n)| {
            vec![
                format!("`{}`", code.as_str()),
                t.warning(*code).to_string(),
                t.number(*n),
            ]
        })
        .collect();
    simple_table(
        &mut out,
        t,
        &["col.code", "col.warning", "col.lines"],
        &[false, false, true],
        &warnings,
    );

    let _ = writeln!(
        out,
        "## {} ({})\n",
        esc(t.get("heading.rejected")),
        t.number(figures.rejected_rows)
    );
    let mut rejected = Which::Rejected.table();
    rejected.rows = sink.rejected;
    data_table(&mut out, t, &rejected);
    more(&mut out, t, figures.rejected_rows as usize, MAX_REJECTED);

    let _ = writeln!(
        out,
        "## {} ({})\n",
        esc(t.get("heading.top_customers")),
        t.number(sink.top.len() as u64)
    );
    let top: Vec<Vec<String>> = sink
        .top
        .into_sorted_vec()
        .into_iter()
        .map(|std::cmp::Reverse(c)| {
            vec![
                c.name,
                c.key,
                t.number(c.lines),
                t.number(c.reassign),
                t.number(c.seats),
            ]
        })
        .collect();
    simple_table(
        &mut out,
        t,
        &[
            "col.customer_name",
            "col.customer_key",
            "col.lines",
            "col.reassign",
            "col.target_seats",
        ],
        &[false, false, true, true, true],
        &top,
    );

    let _ = writeln!(out, "{}\n", esc(t.get("md.full_reports")));
    let _ = writeln!(out, "---\n\n{}", t.get("report.footer"));
    out
}

/// "… and N more" under a table that shows `shown` of `total` rows.
fn more(out: &mut String, t: &Texts, total: usize, shown: usize) {
    if total > shown {
        let _ = writeln!(
            out,
            "{}\n",
            esc(&t.fill("md.more", &[("count", &t.number((total - shown) as u64))]))
        );
    }
}

/// A table of cells we composed ourselves; cells are still escaped except inline code
/// we add on purpose.
fn simple_table(
    out: &mut String,
    t: &Texts,
    headers: &[&str],
    right: &[bool],
    rows: &[Vec<String>],
) {
    if rows.is_empty() {
        let _ = writeln!(out, "{}\n", esc(t.get("html.nothing")));
        return;
    }
    header(out, headers.iter().map(|k| t.get(k)), right);
    for row in rows {
        out.push('|');
        for cell in row {
            let shown = match cell.strip_prefix('`').and_then(|c| c.strip_suffix('`')) {
                // Warning codes are ours: A-Z and `_` only.
                Some(code) if code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') => {
                    cell.clone()
                }
                _ => esc(cell),
            };
            let _ = write!(out, " {shown} |");
        }
        out.push('\n');
    }
    out.push('\n');
}

fn header<'a>(out: &mut String, labels: impl Iterator<Item = &'a str>, right: &[bool]) {
    out.push('|');
    for label in labels {
        let _ = write!(out, " {} |", esc(label));
    }
    out.push_str("\n|");
    for r in right {
        out.push_str(if *r { " ---: |" } else { " --- |" });
    }
    out.push('\n');
}

fn data_table(out: &mut String, t: &Texts, table: &Table) {
    if table.rows.is_empty() {
        let _ = writeln!(out, "{}\n", esc(t.get("html.nothing")));
        return;
    }
    let right: Vec<bool> = table
        .columns
        .iter()
        .map(|c| c.kind == Kind::Number)
        .collect();
    header(out, table.columns.iter().map(|c| t.get(c.key)), &right);
    for row in &table.rows {
        out.push('|');
        for cell in row {
            let _ = write!(out, " {} |", esc(&cell.display(t, true)));
        }
        out.push('\n');
    }
    out.push('\n');
}
