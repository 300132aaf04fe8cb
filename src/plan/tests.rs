//! Tests of the whole planner: customer keys, conflicts, repeats, ordering, and the
//! plan not depending on the thread count.

use proptest::prelude::*;

use super::*;
use crate::input::{InputTable, RowValues};
use crate::model::{InputInfo, LicenseAction, RejectCode, Summary, TaskKind};
use crate::plan::rules::tests::{d, row};

const A: &str = "aaaaaaaa-0000-0000-0000-000000000001";
const B: &str = "bbbbbbbb-0000-0000-0000-000000000002";

fn table(path: &str, rows: Vec<RowValues>, rejected: Vec<Rejection>) -> InputTable {
    InputTable {
        info: InputInfo {
            path: path.to_string(),
            sha256: "0".repeat(64),
            sheet: None,
            rows: rows.len() as u64 + rejected.len() as u64,
        },
        rows: rows.iter().map(SourceRow::from).collect(),
        rejected,
    }
}

fn options(threads: usize) -> PlanOptions {
    PlanOptions {
        threads: Some(threads),
        ..PlanOptions::new(d("2026-11-21"), 7)
    }
}

fn run(tables: Vec<InputTable>) -> Plan {
    plan(tables, Lookups::default(), &options(2)).unwrap()
}

fn bytes(plan: &Plan) -> Vec<u8> {
    let mut out = Vec::new();
    write::write_plan(plan, &mut out).unwrap();
    out
}

/// Plans with [`prepare`] and writes the plan file as `cspmove plan` does, building the
/// customers while they are written.
fn json_bytes(tables: Vec<InputTable>, threads: usize) -> (Plan, Vec<u8>) {
    json_bytes_with(tables, Lookups::default(), threads)
}

fn json_bytes_with(
    tables: Vec<InputTable>,
    lookups: Lookups<'_>,
    threads: usize,
) -> (Plan, Vec<u8>) {
    let prepared = prepare(tables, lookups, &options(threads)).unwrap();
    let mut out = Vec::new();
    let plan = write::write_prepared(prepared, &mut out).unwrap();
    (plan, out)
}

/// The summary counted from the built customers, as a reader of the plan would.
fn recounted(plan: &Plan) -> Summary {
    summary::summarize(&plan.customers, plan.rejected.len() as u64)
}

fn reject(input: &str, r: u64, code: RejectCode) -> Rejection {
    Rejection {
        input: input.into(),
        row: r,
        column: Some("Seats".into()),
        value: Some("-3".into()),
        code,
        message: "bad".into(),
    }
}

#[test]
fn customers_sorted_by_key_and_lines_in_input_order() {
    let rows = vec![
        row(2, B, "E3", 1),
        row(3, A, "E3", 2),
        row(4, B, "E5", 3),
        row(5, &A.to_uppercase(), "E1", 4),
    ];
    let plan = run(vec![table("in.csv", rows, vec![])]);
    assert_eq!(plan.customers.len(), 2);
    assert_eq!(plan.customers[0].key, A);
    assert_eq!(plan.customers[0].customer_id.as_deref(), Some(A));
    let rows_of = |c: &Customer| c.lines.iter().map(|l| l.row).collect::<Vec<_>>();
    assert_eq!(rows_of(&plan.customers[0]), vec![3, 5]);
    assert_eq!(rows_of(&plan.customers[1]), vec![2, 4]);
    assert_eq!(plan.customers[1].lines[1].id, "c2-l2");
    assert_eq!(plan.customers[1].tasks[0].id, "c2-t1");
    assert_eq!(plan.summary.customers, 2);
    assert_eq!(plan.summary.lines, 4);
}

