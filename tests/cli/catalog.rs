//! Integration tests of the built-in catalog as `plan` uses it (no `--catalog`), of
//! `--catalog` extending it (cspmove's format and Microsoft's licensing CSV), and of
//! `cspmove catalog show|search|fetch`.

use cspmove::model::{LicenseAction, Line, Plan, TaskKind, WarningCode};

use crate::common::{Sandbox, Workdir, run_command};

const HEADER: &str =
    "Customer ID,Customer name,Product,Seats,Assigned,End date,Target offer,Target seats,Country\n";
const ENTERPRISEPACK: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";
const SPE_E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";

/// `(product, target, seats, assigned, target seats)`.
type Row<'a> = (&'a str, &'a str, u64, Option<u64>, Option<u64>);

/// A CSV of one customer per row (so no row shares a licence pool with another).
fn rows_csv(rows: &[Row<'_>]) -> String {
    let mut csv = String::from(HEADER);
    for (i, (product, target, seats, assigned, target_seats)) in rows.iter().enumerate() {
        let product = if product.contains(',') {
            format!("\"{product}\"")
        } else {
            product.to_string()
        };
        csv.push_str(&format!(
            "{:08x}-0000-4000-8000-000000000001,Customer {i},{product},{seats},{},2027-03-31,{target},{},US\n",
            i + 1,
            assigned.map(|a| a.to_string()).unwrap_or_default(),
            target_seats.map(|a| a.to_string()).unwrap_or_default(),
        ));
    }
    csv
}

fn plan_rows(wd: &Workdir, csv: &str, extra: &[&str], code: i32) -> (Plan, String) {
    wd.write("in.csv", csv);
    let mut args = vec!["plan", "in.csv", "--as-of", "2026-11-21", "-o", "plan.json"];
    args.extend_from_slice(extra);
    let out = wd.run(&args).expect_code(code);
    (Plan::read(&wd.join("plan.json")).unwrap(), out.stderr)
}

fn lines(plan: &Plan) -> Vec<&Line> {
    let mut lines: Vec<&Line> = plan.lines().map(|(_, l)| l).collect();
    lines.sort_by_key(|l| l.row);
    lines
}

#[test]
fn every_form_of_a_product_resolves_to_its_licence_and_new_commerce_target() {
    let wd = Workdir::new();
    let forms = [
        "Office 365 E3",
        "OFFICE 365 e3",
        "Ｏｆｆｉｃｅ　３６５　Ｅ３",
        "Office 365 Enterprise E3",
        "Microsoft Office 365 (Plan E3)",
        "ENTERPRISEPACK",
        ENTERPRISEPACK,
        "796b6b5f-613c-4e24-a17c-eba730d49c02",
        "CFQ7TTC0LF8R:0001:CFQ7TTC0KCSV",
    ];
    // No target: the new-commerce Office 365 E3, the same licence.
    let rows: Vec<_> = forms.iter().map(|f| (*f, "", 10, Some(8), None)).collect();
    let (plan, _) = plan_rows(&wd, &rows_csv(&rows), &[], 0);
    for (form, line) in forms.iter().zip(lines(&plan)) {
        assert_eq!(line.target_offer, "Office 365 E3", "{form}");
        assert_eq!(
            line.target_offer_id.as_deref(),
            Some("CFQ7TTC0LF8R:0001"),
            "{form}"
        );
        assert!(line.same_license, "{form}");
        assert_eq!(line.license_action, LicenseAction::None, "{form}");
        assert_eq!(line.licenses_to_reassign, 0, "{form}");
        assert!(line.warnings.is_empty(), "{form}: {:?}", line.warnings);
    }
    assert_eq!(plan.summary.reassign, 0);
    assert_eq!(
        plan.summary.same_offer + plan.summary.same_license,
        forms.len() as u64
    );
    // The legacy forms are a change of offer, not of licence.
    assert!(plan.summary.same_license >= 3, "{:?}", plan.summary);

    // To Microsoft 365 E3 every form reassigns from ENTERPRISEPACK.
    let rows: Vec<_> = forms
        .iter()
        .map(|f| (*f, "Microsoft 365 E3", 10, Some(8), None))
        .collect();
    let (plan, _) = plan_rows(&wd, &rows_csv(&rows), &[], 0);
    for (form, line) in forms.iter().zip(lines(&plan)) {
        assert_eq!(line.from_sku.as_deref(), Some(ENTERPRISEPACK), "{form}");
        assert_eq!(line.to_sku.as_deref(), Some(SPE_E3), "{form}");
    }
}

#[test]
fn former_names_plan_as_todays_product() {
    let wd = Workdir::new();
    let cases = [
        (
            "Office 365 Business Premium",
            "Microsoft 365 Business Standard",
            "CFQ7TTC0LDPB:0001",
        ),
        (
            "Office 365 Business Essentials",
            "Microsoft 365 Business Basic",
            "CFQ7TTC0LH18:0001",
        ),
        (
            "Microsoft 365 Business",
            "Microsoft 365 Business Premium",
            "CFQ7TTC0LCHC:0002",
        ),
        (
            "Azure Active Directory Premium P1",
            "Microsoft Entra ID P1",
            "CFQ7TTC0LFLS:0002",
        ),
        ("Microsoft 365 F1", "Microsoft 365 F3", "CFQ7TTC0LH05:0001"),
    ];
    let rows: Vec<_> = cases
        .iter()
        .map(|(f, _, _)| (*f, "", 20, None, None))
        .collect();
    let (plan, _) = plan_rows(&wd, &rows_csv(&rows), &[], 0);
    for ((former, today, id), line) in cases.iter().zip(lines(&plan)) {
        assert_eq!(line.target_offer, *today, "{former}");
        assert_eq!(line.target_offer_id.as_deref(), Some(*id), "{former}");
        assert!(line.same_license && !line.same_offer, "{former}");
    }
    assert_eq!(plan.summary.same_license, cases.len() as u64);
}

#[test]
fn office_365_e3_to_microsoft_365_e3_is_a_licence_reassignment() {
    let wd = Workdir::new();
    let (plan, stderr) = plan_rows(
        &wd,
        &rows_csv(&[("Office 365 E3", "Microsoft 365 E3", 25, Some(20), Some(18))]),
        &[],
        0,
    );
    let line = lines(&plan)[0];
    assert_eq!(line.license_action, LicenseAction::Reassign);
    assert!(!line.same_license && !line.same_offer);
    assert_eq!(line.licenses_to_reassign, 20);
    assert_eq!(line.from_sku.as_deref(), Some(ENTERPRISEPACK));
    assert_eq!(line.to_sku.as_deref(), Some(SPE_E3));
    assert_eq!(line.target_offer_id.as_deref(), Some("CFQ7TTC0LFLX:0001"));
    // 20 users to move, 18 seats bought: 2 more are needed.
    assert_eq!(line.warnings, vec![WarningCode::TargetSeatsBelowAssigned]);
    assert!(stderr.contains("(2 more needed)"), "{stderr}");
    let kinds: Vec<TaskKind> = plan.customers[0].tasks.iter().map(|t| t.kind).collect();
    assert!(kinds.contains(&TaskKind::ReassignLicenses), "{kinds:?}");
    assert_eq!(plan.summary.reassign, 1);
}

#[test]
fn unknown_ambiguous_and_unsold_products_are_flagged_never_guessed() {
    let wd = Workdir::new();
    let (plan, stderr) = plan_rows(
        &wd,
        &rows_csv(&[
            ("Contoso Special Suite", "", 5, None, None),
            ("Visio Plan 1", "", 5, None, None),
            ("Power BI Pro", "", 5, None, None),
            ("Office 365 E5", "", 5, None, None),
        ]),
        &[],
        0,
    );
    let l = lines(&plan);
    assert_eq!(l[0].target_offer, "Contoso Special Suite");
    assert_eq!(
        l[0].warnings,
        vec![WarningCode::OfferNotInCatalog, WarningCode::SkuUnknown]
    );
    assert!(l[1].warnings.contains(&WarningCode::AmbiguousProduct));
    assert_eq!(l[1].target_offer_id, None);
    assert!(
        stderr.contains("\"Visio Plan 1\" names 2 licences: VISIOONLINE_PLAN1")
            && stderr.contains("VISIO_PLAN1_DEPT"),
        "{stderr}"
    );
    for unsold in &l[2..] {
        assert_eq!(unsold.warnings, vec![WarningCode::NoNewCommerceOffer]);
        assert_eq!(unsold.target_offer, unsold.current_offer);
    }
}

#[test]
fn a_catalog_file_overrides_and_extends_the_builtin_rows() {
    let wd = Workdir::new();
    wd.write(
        "catalog.csv",
        "offer_id,offer_name,sku_id,sku_part_number,min_quantity,max_quantity\n\
         CFQ7TTC0LF8R:0001,Office 365 E3,6fd2c87f-b296-42f0-b197-1e91e994b900,ENTERPRISEPACK,1,20\n\
         CFQ7TTC0ZZZZ:0001,Contoso Special Suite,11111111-2222-4333-8444-555555555555,CONTOSO_SUITE,1,100\n",
    );
    let csv = rows_csv(&[
        ("Office 365 E3", "", 25, None, None),
        ("Contoso Special Suite", "", 5, None, None),
    ]);
    let (plan, _) = plan_rows(&wd, &csv, &[], 0);
    assert!(lines(&plan)[0].warnings.is_empty());
    let (plan, _) = plan_rows(&wd, &csv, &["--catalog", "catalog.csv"], 0);
    let l = lines(&plan);
    assert_eq!(l[0].warnings, vec![WarningCode::QuantityOutOfRange]);
    assert!(l[1].warnings.is_empty(), "{:?}", l[1].warnings);
    assert_eq!(l[1].target_offer_id.as_deref(), Some("CFQ7TTC0ZZZZ:0001"));
}

#[test]
fn microsofts_licensing_csv_given_as_catalog_names_every_licence() {
    let wd = Workdir::new();
    wd.write(
        "Product names and service plan identifiers for licensing.csv",
        "Product_Display_Name,String_Id,GUID,Service_Plan_Name,Service_Plan_Id,Service_Plans_Included_Friendly_Names\n\
         Contoso Frontline Pack,CONTOSO_FRONTLINE,aaaaaaaa-1111-4222-8333-444444444444,EXCHANGE_S_DESKLESS,4a82b400-a79f-41a4-b4e2-e94f5787b113,Exchange Online Kiosk\n\
         Contoso Frontline Pack,CONTOSO_FRONTLINE,aaaaaaaa-1111-4222-8333-444444444444,TEAMS1,57ff2da0-773e-42df-b2af-ffb7a2317929,Microsoft Teams\n",
    );
    let csv = rows_csv(&[
        ("Contoso Frontline Pack", "Microsoft 365 F3", 10, None, None),
        ("CONTOSO_FRONTLINE", "", 10, None, None),
    ]);
    let (plan, _) = plan_rows(&wd, &csv, &[], 0);
    assert!(
        lines(&plan)[0]
            .warnings
            .contains(&WarningCode::OfferNotInCatalog)
    );
    let (plan, _) = plan_rows(
        &wd,
        &csv,
        &[
            "--catalog",
            "Product names and service plan identifiers for licensing.csv",
        ],
        0,
    );
    let l = lines(&plan);
    assert_eq!(
        l[0].from_sku.as_deref(),
        Some("aaaaaaaa-1111-4222-8333-444444444444")
    );
    assert_eq!(
        l[0].to_sku.as_deref(),
        Some("66b55226-6b4f-492c-910c-a3b7a3c9d993")
    );
    assert_eq!(l[0].warnings, Vec::<WarningCode>::new());
    // Known now, but nothing in the catalog sells it.
    assert_eq!(l[1].warnings, vec![WarningCode::NoNewCommerceOffer]);
}

#[test]
fn catalog_search_finds_e3_in_english_korean_and_japanese() {
    let wd = Workdir::new();
    for (lang, label) in [
        ("en", "former names"),
        ("ko", "이전 이름"),
        ("ja", "旧名称"),
    ] {
        let out = wd
            .run(["catalog", "search", "E3", "--lang", lang])
            .expect_code(0);
        for needle in [
            "Office 365 E3",
            "Microsoft 365 E3",
            "ENTERPRISEPACK",
            "CFQ7TTC0LF8R:0001",
            label,
        ] {
            assert!(
                out.stdout.contains(needle),
                "{lang}: {needle}\n{}",
                out.stdout
            );
        }
        // "E3" starts a word; the `e3` inside "Office365" is not a match.
        assert!(
            !out.stdout.contains("Business Basic"),
            "{lang}\n{}",
            out.stdout
        );
    }
    let out = wd
        .run(["catalog", "search", "e3", "--format", "json"])
        .expect_code(0);
    let found: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        found
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["sku_part_number"] == "SPE_E3")
    );
}

