//! The plan's counts (`plan.summary`) and the summary `cspmove plan` prints.
//!
//! Counts are per line: `warnings` says how many lines carry each code, `waves` how
//! many lines are provisioned in each month. The planner counts them from the decided
//! lines before any customer is built ([`count_decisions`]); [`summarize`] counts the
//! same from built customers, which the tests use to check the two agree. Both count in
//! parallel (fold and reduce into `BTreeMap`s, so the result does not depend on how the
//! work was split). The printed summary is short text in English, Korean or Japanese
//! (labels from a small table here; warning codes stay as codes, since they are what
//! the plan file and reports carry), or the same counts as JSON.

use std::collections::BTreeMap;
use std::io::{self, Write};

use rayon::prelude::*;
use serde::Serialize;

use chrono::{Datelike, NaiveDate};

use crate::model::{Customer, LicenseAction, Summary, WarningCode, WaveSummary};
use crate::plan::rules::{Decision, wave};
use crate::report::Lang;

/// Counts lines, same-offer and reassign lines, warnings and waves.
pub fn summarize(customers: &[Customer], rejected_rows: u64) -> Summary {
    let mut summary = customers
        .par_iter()
        .fold(Summary::default, count_into)
        .reduce(Summary::default, merge);
    summary.customers = customers.len() as u64;
    summary.rejected_rows = rejected_rows;
    summary
}

/// Line counts in a form cheap to add up: waves by (year, month), warnings by code.
#[derive(Default)]
struct Counts {
    lines: u64,
    same_offer: u64,
    reassign: u64,
    warnings: [u64; WarningCode::ALL.len()],
    waves: BTreeMap<(i32, u32), WaveSummary>,
}

