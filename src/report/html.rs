//! `.html`: one self-contained page for managers and customers.
//!
//! Everything is inline (CSS, JS, SVG) and a Content-Security-Policy of `default-src
//! 'none'` makes the browser refuse any fetch, so the file can be mailed and opened
//! offline. The summary and the two charts (moves per wave split into same offer and
//! reassignment; original expiries per month) are rendered here in Rust as escaped HTML
//! and SVG. The tables travel as JSON in a `<script type="application/json">` block with
//! `<`, `>` and `&` escaped so no value can close it, and `report.js` draws them page by
//! page (100 rows), sorts on header clicks and filters, always through `textContent`.
//! That keeps a 100,000-line report responsive: the DOM only ever holds one page.

use std::collections::HashMap;
use std::fmt::Write;

use serde_json::json;

use super::safe::{html as esc, json_in_html};
use super::tables::{self, Cell, Figures, Kept, Kind, Table, Which};
use super::{Cx, Out, Sink};
use crate::i18n::{TASK_KINDS, Texts, task_description_key};
use crate::model::{Customer, LicenseAction, PlanHead, Rejection};

const CSS: &str = include_str!("html/report.css");
const JS: &str = include_str!("html/report.js");

/// Records script errors, failed loads and CSP violations on `<html data-errors>`, so a
/// headless browser test (or a curious reviewer) can see that the page ran cleanly.
const ERROR_RECORDER: &str = r#"(function () {
  var root = document.documentElement;
  function record(message) { root.setAttribute('data-errors', (root.getAttribute('data-errors') || '') + message + '\n'); }
  window.addEventListener('error', function (e) { record('error: ' + (e.message || (e.target && e.target.outerHTML) || e)); }, true);
  window.addEventListener('unhandledrejection', function (e) { record('rejection: ' + e.reason); });
  document.addEventListener('securitypolicyviolation', function (e) { record('csp: ' + e.violatedDirective + ' ' + e.blockedURI); });
  var original = console.error;
  console.error = function () { record('console: ' + Array.prototype.join.call(arguments, ' ')); return original.apply(console, arguments); };
})();"#;

/// Rows each table of the page holds at most. Up to this size the page shows every row
/// (a 100,000-line plan's page stayed responsive with 100,000 Moves rows); above it the
/// rows a reviewer must look at come first and the page says what it left out.
pub(crate) const HTML_MAX_ROWS: usize = 50_000;

/// The `.html` report: the summary and charts count every line; each table keeps at most
/// [`HTML_MAX_ROWS`] rows, lines with warnings or reassignments (and their customers'
/// tasks) first, then the others in plan order.
pub struct HtmlSink {
    kept: Vec<Kept>,
}

impl HtmlSink {
    pub fn new(_: &Cx) -> HtmlSink {
        HtmlSink::with_max_rows(HTML_MAX_ROWS)
    }

    pub(crate) fn with_max_rows(max_rows: usize) -> HtmlSink {
        HtmlSink {
            kept: Which::ALL
                .iter()
                .map(|w| Kept::new(w.table(), max_rows))
                .collect(),
        }
    }
}

impl Sink for HtmlSink {
    fn customer(&mut self, cx: &Cx, customer: &Customer, _: &mut dyn Out) -> Result<(), String> {
        let review = customer.lines.iter().any(tables::needs_review);
        for line in &customer.lines {
            let keep = tables::needs_review(line);
            self.kept[0].push(keep, || {
                tables::move_row(&cx.head.inputs, customer, line, cx.t)
            });
        }
        let rows = if self.kept[1].wants(review) {
            tables::task_rows(customer, cx.t)
        } else {
            Vec::new()
        };
        if rows.is_empty() {
            self.kept[1].skip(customer.tasks.len() as u64);
        }
        for row in rows {
            self.kept[1].push(review, || row);
        }
        for line in &customer.lines {
            if line.license_action == LicenseAction::Reassign {
                self.kept[2].push(true, || {
                    tables::reassignment_row(customer, line).expect("a reassigned line")
                });
            }
        }
        Ok(())
    }

    fn rejection(&mut self, cx: &Cx, rejection: &Rejection, _: &mut dyn Out) -> Result<(), String> {
        self.kept[3].push(true, || tables::rejected_row(rejection, cx.t));
        Ok(())
    }

    fn finish(
        self: Box<Self>,
        cx: &Cx,
        figures: &Figures,
        out: &mut dyn Out,
    ) -> Result<(), String> {
        let (tables, totals): (Vec<Table>, Vec<u64>) =
            self.kept.into_iter().map(Kept::into_table).unzip();
        let page = render_page(cx, figures, &tables, &totals);
        std::io::Write::write_all(out, page.as_bytes()).map_err(|e| e.to_string())
    }
}

