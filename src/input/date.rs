//! Dates as partners write them: ISO, Excel serial numbers, `2026/11/21`, `2026.11.21`,
//! `2026. 11. 21.`, `2026년 11월 21일`, `2026年11月21日`, `令和8年11月21日`,
//! `11/21/2026`, `21/11/2026`, `21-Nov-2026`, `Nov 21, 2026`, with or without a time.
//!
//! The main decision: a day/month pair that could be either way (`03/04/2026`) is not
//! guessed. [`parse_date`] returns [`DateRead::Ambiguous`] with both readings; the reader
//! settles it with `--date-order`, else with the other rows of the same column (one
//! `25/12/2026` tells the whole file is day-first), else rejects the row. Two-digit years
//! are rejected (`26/11/21` could be three different dates).

use chrono::{Datelike, Duration, NaiveDate};

use super::DateOrder;

/// What a date cell says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateRead {
    /// A date; `order` is set when the cell shows which of M/D or D/M the file uses.
    Date {
        date: NaiveDate,
        order: Option<DateOrder>,
    },
    /// `NN/NN/YYYY` with both numbers ≤ 12: month-first and day-first readings.
    Ambiguous { mdy: NaiveDate, dmy: NaiveDate },
    /// Not a date, with the reason.
    Invalid(&'static str),
}

