//! The execution report of one `apply` run: per customer what was done, what waits for
//! whom (customer acceptance, a due date, new seats, the customer letting the original
//! expire) and what failed and why. `.md` for a ticket, `.json` for scripts, `.csv` for a
//! spreadsheet; the format follows the extension.
//!
//! Reports are built from [`CustomerRow`]s and run counters only, so a secret cannot reach
//! them: errors carry Partner Center's code, description and request ID, never headers.

use std::path::Path;

use serde::Serialize;

use super::StopReason;
use super::run::RunOutcome;
use super::status::{self, CustomerRow};
use crate::fsx::write_atomic;

/// A CSV cell from the input, neutralised against formula injection by the one rule
/// every CSV and XLSX cspmove writes follows ([`crate::report::safe::neutralise`]).
fn neutralise(cell: &str) -> String {
    crate::report::safe::neutralise(cell).into_owned()
}

/// Why an execution report was not written; every variant names its path.
#[derive(Debug, thiserror::Error)]
pub enum ExecReportError {
    #[error("{path}: unknown execution report format (use .md, .json or .csv)")]
    UnknownFormat { path: String },
    #[error("cannot render the execution report {path}")]
    Render {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Write(#[from] crate::fsx::WriteError),
}

#[derive(Serialize)]
struct JsonReport<'a> {
    report: &'static str,
    generated_by: &'static str,
    correlation_id: String,
    requests: u64,
    retries: u64,
    throttled: u64,
    elapsed_seconds: f64,
    orders_placed: u64,
    users_moved: u64,
    stopped: Option<String>,
    counts: std::collections::BTreeMap<&'static str, usize>,
    customers: &'a [CustomerRow],
}

/// Writes the report for `outcome` at `path`.
pub fn write(outcome: &RunOutcome, path: &Path) -> Result<(), ExecReportError> {
    let render = |source: std::io::Error| ExecReportError::Render {
        path: path.display().to_string(),
        source,
    };
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let bytes = match ext.as_str() {
        "md" => markdown(outcome).into_bytes(),
        "json" => {
            let report = JsonReport {
                report: "cspmove.apply-report/v1",
                generated_by: crate::GENERATED_BY,
                correlation_id: outcome.correlation_id.to_string(),
                requests: outcome.requests,
                retries: outcome.retries,
                throttled: outcome.throttled,
                elapsed_seconds: outcome.elapsed.as_secs_f64(),
                orders_placed: outcome.orders_placed,
                users_moved: outcome.users_moved,
                stopped: outcome.stopped.as_ref().map(StopReason::text),
                counts: status::counts(&outcome.rows)
                    .into_iter()
                    .map(|(s, n)| (s.as_str(), n))
                    .collect(),
                customers: &outcome.rows,
            };
            let mut v = serde_json::to_vec_pretty(&report).map_err(|e| render(e.into()))?;
            v.push(b'\n');
            v
        }
        "csv" => csv_bytes(&outcome.rows).map_err(render)?,
        _ => {
            return Err(ExecReportError::UnknownFormat {
                path: path.display().to_string(),
            });
        }
    };
    Ok(write_atomic(path, &bytes)?)
}

/// Checks report paths before the run starts, so a typo does not cost a run.
pub fn check_path(path: &Path) -> Result<(), ExecReportError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "md" | "json" | "csv" => Ok(()),
        _ => Err(ExecReportError::UnknownFormat {
            path: path.display().to_string(),
        }),
    }
}