fn render_page(cx: &Cx, figures: &Figures, tables: &[Table], totals: &[u64]) -> String {
    let (plan, t) = (cx.head, cx.t);
    let lang = t.lang();
    let mut out = String::with_capacity(4096 + figures.lines as usize * 120);
    let title = t.get("report.title");
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"generator\" content=\"{generator}\">\n\
         <title>{title} · {as_of}</title>\n<script>{ERROR_RECORDER}</script>\n\
         <style>\n{CSS}</style>\n</head>\n<body>\n",
        lang = lang.code(),
        generator = esc(&plan.generated_by),
        title = esc(title),
        as_of = esc(&t.date(plan.as_of)),
    );

    let _ = writeln!(out, "<header>\n<h1>{}</h1>", esc(title));
    let _ = writeln!(
        out,
        "<p class=\"subtitle\">{}</p>",
        esc(&t.fill(
            "report.subtitle",
            &[
                ("as_of", &t.date(plan.as_of)),
                ("generated_by", &plan.generated_by),
                ("lead_days", &plan.lead_days.to_string()),
            ],
        ))
    );
    out.push_str("<nav>");
    for (id, key) in [("summary", "heading.summary"), ("charts", "heading.charts")]
        .into_iter()
        .chain(tables.iter().map(|tb| (tb.id, tb.heading)))
    {
        let _ = write!(out, "<a href=\"#{id}\">{}</a>", esc(t.get(key)));
    }
    out.push_str("</nav>\n</header>\n");

    summary(&mut out, plan, t, figures);
    charts(&mut out, t, figures);
    for (table, total) in tables.iter().zip(totals) {
        table_section(&mut out, t, table, *total);
    }
    let _ = writeln!(
        out,
        "<footer><p>{}</p><p class=\"print-only\">{}</p></footer>",
        esc(t.get("report.footer")),
        esc(t.get("html.print_note"))
    );

    let data = json!({
        "lang": lang.code(),
        "labels": {
            "range": t.get("html.range"),
            "page": t.get("html.page"),
            "empty": t.get("html.empty"),
        },
    });
    // The tables are spliced in as raw JSON: building a `Value` tree for 100,000 rows
    // costs more than writing the text directly.
    let mut data = data.to_string();
    data.pop();
    data.push_str(",\"tables\":{");
    for (i, table) in tables.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        let _ = write!(data, "\"{}\":{}", table.id, table_json(t, table));
    }
    data.push_str("}}");
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"report-data\">{}</script>\n<script>\n{JS}</script>\n</body>\n</html>\n",
        json_in_html(&data.to_string())
    );
    out
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "text",
        Kind::Number => "number",
        Kind::Date => "date",
    }
}

