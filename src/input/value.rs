//! Cell values: trimming, NFKC, whole numbers, yes/no, reseller relationship, GUIDs.
//!
//! Every parser takes the cell text (Excel cells are turned into text first, see
//! `excel.rs`) and returns a typed value or a short English reason. The main decisions:
//! NFKC runs only on non-ASCII cells (the ASCII fast path keeps million-row files fast);
//! in whole numbers `,` (and a space) only groups thousands, in groups of three, and `.`
//! is always the decimal point, so `1,200` is 1200, `12.0` is 12, and `1.200` is 1.2 and
//! rejected (a partner whose locale writes `1.200` for 1200 gets a message saying so).

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

use crate::model::{Billing, Term};

/// Trims and applies NFKC (full-width digits and letters → ASCII). `None` when empty.
pub(crate) fn clean(raw: &str) -> Option<Cow<'_, str>> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.is_ascii() {
        return Some(Cow::Borrowed(trimmed));
    }
    let normalized: String = trimmed.nfkc().collect();
    let normalized = normalized.trim();
    if normalized.is_empty() {
        None
    } else {
        Some(Cow::Owned(normalized.to_string()))
    }
}

/// A whole number ≥ 0 written as text (or as Excel wrote a number: `12`, `12.0`).
pub(crate) fn parse_whole(text: &str) -> Result<u64, &'static str> {
    let text = text.strip_prefix('+').unwrap_or(text);
    // A lone dash (or `--`) is how many exports write "nothing"; it is not a number at
    // all, and calling it negative would send the user looking for a minus sign.
    if text.starts_with('-') && text.bytes().any(|b| b.is_ascii_digit()) {
        return Err("is negative");
    }
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    if let Some(frac) = frac_part {
        if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err("is not a number");
        }
        if frac.bytes().any(|b| b != b'0') {
            return Err("is not a whole number");
        }
    }
    let digits = strip_thousands(int_part).ok_or("is not a number")?;
    if digits.is_empty() {
        return Err("is not a number");
    }
    digits.parse::<u64>().map_err(|_| "is too large")
}

/// `1,200` / `1 200` / `1200` → `1200`; `None` for misplaced separators or non-digits.
fn strip_thousands(text: &str) -> Option<Cow<'_, str>> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Cow::Borrowed(text));
    }
    let sep = if text.contains(',') { ',' } else { ' ' };
    let mut groups = text.split(sep);
    let first = groups.next()?;
    if first.is_empty() || first.len() > 3 || !first.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut out = first.to_string();
    for group in groups {
        if group.len() != 3 || !group.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        out.push_str(group);
    }
    Some(Cow::Owned(out))
}

/// Yes/no words in English, Korean and Japanese, compared on their header-style key
/// (case, spaces and punctuation ignored), so `사용 안 함` = `사용안함`.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    with_key(text, bool_of_key)
}

/// Calls `f` with the header-style key of `text`; short ASCII cells (the usual yes/no)
/// are keyed in a stack buffer so that a million rows cost no allocation here.
fn with_key<T>(text: &str, f: impl Fn(&str) -> T) -> T {
    match crate::text::ascii_match_key(text, &mut [0u8; 32]) {
        Some(key) => f(key),
        None => f(&super::header::header_key(text)),
    }
}

fn bool_of_key(key: &str) -> Option<bool> {
    match key {
        "yes" | "y" | "true" | "t" | "1" | "on" | "enabled" | "enable" | "active" | "auto"
        | "automatic" | "예" | "네" | "사용" | "사용함" | "켜짐" | "켬" | "설정" | "활성"
        | "활성화" | "はい" | "ハイ" | "有効" | "オン" | "する" | "あり" | "有" | "自動更新" => {
            Some(true)
        }
        "no" | "n" | "false" | "f" | "0" | "off" | "disabled" | "disable" | "inactive" | "none"
        | "manual" | "아니요" | "아니오" | "아니" | "사용안함" | "사용안됨" | "꺼짐" | "끔"
        | "해제" | "비활성" | "비활성화" | "いいえ" | "イイエ" | "無効" | "オフ" | "しない"
        | "なし" | "無" => Some(false),
        _ => None,
    }
}

