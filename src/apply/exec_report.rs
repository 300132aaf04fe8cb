//! The execution report of one `apply` run: per customer what was done, what waits for
//! whom (customer acceptance, a due date, new seats, the customer letting the original
//! expire) and what failed and why. `.md` for a ticket, `.json` for scripts, `.csv` for a
//! spreadsheet; the format follows the extension.
//!
//! Reports are built from [`CustomerRow`]s and run counters only, so a secret cannot reach
//! them: errors carry Partner Center's code, description and request ID, never headers.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::StopReason;
use super::run::RunOutcome;
use super::status::{self, CustomerRow};
use crate::fsx::{Durability, write_atomic_with};
use crate::i18n::{Lang, Texts, texts};

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

/// Writes the report for `outcome` at `path`. The `.md` report's words follow `lang`;
/// the `.json` and `.csv` reports are for scripts and spreadsheets: their field names
/// and status codes are fixed (DESIGN §8), and their `next_step` and `done_this_run` are
/// English in `.json` and in `lang` in `.csv`.
pub fn write(outcome: &RunOutcome, path: &Path, lang: Lang) -> Result<(), ExecReportError> {
    let t = texts(lang);
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    // Each report streams into its temporary file (a report of a few hundred thousand
    // customers is not built in memory first), which then replaces the target.
    let stream = |render: &dyn Fn(&mut dyn Write) -> std::io::Result<()>| {
        write_atomic_with(path, Durability::Fsync, |file| {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
            render(&mut out)?;
            out.flush()
        })
    };
    match ext.as_str() {
        "md" => stream(&|out| out.write_all(markdown(outcome, t).as_bytes()))?,
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
            stream(&|out| {
                serde_json::to_writer_pretty(&mut *out, &report)?;
                out.write_all(b"\n")
            })?
        }
        "csv" => stream(&|out| csv_write(out, &outcome.rows, t))?,
        _ => {
            return Err(ExecReportError::UnknownFormat {
                path: path.display().to_string(),
            });
        }
    }
    Ok(())
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

fn csv_write(out: &mut dyn Write, rows: &[CustomerRow], t: &Texts) -> std::io::Result<()> {
    // UTF-8 with a BOM, so Excel shows Korean and Japanese names as they are.
    out.write_all(super::invitations::UTF8_BOM)?;
    let mut w = csv::Writer::from_writer(out);
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
            neutralise(&done_text(r, t)),
            neutralise(&r.next.text(t)),
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
            neutralise(&e.map(|e| e.description_in(t)).unwrap_or_default()),
            e.and_then(|e| e.request_id.clone()).unwrap_or_default(),
            neutralise(&e.map(|e| e.hint_in(t)).unwrap_or_default()),
        ])?;
    }
    w.flush()
}

