//! Reader-level tests: whole files in, rows and rejections out. The committed fixtures in
//! `tests/fixtures/` are written by the generator `examples/write_fixtures.rs` (run it on
//! purpose with `cargo run --example write_fixtures`; tests/fixtures/README.md) and read
//! back here; tests that need a workbook of their own write it with [`write_xlsx`].

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use encoding_rs::{EUC_KR, SHIFT_JIS};
use rust_xlsxwriter::{Format, Workbook};
use sha2::Digest;

use super::*;
use crate::model::RejectCode;

const CONTOSO: &str = "0f5a3c1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture(name: &str) -> InputSource {
    InputSource::Path(fixtures().join(name))
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn read(source: &InputSource) -> InputTable {
    read_input(source, 0, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn read_err(source: &InputSource, opts: &ReadOptions) -> InputError {
    match read_input(source, 0, opts) {
        Ok(t) => panic!("expected an error, got {} rows", t.rows.len()),
        Err(e) => e,
    }
}

/// Reads text written to a temporary file.
fn read_text(text: &str) -> InputTable {
    read_bytes_opts(text.as_bytes(), &ReadOptions::default())
}

fn read_bytes_opts(bytes: &[u8], opts: &ReadOptions) -> InputTable {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.csv");
    std::fs::write(&path, bytes).unwrap();
    read_input(&InputSource::Path(path), 0, opts).unwrap_or_else(|e| panic!("{e}"))
}

fn codes(table: &InputTable) -> Vec<(u64, RejectCode)> {
    table.rejected.iter().map(|r| (r.row, r.code)).collect()
}

// ----- workbooks written by the tests themselves ------------------------------------

/// A cell of a generated workbook.
#[derive(Clone)]
enum X {
    S(&'static str),
    N(f64),
    D(NaiveDate),
    E,
}

/// A sheet to write: name, top-left cell (row, column), rows.
type SheetSpec<'a> = (&'a str, (u32, u16), Vec<Vec<X>>);

fn write_xlsx(path: &Path, sheets: &[SheetSpec<'_>]) {
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (name, (r0, c0), rows) in sheets {
        let sheet = book.add_worksheet();
        sheet.set_name(*name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r0 + r as u32, c0 + c as u16);
                match cell {
                    X::S(s) => {
                        sheet.write_string(r, c, *s).unwrap();
                    }
                    X::N(n) => {
                        sheet.write_number(r, c, *n).unwrap();
                    }
                    X::D(day) => {
                        sheet.write_datetime_with_format(r, c, day, &date).unwrap();
                    }
                    X::E => {}
                }
            }
        }
    }
    book.save(path).unwrap();
}

// ----- twins and whole fixtures ------------------------------------------------------

fn without_input(mut table: InputTable) -> (Vec<SourceRow>, Vec<Rejection>) {
    for r in &mut table.rejected {
        r.input.clear();
    }
    (table.rows, table.rejected)
}

#[test]
fn basic_fixture_rows() {
    let table = read(&fixture("basic.csv"));
    assert_eq!(table.info.rows, 5);
    assert_eq!(table.info.sheet, None);
    assert_eq!(table.info.sha256.len(), 64);
    assert_eq!(table.rows.len(), 4);
    let first = &table.rows[0];
    assert_eq!(first.row, 2);
    assert_eq!(first.customer_id(), Some(CONTOSO));
    assert_eq!(first.domain(), Some("contoso.com"));
    assert_eq!(first.country(), Some("KR"));
    assert_eq!(first.current_offer(), "Microsoft 365 Business Premium");
    assert_eq!(first.seats, 25);
    assert_eq!(first.assigned, Some(20));
    assert_eq!(first.expires_on, Some(d(2027, 1, 31)));
    assert_eq!(first.auto_renew, Some(true));
    assert_eq!(first.relationship_accepted, Some(true));
    assert_eq!(table.rows[1].seats, 1200);
    assert_eq!(table.rows[1].target_offer(), Some("Microsoft 365 E5"));
    assert_eq!(table.rows[2].customer_id(), None);
    assert_eq!(table.rows[2].relationship_accepted, None);
    assert_eq!(table.rows[3].invalid_customer_id(), Some("n/a"));
    assert_eq!(table.rows[3].relationship_accepted, Some(false));
    assert_eq!(codes(&table), vec![(6, RejectCode::InvalidSeats)]);
    let r = &table.rejected[0];
    assert_eq!(r.column.as_deref(), Some("Quantity"));
    assert_eq!(r.value.as_deref(), Some("-3"));
    assert!(r.input.ends_with("basic.csv"));
}

#[test]
fn csv_and_xlsx_twins_read_the_same() {
    for (csv, xlsx) in [
        ("basic.csv", "basic.xlsx"),
        ("title_block.csv", "title_block.xlsx"),
    ] {
        let a = read(&fixture(csv));
        let b = read(&fixture(xlsx));
        assert!(b.info.sheet.is_some());
        assert_eq!(a.info.rows, b.info.rows);
        assert_eq!(without_input(a), without_input(b), "{csv} vs {xlsx}");
    }
}

#[test]
fn title_block_shifts_row_numbers() {
    let table = read(&fixture("title_block.xlsx"));
    assert_eq!(table.info.sheet.as_deref(), Some("Export"));
    assert_eq!(table.rows[0].row, 5);
    assert_eq!(codes(&table), vec![(9, RejectCode::InvalidSeats)]);
}

#[test]
fn table_on_second_sheet_is_found_and_named() {
    let table = read(&fixture("table_on_second_sheet.xlsx"));
    assert_eq!(table.info.sheet.as_deref(), Some("Subscriptions"));
    assert_eq!(table.rows.len(), 4);
    let opts = ReadOptions {
        sheet: Some(SheetSelector::Index(1)),
        ..Default::default()
    };
    let err = read_err(&fixture("table_on_second_sheet.xlsx"), &opts);
    assert!(matches!(err, InputError::NoHeader { .. }), "{err}");
    assert!(err.to_string().contains("Summary"), "{err}");
    let opts = ReadOptions {
        sheet: Some(SheetSelector::Name("Nope".into())),
        ..Default::default()
    };
    let err = read_err(&fixture("table_on_second_sheet.xlsx"), &opts).to_string();
    assert!(
        err.contains("no sheet \"Nope\"") && err.contains("\"Summary\", \"Subscriptions\""),
        "{err}"
    );
}

#[test]
fn range_not_at_a1_keeps_sheet_row_numbers() {
    let table = read(&fixture("table_at_c5.xlsx"));
    assert_eq!(table.rows[0].row, 6);
    assert_eq!(codes(&table), vec![(10, RejectCode::InvalidSeats)]);
}

fn check_cjk(table: &InputTable) {
    assert_eq!(table.rejected, vec![], "{:?}", table.rejected);
    assert_eq!(table.rows.len(), 3);
    let [a, b, c] = [&table.rows[0], &table.rows[1], &table.rows[2]];
    assert_eq!(a.customer_id(), Some(CONTOSO));
    assert_eq!(a.seats, 25);
    assert_eq!(a.assigned, Some(20));
    assert_eq!(a.expires_on, Some(d(2027, 1, 31)));
    assert_eq!(a.auto_renew, Some(true));
    assert_eq!(a.relationship_accepted, Some(true));
    assert_eq!(b.seats, 1200);
    assert_eq!(b.expires_on, Some(d(2026, 12, 15)));
    assert_eq!(b.auto_renew, Some(false));
    assert_eq!(c.seats, 10, "full-width digits");
    assert_eq!(c.expires_on, Some(d(2026, 11, 25)));
    assert_eq!(c.auto_renew, Some(false));
    assert_eq!(c.relationship_accepted, Some(false));
}

#[test]
fn korean_and_japanese_files_in_every_encoding() {
    for name in [
        "dates_korean.csv",
        "cp949_headers.csv",
        "dates_japanese.csv",
        "shift_jis_headers.csv",
        "utf16le_bom.txt",
    ] {
        let table = read(&fixture(name));
        check_cjk(&table);
    }
    assert_eq!(
        read(&fixture("cp949_headers.csv")).rows[0].customer_name(),
        Some("콘토소")
    );
    assert_eq!(
        read(&fixture("shift_jis_headers.csv")).rows[0].customer_name(),
        Some("コントソ株式会社")
    );
}

#[test]
fn semicolon_file_with_day_first_dates() {
    let table = read(&fixture("semicolon.csv"));
    assert_eq!(table.rows.len(), 0);
    // `1.200,0` is a European 1200: '.' is a decimal point here, so it is rejected
    // with a message saying so, rather than read as 1.2 or guessed.
    assert_eq!(codes(&table), vec![(2, RejectCode::InvalidSeats)]);
}

#[test]
fn every_rejection_code_with_its_row() {
    let table = read(&fixture("rejections.csv"));
    assert_eq!(
        codes(&table),
        vec![
            (2, RejectCode::MissingCustomer),
            (3, RejectCode::MissingOffer),
            (5, RejectCode::InvalidSeats),
            (6, RejectCode::InvalidSeats),
            (7, RejectCode::InvalidAssigned),
            (8, RejectCode::InvalidTargetSeats),
            (9, RejectCode::InvalidDate),
            (10, RejectCode::AmbiguousDate),
            (11, RejectCode::InvalidBoolean),
            (12, RejectCode::InvalidBoolean),
        ]
    );
    assert_eq!(table.rows.len(), 1);
    assert_eq!(table.rows[0].row, 13);
    assert_eq!(table.info.rows, 11, "blank row 4 is not a data row");
    let by_row = |row| table.rejected.iter().find(|r| r.row == row).unwrap();
    assert_eq!(
        by_row(6).message,
        "\"12.5\" is not a whole number: seats must be a whole number greater than 0 (a '.' is read as a decimal point; write 1200 or 1,200 for twelve hundred)"
    );
    assert_eq!(by_row(9).column.as_deref(), Some("End date"));
    assert_eq!(by_row(9).value.as_deref(), Some("2026-02-30"));
    assert!(
        by_row(10).message.contains("--date-order"),
        "{}",
        by_row(10).message
    );
    assert_eq!(by_row(12).column.as_deref(), Some("Relationship"));
}

#[test]
fn a_row_with_several_problems_names_them_all() {
    let table = read_text("Domain,Offer,Seats,End date\n,,-1,soon\n");
    assert_eq!(codes(&table), vec![(2, RejectCode::MissingCustomer)]);
    let message = &table.rejected[0].message;
    assert!(
        message.contains("also:") && message.contains("\"Seats\"") && message.contains("\"soon\""),
        "{message}"
    );
}

#[test]
fn bad_bytes_reject_only_their_row() {
    let table = read(&fixture("bad_bytes_in_one_row.csv"));
    assert_eq!(codes(&table), vec![(3, RejectCode::InvalidEncoding)]);
    let r = &table.rejected[0];
    assert_eq!(r.column.as_deref(), Some("Product"));
    assert_eq!(r.value.as_deref(), Some("Office \\xFF\\xFE E3"));
    assert!(
        r.message.contains("UTF-8") && r.message.contains("\\xFF"),
        "{}",
        r.message
    );
    assert_eq!(table.rows.len(), 21);
}

#[test]
fn a_file_that_does_not_decode_is_an_error() {
    let mut text = b"Domain,Product,Seats\n".to_vec();
    for i in 0..10 {
        // Latin-1: é is the single byte 0xE9, never valid UTF-8 before an ASCII byte.
        text.extend_from_slice(format!("x{i}.fr,Caf").as_bytes());
        text.extend_from_slice(b"\xE9 E1,1\n");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.csv");
    std::fs::write(&path, &text).unwrap();
    let err = read_err(&InputSource::Path(path), &ReadOptions::default());
    assert!(matches!(err, InputError::Encoding { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("latin1.csv") && msg.contains("--encoding") && msg.contains("\\xE9"),
        "{msg}"
    );
}

#[test]
fn dates_settled_by_the_file_or_the_flag() {
    let table = read(&fixture("dates_day_first.csv"));
    assert_eq!(table.rows[0].expires_on, Some(d(2026, 4, 3)));
    assert_eq!(table.rows[1].expires_on, Some(d(2026, 12, 25)));

    let table = read(&fixture("dates_ambiguous.csv"));
    assert_eq!(
        codes(&table),
        vec![
            (2, RejectCode::AmbiguousDate),
            (3, RejectCode::AmbiguousDate)
        ]
    );
    assert_eq!(
        table.rejected[0].message,
        "\"03/04/2026\" could be 2026-03-04 (month first) or 2026-04-03 (day first) and no other date in the column settles whether the day or the month comes first: pass --date-order mdy or --date-order dmy, or write the date as YYYY-MM-DD"
    );

    let opts = ReadOptions {
        date_order: Some(DateOrder::Mdy),
        ..Default::default()
    };
    let table = read_input(&fixture("dates_ambiguous.csv"), 0, &opts).unwrap();
    assert_eq!(table.rows[0].expires_on, Some(d(2026, 3, 4)));
    assert!(table.rejected.is_empty());

    let table = read_text(
        "Domain,Product,Seats,End date\na.com,E1,1,03/04/2026\nb.com,E1,1,25/12/2026\nc.com,E1,1,12/25/2026\n",
    );
    assert_eq!(codes(&table), vec![(2, RejectCode::AmbiguousDate)]);
    assert!(
        table.rejected[0]
            .message
            .contains("mixes month-first (row 4) and day-first (row 3)")
    );
}

#[test]
fn excel_cells_dates_numbers_and_serials() {
    use X::*;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cells.xlsx");
    write_xlsx(
        &path,
        &[(
            "S",
            (0, 0),
            vec![
                vec![S("Domain"), S("Offer"), S("Seats"), S("End date")],
                vec![S("a.com"), S("E1"), N(12.0), D(d(2026, 11, 21))],
                vec![S("b.com"), S("E1"), N(3.0), N(46347.0)],
                vec![S("c.com"), S("E1"), N(12.5), E],
                vec![],
                vec![S("d.com"), S("E1"), S("７"), S("2026년 11월 21일")],
            ],
        )],
    );
    let table = read(&InputSource::Path(path));
    assert_eq!(table.rows.len(), 3);
    assert_eq!(table.rows[0].expires_on, Some(d(2026, 11, 21)));
    assert_eq!(table.rows[1].expires_on, Some(d(2026, 11, 21)));
    assert_eq!(table.rows[2].seats, 7);
    assert_eq!(table.rows[2].row, 6);
    assert_eq!(codes(&table), vec![(4, RejectCode::InvalidSeats)]);
    assert_eq!(table.rejected[0].value.as_deref(), Some("12.5"));
    assert_eq!(table.info.rows, 4);
}

#[test]
fn whole_file_errors_name_the_file() {
    type Case = (&'static str, fn(&InputError) -> bool, &'static str);
    let cases: [Case; 6] = [
        (
            "empty.csv",
            |e| matches!(e, InputError::Empty { .. }),
            "empty",
        ),
        (
            "not_a_spreadsheet.csv",
            |e| matches!(e, InputError::NotASpreadsheet { .. }),
            "PNG",
        ),
        (
            "truncated.xlsx",
            |e| matches!(e, InputError::Damaged { .. }),
            "damaged or truncated",
        ),
        (
            "password_protected.xlsx",
            |e| matches!(e, InputError::PasswordProtected { .. }),
            "password-protected",
        ),
        (
            "no_header.csv",
            |e| matches!(e, InputError::NoHeader { .. }),
            "customer_id (e.g. Customer ID",
        ),
        (
            "missing.csv",
            |e| matches!(e, InputError::Unreadable { .. }),
            "cannot read",
        ),
    ];
    for (name, is, words) in cases {
        let err = read_err(&fixture(name), &ReadOptions::default());
        let msg = err.to_string();
        assert!(is(&err), "{name}: {msg}");
        assert!(
            msg.starts_with(&fixtures().join(name).display().to_string()),
            "{msg}"
        );
        assert!(msg.contains(words), "{name}: {msg}");
    }
}

#[test]
fn header_only_is_zero_rows() {
    let table = read(&fixture("header_only.csv"));
    assert_eq!(
        (table.rows.len(), table.rejected.len(), table.info.rows),
        (0, 0, 0)
    );
}

#[test]
fn missing_required_column_names_headers_and_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.csv");
    std::fs::write(&path, "Company,Product,Quantity\nContoso,E3,5\n").unwrap();
    let msg = read_err(&InputSource::Path(path), &ReadOptions::default()).to_string();
    assert!(
        msg.contains("\"Company\", \"Product\", \"Quantity\""),
        "{msg}"
    );
    assert!(
        msg.contains("lacks a column for customer_id or domain"),
        "{msg}"
    );
    assert!(msg.contains("Tenant ID") && msg.contains("--map"), "{msg}");
}

#[test]
fn map_flag_names_columns() {
    let text = "Kunde,Produkt,Lizenzen\nkunde.de,E3,5\n";
    let opts = ReadOptions {
        map: vec![
            (Field::Domain, "Kunde".into()),
            (Field::CurrentOffer, "produkt".into()),
            (Field::Seats, "LIZENZEN".into()),
        ],
        ..Default::default()
    };
    let table = read_bytes_opts(text.as_bytes(), &opts);
    assert_eq!(table.rows[0].seats, 5);
    assert_eq!(table.rows[0].domain(), Some("kunde.de"));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.csv");
    std::fs::write(&path, "Domain,Offer,Seats,Notes\n").unwrap();
    let opts = ReadOptions {
        map: vec![(Field::ExpiresOn, "Ablaufdatum".into())],
        ..Default::default()
    };
    let msg = read_err(&InputSource::Path(path), &opts).to_string();
    assert!(
        msg.contains("--map expires_on=\"Ablaufdatum\"") && msg.contains("\"Notes\""),
        "{msg}"
    );
}

#[test]
fn encoding_flag_overrides_detection() {
    let (bytes, _, _) = EUC_KR.encode("도메인,제품,수량\ncontoso.kr,E3,5\n");
    let opts = ReadOptions {
        encoding: Some(SHIFT_JIS),
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.csv");
    std::fs::write(&path, &bytes).unwrap();
    // Read as Shift_JIS the Korean headers are nonsense: no header row.
    let err = read_err(&InputSource::Path(path.clone()), &opts);
    assert!(err.to_string().contains("read as Shift_JIS"), "{err}");
    let opts = ReadOptions {
        encoding: Some(EUC_KR),
        ..Default::default()
    };
    assert_eq!(
        read_input(&InputSource::Path(path), 0, &opts)
            .unwrap()
            .rows
            .len(),
        1
    );
}

#[test]
fn blank_rows_are_skipped_but_counted() {
    let table = read_text(
        "\n\nDomain,Offer,Seats\n\n,,\na.com,E1,1\n\"b.com\",\"E1\nsecond line\",2\n\nc.com,E1,3\n",
    );
    let rows: Vec<u64> = table.rows.iter().map(|r| r.row).collect();
    assert_eq!(rows, vec![6, 7, 9]);
    assert_eq!(table.rows[1].current_offer(), "E1\nsecond line");
    assert_eq!(table.info.rows, 3);
}

// ----- properties --------------------------------------------------------------------

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Reads `bytes` as an input and as a catalog under two names and checks that each
    /// result is rows or a typed error: a table whose counts add up (every row valid or
    /// rejected, rejections naming the file and a row below the header), or an error
    /// whose message starts with the path.
    pub(super) fn read_any(bytes: &[u8]) -> Result<(), TestCaseError> {
        let dir = tempfile::tempdir().unwrap();
        for name in ["x.csv", "x.xlsx"] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let shown = path.display().to_string();
            match read_input(&InputSource::Path(path.clone()), 0, &ReadOptions::default()) {
                Ok(table) => {
                    prop_assert_eq!(
                        table.info.rows,
                        (table.rows.len() + table.rejected.len()) as u64
                    );
                    prop_assert_eq!(table.info.sha256.len(), 64);
                    for r in &table.rejected {
                        prop_assert_eq!(&r.input, &shown);
                        prop_assert!(r.row >= 2, "row {}", r.row);
                        prop_assert!(!r.message.is_empty());
                    }
                    for r in &table.rows {
                        prop_assert!(!r.current_offer().is_empty());
                        prop_assert!(r.seats > 0);
                        prop_assert!(r.customer_id().is_some() || r.domain().is_some());
                    }
                }
                Err(e) => prop_assert!(e.to_string().starts_with(&shown), "{}", e),
            }
            if let Err(e) = crate::catalog::read_catalog(&path, None) {
                prop_assert!(e.to_string().contains(&shown), "{}", e);
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn any_bytes_give_rows_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            read_any(&bytes)?;
        }

        #[test]
        fn csv_like_text_gives_rows_or_an_error(
            body in "(([a-z0-9 ./,;|\t\"\n\r-]|Seats|Domain|Offer|2026-11-21|03/04/2026|예|はい|１,２){0,12}[\n,]){0,20}",
        ) {
            let text = format!("Domain,Offer,Seats,End date,Auto renew,Assigned\n{body}");
            read_any(text.as_bytes())?;
        }

        #[test]
        fn streamed_and_whole_reads_agree(
            body in "((a\\.com|b\\.jp|E1|\"q,\nx\"|1,200|-3|03/04/2026|25/12/2026|예|\r\n|\n|,){0,10}\r?\n){0,40}",
            head in 8usize..400,
        ) {
            let text = format!("Title\n\nDomain,Offer,Seats,End date,Auto renew\n{body}");
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s.csv");
            std::fs::write(&path, &text).unwrap();
            let source = InputSource::Path(path);
            let opts = ReadOptions::default();
            let streamed = read_input_with_head(&source, 0, &opts, head.min(text.len()));
            let whole = read_input_with_head(&source, 0, &opts, text.len() + 1);
            match (streamed, whole) {
                (Ok(a), Ok(b)) => {
                    prop_assert_eq!(a.info, b.info);
                    prop_assert_eq!(a.rows, b.rows);
                    prop_assert_eq!(a.rejected, b.rejected);
                }
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                (a, b) => prop_assert!(false, "streamed {:?} vs whole {:?}", a.map(|t| t.rows.len()), b.map(|t| t.rows.len())),
            }
        }

        #[test]
        fn zip_and_ole_prefixes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..400), ole in any::<bool>()) {
            let mut bytes = if ole { b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec() } else { b"PK\x03\x04".to_vec() };
            bytes.extend(tail);
            read_any(&bytes)?;
        }
    }
}

// ----- streaming reads ---------------------------------------------------------------

/// A text with everything row numbering and settling can trip on, spread over many
/// chunks: CRLF and LF lines, blank lines, multi-line quoted cells, rejections, and a
/// day-first date far below ambiguous ones.
fn long_text(rows: usize) -> String {
    let mut text = String::from(
        "Export\r\n\r\nCustomer ID,Domain,Company,Offer,Seats,End date,Auto renew\r\n",
    );
    for i in 0..rows {
        let end = if i % 7 == 0 { "\n" } else { "\r\n" };
        let line = match i % 50 {
            0 => format!(",d{i}.com,\"Two\nlines\",E1,{},03/04/2026,yes{end}", i + 1),
            1 => end.to_string(),
            2 => format!(",d{i}.com,C{i},E1,-{i},,no{end}"),
            3 => format!("{{{CONTOSO}}},,\"Quoted, comma\",E3,\"1,200\",2026年11月21日,はい{end}"),
            _ => format!(
                ",d{i}.com,C{i},Office 365 E1,{},2027-01-{:02},{end}",
                i % 90 + 1,
                i % 28 + 1
            ),
        };
        text.push_str(&line);
    }
    text.push_str(",last.com,Last,E1,1,25/12/2026,\r\n");
    text
}

#[test]
fn streaming_and_whole_reads_agree() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("long.csv", long_text(60_000)),
        ("bom.csv", format!("\u{FEFF}{}", long_text(3_000))),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &text).unwrap();
        let source = InputSource::Path(path);
        let opts = ReadOptions::default();
        let streamed = read_input_with_head(&source, 0, &opts, 4096).unwrap();
        // It really was streamed, not read again whole.
        let mut file = std::fs::File::open(dir.path().join(name)).unwrap();
        let head = stream::read_head(&mut file, 4096).unwrap();
        let direct = read_streaming(
            file,
            head,
            &dir.path().join(name).display().to_string(),
            0,
            &opts,
            &[],
        );
        assert_eq!(direct.unwrap().expect("streamed").rows, streamed.rows);
        let whole = read_input_with_head(&source, 0, &opts, text.len() + 16).unwrap();
        assert_eq!(streamed.info, whole.info, "{name}");
        assert_eq!(streamed.rows, whole.rows, "{name}");
        assert_eq!(streamed.rejected, whole.rejected, "{name}");
        assert!(!whole.rejected.is_empty() && whole.rows.len() > 1000);
        // The lone day-first date at the end settles the ambiguous ones above it.
        assert!(
            whole
                .rejected
                .iter()
                .all(|r| r.code == RejectCode::InvalidSeats),
            "{name}"
        );
        assert_eq!(whole.rows[0].expires_on, Some(d(2026, 4, 3)));
        assert_eq!(
            whole.info.sha256,
            hex::encode(sha2::Sha256::digest(text.as_bytes()))
        );
    }
}