/// The relationship column: has the customer accepted the reseller relationship?
/// `Some(true)` accepted, `Some(false)` a request is needed; `None` not understood.
pub(crate) fn parse_relationship(text: &str) -> Option<bool> {
    with_key(text, relationship_of_key)
}

fn relationship_of_key(key: &str) -> Option<bool> {
    match key {
        "accepted" | "accept" | "approved" | "established" | "active" | "done" | "existing"
        | "connected" | "승인됨" | "승인" | "수락됨" | "수락" | "수락함" | "완료" | "연결됨"
        | "활성" | "承認済み" | "承認済" | "承認" | "承諾済み" | "承諾" | "受諾済み" | "完了"
        | "確立済み" | "接続済み" => Some(true),
        "pending" | "request" | "requested" | "invited" | "sent" | "notaccepted" | "new"
        | "대기중" | "대기" | "요청" | "요청됨" | "초대됨" | "미승인" | "보류" | "保留中"
        | "保留" | "要求" | "要求済み" | "招待済み" | "未承認" | "未承諾" | "新規" => {
            Some(false)
        }
        _ => bool_of_key(key),
    }
}

/// A new-commerce term as partners write it: `P1M`/`P1Y`/`P3Y`, `1 month`, `1 year`,
/// `3 years`, `monthly`/`annual`/`triennial`, 월/1개월, 1년, 3년, 1か月, 1年, 3年, and the
/// start of Partner Center's `TermAndBillingCycle` ("One-Year commitment for …").
pub(crate) fn parse_term(text: &str) -> Option<Term> {
    with_key(text, term_of_key)
}

fn term_of_key(key: &str) -> Option<Term> {
    let term = match key {
        "p1m" | "1m" | "1month" | "onemonth" | "month" | "monthly" | "1mo" | "30days" | "월"
        | "1개월" | "한달" | "월간" | "월약정" | "1か月" | "1ヶ月" | "1カ月" | "1ヵ月" | "月"
        | "月間" => Term::P1M,
        "p1y" | "1y" | "1year" | "oneyear" | "year" | "annual" | "annually" | "yearly"
        | "12months" | "1yr" | "1년" | "연간" | "년" | "1년약정" | "1年" | "年" | "年間"
        | "12か月" | "12ヶ月" => Term::P1Y,
        "p3y" | "3y" | "3year" | "3years" | "threeyear" | "threeyears" | "triennial"
        | "36months" | "3yr" | "3년" | "3년약정" | "3年" | "3年間" | "36か月" | "36ヶ月" => {
            Term::P3Y
        }
        // "One-Year commitment for monthly/yearly billing" and the like.
        k if k.starts_with("onemonth") => Term::P1M,
        k if k.starts_with("oneyear") => Term::P1Y,
        k if k.starts_with("threeyear") => Term::P3Y,
        _ => return None,
    };
    Some(term)
}

/// A billing frequency: `monthly`/`annual`/`triennial` (also `month`, `yearly`,
/// `every 3 years`), 월별/연간/3년, 月払い/年払い/3年払い.
pub(crate) fn parse_billing(text: &str) -> Option<Billing> {
    with_key(text, billing_of_key)
}