/// A table as compact JSON for `report.js`. Text and date columns whose values repeat
/// (customer names, offers, labels, dates) are dictionary-encoded: the cells hold indexes
/// into the column's `dict`. The Tasks description is sent as one template per task kind
/// plus the rows it names. Both keep a 100,000-line report a fraction of its plain size;
/// the page decodes them once on load.
fn table_json(t: &Texts, table: &Table) -> String {
    let n_rows = table.rows.len();
    let mut out = String::with_capacity(64 + n_rows * table.columns.len() * 8);
    let templates = task_templates(t, table);
    out.push_str("{\"columns\":[");
    // Formatting a date is the costly part of a cell; a plan has few distinct dates.
    let mut date_texts: HashMap<chrono::NaiveDate, String> = HashMap::new();
    for row in &table.rows {
        for cell in row {
            if let Cell::Date(d) = cell {
                date_texts.entry(*d).or_insert_with(|| t.date(*d));
            }
        }
    }
    let shown = |cell: &'_ Cell| -> String {
        match cell {
            Cell::Text(s) => s.clone(),
            Cell::Date(d) => date_texts[d].clone(),
            other => other.display(t, false),
        }
    };
    let key = |cell| cell_key(cell, &date_texts);
    let mut dicts: Vec<Option<HashMap<&str, usize>>> = Vec::with_capacity(table.columns.len());
    for (c, column) in table.columns.iter().enumerate() {
        if c > 0 {
            out.push(',');
        }
        // Long sentences wrap; identifiers, dates and numbers stay on one line.
        let wrap = matches!(
            column.key,
            "col.description" | "col.reason" | "col.warnings"
        );
        let _ = write!(
            out,
            "{{\"key\":{},\"label\":{},\"kind\":\"{}\",\"wrap\":{wrap}",
            json_str(column.key),
            json_str(t.get(column.key)),
            kind_name(column.kind)
        );
        let mut dict = None;
        if let Some((texts, from, _)) = templates
            .as_ref()
            .filter(|_| column.key == "col.description")
        {
            out.push_str(",\"template\":{\"fill\":\"rows\",\"from\":");
            let _ = write!(out, "{from},\"texts\":[");
            for (i, text) in texts.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&json_str(text));
            }
            out.push_str("]}");
        } else if column.kind != Kind::Number {
            let mut index: HashMap<&str, usize> = HashMap::new();
            let mut order: Vec<&str> = Vec::new();
            for row in &table.rows {
                let Some(value) = key(&row[c]) else { continue };
                if !index.contains_key(value) {
                    index.insert(value, order.len());
                    order.push(value);
                }
            }
            if order.len() * 2 < n_rows {
                out.push_str(",\"dict\":[");
                for (i, value) in order.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&json_str(value));
                }
                out.push(']');
                dict = Some(index);
            }
        }
        out.push('}');
        dicts.push(dict);
    }
    out.push_str("],\"rows\":[");
    for (r, row) in table.rows.iter().enumerate() {
        if r > 0 {
            out.push(',');
        }
        out.push('[');
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                out.push(',');
            }
            let column = &table.columns[c];
            match (cell, &dicts[c]) {
                (Cell::Empty, _) => out.push_str("null"),
                (Cell::Int(n), _) => {
                    let _ = write!(out, "{n}");
                }
                (Cell::Text(_), _) if column.key == "col.description" && templates.is_some() => {
                    let step = templates.as_ref().map_or(0, |(_, _, step)| *step);
                    let kind = match &row[step] {
                        Cell::Text(label) => TASK_KINDS.iter().position(|k| t.task(*k) == label),
                        _ => None,
                    };
                    let _ = write!(out, "{}", kind.unwrap_or(0));
                }
                (cell, Some(dict)) => {
                    let _ = write!(out, "{}", key(cell).map_or(0, |k| dict[k]));
                }
                // Dates are year-first and zero-padded in every language: they sort as text.
                (cell, None) => out.push_str(&json_str(&shown(cell))),
            }
        }
        out.push(']');
    }
    out.push_str("]}");
    out
}

/// The text a text or date cell shows, borrowed; `None` for empty and number cells.
fn cell_key<'a>(cell: &'a Cell, dates: &'a HashMap<chrono::NaiveDate, String>) -> Option<&'a str> {
    match cell {
        Cell::Text(s) => Some(s.as_str()),
        Cell::Date(d) => dates.get(d).map(String::as_str),
        _ => None,
    }
}

