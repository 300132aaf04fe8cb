//! The plan's counts (`plan.summary`) and the summary `cspmove plan` prints.
//!
//! Counts are per line: `warnings` says how many lines carry each code, `waves` how
//! many lines are provisioned in each month. The planner counts them from the decided
//! lines before any customer is built ([`count_decisions`]); [`summarize`] counts the
//! same from built customers, which the tests use to check the two agree. Both count in
//! parallel (fold and reduce into `BTreeMap`s, so the result does not depend on how the
//! work was split). The printed summary is short text in English, Korean or Japanese
//! (labels from [`crate::i18n`], `plan_summary.*` keys; warning codes stay as codes, since
//! they are what the plan file and reports carry), or the same counts as JSON. Labels
//! are padded by display width, so the numbers line up in a terminal whatever the
//! language: a Hangul or kana character takes two columns.

use std::collections::BTreeMap;
use std::io::{self, Write};

use rayon::prelude::*;
use serde::Serialize;

use chrono::{Datelike, NaiveDate};
use unicode_width::UnicodeWidthStr;

use crate::i18n::{Lang, texts};
use crate::model::{Customer, LicenseAction, Summary, WarningCode, WaveSummary};
use crate::plan::rules::{Decision, wave};

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
    same_license: u64,
    reassign: u64,
    warnings: [u64; WarningCode::ALL.len()],
    waves: BTreeMap<(i32, u32), WaveSummary>,
}

/// The line counts of the decided lines (in parallel). `customers` and `rejected_rows`
/// are left at 0 for the caller. Gives the counts [`summarize`] gives for the customers
/// built from these decisions.
pub fn count_decisions(decisions: &[Decision]) -> Summary {
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
            } else if d.same_license {
                c.same_license += 1;
                wave.same_license += 1;
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
            a.same_license += b.same_license;
            a.reassign += b.reassign;
            for (x, y) in a.warnings.iter_mut().zip(b.warnings) {
                *x += y;
            }
            for (k, w) in b.waves {
                let into = a.waves.entry(k).or_default();
                into.lines += w.lines;
                into.same_offer += w.same_offer;
                into.same_license += w.same_license;
                into.reassign += w.reassign;
            }
            a
        });
    Summary {
        lines: counts.lines,
        same_offer: counts.same_offer,
        same_license: counts.same_license,
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
            LicenseAction::None if line.same_offer => {
                s.same_offer += 1;
                wave.same_offer += 1;
            }
            LicenseAction::None => {
                s.same_license += 1;
                wave.same_license += 1;
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
    a.same_license += b.same_license;
    a.reassign += b.reassign;
    for (code, n) in b.warnings {
        *a.warnings.entry(code).or_default() += n;
    }
    for (wave, w) in b.waves {
        let into = a.waves.entry(wave).or_default();
        into.lines += w.lines;
        into.same_offer += w.same_offer;
        into.same_license += w.same_license;
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

/// Writes the human summary: label, padding to the widest label's display width, count.
pub fn write_text(
    out: &mut impl Write,
    summary: &Summary,
    plan_file: PlanFile<'_>,
    lang: Lang,
) -> io::Result<()> {
    let t = texts(lang);
    let counted = [
        ("plan_summary.customers", summary.customers),
        ("plan_summary.lines", summary.lines),
        ("plan_summary.same_offer", summary.same_offer),
        ("plan_summary.same_license", summary.same_license),
        ("plan_summary.reassign", summary.reassign),
        ("plan_summary.rejected_rows", summary.rejected_rows),
        // A subscription listed again with the same values: one line, not rejected.
        ("plan_summary.repeated_rows", summary.repeated_rows),
    ];
    let width = counted
        .iter()
        .map(|(key, _)| t.get(key).width())
        .max()
        .unwrap_or(0);
    for (key, n) in counted {
        if key == "plan_summary.repeated_rows" && n == 0 {
            continue;
        }
        let label = t.get(key);
        let pad = width - label.width();
        writeln!(out, "{label}{:pad$}  {n:>9}", "")?;
    }
    if !summary.warnings.is_empty() {
        writeln!(out, "{}:", t.get("plan_summary.warnings"))?;
        // 24 columns fit the older codes; a longer one widens the column for all.
        let code_width = summary
            .warnings
            .keys()
            .map(|c| c.as_str().len() + 1)
            .max()
            .unwrap_or(0)
            .max(24);
        for (code, n) in &summary.warnings {
            writeln!(out, "  {:<code_width$}{n:>9}", code.as_str())?;
        }
    }
    if !summary.waves.is_empty() {
        writeln!(out, "{}:", t.get("plan_summary.waves"))?;
        for (wave, w) in &summary.waves {
            writeln!(
                out,
                "  {wave}  {:>9} / {:>9} / {:>9} / {:>9}",
                w.lines, w.same_offer, w.same_license, w.reassign
            )?;
        }
    }
    match plan_file {
        PlanFile::Written(path) => {
            writeln!(out, "{}: {path}", t.get("plan_summary.plan_file"))?;
            if summary.rejected_rows > 0 {
                writeln!(out, "{} {path}", t.get("plan_summary.rejected_pointer"))?;
            }
        }
        PlanFile::NotWrittenStrict => writeln!(out, "{}", t.get("plan_summary.not_written"))?,
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
    same_license: u64,
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
        same_license: summary.same_license,
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
            lines: 4,
            same_offer: 2,
            same_license: 1,
            reassign: 1,
            rejected_rows: 1,
            ..Summary::default()
        };
        s.warnings.insert(WarningCode::Expired, 1);
        s.waves.insert(
            "2026-11".into(),
            WaveSummary {
                lines: 4,
                same_offer: 2,
                same_license: 1,
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
             lines                  4\n\
             same offer             2\n\
             same licence           1\n\
             reassign               1\n\
             rejected rows          1\n\
             warnings (lines):\n  EXPIRED                         1\n\
             moves per wave (lines / same offer / same licence / reassign):\n  2026-11          4 /         2 /         1 /         1\n\
             plan written to: p.json\n\
             rejected rows are listed under \"rejected\" in p.json\n"
        );
    }

    /// Hangul and kana take two terminal columns each: the counts line up by display
    /// width, not by character count.
    #[test]
    fn korean_and_japanese_counts_line_up_by_display_width() {
        for lang in [Lang::Ko, Lang::Ja] {
            let mut out = Vec::new();
            write_text(&mut out, &sample(), PlanFile::Written("p.json"), lang).unwrap();
            let text = String::from_utf8(out).unwrap();
            let widths: Vec<usize> = text.lines().take(6).map(|l| l.width()).collect();
            assert!(
                widths.iter().all(|w| *w == widths[0]),
                "{lang:?}: {widths:?}\n{text}"
            );
        }
        let mut out = Vec::new();
        write_text(&mut out, &sample(), PlanFile::Written("p.json"), Lang::Ko).unwrap();
        let text = String::from_utf8(out).unwrap();
        // 라이선스 재할당 is the widest label: 15 columns; 고객 takes 4.
        let first = text.lines().next().unwrap();
        assert_eq!(first, format!("고객{}{:>9}", " ".repeat(11 + 2), 2));
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
        assert_eq!(v["same_license"], 1);
        assert_eq!(v["waves"]["2026-11"]["same_license"], 1);
    }
}