#[test]
fn domain_only_rows_join_the_customer_with_that_domain() {
    let mut with_id = row(2, A, "E3", 5);
    with_id.domain = Some("Contoso.com".into());
    let mut domain_only = row(3, "", "E5", 5);
    domain_only.customer_id = None;
    domain_only.domain = Some("CONTOSO.COM".into());
    let mut other = row(4, "", "E1", 5);
    other.customer_id = None;
    other.domain = Some("Fabrikam.com".into());
    let plan = run(vec![table(
        "in.csv",
        vec![domain_only, with_id, other],
        vec![],
    )]);
    let keys: Vec<&str> = plan.customers.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, vec![A, "fabrikam.com"]);
    let contoso = &plan.customers[0];
    assert_eq!(contoso.domain.as_deref(), Some("contoso.com"));
    assert_eq!(contoso.customer_id.as_deref(), Some(A));
    // Input order kept: the domain-only row came first.
    assert_eq!(
        contoso.lines.iter().map(|l| l.row).collect::<Vec<_>>(),
        vec![3, 2]
    );
    let fabrikam = &plan.customers[1];
    assert_eq!(fabrikam.customer_id, None);
    assert_eq!(fabrikam.domain.as_deref(), Some("fabrikam.com"));
}

#[test]
fn domain_only_rows_do_not_join_an_ambiguous_domain() {
    let mut a = row(2, A, "E3", 5);
    a.domain = Some("shared.com".into());
    let mut b = row(3, B, "E3", 7);
    b.domain = Some("SHARED.com".into());
    let mut domain_only = row(4, "", "E5", 5);
    domain_only.customer_id = None;
    domain_only.domain = Some("Shared.com".into());
    let plan = run(vec![table("in.csv", vec![a, b, domain_only], vec![])]);
    let keys: Vec<&str> = plan.customers.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, vec![A, B, "shared.com"]);
    let lone = &plan.customers[2];
    assert_eq!(lone.lines.len(), 1);
    assert_eq!(lone.lines[0].row, 4);
    assert!(
        lone.lines[0]
            .warnings
            .contains(&WarningCode::ConflictingCustomer)
    );
    assert_eq!(plan.customers[0].lines.len(), 1);
    assert_eq!(plan.customers[1].lines.len(), 1);
    assert!(
        !plan.customers[0].lines[0]
            .warnings
            .contains(&WarningCode::ConflictingCustomer)
    );
}

#[test]
fn subscription_listed_per_month_is_one_line_and_a_disagreeing_repeat_is_rejected() {
    let sub = |mut r: RowValues, id: &str| {
        r.subscription_id = Some(id.into());
        r
    };
    let rows = vec![
        sub(row(2, A, "E3", 10), "SUB-1"),
        sub(row(3, A, "E3", 10), "sub1"),
        sub(row(4, A, "E3", 10), "Sub-1"),
        sub(row(5, A, "E3", 20), "SUB-1"),
        sub(row(6, A, "E1", 3), "SUB-2"),
    ];
    let plan = run(vec![table("recon.csv", rows, vec![])]);
    assert_eq!(plan.summary.lines, 2);
    assert_eq!(plan.summary.repeated_rows, 2);
    assert_eq!(plan.summary.rejected_rows, 1);
    let r = &plan.rejected[0];
    assert_eq!((r.row, r.code), (5, RejectCode::ConflictingSubscription));
    assert!(
        r.message.contains("row 2 of recon.csv") && r.message.contains("seats"),
        "{}",
        r.message
    );
}

#[test]
fn conflicting_names_and_domains_warn_on_the_rows_that_disagree() {
    let mut r1 = row(2, A, "E3", 5);
    r1.customer_name = Some("Contoso Ltd.".into());
    r1.domain = Some("contoso.com".into());
    let mut r2 = row(3, A, "E5", 5);
    r2.customer_name = Some("CONTOSO LTD".into());
    let mut r3 = row(4, A, "E1", 5);
    r3.customer_name = Some("Fabrikam".into());
    let mut r4 = row(5, A, "E1", 6);
    r4.domain = Some("fabrikam.com".into());
    // Case does not make a conflict, in any script.
    let mut r5 = row(6, A, "E1", 7);
    r5.domain = Some("CONTOSO.COM".into());
    let plan = run(vec![table("in.csv", vec![r1, r2, r3, r4, r5], vec![])]);
    let conflicting: Vec<u64> = plan.customers[0]
        .lines
        .iter()
        .filter(|l| l.warnings.contains(&WarningCode::ConflictingCustomer))
        .map(|l| l.row)
        .collect();
    assert_eq!(conflicting, vec![4, 5]);
    assert_eq!(plan.customers[0].name.as_deref(), Some("Contoso Ltd."));
    assert_eq!(plan.summary.warnings[&WarningCode::ConflictingCustomer], 2);
}

