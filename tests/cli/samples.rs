//! The shipped samples plan as `samples/README.md` says: each deliberately bad row is
//! rejected or warned about with the documented code, the odd-but-valid rows (text dates
//! in Korean and Japanese, full-width digits, thousands separators, an offer given by ID,
//! a row with only a domain) are planned, and the built-in catalog resolves every
//! product form the samples use (no `--catalog`), except the name meant to be ambiguous.

use serde_json::Value;

use crate::common::{Workdir, sample};

const AS_OF: &str = "2026-11-21";

/// Runs `plan` on a sample and returns the plan file, checking the exit code (3: some
/// rows rejected, plan written).
fn plan_sample(name: &str, extra: &[&str]) -> Value {
    let wd = Workdir::new();
    let input = sample(name);
    let mut args: Vec<String> = vec![
        "plan".into(),
        input.display().to_string(),
        "--as-of".into(),
        AS_OF.into(),
        "-o".into(),
        "plan.json".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    wd.run(&args).expect_code(3);
    serde_json::from_str(&wd.read("plan.json")).expect("plan file is JSON")
}

/// (row, code, column) of every rejected row, in row order.
fn rejected(plan: &Value) -> Vec<(u64, String, String)> {
    let mut out: Vec<(u64, String, String)> = plan["rejected"]
        .as_array()
        .expect("rejected array")
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().expect("row"),
                r["code"].as_str().expect("code").to_string(),
                r["column"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The planned line of spreadsheet row `row`, with the customer it landed in.
fn line(plan: &Value, row: u64) -> (&Value, &Value) {
    for customer in plan["customers"].as_array().expect("customers") {
        for line in customer["lines"].as_array().expect("lines") {
            if line["row"].as_u64() == Some(row) {
                return (customer, line);
            }
        }
    }
    panic!("row {row} is not planned");
}

fn warnings(line: &Value) -> Vec<&str> {
    line["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w.as_str().expect("warning code"))
        .collect()
}

#[test]
fn english_sample_rejects_exactly_the_bad_rows_and_warns_on_the_odd_ones() {
    let plan = plan_sample("customers-en.csv", &[]);
    assert_eq!(
        rejected(&plan),
        vec![
            (14, "INVALID_SEATS".into(), "Quantity".into()),
            (29, "INVALID_SEATS".into(), "Quantity".into()),
            (43, "INVALID_DATE".into(), "End Date".into()),
            (86, "MISSING_CUSTOMER".into(), "Tenant ID".into()),
        ]
    );
    // 313 data rows, 4 rejected, and row 163 lists the subscription of an earlier row
    // again with the same values: one line (DESIGN §3), the repeat counted. 101
    // companies (the domain-only row joins its customer).
    assert_eq!(plan["summary"]["repeated_rows"], 1);
    assert_eq!(plan["summary"]["lines"], 308);
    assert_eq!(plan["summary"]["customers"], 101);
    // "Visio Plan 2" names two licences (VISIOCLIENT, VISIO_PLAN2_DEPT): not guessed.
    assert!(warnings(line(&plan, 112).1).contains(&"AMBIGUOUS_PRODUCT"));

    for (row, code) in [
        (57, "ASSIGNED_EXCEEDS_SEATS"),
        (99, "CONFLICTING_CUSTOMER"),
        (123, "QUANTITY_OUT_OF_RANGE"),
        (135, "INVALID_CUSTOMER_ID"),
        (177, "EXPIRES_SOON"),
        (177, "AUTO_RENEW_ON"),
        (192, "NO_EXPIRY"),
        (207, "EXPIRED"),
    ] {
        let (_, l) = line(&plan, row);
        assert!(
            warnings(l).contains(&code),
            "row {row} should warn {code}: {l}"
        );
    }

    // Thousands separator.
    assert_eq!(line(&plan, 65).1["seats"], 1200);
    // A row with only an (upper-case) domain joins the customer whose other rows carry
    // the tenant ID.
    let (joined, _) = line(&plan, 72);
    assert!(joined["customer_id"].is_string(), "{joined}");
    assert!(joined["lines"].as_array().expect("lines").len() >= 2);
    // No product the samples name is unknown to the built-in catalog.
    assert_eq!(
        plan["summary"]["warnings"].get("OFFER_NOT_IN_CATALOG"),
        None
    );
    assert_eq!(
        plan["summary"]["warnings"].get("SKU_UNKNOWN"),
        Some(&Value::from(1))
    );
    // A legacy offer ID as the product resolves to the new-commerce twin.
    let (_, by_id) = line(&plan, 152);
    assert_eq!(
        by_id["current_offer_id"],
        "796B6B5F-613C-4E24-A17C-EBA730D49C02"
    );
    assert_eq!(by_id["target_offer_id"], "CFQ7TTC0LF8R:0001");
    // Expired and soon-expiring originals are provisioned at once.
    assert_eq!(line(&plan, 207).1["provision_on"], AS_OF);
    assert_eq!(line(&plan, 177).1["provision_on"], AS_OF);
}

#[test]
fn korean_workbook_is_read_below_its_title_block_with_text_dates() {
    let plan = plan_sample("customers-ko.xlsx", &["--lang", "ko"]);
    assert_eq!(
        rejected(&plan),
        vec![
            (13, "INVALID_SEATS".into(), "사용자 수".into()),
            (42, "INVALID_ASSIGNED".into(), "할당됨".into()),
        ]
    );
    assert_eq!(plan["summary"]["lines"], 59);
    assert_eq!(plan["summary"]["customers"], 20);
    // Row numbers are the sheet's own: title on row 1, header on row 3, data from row 4.
    let (first, _) = line(&plan, 4);
    assert_eq!(first["name"], "(주)한빛물류");
    // End dates typed as `2027년 1월 31일` text read like the date cells.
    for (row, date) in [
        (8, "2027-01-31"),
        (21, "2027-08-31"),
        (37, "2027-07-31"),
        (52, "2027-03-25"),
    ] {
        assert_eq!(line(&plan, row).1["expires_on"], date, "row {row}");
    }
    assert_eq!(line(&plan, 26).1["seats"], 1500);
}

#[test]
fn japanese_shift_jis_sample_decodes_with_kanji_dates_and_full_width_digits() {
    let plan = plan_sample("customers-ja.csv", &["--lang", "ja"]);
    assert_eq!(
        rejected(&plan),
        vec![(37, "INVALID_DATE".into(), "有効期限".into())]
    );
    assert_eq!(plan["summary"]["lines"], 57);
    assert_eq!(plan["summary"]["customers"], 20);
    let (first, _) = line(&plan, 2);
    assert_eq!(first["name"], "株式会社さくら商事");
    // `2027年9月17日` and `2027/04/30` are both dates.
    assert_eq!(line(&plan, 16).1["expires_on"], "2027-09-17");
    assert_eq!(line(&plan, 31).1["expires_on"], "2027-12-31");
    assert_eq!(line(&plan, 22).1["expires_on"], "2027-04-30");
    // `１２０` in full-width digits.
    assert_eq!(line(&plan, 22).1["seats"], 120);
}

#[test]
fn the_clean_sample_plans_with_exit_0_and_says_which_lines_keep_their_licence() {
    let wd = Workdir::new();
    let out = wd
        .run([
            "plan",
            &sample("customers.csv").display().to_string(),
            "--as-of",
            AS_OF,
            "-o",
            "plan.json",
            "--report",
            "review.csv",
        ])
        .expect_code(0);
    assert!(
        out.stdout.contains("rejected rows          0"),
        "{}",
        out.stdout
    );
    let plan: Value = serde_json::from_str(&wd.read("plan.json")).unwrap();
    let summary = &plan["summary"];
    assert_eq!(summary["rejected_rows"], 0);
    assert_eq!(summary["warnings"].get("OFFER_NOT_IN_CATALOG"), None);
    assert_eq!(summary["warnings"].get("AMBIGUOUS_PRODUCT"), None);
    assert!(summary["same_license"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(
        summary["lines"].as_u64().unwrap(),
        summary["same_offer"].as_u64().unwrap()
            + summary["same_license"].as_u64().unwrap()
            + summary["reassign"].as_u64().unwrap()
    );
    // Same-licence lines read "no licence change" in the review.
    let review = wd.read("review.csv");
    assert!(
        review.contains("no licence change: same licence, new offer"),
        "{review}"
    );
    // The product forms partners see today are all there.
    let csv = std::fs::read_to_string(sample("customers.csv")).unwrap();
    for form in [
        "Microsoft 365 Business Basic",
        "Office 365 Enterprise E3",
        "EXCHANGESTANDARD",
    ] {
        assert!(csv.contains(form), "{form}");
    }
}