#[test]
fn streaming_falls_back_when_a_late_row_is_not_utf8() {
    let mut bytes = long_text(20_000).into_bytes();
    bytes.extend_from_slice(b",bad.com,Caf\xE9,E1,1,,\r\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.csv");
    std::fs::write(&path, &bytes).unwrap();
    let table =
        read_input_with_head(&InputSource::Path(path), 0, &ReadOptions::default(), 4096).unwrap();
    let last = table.rejected.last().unwrap();
    assert_eq!(last.code, RejectCode::InvalidEncoding);
    assert_eq!(last.value.as_deref(), Some("Caf\\xE9"));
}

#[test]
fn every_text_fixture_reads_the_same_streamed() {
    for name in [
        "basic.csv",
        "title_block.csv",
        "rejections.csv",
        "dates_korean.csv",
        "dates_japanese.csv",
        "dates_day_first.csv",
        "bad_bytes_in_one_row.csv",
    ] {
        let source = fixture(name);
        let opts = ReadOptions::default();
        let size = std::fs::metadata(fixtures().join(name)).unwrap().len() as usize;
        let head = 300.min(size - 1);
        let streamed = read_input_with_head(&source, 0, &opts, head).unwrap();
        let whole = read_input(&source, 0, &opts).unwrap();
        assert_eq!(streamed.info, whole.info, "{name}");
        assert_eq!(streamed.rows, whole.rows, "{name}");
        assert_eq!(streamed.rejected, whole.rejected, "{name}");
    }
}

