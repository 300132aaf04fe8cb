//! Integration tests of the input stage through `cspmove plan`: every bad file exits 2
//! with a message naming it, bad rows exit 3 and are listed, `-` reads stdin, several
//! inputs merge, and CSV/XLSX twins give the same plan.

use cspmove::model::{Plan, RejectCode};

use crate::common::{Workdir, fixture};

fn plan(wd: &Workdir, args: &[&str]) -> crate::common::Output {
    let mut all = vec!["plan", "--as-of", "2026-11-21", "-o", "plan.json"];
    all.extend_from_slice(args);
    wd.run(all)
}

fn fx(name: &str) -> String {
    fixture(name).display().to_string()
}

fn read_plan(wd: &Workdir) -> Plan {
    Plan::read(&wd.join("plan.json")).unwrap_or_else(|e| panic!("plan.json: {e}"))
}

#[test]
fn bad_files_exit_2_naming_the_file() {
    for (name, words) in [
        ("empty.csv", "the file is empty"),
        (
            "not_a_spreadsheet.csv",
            "not a spreadsheet: it is a PNG image",
        ),
        ("truncated.xlsx", "damaged or truncated"),
        ("password_protected.xlsx", "password-protected"),
        ("no_header.csv", "no header row of a customer export found"),
        ("does_not_exist.csv", "No such file or directory"),
    ] {
        let wd = Workdir::new();
        let path = fx(name);
        let out = plan(&wd, &[&path])
            .expect_code(2)
            .expect_stderr_contains(&path)
            .expect_stderr_contains(words);
        assert!(out.stdout.is_empty(), "{name}: {}", out.stdout);
        assert!(!wd.join("plan.json").exists(), "{name}: a plan was written");
    }
}

#[test]
fn missing_sheet_lists_the_sheets() {
    let wd = Workdir::new();
    plan(
        &wd,
        &[&fx("table_on_second_sheet.xlsx"), "--sheet", "Moves"],
    )
    .expect_code(2)
    .expect_stderr_contains(
        "there is no sheet \"Moves\"; the sheets are: \"Summary\", \"Subscriptions\"",
    );
}

#[test]
fn sheet_by_number_and_default_sheet() {
    let wd = Workdir::new();
    plan(&wd, &[&fx("table_on_second_sheet.xlsx")]).expect_code(3);
    let default = read_plan(&wd);
    assert_eq!(default.inputs[0].sheet.as_deref(), Some("Subscriptions"));
    let wd2 = Workdir::new();
    plan(&wd2, &[&fx("table_on_second_sheet.xlsx"), "--sheet", "2"]).expect_code(3);
    assert_eq!(read_plan(&wd2).customers, default.customers);
}

#[test]
fn bad_rows_exit_3_and_are_listed_with_their_row() {
    let wd = Workdir::new();
    let out = plan(&wd, &[&fx("rejections.csv")]).expect_code(3);
    assert!(
        out.stderr.contains("row 5, column \"Seats\", value \"-3\""),
        "{}",
        out.stderr
    );
    let plan = read_plan(&wd);
    let codes: Vec<(u64, RejectCode)> = plan.rejected.iter().map(|r| (r.row, r.code)).collect();
    assert_eq!(codes[0], (2, RejectCode::MissingCustomer));
    assert!(codes.contains(&(10, RejectCode::AmbiguousDate)));
    assert_eq!(plan.summary.rejected_rows, 10);
    assert_eq!(plan.inputs[0].rows, 11);
    assert_eq!(plan.summary.lines, 1);
}

#[test]
fn date_order_flag_settles_ambiguous_dates() {
    let wd = Workdir::new();
    plan(&wd, &[&fx("dates_ambiguous.csv")])
        .expect_code(3)
        .expect_stderr_contains("--date-order");
    let wd = Workdir::new();
    plan(&wd, &[&fx("dates_ambiguous.csv"), "--date-order", "dmy"]).expect_code(0);
    let plan = read_plan(&wd);
    let dates: Vec<String> = plan
        .lines()
        .map(|(_, l)| l.expires_on.unwrap().to_string())
        .collect();
    assert_eq!(dates, vec!["2026-04-03", "2026-06-05"]);
}

#[test]
fn stdin_is_read_as_csv() {
    let wd = Workdir::new();
    let csv = "Domain,Offer,Seats\ncontoso.com,Office 365 E3,5\n";
    wd.run_with_stdin(
        ["plan", "-", "--as-of", "2026-11-21", "-o", "plan.json"],
        csv.as_bytes(),
    )
    .expect_code(0);
    let plan = read_plan(&wd);
    assert_eq!(plan.inputs[0].path, "-");
    assert_eq!(plan.inputs[0].rows, 1);
    assert_eq!(plan.customers[0].key, "contoso.com");
}

#[test]
fn empty_stdin_is_an_error() {
    let wd = Workdir::new();
    wd.run_with_stdin(["plan", "-", "-o", "plan.json"], b"")
        .expect_code(2)
        .expect_stderr_contains("-: the file is empty");
}