#[test]
fn repeated_rows_are_rejected_naming_the_original_and_rejections_sorted() {
    let first = vec![row(2, A, "E3", 5), row(3, A, "E3", 5), row(7, B, "E3", 1)];
    let mut second_rows = vec![row(2, A, "E3", 5)];
    second_rows[0].input = 1;
    let plan = run(vec![
        table(
            "one.csv",
            first,
            vec![
                reject("one.csv", 9, RejectCode::InvalidSeats),
                reject("one.csv", 4, RejectCode::InvalidDate),
            ],
        ),
        table(
            "two.csv",
            second_rows,
            vec![reject("two.csv", 1, RejectCode::MissingOffer)],
        ),
    ]);
    assert_eq!(plan.summary.lines, 2);
    let got: Vec<(String, u64, RejectCode)> = plan
        .rejected
        .iter()
        .map(|r| (r.input.clone(), r.row, r.code))
        .collect();
    assert_eq!(
        got,
        vec![
            ("one.csv".into(), 3, RejectCode::DuplicateRow),
            ("one.csv".into(), 4, RejectCode::InvalidDate),
            ("one.csv".into(), 9, RejectCode::InvalidSeats),
            ("two.csv".into(), 1, RejectCode::MissingOffer),
            ("two.csv".into(), 2, RejectCode::DuplicateRow),
        ]
    );
    assert!(plan.rejected[0].message.contains("row 2 of one.csv"));
    assert!(plan.rejected[4].message.contains("row 2 of one.csv"));
    assert_eq!(plan.summary.rejected_rows, 5);
}

#[test]
fn relationship_accepted_on_any_row_skips_the_request() {
    let mut r1 = row(2, A, "E3", 5);
    r1.relationship_accepted = Some(false);
    let mut r2 = row(3, A, "E5", 5);
    r2.relationship_accepted = Some(true);
    let plan = run(vec![table(
        "in.csv",
        vec![r1, r2, row(4, B, "E3", 1)],
        vec![],
    )]);
    assert_eq!(plan.customers[0].relationship, Relationship::Accepted);
    assert!(
        plan.customers[0]
            .tasks
            .iter()
            .all(|t| t.kind != TaskKind::RequestRelationship)
    );
    assert_eq!(plan.customers[1].relationship, Relationship::Request);
    assert_eq!(
        plan.customers[1].tasks[0].kind,
        TaskKind::RequestRelationship
    );
}

#[test]
fn summary_counts_waves_and_actions() {
    let mut r1 = row(2, A, "E3", 5);
    r1.expires_on = Some(d("2027-01-31"));
    let mut r2 = row(3, A, "E3", 5);
    r2.target_offer = Some("E5".into());
    r2.subscription_id = Some("s2".into());
    let plan = run(vec![table("in.csv", vec![r1, r2], vec![])]);
    assert_eq!(plan.summary.same_offer, 1);
    assert_eq!(plan.summary.reassign, 1);
    assert_eq!(plan.summary.waves["2027-01"].lines, 1);
    assert_eq!(plan.summary.waves["2026-11"].reassign, 1);
    assert_eq!(plan.summary.warnings[&WarningCode::NoExpiry], 1);
    assert_eq!(
        plan.customers[0].lines[1].license_action,
        LicenseAction::Reassign
    );
}