/// What the run did for `r`, in the language of `t`.
fn done_text(r: &CustomerRow, t: &Texts) -> String {
    r.done_this_run
        .iter()
        .map(|d| d.text(t))
        .collect::<Vec<_>>()
        .join("; ")
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn markdown(o: &RunOutcome, t: &Texts) -> String {
    let n = |v: u64| t.number(v);
    let col = |key: &str| md_cell(t.get(key));
    let mut s = String::new();
    s.push_str(&format!("# {}\n\n", t.get("exec_report.title")));
    let bullets = [
        t.fill(
            "exec_report.customers",
            &[
                ("count", &n(o.rows.len() as u64)),
                ("statuses", &status::status_counts(&o.rows, t)),
            ],
        ),
        t.fill(
            "exec_report.orders",
            &[
                ("orders", &n(o.orders_placed)),
                ("users", &n(o.users_moved)),
            ],
        ),
        t.fill(
            "exec_report.requests",
            &[
                ("requests", &n(o.requests)),
                ("retries", &n(o.retries)),
                ("throttled", &n(o.throttled)),
                ("seconds", &format!("{:.1}", o.elapsed.as_secs_f64())),
            ],
        ),
        t.fill(
            "exec_report.correlation_id",
            &[("id", &format!("`{}`", o.correlation_id))],
        ),
    ];
    for b in bullets {
        s.push_str(&format!("- {b}\n"));
    }
    if let Some(stop) = &o.stopped {
        s.push_str(&format!(
            "- **{}** {}\n",
            t.get("exec_report.stopped"),
            md_cell(&stop.text())
        ));
    }
    if let Some((path, count)) = &o.invitations {
        s.push_str(&format!(
            "- {}\n",
            t.fill(
                "exec_report.invitations",
                &[
                    ("count", &n(*count as u64)),
                    ("path", &format!("`{}`", path.display())),
                ],
            )
        ));
    }
    let failed: Vec<&CustomerRow> = o.rows.iter().filter(|r| r.error.is_some()).collect();
    if !failed.is_empty() {
        s.push_str(&format!(
            "\n## {}\n\n| {} | {} | {} | {} | {} | {} | {} |\n|---|---|---|---|---|---|---|\n",
            t.get("exec_report.heading.failed"),
            col("exec_report.col.customer"),
            col("exec_report.col.call"),
            col("exec_report.col.http"),
            col("exec_report.col.code"),
            col("exec_report.col.description"),
            col("exec_report.col.request_id"),
            col("exec_report.col.what_to_do"),
        ));
        for r in failed {
            let e = r.error.as_ref().expect("filtered");
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                md_cell(&r.key),
                md_cell(&e.call),
                e.status.map(|x| x.to_string()).unwrap_or_default(),
                e.code.clone().unwrap_or_default(),
                md_cell(&e.description_in(t)),
                e.request_id.clone().unwrap_or_default(),
                md_cell(&e.hint_in(t))
            ));
        }
    }
    let moved: Vec<&CustomerRow> = o
        .rows
        .iter()
        .filter(|r| !r.moved_users.is_empty())
        .collect();
    if !moved.is_empty() {
        s.push_str(&format!(
            "\n## {}\n\n| {} | {} |\n|---|---|\n",
            t.get("exec_report.heading.moved"),
            col("exec_report.col.customer"),
            col("exec_report.col.users_moved"),
        ));
        for r in moved {
            s.push_str(&format!(
                "| {} | {} |\n",
                md_cell(&r.key),
                md_cell(&r.moved_users.join(", "))
            ));
        }
    }
    s.push_str(&format!(
        "\n## {}\n\n| {} | {} | {} | {} | {} | {} |\n|---|---|---|---|---|---|\n",
        t.get("exec_report.heading.customers"),
        col("exec_report.col.customer"),
        col("exec_report.col.name"),
        col("exec_report.col.status"),
        col("exec_report.col.done_this_run"),
        col("exec_report.col.next_step"),
        col("exec_report.col.date"),
    ));
    for r in &o.rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            md_cell(&r.key),
            md_cell(r.name.as_deref().unwrap_or("")),
            md_cell(r.status.label(t)),
            md_cell(&done_text(r, t)),
            md_cell(&r.next.text(t)),
            r.next_date.map(|d| t.date(d)).unwrap_or_default()
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::client::{ApiError, ErrorKind};
    use crate::apply::testplan::plan_with;

    fn outcome() -> RunOutcome {
        let plan = plan_with(2, 0, 0);
        let mut rows = status::rows(&plan, &[], plan.as_of, &[]);
        rows[0].error = Some(
            (&ApiError {
                kind: ErrorKind::Refused,
                ambiguous: false,
                call: "POST /v1/customers/x/carts".into(),
                status: Some(400),
                code: Some("800004".into()),
                description: "offer unknown".into(),
                request_id: Some("r-9".into()),
                hint: "check the offer".into(),
            })
                .into(),
        );
        RunOutcome {
            rows,
            requests: 1234,
            retries: 2,
            throttled: 1,
            elapsed: std::time::Duration::from_millis(2500),
            orders_placed: 0,
            users_moved: 0,
            customers_failed: 1,
            stopped: Some(StopReason::MaxFailures { failed: 1, max: 1 }),
            invitations: Some(("invitations.csv".into(), 2)),
            correlation_id: uuid::Uuid::nil(),
        }
    }

    #[test]
    fn the_markdown_report_follows_the_language() {
        let o = outcome();
        let en = markdown(&o, texts(Lang::En));
        assert!(
            en.starts_with(
                "# cspmove apply: execution report\n\n- 2 customers; awaiting_acceptance 2\n"
            ),
            "{en}"
        );
        assert!(
            en.contains("- API requests: 1,234 (2 retries, 1 throttled) in 2.5 s\n"),
            "{en}"
        );
        assert!(
            en.contains(
                "- **run stopped early:** stopped after 1 failed customers (--max-failures 1)\n"
            ),
            "{en}"
        );
        assert!(
            en.contains("- 2 invitations to send: `invitations.csv`\n"),
            "{en}"
        );
        assert!(en.contains("\n## Failed\n\n| customer | call | HTTP | code | description | request ID | what to do |\n"), "{en}");
        let ko = markdown(&o, texts(Lang::Ko));
        for words in [
            "# cspmove apply: 실행 보고서",
            "- 고객 2곳; 수락 대기 2",
            "- API 요청: 1,234건(재시도 2건, 제한 1건), 소요 시간 2.5초",
            "## 실패",
            "| 고객 | 호출 | HTTP | 코드 | 설명 | 요청 ID | 조치 방법 |",
            "고객이 재판매인 관계 요청을 수락해야 합니다",
            // What came from Partner Center stays as it came.
            "| offer unknown | r-9 | check the offer |",
        ] {
            assert!(ko.contains(words), "{words}\n{ko}");
        }
        let ja = markdown(&o, texts(Lang::Ja));
        for words in [
            "# cspmove apply: 実行レポート",
            "- 顧客 2 社; 承認待ち 2",
            "## 顧客",
            "| 顧客 | 名前 | 状態 | 今回の実行で行ったこと | 次の手順 | 日付 |",
        ] {
            assert!(ja.contains(words), "{words}\n{ja}");
        }
    }

    #[test]
    fn json_and_csv_keep_their_fixed_names_in_every_language() {
        let dir = tempfile::tempdir().unwrap();
        let o = outcome();
        let json = dir.path().join("r.json");
        write(&o, &json, Lang::Ja).unwrap();
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(doc["customers"][0]["status"], "awaiting_acceptance");
        assert!(
            doc["customers"][0]["next_step"]
                .as_str()
                .unwrap()
                .starts_with("customer accepts")
        );
        let csv = dir.path().join("r.csv");
        write(&o, &csv, Lang::Ko).unwrap();
        let text = std::fs::read_to_string(&csv).unwrap();
        assert!(
            text.starts_with("\u{feff}customer,customer_id,name,status,"),
            "{text}"
        );
        assert!(text.contains(",awaiting_acceptance,"), "{text}");
        assert!(
            text.contains("고객이 재판매인 관계 요청을 수락해야 합니다"),
            "{text}"
        );
    }

    #[test]
    fn what_the_run_did_is_said_in_the_report_language() {
        use crate::apply::status::{Done, Purchase};
        let mut o = outcome();
        o.rows[0].done_this_run = vec![
            Done::RelationshipAccepted,
            Done::Bought {
                how: Purchase::CheckedOut,
                lines: vec!["c1-l1".into(), "c1-l2".into()],
                order: "ord-7".into(),
                reconciled: false,
            },
            Done::MovedUsers(vec!["a@x.example".into(), "b@x.example".into()]),
        ];
        let en = markdown(&o, texts(Lang::En));
        assert!(
            en.contains(
                "| relationship accepted; checked out c1-l1, c1-l2 (order ord-7); moved 2 users to the new SKU: a@x.example, b@x.example |"
            ),
            "{en}"
        );
        let ko = markdown(&o, texts(Lang::Ko));
        assert!(
            ko.contains(
                "| 재판매인 관계 수락됨; c1-l1, c1-l2 체크아웃함(주문 ord-7); 사용자 2명을 새 SKU로 옮김: a@x.example, b@x.example |"
            ),
            "{ko}"
        );
        let ja = markdown(&o, texts(Lang::Ja));
        assert!(
            ja.contains(
                "| 再販業者関係の承認を確認; c1-l1, c1-l2 をチェックアウト (注文 ord-7); 2 人のユーザーを新しい SKU に移動: a@x.example, b@x.example |"
            ),
            "{ja}"
        );
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("r.csv");
        write(&o, &csv, Lang::Ja).unwrap();
        let text = std::fs::read_to_string(&csv).unwrap();
        assert!(
            text.contains("c1-l1, c1-l2 をチェックアウト (注文 ord-7)"),
            "{text}"
        );
        // JSON is for scripts: the English text, as before.
        let json = dir.path().join("r.json");
        write(&o, &json, Lang::Ko).unwrap();
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(
            doc["customers"][0]["done_this_run"][1],
            "checked out c1-l1, c1-l2 (order ord-7)"
        );
    }
}