fn json_str(text: &str) -> String {
    // Serialising a string cannot fail.
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

/// For the Tasks table: the description template of every task kind (in `TASK_KINDS`
/// order), the index of the Rows column that fills `{rows}` and of the Step column that
/// names the kind.
fn task_templates(t: &Texts, table: &Table) -> Option<(Vec<String>, usize, usize)> {
    if table.id != "tasks" {
        return None;
    }
    let from = table.columns.iter().position(|c| c.key == "col.rows")?;
    let step = table.columns.iter().position(|c| c.key == "col.task")?;
    table
        .columns
        .iter()
        .position(|c| c.key == "col.description")?;
    let texts = TASK_KINDS
        .iter()
        .map(|kind| t.get(task_description_key(*kind)).to_string())
        .collect();
    Some((texts, from, step))
}

fn summary(out: &mut String, plan: &PlanHead, t: &Texts, figures: &Figures) {
    let _ = writeln!(
        out,
        "<section id=\"summary\">\n<h2>{}</h2>\n<dl class=\"cards\">",
        esc(t.get("heading.summary"))
    );
    for (key, value) in figures.items() {
        let warn =
            (key == "summary.rejected_rows" || key == "summary.lines_with_warnings") && value > 0;
        let _ = writeln!(
            out,
            "<div class=\"card{}\" data-key=\"{key}\"><dt>{}</dt><dd>{}</dd></div>",
            if warn { " warn" } else { "" },
            esc(t.get(key)),
            esc(&t.number(value))
        );
    }
    out.push_str("</dl>\n<div class=\"side\">\n<div>\n");

    let _ = writeln!(out, "<h3>{}</h3>", esc(t.get("heading.waves")));
    let rows: Vec<Vec<(String, bool)>> = figures
        .waves
        .iter()
        .map(|(wave, (lines, same, reassign))| {
            vec![
                (esc(wave), false),
                (t.number(*lines), true),
                (t.number(*same), true),
                (t.number(*reassign), true),
            ]
        })
        .collect();
    static_table(
        out,
        t,
        "waves",
        &["col.wave", "col.lines", "col.same_offer", "col.reassign"],
        &rows,
    );
    out.push_str("</div>\n<div>\n");

    let _ = writeln!(out, "<h3>{}</h3>", esc(t.get("heading.warnings")));
    let rows: Vec<Vec<(String, bool)>> = figures
        .warnings
        .iter()
        .map(|(code, n)| {
            vec![
                (format!("<code>{}</code>", esc(code.as_str())), false),
                (esc(t.warning(*code)), false),
                (t.number(*n), true),
            ]
        })
        .collect();
    static_table(
        out,
        t,
        "warnings",
        &["col.code", "col.warning", "col.lines"],
        &rows,
    );

    let _ = writeln!(out, "<h3>{}</h3>", esc(t.get("heading.inputs")));
    let rows: Vec<Vec<(String, bool)>> = plan
        .inputs
        .iter()
        .map(|input| {
            vec![
                (esc(&input.path), false),
                (esc(input.sheet.as_deref().unwrap_or("")), false),
                (t.number(input.rows), true),
            ]
        })
        .collect();
    static_table(
        out,
        t,
        "inputs",
        &["col.path", "col.sheet", "col.data_rows"],
        &rows,
    );
    out.push_str("</div>\n</div>\n</section>\n");
}

/// A small table of already-escaped cells (`bool` = numeric, right-aligned).
fn static_table(
    out: &mut String,
    t: &Texts,
    id: &str,
    headers: &[&str],
    rows: &[Vec<(String, bool)>],
) {
    if rows.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"note\" id=\"{id}\">{}</p>",
            esc(t.get("html.nothing"))
        );
        return;
    }
    let _ = write!(out, "<div class=\"scroll\"><table id=\"{id}\"><thead><tr>");
    for (i, key) in headers.iter().enumerate() {
        let numeric = rows[0].get(i).is_some_and(|c| c.1);
        let _ = write!(
            out,
            "<th{}>{}</th>",
            if numeric { " class=\"num\"" } else { "" },
            esc(t.get(key))
        );
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for (html, numeric) in row {
            let _ = write!(
                out,
                "<td{}>{html}</td>",
                if *numeric { " class=\"num\"" } else { "" }
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>\n");
}

fn charts(out: &mut String, t: &Texts, figures: &Figures) {
    let _ = writeln!(
        out,
        "<section id=\"charts\">\n<h2>{}</h2>\n<div class=\"charts\">",
        esc(t.get("heading.charts"))
    );
    let waves: Vec<(String, Vec<u64>)> = figures
        .waves
        .iter()
        .map(|(wave, (_, same, reassign))| (wave.clone(), vec![*same, *reassign]))
        .collect();
    let _ = writeln!(
        out,
        "<figure id=\"chart-waves\"><figcaption>{}</figcaption>{}<div class=\"legend\"><span style=\"--c:var(--same)\">{}</span><span style=\"--c:var(--reassign)\">{}</span></div></figure>",
        esc(t.get("heading.chart_waves")),
        bar_chart(
            t,
            &waves,
            &[
                ("var(--same)", t.get("col.same_offer")),
                ("var(--reassign)", t.get("col.reassign"))
            ]
        ),
        esc(t.get("col.same_offer")),
        esc(t.get("col.reassign")),
    );
    let expiries: Vec<(String, Vec<u64>)> = figures
        .expiries
        .iter()
        .map(|(month, n)| (month.clone(), vec![*n]))
        .collect();
    let note = if figures.no_expiry > 0 {
        format!(
            "<p class=\"note\">{}</p>",
            esc(&t.fill(
                "html.no_expiry_note",
                &[("count", &t.number(figures.no_expiry))]
            ))
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "<figure id=\"chart-expiries\"><figcaption>{}</figcaption>{}{note}</figure>",
        esc(t.get("heading.chart_expiries")),
        bar_chart(t, &expiries, &[("var(--expiry)", t.get("col.lines"))]),
    );
    out.push_str("</div>\n</section>\n");
}

/// A round step for about `ticks` gridlines up to `max` (1, 2 or 5 times a power of ten).
fn nice_step(max: u64, ticks: u64) -> u64 {
    let raw = (max.max(1) as f64 / ticks as f64).max(1.0);
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    step.round().max(1.0) as u64
}

/// A stacked bar chart as inline SVG; each bar carries a `<title>` with its figures.
fn bar_chart(t: &Texts, bars: &[(String, Vec<u64>)], series: &[(&str, &str)]) -> String {
    const W: f64 = 640.0;
    const H: f64 = 260.0;
    const LEFT: f64 = 52.0;
    const RIGHT: f64 = 8.0;
    const TOP: f64 = 10.0;
    const BOTTOM: f64 = 48.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\">"
    );
    if bars.is_empty() {
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></svg>",
            W / 2.0,
            H / 2.0,
            esc(t.get("html.nothing"))
        );
        return svg;
    }
    let max = bars
        .iter()
        .map(|(_, v)| v.iter().sum::<u64>())
        .max()
        .unwrap_or(0);
    let step = nice_step(max, 5);
    let top_value = (max.div_ceil(step)).max(1) * step;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let y = |v: u64| TOP + plot_h - plot_h * v as f64 / top_value as f64;
    let mut tick = 0;
    while tick <= top_value {
        let ty = y(tick);
        let _ = write!(
            svg,
            "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            ty + 4.0,
            esc(&t.number(tick))
        );
        tick += step;
    }
    let slot = plot_w / bars.len() as f64;
    let bar_w = (slot * 0.72).max(1.0);
    // Label every n-th bar so that labels never overlap.
    let label_every = ((bars.len() as f64 * 52.0 / plot_w).ceil() as usize).max(1);
    for (i, (label, values)) in bars.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
        let mut base = 0;
        let tip: Vec<String> = series
            .iter()
            .zip(values)
            .map(|((_, name), v)| format!("{name}: {}", t.number(*v)))
            .collect();
        let _ = write!(
            svg,
            "<g><title>{} — {}</title>",
            esc(label),
            esc(&tip.join(", "))
        );
        for ((colour, _), value) in series.iter().zip(values) {
            if *value == 0 {
                continue;
            }
            let y0 = y(base);
            let y1 = y(base + value);
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y1:.1}\" width=\"{bar_w:.1}\" height=\"{:.1}\" style=\"fill:{colour}\"/>",
                (y0 - y1).max(0.5)
            );
            base += value;
        }
        svg.push_str("</g>");
        if i % label_every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x + bar_w / 2.0,
                H - BOTTOM + 16.0,
                esc(label)
            );
        }
    }
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" style=\"stroke:#8894a3\"/></svg>",
        W - RIGHT,
        y(0),
        y(0)
    );
    svg
}