#[test]
fn content_decides_not_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let misnamed_book = dir.path().join("export.csv");
    std::fs::copy(fixtures().join("basic.xlsx"), &misnamed_book).unwrap();
    let misnamed_text = dir.path().join("export.xls");
    std::fs::copy(fixtures().join("basic.csv"), &misnamed_text).unwrap();
    let book = read(&InputSource::Path(misnamed_book));
    let text = read(&InputSource::Path(misnamed_text));
    assert_eq!(book.info.sheet.as_deref(), Some("Customers"));
    assert_eq!(text.info.sheet, None);
    assert_eq!(without_input(book), without_input(text));
}

#[test]
fn excel_sep_hint_line_is_not_a_row() {
    let table = read_text("sep=;\r\nDomain;Offer;Seats\r\na.com;E1;0\r\nb.com;E1;2\r\n");
    assert_eq!(codes(&table), vec![(2, RejectCode::InvalidSeats)]);
    assert_eq!(table.rows[0].row, 3);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sep.csv");
    let text = format!("SEP=,\n{}", long_text(2_000));
    std::fs::write(&path, &text).unwrap();
    let source = InputSource::Path(path);
    let opts = ReadOptions::default();
    let streamed = read_input_with_head(&source, 0, &opts, 4096).unwrap();
    let whole = read_input_with_head(&source, 0, &opts, text.len() + 16).unwrap();
    assert_eq!(streamed.info, whole.info);
    assert_eq!(streamed.rows, whole.rows);
    assert_eq!(
        whole.rows[0].row, 4,
        "title, blank, header, then the first row"
    );
}