fn billing_of_key(key: &str) -> Option<Billing> {
    let billing = match key {
        "monthly" | "month" | "1month" | "p1m" | "monthlybilling" | "billedmonthly" | "월별"
        | "매월" | "월" | "월납" | "월간" | "月払い" | "月払" | "月額" | "毎月" | "月次" | "月"
        | "月単位" => Billing::Monthly,
        "annual" | "annually" | "yearly" | "year" | "1year" | "p1y" | "annualbilling"
        | "billedannually" | "연간" | "매년" | "연납" | "년" | "年払い" | "年払" | "年額"
        | "毎年" | "年次" | "年" | "年単位" => Billing::Annual,
        "triennial" | "triennially" | "3years" | "every3years" | "p3y" | "3년" | "3년납"
        | "3年払い" | "3年払" | "3年" => Billing::Triennial,
        _ => return None,
    };
    Some(billing)
}

/// Where the 32 hex digits of a GUID's text stand (the hyphens are at 8, 13, 18, 23).
const DIGITS: [usize; 32] = {
    let mut at = [0; 32];
    let (mut d, mut i) = (0, 0);
    while i < 36 {
        if !matches!(i, 8 | 13 | 18 | 23) {
            at[d] = i;
            d += 1;
        }
        i += 1;
    }
    at
};

/// Hex digits by value, lower case then upper case.
const HEX: &[u8; 32] = b"0123456789abcdef0123456789ABCDEF";

/// [`HEX_VALUE`] of a byte that is no hex digit.
const NOT_HEX: u8 = 0x80;

/// Each byte's value as a hex digit, `0x10` set for an upper-case letter; [`NOT_HEX`]
/// for any other byte.
const HEX_VALUE: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut i = 0;
    while i < 16 {
        table[HEX[i] as usize] = i as u8;
        table[HEX[16 + i] as usize] = i as u8 | if i >= 10 { 0x10 } else { 0 };
        i += 1;
    }
    table
};

/// A GUID read from the text it is usually written as (8-4-4-4-12 hex digits, in any
/// case): its 16 bytes and the case of each of its 32 digits, so it can be written back
/// byte for byte. The one reader of GUID text on the hot paths: the rows' subscription
/// IDs, the tenant IDs the reader takes as they are, and the planner's sort keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct GuidText {
    bytes: [u8; 16],
    /// Bit `i`: hex digit `i` (of 32) is an upper-case letter.
    upper: u32,
}

impl GuidText {
    pub(crate) fn read(text: &str) -> Option<GuidText> {
        let text: &[u8; 36] = text.as_bytes().try_into().ok()?;
        if [8, 13, 18, 23].iter().any(|&h| text[h] != b'-') {
            return None;
        }
        let mut bytes = [0u8; 16];
        let mut upper = 0u32;
        let mut invalid = 0u8;
        for (d, &at) in DIGITS.iter().enumerate() {
            let decoded = HEX_VALUE[text[at] as usize];
            invalid |= decoded & NOT_HEX;
            upper |= u32::from(decoded >> 4 & 1) << d;
            bytes[d / 2] |= (decoded & 0xf) << (4 * (1 - d % 2));
        }
        (invalid == 0).then_some(GuidText { bytes, upper })
    }

    /// Whether every hex letter is lower case (as [`parse_guid`] writes a GUID).
    pub(crate) fn is_lower(&self) -> bool {
        self.upper == 0
    }

    /// The GUID as a number: two lower-case GUID texts order as their numbers.
    pub(crate) fn number(&self) -> u128 {
        u128::from_be_bytes(self.bytes)
    }

    /// The 32 hex digits in lower case.
    pub(crate) fn lower_hex(&self) -> [u8; 32] {
        let mut hex = [0u8; 32];
        for (pair, b) in hex.chunks_exact_mut(2).zip(self.bytes) {
            pair[0] = HEX[(b >> 4) as usize];
            pair[1] = HEX[(b & 0xf) as usize];
        }
        hex
    }

    /// The text it was read from.
    pub(crate) fn write(&self) -> [u8; 36] {
        let mut text = [b'-'; 36];
        for (d, &at) in DIGITS.iter().enumerate() {
            let nibble = (self.bytes[d / 2] >> (4 * (1 - d % 2))) & 0xf;
            let case = ((self.upper >> d) & 1) << 4;
            text[at] = HEX[(case | u32::from(nibble)) as usize];
        }
        text
    }
}

