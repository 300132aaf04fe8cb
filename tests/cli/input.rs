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

// ----- Microsoft's own export formats (DESIGN §3), read without --map ---------------

/// Plans a fixture of tests/fixtures/microsoft and returns the plan; the run must exit 0.
fn plan_microsoft(name: &str) -> Plan {
    let wd = Workdir::new();
    plan(&wd, &[&fx(&format!("microsoft/{name}"))]).expect_code(0);
    read_plan(&wd)
}

/// (row, current offer, target offer, seats, target seats, end date, subscription ID).
type LineView = (u64, String, String, u64, u64, String, String);

fn lines(plan: &Plan) -> Vec<LineView> {
    let mut out: Vec<LineView> = plan
        .customers
        .iter()
        .flat_map(|c| &c.lines)
        .map(|l| {
            (
                l.row,
                l.current_offer.clone(),
                l.target_offer.clone(),
                l.seats,
                l.target_seats,
                l.expires_on.map(|d| d.to_string()).unwrap_or_default(),
                l.subscription_id.clone().unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

fn view(
    row: u64,
    offer: &str,
    target: &str,
    seats: u64,
    target_seats: u64,
    end: &str,
    sub: &str,
) -> LineView {
    (
        row,
        offer.into(),
        target.into(),
        seats,
        target_seats,
        end.into(),
        sub.into(),
    )
}

#[test]
fn nce_batch_migration_tool_subscriptions_csv() {
    let plan = plan_microsoft("nce-batch-migration-subscriptions.csv");
    // CurrentSeatCount is what the customer has, SeatCount what is to be bought, NcePsa
    // the new-commerce product to buy.
    assert_eq!(
        lines(&plan),
        vec![
            view(
                2,
                "Office 365 E3",
                "CFQ7TTC0LF8R:0001",
                25,
                25,
                "2027-01-31",
                "5C0B3D1A-8F2E-4B6C-9A7D-1E2F3A4B5C6D"
            ),
            view(
                3,
                "Office 365 Business Essentials",
                "CFQ7TTC0LH18:0001",
                10,
                12,
                "2027-03-31",
                "7E8F9A0B-1C2D-4E3F-8A5B-6C7D8E9F0A1B"
            ),
            view(
                4,
                "Office 365 E1",
                "CFQ7TTC0LF8Q:0001",
                40,
                40,
                "2026-12-15",
                "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"
            ),
        ]
    );
    let contoso = &plan.customers[0];
    assert_eq!(contoso.name.as_deref(), Some("Contoso Ltd."));
    assert_eq!(contoso.lines[0].auto_renew, Some(true));
    assert_eq!(
        contoso.lines[0].target_offer_id.as_deref(),
        Some("CFQ7TTC0LF8R:0001")
    );
}

#[test]
fn partner_center_license_based_reconciliation_with_a_subscription_repeated_per_month() {
    let plan = plan_microsoft("reconciliation-license-based.csv");
    // Contoso's E3 is charged in September, October and November (the last row writes
    // its ID in lower case): one subscription, one line, two repeats counted; Fabrikam's
    // E1 twice: one line, one repeat. OfferName is the current offer; OfferId is kept.
    // The built-in catalog knows the former names: the targets are the new-commerce
    // products of the same licences.
    assert_eq!(
        lines(&plan),
        vec![
            view(
                2,
                "Office 365 Enterprise E3",
                "Office 365 E3",
                25,
                25,
                "2027-01-31",
                "5C0B3D1A-8F2E-4B6C-9A7D-1E2F3A4B5C6D"
            ),
            view(
                5,
                "Office 365 Enterprise E1",
                "Office 365 E1",
                40,
                40,
                "2026-12-15",
                "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"
            ),
        ]
    );
    assert_eq!(plan.summary.repeated_rows, 3);
    assert_eq!(plan.summary.rejected_rows, 0);
    assert_eq!(plan.inputs[0].rows, 5);
    assert_eq!(
        plan.customers[0].domain.as_deref(),
        Some("contoso.onmicrosoft.com")
    );
}

#[test]
fn a_reconciliation_repeat_that_disagrees_is_conflicting_subscription() {
    let wd = Workdir::new();
    let text =
        std::fs::read_to_string(fixture("microsoft/reconciliation-license-based.csv")).unwrap();
    // November's charge says 30 seats.
    let changed = text.replacen(
        "2026-11-30T00:00:00,Cycle fee,20.00,25,",
        "2026-11-30T00:00:00,Cycle fee,20.00,30,",
        1,
    );
    assert_ne!(changed, text);
    wd.write("recon.csv", changed);
    let out = plan(&wd, &["recon.csv"]).expect_code(3);
    let plan = read_plan(&wd);
    let r = &plan.rejected[0];
    assert_eq!(
        (r.row, r.code),
        (4, RejectCode::ConflictingSubscription),
        "{}",
        out.stderr
    );
    assert!(
        r.message.contains("row 2 of recon.csv") && r.message.contains("seats"),
        "{}",
        r.message
    );
    assert_eq!(plan.summary.repeated_rows, 2);
    assert_eq!(plan.summary.lines, 2);
}

#[test]
fn partner_center_new_commerce_reconciliation() {
    let plan = plan_microsoft("reconciliation-new-commerce.csv");
    assert_eq!(
        lines(&plan),
        vec![
            view(
                2,
                "Microsoft 365 E3",
                "Microsoft 365 E3",
                25,
                25,
                "2027-01-31",
                "0c353b8e-da9d-4007-d0d4-bca8bd5b5ce1"
            ),
            view(
                4,
                "Microsoft 365 Business Basic",
                "Microsoft 365 Business Basic",
                12,
                12,
                "2026-12-14",
                "1d464c9f-eb0e-4118-e1e5-cdb9ce6d6cf2"
            ),
        ]
    );
    assert_eq!(plan.summary.repeated_rows, 1);
    let sakura = &plan.customers[0];
    assert_eq!(sakura.domain.as_deref(), Some("sakura-shoji.co.jp"));
    assert_eq!(sakura.country.as_deref(), Some("JP"));
}

#[test]
fn partner_center_customer_and_subscription_export() {
    let plan = plan_microsoft("partner-center-subscriptions.csv");
    assert_eq!(
        lines(&plan),
        vec![
            view(
                2,
                "Office 365 E3",
                "Office 365 E3",
                25,
                25,
                "2027-01-31",
                "5C0B3D1A-8F2E-4B6C-9A7D-1E2F3A4B5C6D"
            ),
            view(
                3,
                "Office 365 Business Essentials",
                "Microsoft 365 Business Basic",
                10,
                10,
                "2027-03-31",
                "7E8F9A0B-1C2D-4E3F-8A5B-6C7D8E9F0A1B"
            ),
            view(
                4,
                "Office 365 E1",
                "Office 365 E1",
                40,
                40,
                "2026-12-15",
                "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"
            ),
        ]
    );
    assert_eq!(plan.customers[1].domain.as_deref(), Some("fabrikam.kr"));
    assert_eq!(plan.customers[0].lines[0].auto_renew, Some(true));
}

#[test]
fn powershell_export_csv_in_english_korean_and_japanese_windows() {
    // `#TYPE …` first line, quoted cells, CRLF; date-times as each Windows culture
    // writes them: `1/31/2027 12:00:00 AM`, `2027-01-31 오전 12:00:00`, `2027/01/31 0:00:00`.
    let en = plan_microsoft("powershell-subscriptions-en.csv");
    assert_eq!(
        lines(&en),
        vec![
            view(
                3,
                "Office 365 Enterprise E3",
                "Office 365 E3",
                25,
                25,
                "2027-01-31",
                "5C0B3D1A-8F2E-4B6C-9A7D-1E2F3A4B5C6D"
            ),
            view(
                4,
                "Office 365 Enterprise E1",
                "Office 365 E1",
                40,
                40,
                "2026-12-15",
                "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"
            ),
        ]
    );
    let ko = plan_microsoft("powershell-subscriptions-ko.csv");
    assert_eq!(
        lines(&ko),
        vec![
            view(
                3,
                "Office 365 Enterprise E3",
                "Office 365 E3",
                30,
                30,
                "2027-01-31",
                "2E8B6F1C-3A4D-4B5E-9C6F-7A8B9C0D1E2F"
            ),
            view(
                4,
                "Office 365 Enterprise E1",
                "Office 365 E1",
                8,
                8,
                "2026-06-30",
                "3F9C7A2D-4B5E-4C6F-8D7A-8B9C0D1E2F3A"
            ),
        ]
    );
    let ja = plan_microsoft("powershell-subscriptions-ja.csv");
    assert_eq!(
        lines(&ja),
        vec![view(
            3,
            "Office 365 Enterprise E3",
            "Office 365 E3",
            50,
            50,
            "2027-01-31",
            "4A0D8B3E-5C6F-4D7A-9E8B-9C0D1E2F3A4B"
        )]
    );
    assert_eq!(ja.customers[0].lines[0].auto_renew, Some(true));
}

#[test]
fn term_and_billing_come_from_microsoft_exports() {
    use cspmove::model::{Billing, Term};
    let tb = |plan: &Plan| -> Vec<(u64, Term, Billing)> {
        let mut v: Vec<_> = plan
            .customers
            .iter()
            .flat_map(|c| &c.lines)
            .map(|l| (l.row, l.term, l.billing))
            .collect();
        v.sort();
        v
    };
    // Term and BillingPlan of the NCE Batch Migration Tool.
    assert_eq!(
        tb(&plan_microsoft("nce-batch-migration-subscriptions.csv")),
        vec![
            (2, Term::P1Y, Billing::Monthly),
            (3, Term::P1Y, Billing::Annual),
            (4, Term::P1M, Billing::Monthly),
        ]
    );
    // TermAndBillingCycle ("One-Month commitment for monthly billing") and
    // BillingFrequency of the new-commerce reconciliation file.
    assert_eq!(
        tb(&plan_microsoft("reconciliation-new-commerce.csv")),
        vec![
            (2, Term::P1Y, Billing::Monthly),
            (4, Term::P1M, Billing::Monthly)
        ]
    );
    // TermDuration and BillingCycle of PowerShell.
    assert_eq!(
        tb(&plan_microsoft("powershell-subscriptions-en.csv")),
        vec![
            (3, Term::P1Y, Billing::Monthly),
            (4, Term::P1Y, Billing::Annual)
        ]
    );
}

#[test]
fn term_and_billing_values_and_unsold_pairs_are_rejected_with_their_column() {
    let wd = Workdir::new();
    wd.write(
        "tb.csv",
        "Domain,Offer,Seats,약정 기간,請求頻度\n\
         a.com,Office 365 E3,5,1년,月払い\n\
         b.com,Office 365 E3,5,3年,연간\n\
         c.com,Office 365 E3,5,2 years,monthly\n\
         d.com,Office 365 E3,5,P1M,annual\n\
         e.com,Office 365 E3,5,P1Y,隔月\n\
         f.com,Office 365 E3,5,1か月,\n\
         g.com,Office 365 E3,5,,triennial\n\
         h.com,Office 365 E3,5,,annual\n",
    );
    let out = plan(&wd, &["tb.csv", "--term", "P1M"]).expect_code(3);
    let plan = read_plan(&wd);
    let rejected: Vec<(u64, RejectCode, Option<String>)> = plan
        .rejected
        .iter()
        .map(|r| (r.row, r.code, r.column.clone()))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (4, RejectCode::InvalidTerm, Some("약정 기간".into())),
            (5, RejectCode::InvalidBilling, Some("請求頻度".into())),
            (6, RejectCode::InvalidBilling, Some("請求頻度".into())),
            // Annual billing with --term P1M: not sold.
            (9, RejectCode::InvalidBilling, None),
        ],
        "{}",
        out.stderr
    );
    assert!(
        plan.rejected[1].message.contains("P1M is billed monthly"),
        "{}",
        plan.rejected[1].message
    );
    assert!(
        plan.rejected[3].message.contains("--term"),
        "{}",
        plan.rejected[3].message
    );
    let tb: Vec<(String, cspmove::model::Term, cspmove::model::Billing)> = plan
        .customers
        .iter()
        .map(|c| (c.key.clone(), c.lines[0].term, c.lines[0].billing))
        .collect();
    use cspmove::model::{Billing, Term};
    assert_eq!(
        tb,
        vec![
            ("a.com".into(), Term::P1Y, Billing::Monthly),
            ("b.com".into(), Term::P3Y, Billing::Annual),
            ("f.com".into(), Term::P1M, Billing::Monthly),
            // Triennial billing is sold for P3Y only: the row's term is P3Y.
            ("g.com".into(), Term::P3Y, Billing::Triennial),
        ]
    );
}

#[test]
fn an_offer_id_beside_an_unknown_name_resolves_the_licence() {
    let wd = Workdir::new();
    // A reconciliation-style file whose OfferName is a nickname the catalog cannot
    // know; OfferId is Office 365 E3's legacy offer.
    wd.write(
        "recon.csv",
        "CustomerId,OfferId,OfferName,SubscriptionId,Quantity\n\
         4d3cf487-6a2d-4f8e-9c1b-2e7a5b0c9d11,796B6B5F-613C-4E24-A17C-EBA730D49C02,Contoso E3 (HQ),5C0B3D1A-8F2E-4B6C-9A7D-1E2F3A4B5C6D,25\n",
    );
    plan(&wd, &["recon.csv"]).expect_code(0);
    let plan = read_plan(&wd);
    let line = &plan.customers[0].lines[0];
    assert_eq!(line.current_offer, "Contoso E3 (HQ)");
    assert!(line.same_license, "{line:?}");
    assert!(
        !line
            .warnings
            .iter()
            .any(|w| w.as_str() == "OFFER_NOT_IN_CATALOG"),
        "{line:?}"
    );
}