#[test]
fn bad_bytes_in_the_header_are_a_file_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.csv");
    std::fs::write(&path, b"Domain,Offer \xFF,Seats\na.com,E1,1\n").unwrap();
    let err = read_err(&InputSource::Path(path), &ReadOptions::default());
    assert!(
        matches!(err, InputError::HeaderEncoding { row: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("(\\xFF)"), "{err}");
}

#[test]
fn bomless_utf16_reads_with_the_encoding_flag() {
    let text = "ドメイン\tプラン\t数量\r\ncontoso.jp\tE3\t5\r\n";
    let bytes: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    let opts = ReadOptions {
        encoding: Some(encoding_rs::UTF_16LE),
        ..Default::default()
    };
    let table = read_bytes_opts(&bytes, &opts);
    assert_eq!(table.rows[0].domain(), Some("contoso.jp"));
    assert_eq!(table.rows[0].seats, 5);
}

// ----- hostile workbooks (issue 9) ---------------------------------------------------

fn customer_rows(offer: &'static str) -> Vec<Vec<X>> {
    vec![
        vec![X::S("Domain"), X::S("Offer"), X::S("Seats")],
        vec![X::S("a.com"), X::S(offer), X::N(5.0)],
    ]
}

#[test]
fn hidden_first_sheet_is_skipped_unless_named() {
    for very in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hidden.xlsx");
        let mut book = Workbook::new();
        for (name, offer, hidden) in [("Old", "Stale E1", true), ("Now", "Office 365 E3", false)] {
            let sheet = book.add_worksheet();
            sheet.set_name(name).unwrap();
            for (r, row) in customer_rows(offer).iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    match cell {
                        X::S(s) => sheet.write_string(r as u32, c as u16, *s).unwrap(),
                        X::N(n) => sheet.write_number(r as u32, c as u16, *n).unwrap(),
                        _ => unreachable!(),
                    };
                }
            }
            if hidden {
                if very {
                    sheet.set_very_hidden(true);
                } else {
                    sheet.set_hidden(true);
                }
            } else {
                sheet.set_active(true);
            }
        }
        book.save(&path).unwrap();
        let source = InputSource::Path(path);
        let table = read(&source);
        assert_eq!(
            table.info.sheet.as_deref(),
            Some("Now"),
            "very hidden: {very}"
        );
        assert_eq!(table.rows[0].current_offer(), "Office 365 E3");
        // Named, the hidden sheet is read.
        let opts = ReadOptions {
            sheet: Some(SheetSelector::Name("Old".into())),
            ..Default::default()
        };
        let table = read_input(&source, 0, &opts).unwrap();
        assert_eq!(table.info.sheet.as_deref(), Some("Old"));
        assert_eq!(table.rows[0].current_offer(), "Stale E1");
    }
}

