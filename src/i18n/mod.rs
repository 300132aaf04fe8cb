//! Every human text cspmove prints or writes, in English, Korean and Japanese: report
//! headings and labels, task descriptions, warnings, rejection messages and the summary
//! `cspmove plan` prints, and `apply`'s texts: the execution report and what a run did
//! for each customer, the `note` of invitations.csv, the `status` table and next steps,
//! the `doctor` table and its checks' details, the `--dry-run` listing and the summary
//! `apply` prints (keys `exec_report.*`, `done.*`, `invitation_csv.*`, `apply_status.*`,
//! `next_step.*`, `doctor.*`, `preflight.*`, `dry_run.*`, `apply_summary.*`), and the
//! reasons a customer is blocked or a line cannot be bought (`reason.*`,
//! `reason_hint.*`, recorded as data in the journal by `apply::reason`).
//!
//! The texts live in data files, one per language (`src/i18n/en.json`, `ko.json`,
//! `ja.json`), compiled into the binary with `include_str!` and parsed once. This module
//! sits just above [`crate::model`] and uses nothing else of the crate, so `plan`,
//! `report` and `apply` can all take their words from here. The texts use Partner
//! Center's own Korean and Japanese terms (재판매인 관계 요청 / 再販業者関係の要求, 구독 /
//! サブスクリプション, 프로비전 / プロビジョニング) so that a reader can find the same words
//! in the portal. Date and number formats are data too (`format.*` keys), so a language is
//! one file. A key missing from a language falls back to English and then to the key
//! itself; tests make sure that never happens (every key in every language, and every
//! key literal in `src/` present in `en.json`).

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::NaiveDate;

use crate::model::{LicenseAction, RejectCode, Relationship, TaskKind, WarningCode};

/// Language of headings, labels and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    Ko,
    Ja,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Ko, Lang::Ja];

    /// The language code as `--lang` and HTML's `lang` attribute spell it.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
            Lang::Ja => "ja",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }
}

const SOURCES: [(Lang, &str); 3] = [
    (Lang::En, include_str!("en.json")),
    (Lang::Ko, include_str!("ko.json")),
    (Lang::Ja, include_str!("ja.json")),
];

/// Every task kind, for the completeness test; `task_key` matches exhaustively so a new
/// kind cannot be added without a key.
pub const TASK_KINDS: [TaskKind; 5] = [
    TaskKind::RequestRelationship,
    TaskKind::Provision,
    TaskKind::DisableAutoRenew,
    TaskKind::ReassignLicenses,
    TaskKind::LetExpire,
];

/// The texts of one language.
#[derive(Debug)]
pub struct Texts {
    lang: Lang,
    map: HashMap<String, String>,
    /// `format.date`, parsed once: formatting a date is the most frequent call.
    date_items: Vec<chrono::format::Item<'static>>,
}

/// The parsed translation files, in `Lang::ALL` order.
fn all() -> &'static [Texts; 3] {
    static TEXTS: OnceLock<[Texts; 3]> = OnceLock::new();
    TEXTS.get_or_init(|| {
        SOURCES.map(|(lang, source)| {
            // The files are part of the binary and checked by tests; a broken one is a
            // build mistake, not a user error.
            let map: HashMap<String, String> = serde_json::from_str(source)
                .unwrap_or_else(|e| panic!("src/i18n/{}.json is not valid: {e}", lang.code()));
            let pattern = map.get("format.date").map_or("%Y-%m-%d", String::as_str);
            let date_items = chrono::format::StrftimeItems::new(pattern)
                .parse_to_owned()
                .unwrap_or_else(|e| panic!("src/i18n/{}.json: format.date: {e}", lang.code()));
            Texts {
                lang,
                map,
                date_items,
            }
        })
    })
}

/// The texts of `lang`.
pub fn texts(lang: Lang) -> &'static Texts {
    &all()[Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0)]
}