/// Excel's 1900 date system: serial 1 is 1900-01-01 and serial 60 is the 29 February
/// 1900 that never was (Lotus 1-2-3's bug, kept by Excel).
pub(crate) fn from_excel_serial(serial: f64) -> Option<NaiveDate> {
    if !serial.is_finite() || !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let days = serial.floor() as i64;
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    match days {
        60 => None,
        1..=59 => base.checked_add_signed(Duration::days(days + 1)),
        _ => base.checked_add_signed(Duration::days(days)),
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// End dates outside these years are not real end dates: a time-only Excel cell reads
/// as 1899-12-31, `0001-01-01` and `9999-12-31` are placeholders, and a date from any
/// of them would be planned as long expired (provisioned at once) or never.
pub(crate) const YEARS: std::ops::RangeInclusive<i32> = 1950..=2200;

const OUT_OF_RANGE: &str = "is not a plausible end date (the year must be between 1950 and 2200; a time-only cell or a placeholder such as 0001-01-01 or 9999-12-31 is not an end date)";

/// Parses a cleaned (trimmed, NFKC) date cell. `order` is `--date-order`. Every form
/// is held to [`YEARS`].
pub(crate) fn parse_date(text: &str, order: Option<DateOrder>) -> DateRead {
    let plausible = |d: NaiveDate| YEARS.contains(&d.year());
    match parse_any_date(text, order) {
        DateRead::Date { date, .. } if !plausible(date) => DateRead::Invalid(OUT_OF_RANGE),
        DateRead::Ambiguous { mdy, dmy } if !plausible(mdy) || !plausible(dmy) => {
            DateRead::Invalid(OUT_OF_RANGE)
        }
        read => read,
    }
}

fn parse_any_date(text: &str, order: Option<DateOrder>) -> DateRead {
    // Fast path for the common ISO form.
    let b = text.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let digits = |r: std::ops::Range<usize>| {
            b[r.clone()]
                .iter()
                .all(u8::is_ascii_digit)
                .then(|| text[r].parse::<u32>().unwrap_or(0))
        };
        if let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) {
            return ymd(y as i32, m, d);
        }
    }
    let text = strip_time(text.trim());
    // A sign is not part of any date form (`-45000` is a negative serial).
    if text.is_empty() || text.starts_with(['-', '+', '\u{2212}']) {
        return DateRead::Invalid("is not a date");
    }
    // A plain number: an Excel serial (as Excel writes a date cell into CSV when the
    // column is formatted as a number), or YYYYMMDD.
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|&b| b == b'.').count() <= 1
        && !text.starts_with('.')
    {
        if text.len() == 8 && !text.contains('.') {
            let (y, m, d) = (&text[..4], &text[4..6], &text[6..]);
            return ymd(
                y.parse().unwrap_or(0),
                m.parse().unwrap_or(0),
                d.parse().unwrap_or(0),
            );
        }
        return match text.parse::<f64>().ok().and_then(from_excel_serial) {
            // Serials before 1950 or after 2200 are more likely a typo than an end date.
            Some(date) if YEARS.contains(&date.year()) => DateRead::Date { date, order: None },
            _ => DateRead::Invalid(
                "is a number that is not a date (Excel date serials look like 46347)",
            ),
        };
    }
    let text = era_to_gregorian(text);
    let mut numbers: Vec<&str> = Vec::with_capacity(3);
    let mut month_name: Option<(u32, usize)> = None;
    for token in text.split(|c: char| !c.is_alphanumeric()) {
        for part in split_cjk(token) {
            if part.is_empty() {
                continue;
            }
            if part.bytes().all(|b| b.is_ascii_digit()) {
                numbers.push(part);
            } else if let Some(m) = month_of(part) {
                if month_name.is_some() {
                    return DateRead::Invalid("is not a date");
                }
                month_name = Some((m, numbers.len()));
            } else if !matches!(part, "년" | "월" | "일" | "年" | "月" | "日") {
                return DateRead::Invalid("is not a date");
            }
        }
    }
    if let Some((month, _)) = month_name {
        // `21-Nov-2026`, `Nov 21, 2026`, `21 November 2026`: the year is the 4-digit one.
        if numbers.len() != 2 {
            return DateRead::Invalid("is not a date");
        }
        let (day, year) = match (numbers[0].len(), numbers[1].len()) {
            (1 | 2, 4) => (numbers[0], numbers[1]),
            (4, 1 | 2) => (numbers[1], numbers[0]),
            (_, 2) | (2, _) => return DateRead::Invalid(TWO_DIGIT_YEAR),
            _ => return DateRead::Invalid("is not a date"),
        };
        return ymd(year.parse().unwrap_or(0), month, day.parse().unwrap_or(0));
    }
    if numbers.len() != 3 || numbers.iter().any(|n| n.len() > 4) {
        return DateRead::Invalid("is not a date");
    }
    let [a, b, c] = [numbers[0], numbers[1], numbers[2]];
    let num = |s: &str| s.parse::<u32>().unwrap_or(0);
    if a.len() == 4 {
        return ymd(num(a) as i32, num(b), num(c));
    }
    if c.len() != 4 {
        return DateRead::Invalid(TWO_DIGIT_YEAR);
    }
    let (x, y, year) = (num(a), num(b), num(c) as i32);
    let mdy = NaiveDate::from_ymd_opt(year, x, y);
    let dmy = NaiveDate::from_ymd_opt(year, y, x);
    match (mdy, dmy) {
        (None, None) => DateRead::Invalid("is not a real date"),
        (Some(date), None) => DateRead::Date {
            date,
            order: Some(DateOrder::Mdy),
        },
        (None, Some(date)) => DateRead::Date {
            date,
            order: Some(DateOrder::Dmy),
        },
        (Some(mdy), Some(dmy)) if mdy == dmy => DateRead::Date {
            date: mdy,
            order: None,
        },
        (Some(mdy), Some(dmy)) => match order {
            Some(DateOrder::Mdy) => DateRead::Date {
                date: mdy,
                order: None,
            },
            Some(DateOrder::Dmy) => DateRead::Date {
                date: dmy,
                order: None,
            },
            _ => DateRead::Ambiguous { mdy, dmy },
        },
    }
}

const TWO_DIGIT_YEAR: &str = "has a two-digit year; write the year in full (e.g. 2026-11-21)";

fn ymd(year: i32, month: u32, day: u32) -> DateRead {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => DateRead::Date { date, order: None },
        None => DateRead::Invalid("is not a real date"),
    }
}

/// Cuts a time of day off the end: `2026-11-21 00:00:00`, `2026-11-21T00:00:00Z`,
/// `2026. 11. 21. 오후 3:00:00`, `11/21/2026 12:00 AM`.
fn strip_time(text: &str) -> &str {
    let Some(colon) = text.find(':') else {
        return text;
    };
    let head = &text[..colon];
    let cut = head
        .rfind(|c: char| c == 'T' || c.is_whitespace())
        .unwrap_or(0);
    let mut date = text[..cut].trim_end();
    for marker in ["오전", "오후", "午前", "午後", "AM", "PM", "am", "pm"] {
        if let Some(rest) = date.strip_suffix(marker) {
            date = rest.trim_end();
        }
    }
    date
}