#[test]
fn several_inputs_merge_with_their_own_row_numbers() {
    let wd = Workdir::new();
    plan(
        &wd,
        &[&fx("dates_korean.csv"), &fx("shift_jis_headers.csv")],
    )
    .expect_code(0);
    let plan = read_plan(&wd);
    assert_eq!(plan.inputs.len(), 2);
    assert_eq!(plan.summary.lines, 6);
    let from_second: Vec<u64> = plan
        .lines()
        .filter(|(_, l)| l.input == 1)
        .map(|(_, l)| l.row)
        .collect();
    assert_eq!(from_second.len(), 3);
    assert!(from_second.iter().all(|r| (2..=4).contains(r)));
    // The same tenant ID in both files is one customer.
    let contoso = plan
        .customers
        .iter()
        .find(|c| c.customer_id.as_deref() == Some("0f5a3c1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b"))
        .unwrap();
    assert_eq!(contoso.lines.len(), 2);
}

#[test]
fn csv_and_xlsx_twins_give_the_same_plan() {
    let a = Workdir::new();
    plan(&a, &[&fx("title_block.csv")]).expect_code(3);
    let b = Workdir::new();
    plan(&b, &[&fx("title_block.xlsx")]).expect_code(3);
    let (pa, pb) = (read_plan(&a), read_plan(&b));
    assert_eq!(pa.customers, pb.customers);
    assert_eq!(pa.summary, pb.summary);
    assert_eq!(pa.rejected.len(), 1);
    assert_eq!(pa.rejected[0].row, pb.rejected[0].row);
    assert_eq!(pb.inputs[0].sheet.as_deref(), Some("Export"));
}

#[test]
fn encoding_flag_and_detection() {
    let wd = Workdir::new();
    plan(&wd, &[&fx("cp949_headers.csv")]).expect_code(0);
    assert_eq!(
        read_plan(&wd)
            .customers
            .iter()
            .filter(|c| c.name.as_deref() == Some("콘토소"))
            .count(),
        1
    );
    let wd = Workdir::new();
    plan(&wd, &[&fx("cp949_headers.csv"), "--encoding", "shift_jis"])
        .expect_code(2)
        .expect_stderr_contains("read as Shift_JIS");
    let wd = Workdir::new();
    plan(&wd, &[&fx("utf16le_bom.txt"), "--encoding", "cp949"]).expect_code(0);
}

#[test]
fn map_flag_names_a_column() {
    let wd = Workdir::new();
    wd.write(
        "de.csv",
        "Kunde,Produkt,Lizenzen\nkunde.de,Office 365 E3,5\n",
    );
    plan(&wd, &["de.csv"])
        .expect_code(2)
        .expect_stderr_contains("de.csv: no header row");
    plan(
        &wd,
        &[
            "de.csv",
            "--map",
            "domain=Kunde",
            "--map",
            "current_offer=Produkt",
            "--map",
            "seats=Lizenzen",
        ],
    )
    .expect_code(0);
    assert_eq!(read_plan(&wd).lines().next().unwrap().1.seats, 5);
}

#[test]
fn bad_bytes_in_one_row_reject_that_row_only() {
    let wd = Workdir::new();
    plan(&wd, &[&fx("bad_bytes_in_one_row.csv")])
        .expect_code(3)
        .expect_stderr_contains("row 3, column \"Product\", value \"Office \\\\xFF\\\\xFE E3\"");
    let plan = read_plan(&wd);
    assert_eq!(plan.rejected[0].code, RejectCode::InvalidEncoding);
    assert_eq!(plan.summary.lines, 21);
}

#[test]
fn bad_catalog_row_exits_2() {
    let wd = Workdir::new();
    plan(
        &wd,
        &[&fx("basic.csv"), "--catalog", &fx("catalog_bad_row.csv")],
    )
    .expect_code(2)
    .expect_stderr_contains("catalog_bad_row.csv: row 2, column \"SKU ID\"");
}

#[test]
fn a_file_over_one_mib_is_read_with_exact_row_numbers() {
    let wd = Workdir::new();
    let mut csv = String::from("Customer export\r\n\r\nDomain,Offer,Seats,End date,Notes\r\n");
    for i in 0..16_000 {
        if i % 1000 == 999 {
            csv.push_str("\r\n");
        }
        let seats = if i == 15_500 {
            "-3".to_string()
        } else {
            (i % 40 + 1).to_string()
        };
        csv.push_str(&format!(
            "c{i}.example.com,Office 365 E3,{seats},2027-01-15,\"note {i}\nsecond line\"\r\n"
        ));
    }
    assert!(csv.len() > 1 << 20);
    wd.write("big.csv", &csv);
    plan(&wd, &["big.csv"]).expect_code(3);
    let plan = read_plan(&wd);
    assert_eq!(plan.inputs[0].rows, 16_000);
    assert_eq!(plan.rejected.len(), 1);
    // Header on row 3; each record is one row however many lines it spans; a blank row
    // before every thousandth record.
    let blank_rows_above = (0..=15_500).filter(|i| i % 1000 == 999).count() as u64;
    assert_eq!(blank_rows_above, 15);
    assert_eq!(plan.rejected[0].row, 3 + 15_500 + 1 + blank_rows_above);
}