impl Texts {
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Every key of this language (for tests and tools).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    /// The text for `key`.
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        if let Some(text) = self.map.get(key) {
            return text;
        }
        if self.lang != Lang::En
            && let Some(text) = texts(Lang::En).map.get(key)
        {
            return text;
        }
        key
    }

    /// The text for `key` with `{name}` placeholders filled in.
    pub fn fill(&self, key: &str, values: &[(&str, &str)]) -> String {
        // One pass over the template, so a value that itself contains `{row}` is never
        // substituted again.
        let template = self.get(key);
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let found = after.find('}').and_then(|end| {
                let name = &after[..end];
                values
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (end, *v))
            });
            match found {
                Some((end, value)) => {
                    out.push_str(value);
                    rest = &after[end + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    pub fn date(&self, date: NaiveDate) -> String {
        date.format_with_items(self.date_items.iter()).to_string()
    }

    pub fn opt_date(&self, date: Option<NaiveDate>) -> String {
        date.map(|d| self.date(d)).unwrap_or_default()
    }

    /// The Excel number format for date cells.
    pub fn xlsx_date_format(&self) -> &str {
        self.get("format.xlsx_date")
    }

    /// A whole number with thousands separators (`12,345`).
    pub fn number(&self, n: u64) -> String {
        let digits = n.to_string();
        let sep = self.get("format.thousands");
        let mut out = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(sep);
            }
            out.push(ch);
        }
        out
    }

    pub fn yes_no(&self, value: Option<bool>) -> &str {
        match value {
            Some(true) => self.get("value.yes"),
            Some(false) => self.get("value.no"),
            None => "",
        }
    }

    pub fn warning(&self, code: WarningCode) -> &str {
        self.get(warning_key(code))
    }

    pub fn task(&self, kind: TaskKind) -> &str {
        self.get(task_key(kind))
    }

    /// The sentence that says what to do for a task, naming its rows.
    pub fn task_description(&self, kind: TaskKind, rows: &str) -> String {
        self.fill(task_description_key(kind), &[("rows", rows)])
    }

    pub fn license_action(&self, action: LicenseAction) -> &str {
        self.get(match action {
            LicenseAction::None => "value.license_action.none",
            LicenseAction::Reassign => "value.license_action.reassign",
        })
    }

    pub fn relationship(&self, relationship: Relationship) -> &str {
        self.get(match relationship {
            Relationship::Request => "value.relationship.request",
            Relationship::Accepted => "value.relationship.accepted",
        })
    }

    /// The rejection message in this language, built from its code; the plan's English
    /// `message` is not reused because it cannot be translated.
    pub fn rejection(
        &self,
        code: RejectCode,
        row: u64,
        column: Option<&str>,
        value: Option<&str>,
    ) -> String {
        self.fill(
            reject_key(code),
            &[
                ("row", &row.to_string()),
                ("column", column.unwrap_or("")),
                ("value", value.unwrap_or("")),
            ],
        )
    }
}

/// The width of `text` in terminal columns (a Hangul syllable or a kanji takes two), so
/// text tables line up in every language.
pub fn display_width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// `text` padded with spaces to `width` terminal columns (never cut).
pub fn pad(text: &str, width: usize) -> String {
    let mut out = text.to_string();
    out.extend(std::iter::repeat_n(
        ' ',
        width.saturating_sub(display_width(text)),
    ));
    out
}

pub fn warning_key(code: WarningCode) -> &'static str {
    match code {
        WarningCode::NoExpiry => "warning.NO_EXPIRY",
        WarningCode::Expired => "warning.EXPIRED",
        WarningCode::ExpiresSoon => "warning.EXPIRES_SOON",
        WarningCode::AutoRenewOn => "warning.AUTO_RENEW_ON",
        WarningCode::OfferNotInCatalog => "warning.OFFER_NOT_IN_CATALOG",
        WarningCode::QuantityOutOfRange => "warning.QUANTITY_OUT_OF_RANGE",
        WarningCode::AssignedExceedsSeats => "warning.ASSIGNED_EXCEEDS_SEATS",
        WarningCode::ConflictingCustomer => "warning.CONFLICTING_CUSTOMER",
        WarningCode::InvalidCustomerId => "warning.INVALID_CUSTOMER_ID",
        WarningCode::NoNewCommerceOffer => "warning.NO_NEW_COMMERCE_OFFER",
        WarningCode::SkuUnknown => "warning.SKU_UNKNOWN",
        WarningCode::TargetSeatsBelowAssigned => "warning.TARGET_SEATS_BELOW_ASSIGNED",
        WarningCode::SharedLicensePool => "warning.SHARED_LICENSE_POOL",
        WarningCode::AmbiguousProduct => "warning.AMBIGUOUS_PRODUCT",
    }
}

pub fn reject_key(code: RejectCode) -> &'static str {
    match code {
        RejectCode::MissingCustomer => "reject.MISSING_CUSTOMER",
        RejectCode::MissingOffer => "reject.MISSING_OFFER",
        RejectCode::InvalidSeats => "reject.INVALID_SEATS",
        RejectCode::InvalidAssigned => "reject.INVALID_ASSIGNED",
        RejectCode::InvalidTargetSeats => "reject.INVALID_TARGET_SEATS",
        RejectCode::InvalidDate => "reject.INVALID_DATE",
        RejectCode::AmbiguousDate => "reject.AMBIGUOUS_DATE",
        RejectCode::InvalidBoolean => "reject.INVALID_BOOLEAN",
        RejectCode::InvalidEncoding => "reject.INVALID_ENCODING",
        RejectCode::DuplicateRow => "reject.DUPLICATE_ROW",
        RejectCode::ConflictingSubscription => "reject.CONFLICTING_SUBSCRIPTION",
        RejectCode::InvalidTerm => "reject.INVALID_TERM",
        RejectCode::InvalidBilling => "reject.INVALID_BILLING",
    }
}