#[test]
fn stray_cell_at_xfd1048576_is_read_sparse() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stray.xlsx");
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in customer_rows("E3").iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            match cell {
                X::S(s) => sheet.write_string(r as u32, c as u16, *s).unwrap(),
                X::N(n) => sheet.write_number(r as u32, c as u16, *n).unwrap(),
                _ => unreachable!(),
            };
        }
    }
    sheet.write_string(1_048_575, 16_383, "stray").unwrap();
    book.save(&path).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 10_000);
    let table = read(&InputSource::Path(path));
    assert_eq!(table.rows.len(), 1);
    assert_eq!(table.rows[0].seats, 5);
    // The stray cell's row is not dropped silently: it is a row without a customer.
    assert_eq!(
        codes(&table),
        vec![(1_048_576, RejectCode::MissingCustomer)]
    );
}

/// An .xlsx whose sheet part declares `size` unpacked bytes (the part itself is small:
/// the reader checks the declared sizes before unpacking anything, and the zip reader
/// never unpacks more than a part declares).
fn xlsx_declaring(size: u32) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.xlsx");
    write_xlsx(&path, &[("Sheet1", (0, 0), customer_rows("E3"))]);
    let mut bytes = std::fs::read(&path).unwrap();
    let name = b"xl/worksheets/sheet1.xml";
    // Local header: size at 22, name at 30; central directory: size at 24, name at 46.
    for (sig, size_at, name_at) in [(b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)] {
        let mut at = 0;
        while let Some(i) = bytes[at..].windows(4).position(|w| w == sig) {
            let start = at + i;
            if bytes[start + name_at..].starts_with(name) {
                bytes[start + size_at..start + size_at + 4].copy_from_slice(&size.to_le_bytes());
            }
            at = start + 4;
        }
    }
    bytes
}