/// Whether `text` is a GUID as [`parse_guid`] writes one: lower-case hex digits,
/// hyphenated 8-4-4-4-12.
pub(crate) fn is_canonical_guid(text: &str) -> bool {
    GuidText::read(text).is_some_and(|g| g.is_lower())
}

/// A tenant ID: a GUID, with or without braces or hyphens, as lower-case hyphenated text.
pub(crate) fn parse_guid(text: &str) -> Option<String> {
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    let uuid = uuid::Uuid::try_parse(inner).ok()?;
    // Most exports already write the canonical form: copy it rather than format it.
    if inner.len() == 36 && !inner.bytes().any(|b| b.is_ascii_uppercase()) {
        return Some(inner.to_string());
    }
    Some(uuid.hyphenated().to_string())
}

/// Country: ISO alpha-2 upper case; the common names of our markets become their code.
pub(crate) fn normalize_country(text: &str) -> String {
    if text.len() == 2 && text.bytes().all(|b| b.is_ascii_alphabetic()) {
        return text.to_ascii_uppercase();
    }
    let key = super::header::header_key(text);
    let code = match key.as_str() {
        "korea" | "southkorea" | "korearepublicof" | "republicofkorea" | "kor" | "한국"
        | "대한민국" | "韓国" | "大韓民国" => "KR",
        "japan" | "jpn" | "일본" | "日本" => "JP",
        "unitedstates"
        | "unitedstatesofamerica"
        | "usa"
        | "us"
        | "미국"
        | "米国"
        | "アメリカ合衆国"
        | "アメリカ" => "US",
        _ => return text.to_ascii_uppercase(),
    };
    code.to_string()
}

/// The ISO 3166-1 alpha-2 codes, sorted.
const ISO_COUNTRIES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// [`ISO_COUNTRIES`] as one bit per pair of letters `AA`..`ZZ`, for a lookup per row.
const ISO_BITS: [u64; 11] = {
    let mut bits = [0u64; 11];
    let mut i = 0;
    while i < ISO_COUNTRIES.len() {
        let code = ISO_COUNTRIES[i].as_bytes();
        let n = (code[0] - b'A') as usize * 26 + (code[1] - b'A') as usize;
        bits[n / 64] |= 1 << (n % 64);
        i += 1;
    }
    bits
};