/// `2026年11月21日` has no separators between digits and ideographs: split them.
fn split_cjk(token: &str) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut prev_digit: Option<bool> = None;
    for (i, c) in token.char_indices() {
        let digit = c.is_ascii_digit();
        if let Some(p) = prev_digit
            && p != digit
        {
            parts.push(&token[start..i]);
            start = i;
        }
        prev_digit = Some(digit);
    }
    parts.push(&token[start..]);
    parts.into_iter()
}

fn month_of(word: &str) -> Option<u32> {
    let lower = word.to_ascii_lowercase();
    if lower.len() < 3 || !lower.is_ascii() {
        return None;
    }
    let full = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    MONTHS
        .iter()
        .zip(full)
        .position(|(short, long)| {
            lower == *short || lower == long || (lower == "sept" && *short == "sep")
        })
        .map(|i| i as u32 + 1)
}

/// `令和8年11月21日` → `2026年11月21日` (Reiwa 1 = 2019, Heisei 1 = 1989; `元年` = year 1).
fn era_to_gregorian(text: &str) -> std::borrow::Cow<'_, str> {
    for (era, base) in [("令和", 2018), ("平成", 1988), ("R", 2018), ("H", 1988)] {
        if let Some(rest) = text.strip_prefix(era) {
            let rest = rest.trim_start();
            let (year, tail) = if let Some(tail) = rest.strip_prefix("元") {
                (1, tail)
            } else {
                let end = rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len());
                if end == 0 {
                    continue;
                }
                (rest[..end].parse::<i32>().unwrap_or(0), &rest[end..])
            };
            if !(tail.starts_with('年') || tail.starts_with('.') || tail.starts_with('/')) {
                continue;
            }
            return format!("{}{}", base + year, tail).into();
        }
    }
    text.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn date_of(text: &str) -> NaiveDate {
        match parse_date(text, None) {
            DateRead::Date { date, .. } => date,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn every_unambiguous_form() {
        for text in [
            "2026-11-21",
            "2026/11/21",
            "2026.11.21",
            "2026. 11. 21.",
            "2026.11.21.",
            "2026년 11월 21일",
            "2026년11월21일",
            "2026年11月21日",
            "令和8年11月21日",
            "R8.11.21",
            "11/21/2026",
            "21/11/2026",
            "21.11.2026",
            "2026-11-21 00:00:00",
            "2026-11-21T00:00:00Z",
            "2026-11-21T13:45:00+09:00",
            "2026. 11. 21. 오후 3:00:00",
            "2026/11/21 0:00",
            "11/21/2026 12:00 AM",
            "21-Nov-2026",
            "Nov 21, 2026",
            "21 November 2026",
            "20261121",
            "46347",
            "46347.5",
        ] {
            assert_eq!(date_of(text), d(2026, 11, 21), "{text}");
        }
        assert_eq!(date_of("平成31年4月30日"), d(2019, 4, 30));
        assert_eq!(date_of("令和元年5月1日"), d(2019, 5, 1));
    }

    #[test]
    fn excel_serials() {
        assert_eq!(from_excel_serial(1.0), Some(d(1900, 1, 1)));
        assert_eq!(from_excel_serial(59.0), Some(d(1900, 2, 28)));
        assert_eq!(from_excel_serial(60.0), None);
        assert_eq!(from_excel_serial(61.0), Some(d(1900, 3, 1)));
        assert_eq!(from_excel_serial(45658.0), Some(d(2025, 1, 1)));
        assert_eq!(from_excel_serial(0.0), None);
    }

    #[test]
    fn slash_dates_tell_their_order() {
        assert_eq!(
            parse_date("25/12/2026", None),
            DateRead::Date {
                date: d(2026, 12, 25),
                order: Some(DateOrder::Dmy)
            }
        );
        assert_eq!(
            parse_date("12/25/2026", None),
            DateRead::Date {
                date: d(2026, 12, 25),
                order: Some(DateOrder::Mdy)
            }
        );
        assert_eq!(
            parse_date("05/05/2026", None),
            DateRead::Date {
                date: d(2026, 5, 5),
                order: None
            }
        );
    }

    #[test]
    fn ambiguous_dates_wait_for_an_order() {
        assert_eq!(
            parse_date("03/04/2026", None),
            DateRead::Ambiguous {
                mdy: d(2026, 3, 4),
                dmy: d(2026, 4, 3)
            }
        );
        assert_eq!(date_of_with("03/04/2026", DateOrder::Mdy), d(2026, 3, 4));
        assert_eq!(date_of_with("03/04/2026", DateOrder::Dmy), d(2026, 4, 3));
        // An order never overrides what the numbers say.
        assert_eq!(date_of_with("25/12/2026", DateOrder::Mdy), d(2026, 12, 25));
    }

    fn date_of_with(text: &str, order: DateOrder) -> NaiveDate {
        match parse_date(text, Some(order)) {
            DateRead::Date { date, .. } => date,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn not_dates() {
        for (text, why) in [
            ("soon", "is not a date"),
            ("2026-13-01", "is not a real date"),
            ("2026-02-30", "is not a real date"),
            ("31/31/2026", "is not a real date"),
            ("26/11/21", TWO_DIGIT_YEAR),
            ("11/21/26", TWO_DIGIT_YEAR),
            (
                "12",
                "is a number that is not a date (Excel date serials look like 46347)",
            ),
            ("2026-11", "is not a date"),
        ] {
            assert_eq!(parse_date(text, None), DateRead::Invalid(why), "{text}");
        }
    }

    #[test]
    fn impossible_end_dates_are_rejected_in_every_form() {
        for text in [
            "1899-12-31",
            "1899-12-31T12:30:00",
            "0001-01-01",
            "0001-01-01 00:00:00",
            "9999-12-31",
            "9999/12/31",
            "12/31/9999",
            "31/12/9999",
            "01/02/1900",
            "9999年12月31日",
            "9999년 12월 31일",
            "31-Dec-9999",
            "19000101",
            "1949-12-31",
            "2201-01-01",
        ] {
            assert_eq!(
                parse_date(text, None),
                DateRead::Invalid(OUT_OF_RANGE),
                "{text}"
            );
        }
        assert_eq!(date_of("1950-01-01"), d(1950, 1, 1));
        assert_eq!(date_of("2200-12-31"), d(2200, 12, 31));
        // Negative serials and negative-looking cells are not dates either.
        for text in ["-1", "-45000", "-2026-01-01"] {
            assert!(
                matches!(parse_date(text, None), DateRead::Invalid(_)),
                "{text}"
            );
        }
    }

    #[test]
    fn windows_date_times_of_korean_japanese_and_english_powershell() {
        for text in [
            "2027-01-31 오전 12:00:00",
            "2027-01-31 오후 11:59:59",
            "2027/01/31 0:00:00",
            "2027/01/31 23:59:59",
            "1/31/2027 12:00:00 AM",
            "1/31/2027 11:00:00 PM",
            "2027-01-31 午前 0:00:00",
        ] {
            assert_eq!(date_of(text), d(2027, 1, 31), "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_a_date_or_not_never_a_panic(text in "\\PC{0,24}") {
            for order in [None, Some(DateOrder::Dmy), Some(DateOrder::Mdy)] {
                match parse_date(&text, order) {
                    DateRead::Date { date, .. } => proptest::prop_assert!(YEARS.contains(&date.year())),
                    DateRead::Ambiguous { mdy, dmy } => {
                        proptest::prop_assert!(order.is_none() && mdy != dmy);
                        proptest::prop_assert!(YEARS.contains(&mdy.year()) && YEARS.contains(&dmy.year()));
                    }
                    DateRead::Invalid(why) => proptest::prop_assert!(why.starts_with("is ") || why.starts_with("has ")),
                }
            }
        }

        #[test]
        fn iso_dates_round_trip(days in 0i64..91_600) {
            let date = d(1950, 1, 1) + Duration::days(days);
            proptest::prop_assert_eq!(
                parse_date(&date.to_string(), None),
                DateRead::Date { date, order: None }
            );
            proptest::prop_assert_eq!(parse_date(&date.format("%Y年%m月%d日").to_string(), None), DateRead::Date { date, order: None });
        }
    }
}