#[test]
fn zip_bomb_is_refused_by_its_unpacked_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.xlsx");
    std::fs::write(&path, xlsx_declaring(1_610_612_736)).unwrap();
    let err = read_err(&InputSource::Path(path.clone()), &ReadOptions::default());
    assert!(matches!(err, InputError::File { .. }), "{err}");
    let err = err.to_string();
    assert!(
        err.starts_with(&path.display().to_string())
            && err.contains("unpacks to 1536 MiB")
            && err.contains("zip bomb"),
        "{err}"
    );
}

// ----- long random-input runs (bench/fuzz.sh, docs/fuzzing.md) ----------------------

/// A small deterministic generator (xorshift64*), so a run is repeatable by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// `bytes` with a few random bytes overwritten, inserted or removed.
    fn mutate(&mut self, mut bytes: Vec<u8>) -> Vec<u8> {
        for _ in 0..1 + self.below(8) {
            let at = self.below(bytes.len() + 1);
            match self.below(3) {
                0 if at < bytes.len() => bytes[at] = self.next() as u8,
                1 => bytes.insert(at, self.next() as u8),
                _ if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => {}
            }
        }
        bytes
    }
}

const PIECES: &[&str] = &[
    "Domain",
    "Offer",
    "Seats",
    "Customer ID",
    "End date",
    "Term",
    "Billing",
    "Subscription ID",
    ",",
    ";",
    "\t",
    "|",
    "\"",
    "\n",
    "\r\n",
    " ",
    "a.com",
    "E3",
    "1,200",
    "-3",
    "0",
    "P1M",
    "annual",
    "2026-11-21",
    "03/04/2026",
    "9999-12-31",
    "46347",
    "예",
    "はい",
    "ハイ",
    "令和8年1月1日",
    "오전 12:00:00",
    "\u{FEFF}",
    "#TYPE x",
    "sep=;",
    "\u{FFFD}",
    "\u{3000}",
    "0f5a3c1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b",
];