/// Whether `code` (upper case) is an ISO 3166-1 alpha-2 country code.
pub(crate) fn is_iso_country(code: &str) -> bool {
    match code.as_bytes() {
        &[a @ b'A'..=b'Z', b @ b'A'..=b'Z'] => {
            let n = (a - b'A') as usize * 26 + (b - b'A') as usize;
            ISO_BITS[n / 64] >> (n % 64) & 1 == 1
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_trims_and_folds_width() {
        assert_eq!(clean("  25 ").as_deref(), Some("25"));
        assert_eq!(clean("２５").as_deref(), Some("25"));
        assert_eq!(
            clean("Ｍｉｃｒｏｓｏｆｔ　３６５").as_deref(),
            Some("Microsoft 365")
        );
        assert_eq!(clean("   "), None);
        assert_eq!(clean("\u{3000}"), None);
    }

    #[test]
    fn canonical_guids_are_the_ones_parse_guid_writes_unchanged() {
        for text in [
            "0f5a3c1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b",
            "0F5A3C1E-2B4D-4E6F-8A9B-1C2D3E4F5A6B",
            "{0f5a3c1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b}",
            "0f5a3c1e2b4d4e6f8a9b1c2d3e4f5a6b",
            "0f5a3c1e-2b4d-4e6f-8a9b-1c2d3e4f5a6",
            "0f5a3c1e-2b4d-4e6f-8a9b_1c2d3e4f5a6b",
            "0g5a3c1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b",
            "",
        ] {
            let canonical = parse_guid(text).is_some_and(|g| g == text);
            assert_eq!(is_canonical_guid(text), canonical, "{text}");
        }
    }

    #[test]
    fn whole_numbers() {
        for (text, want) in [
            ("12", 12),
            ("0", 0),
            ("+7", 7),
            ("12.0", 12),
            ("12.00", 12),
            ("1,200", 1200),
            ("12,345,678", 12_345_678),
            ("1 200", 1200),
        ] {
            assert_eq!(parse_whole(text), Ok(want), "{text}");
        }
        for (text, why) in [
            ("12.5", "is not a whole number"),
            ("1.200", "is not a whole number"),
            ("-3", "is negative"),
            ("-", "is not a number"),
            ("--", "is not a number"),
            ("1,2", "is not a number"),
            ("1,2000", "is not a number"),
            ("abc", "is not a number"),
            ("12.", "is not a number"),
            ("1e3", "is not a number"),
            ("99999999999999999999999", "is too large"),
        ] {
            assert_eq!(parse_whole(text), Err(why), "{text}");
        }
    }

    #[test]
    fn booleans() {
        for yes in [
            "yes", "Yes", "TRUE", "y", "1", "On", "Enabled", "예", "네", "사용", "はい", "有効",
            "オン",
        ] {
            assert_eq!(parse_bool(yes), Some(true), "{yes}");
        }
        for no in [
            "no",
            "FALSE",
            "n",
            "0",
            "off",
            "Disabled",
            "아니요",
            "아니오",
            "사용 안 함",
            "사용안함",
            "いいえ",
            "無効",
            "オフ",
        ] {
            assert_eq!(parse_bool(no), Some(false), "{no}");
        }
        assert_eq!(parse_bool("maybe"), None);
    }

    #[test]
    fn relationship_words() {
        for yes in [
            "Accepted",
            "yes",
            "true",
            "승인됨",
            "수락됨",
            "承認済み",
            "承諾済み",
        ] {
            assert_eq!(parse_relationship(yes), Some(true), "{yes}");
        }
        for no in ["pending", "no", "Requested", "대기 중", "保留中", "未承認"] {
            assert_eq!(parse_relationship(no), Some(false), "{no}");
        }
        assert_eq!(parse_relationship("someday"), None);
    }

    #[test]
    fn terms_in_every_form() {
        for (text, want) in [
            ("P1M", Term::P1M),
            ("p1m", Term::P1M),
            ("1 month", Term::P1M),
            ("Monthly", Term::P1M),
            ("월", Term::P1M),
            ("1개월", Term::P1M),
            ("1か月", Term::P1M),
            ("1ヶ月", Term::P1M),
            ("One-Month commitment for monthly billing", Term::P1M),
            ("P1Y", Term::P1Y),
            ("1 year", Term::P1Y),
            ("1 Year", Term::P1Y),
            ("Annual", Term::P1Y),
            ("1년", Term::P1Y),
            ("1年", Term::P1Y),
            ("１年", Term::P1Y),
            ("One-Year commitment for monthly/yearly billing", Term::P1Y),
            ("P3Y", Term::P3Y),
            ("3 years", Term::P3Y),
            ("3년", Term::P3Y),
            ("3年", Term::P3Y),
            ("Three-Years commitment", Term::P3Y),
        ] {
            assert_eq!(parse_term(text), Some(want), "{text}");
        }
        for text in ["2 years", "P2Y", "forever", "6 months", "", "P1D"] {
            assert_eq!(parse_term(text), None, "{text}");
        }
    }

    #[test]
    fn billing_in_every_form() {
        for (text, want) in [
            ("monthly", Billing::Monthly),
            ("Monthly", Billing::Monthly),
            ("월별", Billing::Monthly),
            ("月払い", Billing::Monthly),
            ("annual", Billing::Annual),
            ("Annual", Billing::Annual),
            ("Yearly", Billing::Annual),
            ("연간", Billing::Annual),
            ("年払い", Billing::Annual),
            ("triennial", Billing::Triennial),
            ("3년", Billing::Triennial),
            ("3年払い", Billing::Triennial),
        ] {
            assert_eq!(parse_billing(text), Some(want), "{text}");
        }
        for text in ["OneTime", "none", "quarterly", "隔月"] {
            assert_eq!(parse_billing(text), None, "{text}");
        }
    }

    #[test]
    fn guids() {
        let want = Some("0f5a3c1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b".to_string());
        assert_eq!(parse_guid("0F5A3C1E-2B4D-4E6F-8A9B-1C2D3E4F5A6B"), want);
        assert_eq!(parse_guid("{0f5a3c1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b}"), want);
        assert_eq!(parse_guid("0f5a3c1e2b4d4e6f8a9b1c2d3e4f5a6b"), want);
        assert_eq!(parse_guid("contoso"), None);
        assert_eq!(parse_guid("{0f5a3c1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b"), None);
    }

    #[test]
    fn countries() {
        assert_eq!(normalize_country("kr"), "KR");
        assert_eq!(normalize_country("대한민국"), "KR");
        assert_eq!(normalize_country("日本"), "JP");
        assert_eq!(normalize_country("de"), "DE");
    }

    #[test]
    fn country_not_iso_3166_is_noticed() {
        assert!(ISO_COUNTRIES.is_sorted());
        // The bit table says yes to exactly the listed codes.
        for a in b'A'..=b'Z' {
            for b in b'A'..=b'Z' {
                let code = String::from_utf8(vec![a, b]).unwrap();
                let listed = ISO_COUNTRIES.binary_search(&code.as_str()).is_ok();
                assert_eq!(is_iso_country(&code), listed, "{code}");
            }
        }
        assert!(!is_iso_country("kr") && !is_iso_country("KOR") && !is_iso_country(""));
        for code in ["KR", "JP", "US", "GB", "DE", "TW", "ZW", "AD"] {
            assert!(is_iso_country(code), "{code}");
        }
        for code in ["UK", "EU", "XX", "KOREA", "", "kr"] {
            assert!(!is_iso_country(code), "{code}");
        }
    }

    proptest::proptest! {
        #[test]
        fn whole_numbers_round_trip_with_separators(n in 0u64..10_000_000_000) {
            let plain = n.to_string();
            let grouped = plain
                .as_bytes()
                .rchunks(3)
                .rev()
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join(",");
            proptest::prop_assert_eq!(parse_whole(&plain), Ok(n));
            proptest::prop_assert_eq!(parse_whole(&grouped), Ok(n));
            proptest::prop_assert_eq!(parse_whole(&format!("{n}.0")), Ok(n));
        }

        #[test]
        fn any_text_never_panics(text in "\\PC{0,20}") {
            // Each parser gives a value consistent with its text, or its typed "no".
            match parse_whole(&text) {
                Ok(n) => proptest::prop_assert!(text.bytes().any(|b| b.is_ascii_digit()) || n == 0),
                Err(why) => proptest::prop_assert!(why.starts_with("is ")),
            }
            if parse_bool(&text).is_some() {
                proptest::prop_assert_eq!(parse_relationship(&text), parse_bool(&text));
            }
            if let Some(id) = parse_guid(&text) {
                proptest::prop_assert!(uuid::Uuid::parse_str(&id).is_ok() && id == id.to_lowercase());
            }
            match clean(&text) {
                Some(c) => proptest::prop_assert!(!c.is_empty() && c.trim() == c.as_ref()),
                None => proptest::prop_assert!(text.trim().is_empty() || text.nfkc().collect::<String>().trim().is_empty()),
            }
            proptest::prop_assert!(!normalize_country(&text).chars().any(char::is_lowercase) || !text.is_ascii());
        }
    }
}