#[test]
fn catalog_show_csv_is_a_catalog_that_plans_the_same() {
    let wd = Workdir::new();
    wd.run(["catalog", "show", "-o", "mine.csv"]).expect_code(0);
    let csv = crate::plan::generated_csv(300);
    wd.write("in.csv", &csv);
    let plan = |extra: &[&str], out: &str| {
        let mut args = vec!["plan", "in.csv", "--as-of", "2026-11-21", "-o", out];
        args.extend_from_slice(extra);
        // The generated export holds a few repeated rows on purpose: exit 3.
        wd.run(&args).expect_code(3);
        wd.read(out)
    };
    assert_eq!(
        plan(&[], "a.json"),
        plan(&["--catalog", "mine.csv"], "b.json")
    );
    // Usage errors.
    wd.run(["catalog", "show", "-o", "x.pdf"])
        .expect_code(2)
        .expect_stderr_contains("--format");
    wd.run(["catalog", "show", "--catalog", "missing.csv"])
        .expect_code(2)
        .expect_stderr_contains("missing.csv");
    wd.run(["catalog", "fetch", "--country", "Korea", "--sandbox"])
        .expect_code(2)
        .expect_stderr_contains("ISO 3166");
}

#[test]
fn catalog_fetch_from_the_sandbox_plans_like_the_builtin_catalog() {
    let wd = Workdir::new();
    let out = wd
        .run([
            "catalog",
            "fetch",
            "--country",
            "US",
            "--sandbox",
            "-o",
            "us.csv",
        ])
        .expect_code(0);
    assert!(
        out.stderr.contains("new-commerce SKUs read"),
        "{}",
        out.stderr
    );
    let fetched = wd.read("us.csv");
    for id in [
        "CFQ7TTC0LF8R:0001",
        "CFQ7TTC0LFLX:0001",
        "CFQ7TTC0LH18:0001",
    ] {
        assert!(fetched.contains(id), "{id}\n{fetched}");
    }
    // Against a sandbox process through --endpoint, with the credentials `apply` uses.
    let sb = Sandbox::start(&[]);
    let mut cmd = wd.command([
        "catalog",
        "fetch",
        "--country",
        "US",
        "--endpoint",
        &sb.url,
        "-o",
        "endpoint.csv",
    ]);
    cmd.env("CSPMOVE_TOKEN", &sb.token);
    run_command(cmd, None).expect_code(0);
    assert_eq!(wd.read("endpoint.csv"), fetched);
    let mut cmd = wd.command(["catalog", "fetch", "--country", "US", "--endpoint", &sb.url]);
    cmd.env("CSPMOVE_TOKEN", "not-the-token");
    let refused = run_command(cmd, None);
    assert_eq!(refused.code, Some(1), "{refused:?}");

    // The products the sandbox sells plan the same with the fetched file as without.
    let csv = rows_csv(&[
        ("Office 365 Enterprise E3", "", 30, Some(25), None),
        ("Office 365 E3", "Microsoft 365 E3", 30, Some(25), None),
        ("Office 365 Business Essentials", "", 10, None, None),
        ("Microsoft 365 Business Premium", "", 10, None, None),
        ("Office 365 Enterprise E1", "Office 365 E3", 10, None, None),
        ("Microsoft 365 E5", "", 10, None, None),
    ]);
    let (builtin, _) = plan_rows(&wd, &csv, &[], 0);
    let (with_fetched, _) = plan_rows(&wd, &csv, &["--catalog", "us.csv"], 0);
    assert_eq!(
        serde_json::to_string(&with_fetched).unwrap(),
        serde_json::to_string(&builtin).unwrap()
    );
}