/// The line counts of the decided lines (in parallel). `customers` and `rejected_rows`
/// are left at 0 for the caller. Gives the counts [`summarize`] gives for the customers
/// built from these decisions.
pub fn count_decisions(decisions: &[Decision<'_>]) -> Summary {
    let counts = decisions
        .par_iter()
        .fold(Counts::default, |mut c, d| {
            c.lines += 1;
            let wave = c
                .waves
                .entry((d.provision_on.year(), d.provision_on.month()))
                .or_default();
            wave.lines += 1;
            if d.same_offer {
                c.same_offer += 1;
                wave.same_offer += 1;
            } else {
                c.reassign += 1;
                wave.reassign += 1;
            }
            for (i, code) in WarningCode::ALL.into_iter().enumerate() {
                c.warnings[i] += u64::from(d.warnings.contains(code));
            }
            c
        })
        .reduce(Counts::default, |mut a, b| {
            a.lines += b.lines;
            a.same_offer += b.same_offer;
            a.reassign += b.reassign;
            for (x, y) in a.warnings.iter_mut().zip(b.warnings) {
                *x += y;
            }
            for (k, w) in b.waves {
                let into = a.waves.entry(k).or_default();
                into.lines += w.lines;
                into.same_offer += w.same_offer;
                into.reassign += w.reassign;
            }
            a
        });
    Summary {
        lines: counts.lines,
        same_offer: counts.same_offer,
        reassign: counts.reassign,
        warnings: WarningCode::ALL
            .into_iter()
            .zip(counts.warnings)
            .filter(|&(_, n)| n > 0)
            .collect(),
        waves: counts
            .waves
            .into_iter()
            .map(|((y, m), w)| {
                let first = NaiveDate::from_ymd_opt(y, m, 1).expect("a real month");
                (wave(first), w)
            })
            .collect(),
        ..Summary::default()
    }
}

fn count_into(mut s: Summary, c: &Customer) -> Summary {
    for line in &c.lines {
        s.lines += 1;
        let wave = match s.waves.get_mut(&line.wave) {
            Some(w) => w,
            None => s.waves.entry(line.wave.clone()).or_default(),
        };
        wave.lines += 1;
        match line.license_action {
            LicenseAction::None => {
                s.same_offer += 1;
                wave.same_offer += 1;
            }
            LicenseAction::Reassign => {
                s.reassign += 1;
                wave.reassign += 1;
            }
        }
        for w in &line.warnings {
            *s.warnings.entry(*w).or_default() += 1;
        }
    }
    s
}

/// Adds the counts of `b` to `a` (`customers` and `rejected_rows` too).
pub fn merge(mut a: Summary, b: Summary) -> Summary {
    a.customers += b.customers;
    a.rejected_rows += b.rejected_rows;
    a.repeated_rows += b.repeated_rows;
    a.lines += b.lines;
    a.same_offer += b.same_offer;
    a.reassign += b.reassign;
    for (code, n) in b.warnings {
        *a.warnings.entry(code).or_default() += n;
    }
    for (wave, w) in b.waves {
        let into = a.waves.entry(wave).or_default();
        into.lines += w.lines;
        into.same_offer += w.same_offer;
        into.reassign += w.reassign;
    }
    a
}

/// Where the plan went, for the printed summary.
#[derive(Debug, Clone, Copy)]
pub enum PlanFile<'a> {
    Written(&'a str),
    /// `--strict` with rejected rows: nothing was written.
    NotWrittenStrict,
}

struct Labels {
    customers: &'static str,
    lines: &'static str,
    same_offer: &'static str,
    reassign: &'static str,
    rejected_rows: &'static str,
    repeated_rows: &'static str,
    warnings: &'static str,
    waves: &'static str,
    plan_file: &'static str,
    not_written: &'static str,
    rejected_pointer: &'static str,
}

fn labels(lang: Lang) -> &'static Labels {
    const EN: Labels = Labels {
        customers: "customers",
        lines: "lines",
        same_offer: "same offer",
        reassign: "reassign",
        rejected_rows: "rejected rows",
        repeated_rows: "repeated rows",
        warnings: "warnings (lines)",
        waves: "moves per wave (lines / same offer / reassign)",
        plan_file: "plan written to",
        not_written: "no plan written: rows were rejected and --strict is set",
        rejected_pointer: "rejected rows are listed under \"rejected\" in",
    };
    const KO: Labels = Labels {
        customers: "고객",
        lines: "이전 항목",
        same_offer: "동일 제품",
        reassign: "라이선스 재할당",
        rejected_rows: "거부된 행",
        repeated_rows: "반복된 행",
        warnings: "경고 (항목 수)",
        waves: "월별 이전 (항목 / 동일 제품 / 재할당)",
        plan_file: "계획 파일",
        not_written: "계획 파일을 쓰지 않음: 거부된 행이 있고 --strict가 지정됨",
        rejected_pointer: "거부된 행 목록: 다음 파일의 \"rejected\"",
    };
    const JA: Labels = Labels {
        customers: "顧客",
        lines: "移行明細",
        same_offer: "同一プラン",
        reassign: "ライセンス再割り当て",
        rejected_rows: "却下された行",
        repeated_rows: "繰り返しの行",
        warnings: "警告 (明細数)",
        waves: "月別の移行 (明細 / 同一プラン / 再割り当て)",
        plan_file: "計画ファイル",
        not_written: "計画ファイルは書き込まれていません: 却下された行があり --strict が指定されています",
        rejected_pointer: "却下された行の一覧: 次のファイルの \"rejected\"",
    };
    match lang {
        Lang::En => &EN,
        Lang::Ko => &KO,
        Lang::Ja => &JA,
    }
}