#[test]
fn written_plan_reads_back_as_the_same_plan() {
    let mut r1 = row(2, A, "E3", 5);
    r1.customer_name = Some("\"Quoted\" 회사 名".into());
    let plan = run(vec![table(
        "in.csv",
        vec![r1, row(3, B, "E5", 2)],
        vec![reject("in.csv", 4, RejectCode::InvalidSeats)],
    )]);
    let out = bytes(&plan);
    let text = String::from_utf8(out.clone()).unwrap();
    // One customer per line.
    assert_eq!(
        text.lines().filter(|l| l.starts_with("{\"key\"")).count(),
        2
    );
    let back = Plan::from_json_slice(&out).unwrap();
    assert_eq!(back, plan);
    // Same document as serde writes in one go.
    let direct: serde_json::Value = serde_json::to_value(&plan).unwrap();
    let ours: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(direct, ours);
    // Empty lists.
    let empty = run(vec![table("in.csv", vec![], vec![])]);
    assert_eq!(Plan::from_json_slice(&bytes(&empty)).unwrap(), empty);
}

#[test]
fn plan_file_is_written_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let plan = run(vec![table("in.csv", vec![row(2, A, "E3", 5)], vec![])]);
    write::write_plan_file(&plan, &path, Some(1)).unwrap();
    assert_eq!(Plan::read(&path).unwrap(), plan);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file left behind");
    let missing = dir.path().join("no/such/dir/plan.json");
    assert!(write::write_plan_file(&plan, &missing, Some(1)).is_err());

    // An older plan is replaced, leaving nothing else behind.
    let newer = run(vec![table("in.csv", vec![row(2, B, "E5", 7)], vec![])]);
    write::write_plan_file(&newer, &path, Some(1)).unwrap();
    assert_eq!(Plan::read(&path).unwrap(), newer);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no old or temporary file left behind");

    // A directory where the plan should go is an error, and stays as it was.
    let taken = dir.path().join("taken");
    std::fs::create_dir(&taken).unwrap();
    std::fs::write(taken.join("keep"), "x").unwrap();
    assert!(write::write_plan_file(&plan, &taken, Some(1)).is_err());
    assert_eq!(std::fs::read(taken.join("keep")).unwrap(), b"x");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

/// Texts JSON must escape or pass through as they are: quotes, backslashes, control
/// characters, DEL, Korean, Japanese, astral characters, U+2028.
const HOSTILE: [&str; 6] = [
    "Say \"hi\" \\ back\\",
    "\u{1}\u{8}\t\n\u{c}\r\u{1f}\u{7f}",
    "주식회사 한국 株式会社日本 😀𝄞",
    "a\u{2028}b\u{2029}c/</script>",
    "trailing\\",
    "e\u{301}\u{fffd}\u{10ffff}",
];