/// Issue 9: `--encoding` applies to `--catalog` and `--offer-map` files too, so a Korean
/// partner's CP949 files and a Japanese partner's Shift_JIS files plan with their own
/// product names (before, those two files were always decoded by detection).
#[test]
fn encoding_applies_to_catalog_and_offer_map_files() {
    use encoding_rs::{EUC_KR, SHIFT_JIS};
    const SUITE_SKU: &str = "11111111-2222-4333-8444-555555555555";
    let header = "offer_id,offer_name,sku_id,sku_part_number,min_quantity,max_quantity\n";
    for (encoding, codec, name, former) in [
        ("cp949", EUC_KR, "콘토소 특별 제품군", "콘토소 구 제품군"),
        (
            "shift_jis",
            SHIFT_JIS,
            "コントソ 特別スイート",
            "コントソ 旧スイート",
        ),
    ] {
        let wd = Workdir::new();
        let put = |file: &str, text: &str| wd.write(file, codec.encode(text).0.as_ref());
        put(
            "catalog.csv",
            &format!("{header}CFQ7TTC0ZZZZ:0001,{name},{SUITE_SKU},CONTOSO_SUITE,1,100\n"),
        );
        put(
            "offers.csv",
            &format!("Legacy offer,CSP offer\n{former},{name}\n"),
        );
        put(
            "in.csv",
            &rows_csv(&[(name, "", 5, None, None), (former, "", 7, None, None)]),
        );
        let args = [
            "plan",
            "in.csv",
            "--as-of",
            "2026-11-21",
            "-o",
            "plan.json",
            "--catalog",
            "catalog.csv",
            "--offer-map",
            "offers.csv",
            "--encoding",
            encoding,
        ];
        wd.run(args).expect_code(0);
        let plan = Plan::read(&wd.join("plan.json")).unwrap();
        let l = lines(&plan);
        assert_eq!(l[0].current_offer, name);
        // Resolved through the catalog file's row: its offer ID, no SKU_UNKNOWN.
        assert_eq!(
            l[0].current_offer_id.as_deref(),
            Some("CFQ7TTC0ZZZZ:0001"),
            "{encoding}"
        );
        assert_eq!(l[0].target_offer_id.as_deref(), Some("CFQ7TTC0ZZZZ:0001"));
        assert!(l[0].warnings.is_empty(), "{encoding}: {:?}", l[0].warnings);
        // The offer map, read in the same encoding, sends the former name to the suite.
        assert_eq!(l[1].current_offer, former);
        assert_eq!(
            l[1].target_offer_id.as_deref(),
            Some("CFQ7TTC0ZZZZ:0001"),
            "{encoding}"
        );
        assert_eq!(l[1].to_sku.as_deref(), Some(SUITE_SKU), "{encoding}");

        // The flag is what decides: told UTF-8, the legacy bytes of the catalog are an
        // error naming the file (the input is plain ASCII here, so it still reads).
        wd.write(
            "ascii.csv",
            rows_csv(&[("Office 365 E3", "", 5, None, None)]),
        );
        wd.run([
            "plan",
            "ascii.csv",
            "-o",
            "p2.json",
            "--catalog",
            "catalog.csv",
            "--encoding",
            "utf-8",
        ])
        .expect_code(2)
        .expect_stderr_contains("catalog.csv: ");
        wd.run([
            "plan",
            "ascii.csv",
            "-o",
            "p3.json",
            "--offer-map",
            "offers.csv",
            "--encoding",
            "utf-8",
        ])
        .expect_code(2)
        .expect_stderr_contains("offers.csv: ");
    }
}