/// Writes the human summary. Label columns are padded by character count, which is
/// good enough for a terminal and keeps the text stable for scripts and tests.
pub fn write_text(
    out: &mut impl Write,
    summary: &Summary,
    plan_file: PlanFile<'_>,
    lang: Lang,
) -> io::Result<()> {
    let l = labels(lang);
    let width = [
        l.customers,
        l.lines,
        l.same_offer,
        l.reassign,
        l.rejected_rows,
        l.repeated_rows,
    ]
    .iter()
    .map(|s| s.chars().count())
    .max()
    .unwrap_or(0);
    let row = |out: &mut dyn Write, label: &str, n: u64| -> io::Result<()> {
        let pad = width - label.chars().count();
        writeln!(out, "{label}{:pad$}  {n:>9}", "")
    };
    row(out, l.customers, summary.customers)?;
    row(out, l.lines, summary.lines)?;
    row(out, l.same_offer, summary.same_offer)?;
    row(out, l.reassign, summary.reassign)?;
    row(out, l.rejected_rows, summary.rejected_rows)?;
    if summary.repeated_rows > 0 {
        // A subscription listed again with the same values (one line, not rejected).
        row(out, l.repeated_rows, summary.repeated_rows)?;
    }
    if !summary.warnings.is_empty() {
        writeln!(out, "{}:", l.warnings)?;
        for (code, n) in &summary.warnings {
            writeln!(out, "  {:<24}{n:>9}", code.as_str())?;
        }
    }
    if !summary.waves.is_empty() {
        writeln!(out, "{}:", l.waves)?;
        for (wave, w) in &summary.waves {
            writeln!(
                out,
                "  {wave}  {:>9} / {:>9} / {:>9}",
                w.lines, w.same_offer, w.reassign
            )?;
        }
    }
    match plan_file {
        PlanFile::Written(path) => {
            writeln!(out, "{}: {path}", l.plan_file)?;
            if summary.rejected_rows > 0 {
                writeln!(out, "{} {path}", l.rejected_pointer)?;
            }
        }
        PlanFile::NotWrittenStrict => writeln!(out, "{}", l.not_written)?,
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    /// The plan file written, or `null` when `--strict` kept it from being written.
    plan_file: Option<&'a str>,
    customers: u64,
    lines: u64,
    same_offer: u64,
    reassign: u64,
    rejected_rows: u64,
    #[serde(skip_serializing_if = "is_zero")]
    repeated_rows: u64,
    warnings: &'a BTreeMap<crate::model::WarningCode, u64>,
    waves: &'a BTreeMap<String, WaveSummary>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Writes the summary as one JSON object (the plan's `summary` plus `plan_file`).
pub fn write_json(
    out: &mut impl Write,
    summary: &Summary,
    plan_file: PlanFile<'_>,
) -> io::Result<()> {
    let json = JsonSummary {
        plan_file: match plan_file {
            PlanFile::Written(p) => Some(p),
            PlanFile::NotWrittenStrict => None,
        },
        customers: summary.customers,
        lines: summary.lines,
        same_offer: summary.same_offer,
        reassign: summary.reassign,
        rejected_rows: summary.rejected_rows,
        repeated_rows: summary.repeated_rows,
        warnings: &summary.warnings,
        waves: &summary.waves,
    };
    serde_json::to_writer_pretty(&mut *out, &json).map_err(io::Error::from)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WarningCode;

    fn sample() -> Summary {
        let mut s = Summary {
            customers: 2,
            lines: 3,
            same_offer: 2,
            reassign: 1,
            rejected_rows: 1,
            ..Summary::default()
        };
        s.warnings.insert(WarningCode::Expired, 1);
        s.waves.insert(
            "2026-11".into(),
            WaveSummary {
                lines: 3,
                same_offer: 2,
                reassign: 1,
            },
        );
        s
    }

    #[test]
    fn english_text() {
        let mut out = Vec::new();
        write_text(&mut out, &sample(), PlanFile::Written("p.json"), Lang::En).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "customers              2\n\
             lines                  3\n\
             same offer             2\n\
             reassign               1\n\
             rejected rows          1\n\
             warnings (lines):\n  EXPIRED                         1\n\
             moves per wave (lines / same offer / reassign):\n  2026-11          3 /         2 /         1\n\
             plan written to: p.json\n\
             rejected rows are listed under \"rejected\" in p.json\n"
        );
    }

    #[test]
    fn korean_and_japanese_labels() {
        let mut out = Vec::new();
        write_text(&mut out, &sample(), PlanFile::NotWrittenStrict, Lang::Ko).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("고객"), "{text}");
        assert!(text.contains("--strict"), "{text}");
        let mut out = Vec::new();
        write_text(&mut out, &sample(), PlanFile::Written("p.json"), Lang::Ja).unwrap();
        assert!(String::from_utf8(out).unwrap().contains("顧客"));
    }

    #[test]
    fn json_summary() {
        let mut out = Vec::new();
        write_json(&mut out, &sample(), PlanFile::Written("p.json")).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["plan_file"], "p.json");
        assert_eq!(v["customers"], 2);
        assert_eq!(v["warnings"]["EXPIRED"], 1);
        assert_eq!(v["waves"]["2026-11"]["reassign"], 1);
    }
}