pub fn task_key(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::RequestRelationship => "task.request_relationship",
        TaskKind::Provision => "task.provision",
        TaskKind::DisableAutoRenew => "task.disable_auto_renew",
        TaskKind::ReassignLicenses => "task.reassign_licenses",
        TaskKind::LetExpire => "task.let_expire",
    }
}

/// `key`, or its singular form `key_one` when `count` is 1 (English inflects; the Korean
/// and Japanese `_one` texts read as the others). Each pair is named in full, so the
/// key-literal test sees both.
pub fn one_or_many(key: &'static str, count: u64) -> &'static str {
    if count != 1 {
        return key;
    }
    match key {
        "dry_run.pool_nobody_left" => "dry_run.pool_nobody_left_one",
        "dry_run.pool_moves" => "dry_run.pool_moves_one",
        "dry_run.pool_moves_later" => "dry_run.pool_moves_later_one",
        "dry_run.pool_fewer" => "dry_run.pool_fewer_one",
        "dry_run.pool_skipped" => "dry_run.pool_skipped_one",
        "dry_run.pool_once_short" => "dry_run.pool_once_short_one",
        "dry_run.reassign" => "dry_run.reassign_one",
        "dry_run.summary_customers" => "dry_run.summary_customers_one",
        "dry_run.summary_calls" => "dry_run.summary_calls_one",
        "reason.seats" => "reason.seats_one",
        "reason.more_seats" => "reason.more_seats_one",
        "reason.users" => "reason.users_one",
        _ => key,
    }
}

pub fn task_description_key(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::RequestRelationship => "task_desc.request_relationship",
        TaskKind::Provision => "task_desc.provision",
        TaskKind::DisableAutoRenew => "task_desc.disable_auto_renew",
        TaskKind::ReassignLicenses => "task_desc.reassign_licenses",
        TaskKind::LetExpire => "task_desc.let_expire",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn placeholders(text: &str) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            let after = &rest[start + 1..];
            match after.find('}') {
                Some(end) => {
                    names.insert(after[..end].to_string());
                    rest = &after[end + 1..];
                }
                None => break,
            }
        }
        names
    }

    #[test]
    fn every_key_exists_in_every_language_with_the_same_placeholders() {
        let en = texts(Lang::En);
        for lang in Lang::ALL {
            let other = texts(lang);
            let en_keys: BTreeSet<&str> = en.keys().collect();
            let keys: BTreeSet<&str> = other.keys().collect();
            assert_eq!(
                en_keys.difference(&keys).collect::<Vec<_>>(),
                Vec::<&&str>::new(),
                "keys missing from {}.json",
                lang.code()
            );
            assert_eq!(
                keys.difference(&en_keys).collect::<Vec<_>>(),
                Vec::<&&str>::new(),
                "keys in {}.json that en.json lacks",
                lang.code()
            );
            for key in en_keys {
                if key.starts_with("format.") {
                    continue;
                }
                assert_eq!(
                    placeholders(en.get(key)),
                    placeholders(other.get(key)),
                    "placeholders of {key} differ in {}.json",
                    lang.code()
                );
                assert!(!other.get(key).trim().is_empty(), "{key} is empty");
            }
        }
    }

    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// serde keeps the last of two equal keys, so a key added twice (once for the
    /// reports, once for the printed summary) would silently change a text.
    #[test]
    fn no_key_is_defined_twice() {
        for (lang, source) in SOURCES {
            let mut keys = BTreeSet::new();
            for line in source.lines() {
                let Some(rest) = line.trim_start().strip_prefix('"') else {
                    continue;
                };
                if let Some((key, _)) = rest.split_once("\":") {
                    assert!(keys.insert(key), "{key} twice in {}.json", lang.code());
                }
            }
            assert_eq!(keys.len(), texts(lang).map.len(), "{}.json", lang.code());
        }
    }

    /// A key that code asks for but no file has would show as the key itself
    /// (`summary.customers`) in every language: every string literal in `src/` that
    /// looks like a key (one of en.json's prefixes, a dot, a name) must be in en.json,
    /// and so, by the test above, in ko.json and ja.json.
    #[test]
    fn every_key_literal_in_the_source_exists() {
        let en = texts(Lang::En);
        let prefixes: BTreeSet<&str> = en.keys().filter_map(|k| k.split('.').next()).collect();
        let mut files = Vec::new();
        rust_files(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let mut seen = 0;
        let mut missing = Vec::new();
        for file in files {
            let source = std::fs::read_to_string(&file).unwrap();
            for prefix in &prefixes {
                let opening = format!("\"{prefix}.");
                for (at, _) in source.match_indices(&opening) {
                    let rest = &source[at + 1..];
                    let end = rest
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                        .unwrap_or(rest.len());
                    if !rest[end..].starts_with('"') || rest[..end].ends_with('.') {
                        continue; // a format string or a prefix such as "col."
                    }
                    seen += 1;
                    if !en.map.contains_key(&rest[..end]) {
                        missing.push(format!("{}: {}", file.display(), &rest[..end]));
                    }
                }
            }
        }
        assert!(seen > 100, "the scan found only {seen} key literals");
        assert_eq!(missing, Vec::<String>::new());
    }

    #[test]
    fn every_warning_reject_and_task_code_has_a_text() {
        for lang in Lang::ALL {
            let t = texts(lang);
            let has = |key: &str| t.map.contains_key(key);
            for code in WarningCode::ALL {
                assert!(has(warning_key(code)), "{} {}", lang.code(), code.as_str());
                assert!(warning_key(code).ends_with(code.as_str()));
            }
            for code in RejectCode::ALL {
                assert!(has(reject_key(code)), "{} {}", lang.code(), code.as_str());
                assert!(reject_key(code).ends_with(code.as_str()));
            }
            for kind in TASK_KINDS {
                assert!(has(task_key(kind)), "{} {kind:?}", lang.code());
                assert!(has(task_description_key(kind)), "{} {kind:?}", lang.code());
            }
        }
    }

    #[test]
    fn partner_center_terms_are_used() {
        let ko = texts(Lang::Ko);
        let ja = texts(Lang::Ja);
        assert_eq!(ko.task(TaskKind::RequestRelationship), "재판매인 관계 요청");
        assert_eq!(ja.task(TaskKind::RequestRelationship), "再販業者関係の要求");
        assert!(ko.task(TaskKind::Provision).contains("구독"));
        assert!(ko.task(TaskKind::Provision).contains("프로비전"));
        assert!(ja.task(TaskKind::Provision).contains("サブスクリプション"));
        assert!(ja.task(TaskKind::Provision).contains("プロビジョニング"));
    }

    #[test]
    fn dates_and_numbers_follow_the_language() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        assert_eq!(texts(Lang::En).date(day), "2026-11-21");
        assert_eq!(texts(Lang::Ko).date(day), "2026. 11. 21.");
        assert_eq!(texts(Lang::Ja).date(day), "2026/11/21");
        for lang in Lang::ALL {
            let t = texts(lang);
            assert_eq!(t.number(0), "0");
            assert_eq!(t.number(999), "999");
            assert_eq!(t.number(1000), "1,000");
            assert_eq!(t.number(1_234_567), "1,234,567");
        }
    }

    /// The HTML tables sort date columns as text, so every language's date format must
    /// sort in date order.
    #[test]
    fn formatted_dates_sort_in_date_order() {
        let days: Vec<NaiveDate> = [
            (2026, 1, 5),
            (2026, 1, 20),
            (2026, 9, 30),
            (2026, 10, 1),
            (2027, 2, 3),
        ]
        .iter()
        .map(|(y, m, d)| NaiveDate::from_ymd_opt(*y, *m, *d).unwrap())
        .collect();
        for lang in Lang::ALL {
            let shown: Vec<String> = days.iter().map(|d| texts(lang).date(*d)).collect();
            let mut sorted = shown.clone();
            sorted.sort();
            assert_eq!(shown, sorted, "{}", lang.code());
        }
    }

    #[test]
    fn rejection_messages_name_row_column_and_value() {
        let msg = texts(Lang::Ko).rejection(RejectCode::InvalidSeats, 9, Some("수량"), Some("-3"));
        assert_eq!(
            msg,
            "9행, \"수량\" 열: \"-3\"은(는) 0보다 큰 정수가 아닙니다"
        );
        let msg =
            texts(Lang::Ja).rejection(RejectCode::InvalidDate, 12, Some("有効期限"), Some("x"));
        assert_eq!(msg, "12 行目、列「有効期限」: 「x」は日付ではありません");
    }
}