fn table_section(out: &mut String, t: &Texts, table: &Table, total: u64) {
    let _ = writeln!(
        out,
        "<section id=\"{id}\" class=\"table-section\">\n<h2>{} <span class=\"note\">({})</span></h2>",
        esc(t.get(table.heading)),
        esc(&t.number(total)),
        id = table.id,
    );
    let shown = table.rows.len() as u64;
    if shown < total {
        let _ = writeln!(
            out,
            "<p class=\"note partial\" data-shown=\"{shown}\" data-total=\"{total}\">{}</p>",
            esc(&t.fill(
                "html.partial",
                &[
                    ("shown", &t.number(shown)),
                    ("total", &t.number(total)),
                    ("left_out", &t.number(total - shown)),
                ]
            ))
        );
    }
    let _ = writeln!(
        out,
        "<div class=\"controls\"><input type=\"search\" placeholder=\"{}\" aria-label=\"{}\">\
         <button type=\"button\" class=\"prev\">{}</button><button type=\"button\" class=\"next\">{}</button>\
         <span class=\"range\"></span><span class=\"note hint\">{}</span></div>",
        esc(t.get("html.filter")),
        esc(t.get("html.filter")),
        esc(t.get("html.prev")),
        esc(t.get("html.next")),
        esc(t.get("html.sort_hint")),
    );
    let _ = write!(
        out,
        "<div class=\"scroll\"><table class=\"data\"><thead><tr>"
    );
    for column in &table.columns {
        let _ = write!(
            out,
            "<th tabindex=\"0\" data-key=\"{}\"{}>{}</th>",
            column.key,
            if column.kind == Kind::Number {
                " class=\"num\""
            } else {
                ""
            },
            esc(t.get(column.key))
        );
    }
    out.push_str("</tr></thead><tbody></tbody></table></div>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps_are_round() {
        assert_eq!(nice_step(0, 5), 1);
        assert_eq!(nice_step(4, 5), 1);
        assert_eq!(nice_step(9, 5), 2);
        assert_eq!(nice_step(23, 5), 5);
        assert_eq!(nice_step(480, 5), 100);
        assert_eq!(nice_step(100_000, 5), 20_000);
    }
}