fn arb_row() -> impl Strategy<Value = RowValues> {
    (
        0usize..6,
        prop::bool::ANY,
        0usize..8,
        1u64..400,
        prop::option::of(0u64..500),
        prop::option::of(-20i64..120),
        prop::option::of(prop::bool::ANY),
        prop::option::of(0usize..8),
        0usize..6,
        prop::option::of(0usize..HOSTILE.len()),
    )
        .prop_map(
            |(cust, by_domain, offer, seats, assigned, days, renew, target, name, text)| {
                // Every form a product comes in: names, a legacy GUID, a part number,
                // an ambiguous name, a product new commerce does not sell, an unknown.
                const OFFERS: [&str; 8] = [
                    "Office 365 E3",
                    "office 365 e3",
                    "Microsoft 365 E3",
                    "E1",
                    "796B6B5F-613C-4E24-A17C-EBA730D49C02",
                    "ENTERPRISEPACK",
                    "Visio Plan 1",
                    "Power BI Pro",
                ];
                let id = format!("{cust:08}-0000-0000-0000-000000000000");
                let mut r = row(0, &id, OFFERS[offer], seats);
                r.domain = Some(format!("c{cust}.example"));
                if by_domain {
                    r.customer_id = None;
                }
                // Names with every kind of text JSON escapes or passes through.
                r.customer_name = Some(
                    [
                        "Contoso", "CONTOSO", "Fabrikam", HOSTILE[0], HOSTILE[1], HOSTILE[2],
                    ][name]
                        .to_string(),
                );
                if let Some(t) = text {
                    r.contact_email = Some(HOSTILE[t].to_string());
                    r.subscription_id = Some(format!("{}{t}", HOSTILE[(t + 1) % HOSTILE.len()]));
                    r.program = Some(HOSTILE[(t + 2) % HOSTILE.len()].to_string());
                    r.country = Some(["kr", "JP", "Ü", HOSTILE[t]][t % 4].to_string());
                }
                r.assigned = assigned;
                r.expires_on = days.map(|n| d("2026-11-21") + chrono::Duration::days(n));
                r.auto_renew = renew;
                r.target_offer = target.map(|t| OFFERS[t].to_string());
                r
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn plan_bytes_do_not_depend_on_thread_count(rows in prop::collection::vec(arb_row(), 0..120)) {
        let rows: Vec<RowValues> = rows
            .into_iter()
            .enumerate()
            .map(|(i, mut r)| { r.row = i as u64 + 2; r })
            .collect();
        let one = plan(vec![table("in.csv", rows.clone(), vec![])], Lookups::default(), &options(1)).unwrap();
        let four = plan(vec![table("in.csv", rows.clone(), vec![])], Lookups::default(), &options(4)).unwrap();
        prop_assert_eq!(bytes(&one), bytes(&four));
        prop_assert_eq!(&recounted(&one), &one.summary);
        let (_, streamed) = json_bytes(vec![table("in.csv", rows.clone(), vec![])], 2);
        prop_assert_eq!(streamed, bytes(&one));

        // With a catalog and an offer map: resolved IDs, SKUs and catalog warnings.
        let catalog = crate::catalog::Catalog::builtin();
        let map = OfferMap::new(
            vec![crate::catalog::OfferMapEntry { from: "E1".into(), to: "Microsoft 365 E3".into() }],
            catalog,
        );
        let lookups = Lookups { catalog, offer_map: Some(&map) };
        let whole = plan(vec![table("in.csv", rows.clone(), vec![])], lookups, &options(1)).unwrap();
        prop_assert_eq!(&recounted(&whole), &whole.summary);
        let (_, streamed) = json_bytes_with(vec![table("in.csv", rows, vec![])], lookups, 2);
        prop_assert_eq!(streamed, bytes(&whole));
    }
}

/// Generated rows shaped like a big export: 4 rows per customer, a few offers, dates
/// spread over two years, some domain-only rows. `examples/plan_speed.rs` (the
/// measurement, which is not a test) makes the same rows.
pub(crate) fn generated_rows(n: usize) -> Vec<RowValues> {
    const OFFERS: [&str; 5] = [
        "Office 365 E3",
        "Office 365 E1",
        "Microsoft 365 Business Premium",
        "Office 365 E5",
        "Exchange Online (Plan 1)",
    ];
    (0..n)
        .map(|i| {
            let c = i / 4;
            let mut r = row(
                i as u64 + 2,
                &format!("{c:08x}-1111-2222-3333-444444444444"),
                OFFERS[(i * 7) % 5],
                1 + (i % 300) as u64,
            );
            r.domain = Some(format!("customer{c}.example.com"));
            if i % 97 == 0 {
                r.customer_id = None;
            }
            r.customer_name = Some(format!("Customer {c} Co., Ltd."));
            r.contact_email = Some(format!("admin@customer{c}.example.com"));
            r.country = Some(["KR", "JP", "US"][c % 3].to_string());
            r.subscription_id = Some(format!("{i:08x}-aaaa-bbbb-cccc-dddddddddddd"));
            r.assigned = Some((i % 250) as u64);
            r.expires_on = Some(d("2026-10-01") + chrono::Duration::days((i % 700) as i64));
            r.auto_renew = Some(i % 3 == 0);
            if i % 5 == 0 {
                r.target_offer = Some("Microsoft 365 E3".to_string());
            }
            r
        })
        .collect()
}

#[test]
fn writing_several_batches_gives_the_document_serde_writes() {
    // 5,000 customers: more than one batch of the writer.
    let plan = plan(
        vec![table("big.csv", generated_rows(20_000), vec![])],
        Lookups::default(),
        &options(2),
    )
    .unwrap();
    assert!(plan.customers.len() > 4096);
    let out = bytes(&plan);
    let ours: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(ours, serde_json::to_value(&plan).unwrap());
    let text = std::str::from_utf8(&out).unwrap();
    assert_eq!(
        text.lines().filter(|l| l.starts_with("{\"key\"")).count(),
        plan.customers.len()
    );
}

#[test]
fn customers_serialised_while_planning_give_the_same_file() {
    // Several batches of `JSON_CHUNK * JSON_BATCH` customers, a rejection, and some
    // domain-only rows.
    let rows = generated_rows(40_000);
    let rejected = vec![reject("big.csv", 90_000, RejectCode::InvalidSeats)];
    let whole = plan(
        vec![table("big.csv", rows.clone(), rejected.clone())],
        Lookups::default(),
        &options(2),
    )
    .unwrap();
    assert!(whole.customers.len() > 2 * JSON_CHUNK * JSON_BATCH);
    let expected = bytes(&whole);
    for threads in [1, 2] {
        let (head, streamed) = json_bytes(
            vec![table("big.csv", rows.clone(), rejected.clone())],
            threads,
        );
        assert!(head.customers.is_empty());
        assert_eq!(head.summary, whole.summary);
        assert_eq!(recounted(&whole), whole.summary);
        assert_eq!(head.rejected, whole.rejected);
        assert!(streamed == expected, "{threads} thread(s)");
    }
    // No customers at all: an empty list, as the struct writer writes it.
    let none = plan(
        vec![table("none.csv", vec![], rejected.clone())],
        Lookups::default(),
        &options(1),
    )
    .unwrap();
    let (_, streamed) = json_bytes(vec![table("none.csv", vec![], rejected)], 1);
    assert_eq!(streamed, bytes(&none));
}

#[test]
fn plan_file_written_while_building_is_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let rows = generated_rows(3_000);
    let whole = plan(
        vec![table("in.csv", rows.clone(), vec![])],
        Lookups::default(),
        &options(2),
    )
    .unwrap();
    let prepared = prepare(
        vec![table("in.csv", rows, vec![])],
        Lookups::default(),
        &options(2),
    )
    .unwrap();
    let head = write::write_prepared_file(prepared, &path).unwrap();
    assert!(head.customers.is_empty());
    assert_eq!(head.summary, whole.summary);
    assert!(std::fs::read(&path).unwrap() == bytes(&whole));
    // No temporary file is left: only the plan is in the directory.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("plan.json")]);
}

fn guid_text(n: u128) -> String {
    uuid::Uuid::from_u128(n).hyphenated().to_string()
}

proptest! {
    #[test]
    fn guid_keys_order_as_their_numbers(a in any::<u128>(), b in any::<u128>()) {
        let (ta, tb) = (guid_text(a), guid_text(b));
        prop_assert_eq!(guid_number(&ta), Some(a));
        prop_assert_eq!(guid_number(&ta).cmp(&guid_number(&tb)), ta.cmp(&tb));
    }
}

#[test]
fn only_lower_case_hyphenated_guids_are_numbers() {
    let guid = "0a1b2c3d-4e5f-6789-abcd-ef0123456789";
    assert_eq!(
        guid_number(guid),
        Some(0x0a1b2c3d_4e5f_6789_abcd_ef0123456789)
    );
    for not in [
        "0A1B2C3D-4E5F-6789-ABCD-EF0123456789",
        "{0a1b2c3d-4e5f-6789-abcd-ef0123456789}",
        "0a1b2c3d4e5f6789abcdef0123456789",
        "0a1b2c3d-4e5f-6789-abcd-ef012345678g",
        "0a1b2c3d-4e5f-6789-abcdef-0123456789",
        "0a1b2c3d-4e5f-6789-abcd-ef01234567-9",
        "contoso.example.com.and.some.more.x",
    ] {
        assert_eq!(guid_number(not), None, "{not}");
    }
}

#[test]
fn what_a_million_rows_hold_at_once_stays_small() {
    // Every row has one of each while the plan is decided: docs/benchmarks.md counts on
    // these sizes for the peak memory of `cspmove plan`.
    assert!(
        std::mem::size_of::<Decision>() <= 52,
        "{}",
        std::mem::size_of::<Decision>()
    );
    assert_eq!(std::mem::size_of::<SortKey>(), 32);
}