fn csv_bytes(rows: &[CustomerRow]) -> std::io::Result<Vec<u8>> {
    // UTF-8 with a BOM, so Excel shows Korean and Japanese names as they are.
    let mut w = csv::Writer::from_writer(super::invitations::UTF8_BOM.to_vec());
    w.write_record([
        "customer",
        "customer_id",
        "name",
        "status",
        "done_this_run",
        "next_step",
        "next_date",
        "waiting_on",
        "lines",
        "lines_provisioned",
        "users_moved",
        "moved_users",
        "error_status",
        "error_code",
        "error_description",
        "request_id",
        "hint",
    ])?;
    for r in rows {
        let e = r.error.as_ref();
        w.write_record([
            neutralise(&r.key),
            neutralise(r.customer_id.as_deref().unwrap_or("")),
            neutralise(r.name.as_deref().unwrap_or("")),
            r.status.as_str().to_string(),
            neutralise(&r.done_this_run.join("; ")),
            neutralise(&r.next_step),
            r.next_date.map(|d| d.to_string()).unwrap_or_default(),
            serde_json::to_value(r.waiting_on)?
                .as_str()
                .unwrap_or_default()
                .to_string(),
            r.lines.to_string(),
            r.lines_provisioned.to_string(),
            r.users_moved.to_string(),
            neutralise(&r.moved_users.join("; ")),
            e.and_then(|e| e.status)
                .map(|s| s.to_string())
                .unwrap_or_default(),
            e.and_then(|e| e.code.clone()).unwrap_or_default(),
            neutralise(e.map(|e| e.description.as_str()).unwrap_or("")),
            e.and_then(|e| e.request_id.clone()).unwrap_or_default(),
            e.map(|e| e.hint.clone()).unwrap_or_default(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error())
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn markdown(o: &RunOutcome) -> String {
    let mut s = String::new();
    s.push_str("# cspmove apply: execution report\n\n");
    s.push_str(&format!(
        "- {} customers; {}\n- orders placed: {}; users moved: {}\n- API requests: {} ({} retries, {} throttled) in {:.1} s\n- correlation ID: `{}`\n",
        o.rows.len(),
        status::counts(&o.rows)
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(st, n)| format!("{} {n}", st.as_str()))
            .collect::<Vec<_>>()
            .join(", "),
        o.orders_placed,
        o.users_moved,
        o.requests,
        o.retries,
        o.throttled,
        o.elapsed.as_secs_f64(),
        o.correlation_id
    ));
    if let Some(stop) = &o.stopped {
        s.push_str(&format!(
            "- **run stopped early:** {}\n",
            md_cell(&stop.text())
        ));
    }
    if let Some((path, n)) = &o.invitations {
        s.push_str(&format!(
            "- {n} invitations to send: `{}`\n",
            path.display()
        ));
    }
    let failed: Vec<&CustomerRow> = o.rows.iter().filter(|r| r.error.is_some()).collect();
    if !failed.is_empty() {
        s.push_str("\n## Failed\n\n| customer | call | HTTP | code | description | request ID | what to do |\n|---|---|---|---|---|---|---|\n");
        for r in failed {
            let e = r.error.as_ref().expect("filtered");
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                md_cell(&r.key),
                md_cell(&e.call),
                e.status.map(|x| x.to_string()).unwrap_or_default(),
                e.code.clone().unwrap_or_default(),
                md_cell(&e.description),
                e.request_id.clone().unwrap_or_default(),
                md_cell(&e.hint)
            ));
        }
    }
    let moved: Vec<&CustomerRow> = o
        .rows
        .iter()
        .filter(|r| !r.moved_users.is_empty())
        .collect();
    if !moved.is_empty() {
        s.push_str("\n## Licences moved\n\n| customer | users moved to the new SKU |\n|---|---|\n");
        for r in moved {
            s.push_str(&format!(
                "| {} | {} |\n",
                md_cell(&r.key),
                md_cell(&r.moved_users.join(", "))
            ));
        }
    }
    s.push_str("\n## Customers\n\n| customer | name | status | done this run | next step | date |\n|---|---|---|---|---|---|\n");
    for r in &o.rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            md_cell(&r.key),
            md_cell(r.name.as_deref().unwrap_or("")),
            r.status.as_str(),
            md_cell(&r.done_this_run.join("; ")),
            md_cell(&r.next_step),
            r.next_date.map(|d| d.to_string()).unwrap_or_default()
        ));
    }
    s
}
