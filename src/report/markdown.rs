//! `.md`: the summary and tables for a ticket or a pull request.
//!
//! GitHub-flavoured Markdown tables. Every value is escaped ([`super::safe::markdown`]):
//! a customer called `<img src=x onerror=…>` or `[click](http://…)` shows as text and
//! `|` cannot break a table. Numbers carry thousands separators and dates follow the
//! language, because this report is read, not computed with.

use std::fmt::Write;

use super::safe::markdown as esc;
use super::tables::{self, Figures, Kind, Table};
use crate::i18n::Lang;
use crate::i18n::{Texts, texts};
use crate::model::Plan;

pub fn render(plan: &Plan, lang: Lang) -> String {
    let t = texts(lang);
    let figures = Figures::of(plan);
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
                ("generated_by", &plan.generated_by),
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
        .map(|(wave, (lines, same, reassign))| {
            vec![
                wave.clone(),
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

    for table in [
        tables::tasks(plan, t),
        tables::reassignments(plan, t),
        tables::rejected(plan, t),
        tables::moves(plan, t),
    ] {
        data_table(&mut out, t, &table);
    }
    let _ = writeln!(out, "---\n\n{}", t.get("report.footer"));
    out
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
    let _ = writeln!(
        out,
        "## {} ({})\n",
        esc(t.get(table.heading)),
        t.number(table.rows.len() as u64)
    );
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