fn random_text(rng: &mut Rng, pieces: usize) -> String {
    (0..pieces)
        .map(|_| PIECES[rng.below(PIECES.len())])
        .collect()
}

/// Runs every reader on random and mutated inputs for `FUZZ_CASES` cases each (default
/// 200) from `FUZZ_SEED` (default 1), checking each result as the properties do and
/// counting what happened. Run by bench/fuzz.sh; results in docs/fuzzing.md.
#[test]
#[ignore = "long random-input run: bench/fuzz.sh"]
fn fuzz_every_reader() {
    let cases: usize = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut rng = Rng(seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let dir = tempfile::tempdir().unwrap();
    let seeds: Vec<(&str, Vec<u8>)> = [
        ("xlsx", "basic.xlsx"),
        ("xlsx", "title_block.xlsx"),
        ("xls", "basic.xls"),
        ("ods", "basic.ods"),
        // No .xlsb fixture exists: ZIP bytes under an .xlsb name try the XLSB reader first.
        ("xlsb", "table_at_c5.xlsx"),
    ]
    .iter()
    .map(|(ext, f)| (*ext, std::fs::read(fixtures().join(f)).unwrap()))
    .collect();
    let plan_json = serde_json::to_vec(&crate::apply::testplan::plan_with(3, 2, 1)).unwrap();
    let mut report: Vec<String> = Vec::new();
    let count = |report: &mut Vec<String>, name: &str, ok: usize, err: usize| {
        report.push(format!(
            "{name}: {cases} cases, {ok} rows/values, {err} typed errors, 0 panics"
        ));
    };

    let (mut ok, mut err) = (0, 0);
    for _ in 0..cases {
        let n = rng.below(60);
        let text = random_text(&mut rng, n);
        let bytes = if rng.below(4) == 0 {
            rng.mutate(text.into_bytes())
        } else {
            text.into_bytes()
        };
        properties::read_any(&bytes).unwrap();
        let path = dir.path().join("f.csv");
        std::fs::write(&path, &bytes).unwrap();
        match read_input(&InputSource::Path(path), 0, &ReadOptions::default()) {
            Ok(_) => ok += 1,
            Err(_) => err += 1,
        }
    }
    count(&mut report, "csv", ok, err);

    for (ext, seed_bytes) in &seeds {
        let (mut ok, mut err) = (0, 0);
        for _ in 0..cases {
            let bytes = rng.mutate(seed_bytes.clone());
            let path = dir.path().join(format!("f.{ext}"));
            std::fs::write(&path, &bytes).unwrap();
            match read_input(&InputSource::Path(path.clone()), 0, &ReadOptions::default()) {
                Ok(t) => {
                    assert_eq!(t.info.rows, (t.rows.len() + t.rejected.len()) as u64);
                    ok += 1
                }
                Err(e) => {
                    assert!(
                        e.to_string().starts_with(&path.display().to_string()),
                        "{e}"
                    );
                    err += 1
                }
            }
        }
        count(&mut report, ext, ok, err);
    }

    let (mut ok, mut err) = (0, 0);
    for _ in 0..cases * 20 {
        let n = rng.below(6);
        let text = random_text(&mut rng, n);
        for order in [None, Some(DateOrder::Dmy)] {
            match date::parse_date(&text, order) {
                date::DateRead::Invalid(_) => err += 1,
                date::DateRead::Date { date, .. } => {
                    assert!(
                        date::YEARS.contains(&chrono::Datelike::year(&date)),
                        "{text:?}"
                    );
                    ok += 1
                }
                date::DateRead::Ambiguous { .. } => ok += 1,
            }
        }
    }
    report.push(format!(
        "dates: {} cases, {ok} dates, {err} not dates, 0 panics",
        cases * 40
    ));

    let mut matched = 0;
    for _ in 0..cases * 20 {
        let cells: Vec<String> = (0..rng.below(12))
            .map(|_| {
                let n = rng.below(3);
                random_text(&mut rng, n)
            })
            .collect();
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        let map = header::match_row(&header::INPUT_SCHEMA, &refs, &[]);
        for c in map.columns.iter().flatten() {
            assert!(*c < cells.len());
        }
        matched += usize::from(header::satisfies(&header::INPUT_SCHEMA, &map));
    }
    report.push(format!(
        "headers: {} rows, {matched} header rows, 0 panics",
        cases * 20
    ));

    let (mut ok, mut err) = (0, 0);
    for _ in 0..cases {
        let bytes = rng.mutate(plan_json.clone());
        match crate::model::Plan::from_json_slice(&bytes) {
            Ok(_) => ok += 1,
            Err(_) => err += 1,
        }
        let path = dir.path().join("p.json");
        std::fs::write(&path, &bytes).unwrap();
        let _typed: Result<_, crate::model::PlanFileError> = crate::model::Plan::read(&path);
    }
    count(&mut report, "plan file", ok, err);

    let journal_seed = format!(
        "{}\n{}\n",
        r#"{"schema":"cspmove.journal/v1","plan_sha256":"00","started":"2026-11-21T00:00:00Z"}"#,
        r#"{"at":"2026-11-21T00:00:01Z","task":"c1-t1","state":"done"}"#
    )
    .into_bytes();
    let (mut ok, mut err) = (0, 0);
    for _ in 0..cases {
        let bytes = rng.mutate(journal_seed.clone());
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, &bytes).unwrap();
        match crate::apply::journal::read(&path) {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(e.to_string().contains("j.jsonl"), "{e}");
                err += 1
            }
        }
    }
    count(&mut report, "journal", ok, err);
    eprintln!("fuzz (seed {seed}):\n  {}", report.join("\n  "));
}
