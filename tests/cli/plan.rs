//! Integration tests of `cspmove plan`.

use std::process::Stdio;

use cspmove::model::{LicenseAction, Plan, RejectCode, Relationship, TaskKind, WarningCode};

use crate::common::{Workdir, run_command};

const HEADER: &str =
    "Customer ID,Domain,Customer name,Offer,Seats,Assigned,End date,Auto renew,Target offer\n";
const CONTOSO: &str = "aaaaaaaa-0000-0000-0000-000000000001";

/// Two customers: Contoso (one same-offer line in January, one reassign line expiring
/// soon) and Fabrikam known by domain only (no end date).
fn basic_csv() -> String {
    format!(
        "{HEADER}\
{CONTOSO},contoso.com,Contoso,Office 365 E3,25,20,2027-01-31,yes,\n\
{CONTOSO},contoso.com,Contoso,Office 365 E1,10,10,2026-11-25,no,Microsoft 365 E3\n\
,fabrikam.com,Fabrikam,Office 365 E3,5,,,,\n"
    )
}

fn read_plan(wd: &Workdir, name: &str) -> Plan {
    Plan::read(&wd.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn plans_and_prints_a_summary() {
    let wd = Workdir::new();
    wd.write("customers.csv", basic_csv());
    let out = wd
        .run([
            "plan",
            "customers.csv",
            "--as-of",
            "2026-11-21",
            "-o",
            "plan.json",
        ])
        .expect_code(0);
    assert_eq!(
        out.stdout,
        "customers              2\n\
         lines                  3\n\
         same offer             2\n\
         same licence           0\n\
         reassign               1\n\
         rejected rows          0\n\
         warnings (lines):\n\
        \x20 NO_EXPIRY                       1\n\
        \x20 EXPIRES_SOON                    1\n\
        \x20 AUTO_RENEW_ON                   1\n\
         moves per wave (lines / same offer / same licence / reassign):\n\
        \x20 2026-11          2 /         1 /         0 /         1\n\
        \x20 2027-01          1 /         1 /         0 /         0\n\
         plan written to: plan.json\n"
    );
    let plan = read_plan(&wd, "plan.json");
    assert_eq!(plan.as_of.to_string(), "2026-11-21");
    assert_eq!(plan.inputs[0].path, "customers.csv");
    let contoso = &plan.customers[0];
    assert_eq!(contoso.key, CONTOSO);
    assert_eq!(contoso.relationship, Relationship::Request);
    assert_eq!(contoso.lines[0].provision_on.to_string(), "2027-01-24");
    assert_eq!(contoso.lines[0].wave, "2027-01");
    assert_eq!(contoso.lines[1].license_action, LicenseAction::Reassign);
    assert_eq!(contoso.lines[1].licenses_to_reassign, 10);
    assert_eq!(contoso.lines[1].warnings, vec![WarningCode::ExpiresSoon]);
    let kinds: Vec<TaskKind> = contoso.tasks.iter().map(|t| t.kind).collect();
    assert_eq!(
        kinds,
        vec![
            TaskKind::RequestRelationship,
            TaskKind::Provision,
            TaskKind::ReassignLicenses,
            TaskKind::LetExpire,
            TaskKind::Provision,
            TaskKind::DisableAutoRenew,
            TaskKind::LetExpire,
        ]
    );
    assert_eq!(plan.customers[1].key, "fabrikam.com");
    assert!(plan.rejected.is_empty());
}

#[test]
fn json_summary_on_stdout() {
    let wd = Workdir::new();
    wd.write("customers.csv", basic_csv());
    let out = wd
        .run([
            "plan",
            "customers.csv",
            "--as-of",
            "2026-11-21",
            "--format",
            "json",
        ])
        .expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", out.stdout));
    assert_eq!(v["plan_file"], "cspmove-plan.json");
    assert_eq!(v["customers"], 2);
    assert_eq!(v["lines"], 3);
    assert_eq!(v["reassign"], 1);
    assert_eq!(v["warnings"]["AUTO_RENEW_ON"], 1);
    assert_eq!(v["waves"]["2027-01"]["lines"], 1);
    // The default output path.
    let plan = read_plan(&wd, "cspmove-plan.json");
    assert_eq!(plan.summary.lines, 3);
}

#[test]
fn quiet_prints_nothing_on_stdout() {
    let wd = Workdir::new();
    wd.write("customers.csv", basic_csv());
    let out = wd
        .run([
            "plan",
            "customers.csv",
            "--as-of",
            "2026-11-21",
            "--quiet",
            "-o",
            "p.json",
        ])
        .expect_code(0);
    assert_eq!(out.stdout, "");
    assert_eq!(read_plan(&wd, "p.json").summary.customers, 2);
}

#[test]
fn korean_and_japanese_summary_labels() {
    let wd = Workdir::new();
    wd.write("customers.csv", basic_csv());
    wd.run([
        "plan",
        "customers.csv",
        "--as-of",
        "2026-11-21",
        "--lang",
        "ko",
    ])
    .expect_code(0)
    .expect_stdout_contains("고객")
    .expect_stdout_contains("라이선스 재할당");
    wd.run([
        "plan",
        "customers.csv",
        "--as-of",
        "2026-11-21",
        "--lang",
        "ja",
    ])
    .expect_code(0)
    .expect_stdout_contains("顧客")
    .expect_stdout_contains("計画ファイル");
}

fn with_bad_and_repeated_rows() -> String {
    format!(
        "{}{CONTOSO},contoso.com,Contoso,Office 365 E3,-3,,,,\n\
{CONTOSO},contoso.com,Contoso,Office 365 E1,10,10,2026-11-25,no,Microsoft 365 E3\n",
        basic_csv()
    )
}

#[test]
fn rejected_rows_exit_3_with_the_plan_written() {
    let wd = Workdir::new();
    wd.write("customers.csv", with_bad_and_repeated_rows());
    let out = wd
        .run([
            "plan",
            "customers.csv",
            "--as-of",
            "2026-11-21",
            "-o",
            "plan.json",
        ])
        .expect_code(3)
        .expect_stdout_contains("rejected rows          2")
        .expect_stdout_contains("rejected rows are listed under \"rejected\" in plan.json")
        .expect_stderr_contains("row 5")
        .expect_stderr_contains("DUPLICATE_ROW");
    let plan = read_plan(&wd, "plan.json");
    let rejected: Vec<(u64, RejectCode)> = plan.rejected.iter().map(|r| (r.row, r.code)).collect();
    assert_eq!(
        rejected,
        vec![(5, RejectCode::InvalidSeats), (6, RejectCode::DuplicateRow)],
        "{}",
        out.stderr
    );
    assert!(plan.rejected[1].message.contains("row 3 of customers.csv"));
    assert_eq!(plan.summary.lines, 3);
}

#[test]
fn strict_writes_no_plan_when_rows_are_rejected() {
    let wd = Workdir::new();
    wd.write("customers.csv", with_bad_and_repeated_rows());
    wd.run([
        "plan",
        "customers.csv",
        "--as-of",
        "2026-11-21",
        "--strict",
        "-o",
        "plan.json",
    ])
    .expect_code(3)
    .expect_stdout_contains("no plan written");
    assert!(!wd.join("plan.json").exists());
    // Without rejected rows --strict changes nothing.
    wd.write("clean.csv", basic_csv());
    wd.run([
        "plan",
        "clean.csv",
        "--as-of",
        "2026-11-21",
        "--strict",
        "-o",
        "plan.json",
    ])
    .expect_code(0);
    assert!(wd.join("plan.json").exists());
}

#[test]
fn usage_errors_exit_2_and_write_nothing() {
    let wd = Workdir::new();
    wd.write("customers.csv", basic_csv());
    let cases: [(&[&str], &str); 7] = [
        (&["--as-of", "21/11/2026"], "--as-of"),
        (&["--map", "sets=Seats"], "current_offer"),
        (&["--map", "seats"], "FIELD=HEADER"),
        (&["--encoding", "klingon"], "klingon"),
        (&["--threads", "0"], "--threads"),
        (&["--report", "r.pdf"], "r.pdf"),
        (&["-o", "no/such/dir/p.json"], "no/such/dir"),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["plan", "customers.csv"];
        args.extend_from_slice(extra);
        if !extra.contains(&"-o") {
            args.extend(["-o", "p.json"]);
        }
        wd.run(&args).expect_code(2).expect_stderr_contains(needle);
        assert!(!wd.join("p.json").exists(), "{args:?} wrote a plan");
    }
    wd.run(["plan", "missing.csv", "-o", "p.json"])
        .expect_code(2)
        .expect_stderr_contains("missing.csv");
    wd.run([
        "plan",
        "customers.csv",
        "--catalog",
        "nope.csv",
        "-o",
        "p.json",
    ])
    .expect_code(2)
    .expect_stderr_contains("nope.csv");
    assert!(!wd.join("p.json").exists());
}

#[test]
fn as_of_moves_the_schedule() {
    let wd = Workdir::new();
    wd.write("customers.csv", basic_csv());
    wd.run([
        "plan",
        "customers.csv",
        "--as-of",
        "2027-01-25",
        "-o",
        "late.json",
    ])
    .expect_code(0);
    let plan = read_plan(&wd, "late.json");
    let line = &plan.customers[0].lines[0];
    // 2027-01-31 is now within the lead days: provision at once.
    assert_eq!(line.provision_on.to_string(), "2027-01-25");
    assert!(line.warnings.contains(&WarningCode::ExpiresSoon));
    // The E1 line's original already ended.
    assert!(
        plan.customers[0].lines[1]
            .warnings
            .contains(&WarningCode::Expired)
    );
}

#[test]
fn catalog_and_offer_map() {
    let wd = Workdir::new();
    wd.write(
        "catalog.csv",
        "offer_id,offer_name,sku_id,sku_part_number,min_quantity,max_quantity\n\
796B6B5F-613C-4E24-A17C-EBA730D49C02,Office 365 Enterprise E3,6fd2c87f-b296-42f0-b197-1e91e994b900,ENTERPRISEPACK,1,10000000\n\
2B3B8D2D-10AA-4BE4-B5FD-7F2FEB0C3091,Microsoft 365 E3,05e9a617-0261-4cee-bb44-138d3ef5d965,SPE_E3,1,10000000\n\
031C9E47-4802-4248-838E-778FB1D2CC05,Office 365 Business Premium,f245ecc8-75af-4f8e-b61f-27d8114de5f3,O365_BUSINESS_PREMIUM,1,300\n",
    );
    wd.write(
        "map.csv",
        "from,to\nOffice 365 Enterprise E3,Microsoft 365 E3\n",
    );
    wd.write(
        "customers.csv",
        format!(
            "{HEADER}\
{CONTOSO},contoso.com,Contoso,796b6b5f-613c-4e24-a17c-eba730d49c02,25,20,2027-01-31,no,\n\
{CONTOSO},contoso.com,Contoso,Office 365 Business Premium,400,,2027-01-31,no,\n\
{CONTOSO},contoso.com,Contoso,Some Legacy Thing,3,,2027-01-31,no,\n"
        ),
    );
    wd.run([
        "plan",
        "customers.csv",
        "--as-of",
        "2026-11-21",
        "--catalog",
        "catalog.csv",
        "--offer-map",
        "map.csv",
        "-o",
        "plan.json",
    ])
    .expect_code(0);
    let plan = read_plan(&wd, "plan.json");
    let lines = &plan.customers[0].lines;
    // Mapped through the product the map's name and the row's GUID both resolve to;
    // the target's name stands for the offer new commerce sells.
    assert_eq!(lines[0].target_offer, "Microsoft 365 E3");
    assert_eq!(
        lines[0].target_offer_id.as_deref(),
        Some("CFQ7TTC0LFLX:0001")
    );
    assert_eq!(lines[0].license_action, LicenseAction::Reassign);
    assert_eq!(lines[0].licenses_to_reassign, 20);
    assert_eq!(
        lines[0].from_sku.as_deref(),
        Some("6fd2c87f-b296-42f0-b197-1e91e994b900")
    );
    assert_eq!(
        lines[0].to_sku.as_deref(),
        Some("05e9a617-0261-4cee-bb44-138d3ef5d965")
    );
    // The former name of Microsoft 365 Business Standard, capped at 300 seats.
    assert_eq!(lines[1].target_offer, "Microsoft 365 Business Standard");
    assert!(lines[1].same_license && !lines[1].same_offer);
    assert_eq!(lines[1].warnings, vec![WarningCode::QuantityOutOfRange]);
    assert_eq!(
        lines[2].warnings,
        vec![WarningCode::OfferNotInCatalog, WarningCode::SkuUnknown]
    );
}

/// A generated export: `n` rows over `n / 3` customers, some domain-only rows, some
/// repeats.
pub fn generated_csv(n: usize) -> String {
    let mut csv = String::from(HEADER);
    let offers = [
        "Office 365 E3",
        "Office 365 E1",
        "Microsoft 365 E3",
        "Exchange Online (Plan 1)",
    ];
    for i in 0..n {
        let c = (i * 7919) % (n / 3 + 1);
        let id = if i % 11 == 0 {
            String::new()
        } else {
            format!("{c:08x}-0000-0000-0000-000000000000")
        };
        let day = 1 + (i % 28);
        let month = 1 + (i % 12);
        let target = if i % 4 == 0 { offers[(i / 4) % 4] } else { "" };
        let renew = if i % 3 == 0 { "yes" } else { "no" };
        let line = format!(
            "{id},c{c}.example.com,Customer {c},{},{},{},2027-{month:02}-{day:02},{renew},{target}\n",
            offers[i % 4],
            1 + i % 50,
            i % 60,
        );
        csv.push_str(&line);
        if i % 101 == 0 {
            csv.push_str(&line);
        }
    }
    csv
}

#[test]
fn same_plan_bytes_for_one_and_two_threads() {
    let wd = Workdir::new();
    wd.write("big.csv", generated_csv(3000));
    for threads in ["1", "2"] {
        wd.run([
            "plan",
            "big.csv",
            "--as-of",
            "2026-11-21",
            "--threads",
            threads,
            "-o",
            &format!("plan-{threads}.json"),
            "--quiet",
        ])
        .expect_code(3);
    }
    let one = std::fs::read(wd.join("plan-1.json")).unwrap();
    let two = std::fs::read(wd.join("plan-2.json")).unwrap();
    assert!(one == two, "plans differ between --threads 1 and 2");
    let plan = Plan::from_json_slice(&one).unwrap();
    assert!(plan.summary.rejected_rows > 0);
    assert!(plan.summary.customers > 100);
}

#[test]
fn several_inputs_merge_and_stdin() {
    let wd = Workdir::new();
    wd.write("one.csv", basic_csv());
    let second = format!("{HEADER}{CONTOSO},contoso.com,Contoso,Office 365 E5,3,,2027-03-01,no,\n");
    let out = run_command(
        {
            let mut cmd = wd.command([
                "plan",
                "one.csv",
                "-",
                "--as-of",
                "2026-11-21",
                "-o",
                "p.json",
            ]);
            cmd.current_dir(wd.path());
            cmd
        },
        Some(second.as_bytes()),
    )
    .expect_code(0);
    let plan = read_plan(&wd, "p.json");
    assert_eq!(plan.inputs.len(), 2, "{}", out.stderr);
    assert_eq!(plan.inputs[1].path, "-");
    let contoso = &plan.customers[0];
    assert_eq!(contoso.lines.len(), 3);
    assert_eq!(contoso.lines[2].input, 1);
    assert_eq!(contoso.lines[2].id, "c1-l3");
}

#[test]
fn closed_stdout_exits_quietly() {
    let wd = Workdir::new();
    wd.write("big.csv", generated_csv(3000));
    let mut cmd = wd.command(["plan", "big.csv", "--as-of", "2026-11-21", "-o", "p.json"]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // Like `| head -c0`: the reader goes away before the summary is printed.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    assert!(!stderr.contains("Broken pipe"), "stderr: {stderr}");
}

#[test]
fn writes_each_report_beside_the_plan() {
    let wd = Workdir::new();
    wd.write("customers.csv", basic_csv());
    wd.run([
        "plan",
        "customers.csv",
        "--as-of",
        "2026-11-21",
        "-o",
        "plan.json",
        "--report",
        "review.md",
        "--report",
        "review.csv",
        "--lang",
        "ko",
    ])
    .expect_code(0);
    let md = wd.read("review.md");
    assert!(md.contains("Contoso"), "{md}");
    let csv = wd.read("review.csv");
    assert!(csv.contains("fabrikam.com"), "{csv}");
    // --strict with rejected rows writes no report either.
    wd.write("bad.csv", with_bad_and_repeated_rows());
    wd.run([
        "plan",
        "bad.csv",
        "--as-of",
        "2026-11-21",
        "--strict",
        "-o",
        "p2.json",
        "--report",
        "bad.md",
    ])
    .expect_code(3);
    assert!(!wd.join("bad.md").exists());
}

/// Regression: `-o` at a directory (or a device, a FIFO) used to be found only when the
/// plan was written; now it is refused before any row is read, and the directory stays.
#[test]
fn an_output_path_that_is_a_directory_is_refused_before_reading() {
    let wd = Workdir::new();
    wd.write("customers.csv", basic_csv());
    std::fs::create_dir(wd.join("taken")).unwrap();
    wd.run([
        "plan",
        "customers.csv",
        "--as-of",
        "2026-11-21",
        "-o",
        "taken",
    ])
    .expect_code(2)
    .expect_stderr_contains("cannot write taken: it is a directory, not a regular file");
    assert!(wd.join("taken").is_dir());
    let leftovers: Vec<String> = std::fs::read_dir(wd.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn map_names_a_header_no_alias_knows() {
    let wd = Workdir::new();
    wd.write(
        "lizenzen.csv",
        format!("Customer ID,Offer,Lizenzen\n{CONTOSO},Office 365 E3,12\n"),
    );
    wd.run([
        "plan",
        "lizenzen.csv",
        "--as-of",
        "2026-11-21",
        "--map",
        "seats=Lizenzen",
        "-o",
        "p.json",
    ])
    .expect_code(0);
    assert_eq!(read_plan(&wd, "p.json").customers[0].lines[0].seats, 12);
}

#[test]
fn term_and_billing_default_to_p1y_monthly_and_follow_the_flags() {
    let wd = Workdir::new();
    wd.write("customers.csv", basic_csv());
    wd.run([
        "plan",
        "customers.csv",
        "--as-of",
        "2026-11-21",
        "-o",
        "d.json",
    ])
    .expect_code(0);
    let text = std::fs::read_to_string(wd.join("d.json")).unwrap();
    let plan = read_plan(&wd, "d.json");
    for (_, line) in plan.lines() {
        assert_eq!(line.term, cspmove::model::Term::P1Y);
        assert_eq!(line.billing, cspmove::model::Billing::Monthly);
    }
    assert!(
        text.contains(r#""term":"P1Y","billing":"monthly""#),
        "{text}"
    );

    wd.run([
        "plan",
        "customers.csv",
        "--as-of",
        "2026-11-21",
        "--term",
        "p3y",
        "--billing",
        "Triennial",
        "-o",
        "t.json",
    ])
    .expect_code(0);
    let plan = read_plan(&wd, "t.json");
    for (_, line) in plan.lines() {
        assert_eq!(line.term, cspmove::model::Term::P3Y);
        assert_eq!(line.billing, cspmove::model::Billing::Triennial);
    }
}

#[test]
fn a_term_and_billing_new_commerce_does_not_sell_is_a_usage_error() {
    let wd = Workdir::new();
    wd.write("customers.csv", basic_csv());
    for (term, billing, needle) in [
        ("P1M", "annual", "P1M is billed monthly"),
        ("P1Y", "triennial", "P1Y is billed monthly or annual"),
        ("P2Y", "monthly", "P2Y"),
        ("P1Y", "weekly", "weekly"),
    ] {
        wd.run([
            "plan",
            "customers.csv",
            "--term",
            term,
            "--billing",
            billing,
            "-o",
            "p.json",
        ])
        .expect_code(2)
        .expect_stderr_contains(needle);
        assert!(!wd.join("p.json").exists());
    }
}

/// An input holding subscription IDs in every form files hold them in (upper, lower and
/// mixed case GUIDs, braces, no hyphens, a fullwidth digit, Korean, longer than a GUID,
/// a GUID's length without being one), customers whose rows are not next to each other,
/// a repeat and a conflict across two spellings of one ID, a customer known first by
/// domain only. Its plan is byte for byte the golden file, which the binary of
/// `d4e6d87` wrote: before rows kept GUID subscription IDs as bytes and shared their
/// customer's texts. With one thread and with the default.
#[test]
fn subscription_ids_of_every_form_give_the_same_plan_bytes_as_before() {
    let wd = Workdir::new();
    let input = "subscription-ids.csv";
    std::fs::copy(
        crate::common::fixture("plan/subscription-ids.csv"),
        wd.join(input),
    )
    .unwrap();
    let golden =
        std::fs::read_to_string(crate::common::fixture("plan/subscription-ids.plan.json")).unwrap();
    // Only the version in `generated_by` may differ from the golden file's.
    let version = |plan: &str| {
        let start = plan.find("\"generated_by\":\"").expect("generated_by") + 16;
        let end = start + plan[start..].find('"').unwrap();
        format!("{}{}", &plan[..start], &plan[end..])
    };
    for threads in ["1", "2"] {
        wd.run([
            "plan",
            input,
            "--as-of",
            "2026-11-21",
            "-o",
            "plan.json",
            "--threads",
            threads,
        ])
        .expect_code(3);
        let plan = wd.read("plan.json");
        assert!(
            version(&plan) == version(&golden),
            "--threads {threads}: the plan differs from tests/fixtures/plan/subscription-ids.plan.json:\n{plan}"
        );
    }
    // The IDs come back as the file wrote them (the fullwidth digit as NFKC makes it).
    let plan = read_plan(&wd, "plan.json");
    let ids: Vec<&str> = plan
        .customers
        .iter()
        .flat_map(|c| &c.lines)
        .filter_map(|l| l.subscription_id.as_deref())
        .collect();
    for id in [
        "3F03F94E-C89A-47BF-9C6A-1E22B69D667E",
        "3f03F94e-C89a-47bF-9C6A-1e22b69D667f",
        "{6DC8754D-22D0-426C-9D31-A27B79ECF1EB}",
        "5A1B2C3D-0000-4000-8000-000000000007",
        "구독-7",
        "AGREEMENT-2024-0001-EXCHANGE-ONLINE-PLAN1-SEATS",
        "가-0000-0000-0000-000000000000000",
        "a9719dca-480b-4f49-90fa-60671f206808",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    assert_eq!(plan.summary.repeated_rows, 1);
    assert_eq!(plan.rejected.len(), 1);
    assert_eq!(plan.rejected[0].code, RejectCode::ConflictingSubscription);
}

/// A plan that cannot be written whole (here: the file size limit, `ulimit -f`, hit by
/// the thread that writes the plan's blocks) fails with the path and the system's
/// reason, exit 1, and leaves the older plan as it was and no temporary file.
#[cfg(target_os = "linux")]
#[test]
fn a_plan_the_disk_refuses_halfway_leaves_the_old_plan_and_names_the_path() {
    let wd = Workdir::new();
    let mut csv = String::from(HEADER);
    for i in 0..12_000 {
        csv.push_str(&format!(
            "{i:08x}-0000-4000-8000-000000000000,c{i}.example,Customer {i},Office 365 E3,10,5,2027-01-31,no,\n"
        ));
    }
    wd.write("big.csv", csv);
    wd.write("plan.json", "the old plan");
    // 8 MiB at most per file; SIGXFSZ ignored, so the write fails with EFBIG instead.
    let mut cmd = std::process::Command::new("sh");
    cmd.current_dir(wd.path()).args([
        "-c",
        "trap '' XFSZ; ulimit -f 8192; exec \"$0\" plan big.csv --as-of 2026-11-21 -o plan.json --quiet",
        crate::common::BIN,
    ]);
    let out = run_command(cmd, None).expect_code(1);
    assert!(
        out.stderr.contains("plan.json") && out.stderr.contains("File too large"),
        "{}",
        out.stderr
    );
    assert_eq!(wd.read("plan.json"), "the old plan");
    let left: Vec<String> = std::fs::read_dir(wd.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "big.csv" && n != "plan.json")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
