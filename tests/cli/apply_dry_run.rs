//! `apply --dry-run` on a shared licence pool (`SHARED_LICENSE_POOL`), against a real
//! `cspmove sandbox` on 127.0.0.1: the dry run reads the tenant's users and licences
//! (GET only, proven by the sandbox's count of requests per method), lists exactly the
//! users the real run then moves, and says clearly why it cannot list them (no
//! credentials, a customer not yet accepted, no GDAP role, a token without MFA, an
//! endpoint that cannot be reached).

use cspmove::apply::testplan::{M365_E3_SKU, O365_E3_SKU, plan_with};
use cspmove::model::Plan;
use serde_json::Value;

use crate::apply::{
    apply_command, http_send, sandbox_state, share_pool, shared_pool_plan, with_refresh_token,
    write_plan,
};
use crate::common::{Output, Sandbox, Workdir, run_command};

/// The sandbox's requests per method, asserting none of them changes anything.
#[track_caller]
fn assert_only_reads(sb: &Sandbox) -> u64 {
    let stats = &sandbox_state(sb)["stats"];
    let by = &stats["by_method"];
    for m in ["POST", "PATCH", "PUT", "DELETE", "other"] {
        assert_eq!(by[m].as_u64(), Some(0), "{m} sent by a dry run: {stats}");
    }
    assert_eq!(by["GET"].as_u64(), stats["requests"].as_u64(), "{stats}");
    by["GET"].as_u64().unwrap()
}

fn dry_run(wd: &Workdir, sb: &Sandbox, extra: &[&str]) -> Output {
    let mut cmd = apply_command(wd, sb, &["--dry-run"]);
    cmd.args(extra);
    run_command(cmd, None)
}

/// The users the dry run lists under `line` ("    upn (name)" lines after its header).
fn listed_users(stdout: &str, line: &str) -> Vec<String> {
    let header = format!("line {line} (");
    stdout
        .lines()
        .skip_while(|l| !(l.contains(&header) && l.contains("would move")))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .map(|l| {
            let upn = l.trim().split(" (").next().unwrap();
            upn.to_ascii_lowercase()
        })
        .collect()
}

/// `plan_with(1, 2, 0)`: customer 2 shares its pool (2 of its 3 users move), customer 3
/// moves all 3 users, customer 1 keeps its licence.
fn mixed_plan() -> Plan {
    let mut plan = plan_with(1, 2, 0);
    share_pool(&mut plan, 1, 2);
    plan
}

#[test]
fn the_dry_run_lists_the_users_a_shared_pool_moves_and_the_run_moves_exactly_them() {
    let wd = Workdir::new();
    let plan = mixed_plan();
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let pool = &plan.customers[1];
    let line = &pool.lines[0];

    let dry = dry_run(&wd, &sb, &[]).expect_code(0);
    let gets = assert_only_reads(&sb);
    let listed = listed_users(&dry.stdout, &line.id);
    assert_eq!(listed.len(), 2, "{}", dry.stdout);
    assert!(
        dry.stdout.contains(&format!(
            "{}: line {} (Office 365 E3 → Microsoft 365 E3) would move 2 of the 2 users",
            pool.key, line.id
        )),
        "{}",
        dry.stdout
    );
    // The display name comes with the UPN.
    assert!(
        dry.stdout
            .lines()
            .any(|l| l.starts_with("    ") && l.contains(" (")),
        "{}",
        dry.stdout
    );
    // Only the shared pool's customer is read; the dry run counts its own requests.
    assert!(
        dry.stdout.contains(&format!(
            "read with {gets} GET requests for the shared licence pools (customers: 1)"
        )),
        "{gets}: {}",
        dry.stdout
    );
    assert!(listed_users(&dry.stdout, &plan.customers[2].lines[0].id).is_empty());
    assert!(
        dry.stdout
            .lines()
            .last()
            .unwrap()
            .contains("nothing was changed")
    );
    assert!(!wd.join("plan.journal.jsonl").exists());
    // The same dry run again reads the same and lists the same users.
    let again = dry_run(&wd, &sb, &[]).expect_code(0);
    assert_eq!(listed_users(&again.stdout, &line.id), listed);

    // The real run moves exactly those users, and its execution report names them.
    run_command(apply_command(&wd, &sb, &["--report", "run.json"]), None).expect_code(0);
    let state = sandbox_state(&sb);
    let tenant = state["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["domain"] == pool.domain.as_deref().unwrap())
        .unwrap();
    let mut moved: Vec<String> = tenant["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| {
            let held: Vec<String> = u["licenses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_ascii_lowercase())
                .collect();
            held.iter().any(|l| l == M365_E3_SKU) && !held.iter().any(|l| l == O365_E3_SKU)
        })
        .map(|u| {
            u["userPrincipalName"]
                .as_str()
                .unwrap()
                .to_ascii_lowercase()
        })
        .collect();
    moved.sort();
    let mut want = listed.clone();
    want.sort();
    assert_eq!(moved, want);
    let report: Value = serde_json::from_str(&wd.read("run.json")).unwrap();
    let row = report["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == pool.key.as_str())
        .unwrap();
    let reported: Vec<String> = row["moved_users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_ascii_lowercase())
        .collect();
    assert_eq!(reported, listed, "same users, same order");

    // Afterwards nobody is left to move, and the dry run says so.
    let after = dry_run(&wd, &sb, &[]).expect_code(0);
    assert!(
        !after.stdout.contains("licenseupdates"),
        "a done customer has no licence calls: {}",
        after.stdout
    );
}

/// The licence SKUs `upn` holds in the sandbox tenant `domain`, lower case.
fn licences_of(sb: &Sandbox, domain: &str, upn: &str) -> Vec<String> {
    let state = sandbox_state(sb);
    let tenant = state["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["domain"] == domain)
        .unwrap();
    let user = tenant["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| {
            u["userPrincipalName"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(upn)
        })
        .unwrap();
    let mut held: Vec<String> = user["licenses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_ascii_lowercase())
        .collect();
    held.sort();
    held
}

/// A sandbox seeded from `plan` (written to `seed.json`) whose first customer's tenant
/// also holds `spare` free seats of Microsoft 365 E3 (a line of the seed only, no user on
/// it), so that users can hold both SKUs before a run; with that tenant's ID and its
/// users (UPN lower case, ID) by UPN.
fn sandbox_with_spare_seats(
    wd: &Workdir,
    plan: &Plan,
    spare: u64,
) -> (Sandbox, String, Vec<(String, String)>) {
    let c = &plan.customers[0];
    let mut seed = plan.clone();
    let mut line = c.lines[0].clone();
    line.id = "seed-only".into();
    line.current_offer = "Microsoft 365 E3".into();
    line.current_offer_id = None;
    line.from_sku = Some(M365_E3_SKU.into());
    line.target_offer_id = None;
    line.seats = spare;
    line.assigned = Some(0);
    seed.customers[0].lines.push(line);
    let seed_path = wd.write("seed.json", serde_json::to_vec_pretty(&seed).unwrap());
    let sb = Sandbox::start(&["--seed", seed_path.to_str().unwrap()]);
    let state = sandbox_state(&sb);
    let tenant = state["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["domain"] == c.domain.as_deref().unwrap())
        .unwrap();
    let tid = tenant["id"].as_str().unwrap().to_string();
    let mut users: Vec<(String, String)> = tenant["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let upn = u["userPrincipalName"].as_str().unwrap();
            (
                upn.to_ascii_lowercase(),
                u["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    users.sort();
    (sb, tid, users)
}

/// Gives user `uid` of tenant `tid` Microsoft 365 E3 beside what it holds.
fn give_new_sku(sb: &Sandbox, tid: &str, uid: &str) {
    http_send(
        sb,
        reqwest::Method::POST,
        &format!("/v1/customers/{tid}/users/{uid}/licenseupdates"),
        Some(serde_json::json!({"licensesToAssign": [{"skuId": M365_E3_SKU}]})),
    );
}

#[test]
fn a_user_already_on_the_new_sku_is_listed_as_skipped_and_the_run_leaves_them_alone() {
    let wd = Workdir::new();
    // 3 users hold Office 365 E3; the shared pool moves 2 of them to Microsoft 365 E3.
    let plan = shared_pool_plan();
    write_plan(&wd, &plan);
    let c = &plan.customers[0];
    let line = &c.lines[0];
    let domain = c.domain.as_deref().unwrap();
    let (sb, tid, users) = sandbox_with_spare_seats(&wd, &plan, 1);
    assert_eq!(users.len(), 3, "{users:?}");
    // The first user by userPrincipalName (the first the run would choose) gets the new
    // SKU beside the old one.
    let (on_new, uid) = users[0].clone();
    give_new_sku(&sb, &tid, &uid);
    let both = {
        let mut b = vec![M365_E3_SKU.to_string(), O365_E3_SKU.to_string()];
        b.sort();
        b
    };
    assert_eq!(licences_of(&sb, domain, &on_new), both);
    let before = sandbox_state(&sb)["stats"]["by_method"]["POST"]
        .as_u64()
        .unwrap();

    let dry = dry_run(&wd, &sb, &[]).expect_code(0);
    let stats = &sandbox_state(&sb)["stats"]["by_method"];
    assert_eq!(
        stats["POST"].as_u64(),
        Some(before),
        "the dry run sent a POST"
    );
    // Listed as skipped, in one sentence with the line and the new SKU...
    let skipped = format!(
        "{}: line {}: 1 user already holds Microsoft 365 E3 and is skipped: {on_new} (",
        c.key, line.id
    );
    assert!(dry.stdout.contains(&skipped), "{skipped}\n{}", dry.stdout);
    // ...and not among the users who would move: the next two by userPrincipalName.
    let listed = listed_users(&dry.stdout, &line.id);
    assert_eq!(
        listed,
        vec![users[1].0.clone(), users[2].0.clone()],
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains(&format!(
            "{}: line {} (Office 365 E3 → Microsoft 365 E3) would move 2 of the 2 users",
            c.key, line.id
        )),
        "{}",
        dry.stdout
    );

    // The real run moves the two listed users and leaves the skipped one as it was.
    run_command(apply_command(&wd, &sb, &["--report", "run.json"]), None).expect_code(0);
    let report: Value = serde_json::from_str(&wd.read("run.json")).unwrap();
    let moved: Vec<String> = report["customers"][0]["moved_users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_ascii_lowercase())
        .collect();
    assert_eq!(moved, listed);
    assert!(!moved.contains(&on_new), "{moved:?}");
    assert_eq!(licences_of(&sb, domain, &on_new), both);
    for (upn, _) in &users[1..] {
        assert_eq!(licences_of(&sb, domain, upn), vec![M365_E3_SKU.to_string()]);
    }
}

#[test]
fn the_dry_run_says_one_user_and_one_seat_in_the_singular() {
    // A shared pool that moves 1 of its 3 users.
    let wd = Workdir::new();
    let mut plan = shared_pool_plan();
    share_pool(&mut plan, 0, 1);
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let (key, id) = (&plan.customers[0].key, &plan.customers[0].lines[0].id);
    let out = dry_run(&wd, &sb, &[]).expect_code(0).stdout;
    for want in [
        format!(
            "{key}: line {id} (Office 365 E3 → Microsoft 365 E3) would move 1 of the 1 user it still moves (1 planned):"
        ),
        format!("licenseupdates for 1 user of line {id} ("),
        ": the first by userPrincipalName holding".to_string(),
    ] {
        assert!(out.contains(&want), "{want}\n{out}");
    }
    assert_eq!(listed_users(&out, id).len(), 1, "{out}");
    let last = out.lines().last().unwrap();
    assert!(last.starts_with("dry run: 1 customer in scope, "), "{out}");
    assert!(
        !out.contains(" 1 users") && !out.contains(" 1 customers"),
        "{out}"
    );
    drop(sb);

    // It moves 2 users but buys 1 seat: 1 more is missing.
    let wd = Workdir::new();
    let mut plan = shared_pool_plan();
    plan.customers[0].lines[0].target_seats = 1;
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let out = dry_run(&wd, &sb, &[]).expect_code(0).stdout;
    for want in [
        format!(
            "{key}: line {id} (Office 365 E3 → Microsoft 365 E3) moves nobody now; once 1 more seat of Microsoft 365 E3 is there, the run would move 2 of the 2 users it still moves (2 planned):"
        ),
        "1 seat of Microsoft 365 E3 for 2 users: buy 1 more seat of Microsoft 365 E3".to_string(),
    ] {
        assert!(out.contains(&want), "{want}\n{out}");
    }
    assert_eq!(listed_users(&out, id).len(), 2, "{out}");
    drop(sb);

    // It moves 2 users, but 2 of the 3 hold the new SKU already: only 1 is left.
    let wd = Workdir::new();
    let plan = shared_pool_plan();
    write_plan(&wd, &plan);
    let (sb, tid, users) = sandbox_with_spare_seats(&wd, &plan, 2);
    give_new_sku(&sb, &tid, &users[0].1);
    give_new_sku(&sb, &tid, &users[1].1);
    let out = dry_run(&wd, &sb, &[]).expect_code(0).stdout;
    for want in [
        format!(
            "{key}: line {id} (Office 365 E3 → Microsoft 365 E3) would move 1 of the 2 users it still moves (2 planned):"
        ),
        format!(
            "{key}: line {id}: only 1 user holds Office 365 E3 without Microsoft 365 E3; the line ends with this one"
        ),
        format!(
            "{key}: line {id}: 2 users already hold Microsoft 365 E3 and are skipped: {} (",
            users[0].0
        ),
    ] {
        assert!(out.contains(&want), "{want}\n{out}");
    }
    assert_eq!(listed_users(&out, id), vec![users[2].0.clone()], "{out}");
}

#[test]
fn a_pool_whose_users_all_hold_the_new_sku_says_the_line_moves_nobody() {
    // The line moves 2 users, but all 3 holding the old SKU hold the new one already.
    let wd = Workdir::new();
    let plan = shared_pool_plan();
    write_plan(&wd, &plan);
    let (key, id) = (&plan.customers[0].key, &plan.customers[0].lines[0].id);
    let (sb, tid, users) = sandbox_with_spare_seats(&wd, &plan, 3);
    for (_, uid) in &users {
        give_new_sku(&sb, &tid, uid);
    }
    let out = dry_run(&wd, &sb, &[]).expect_code(0).stdout;
    let want = format!(
        "{key}: line {id}: no user holds Office 365 E3 without Microsoft 365 E3 any more; the line moves nobody"
    );
    assert!(out.contains(&want), "{want}\n{out}");
    assert!(!out.contains("only 0 users"), "{out}");
    // Nor a header over an empty list.
    assert!(!out.contains("would move 0 of"), "{out}");
    assert!(
        out.contains(&format!(
            "{key}: line {id}: 3 users already hold Microsoft 365 E3 and are skipped: "
        )),
        "{out}"
    );
    assert!(listed_users(&out, id).is_empty(), "{out}");
}

#[test]
fn a_plan_without_a_shared_pool_makes_no_call_in_a_dry_run() {
    let wd = Workdir::new();
    let plan_path = write_plan(&wd, &plan_with(1, 2, 1));
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let out = dry_run(&wd, &sb, &[]).expect_code(0);
    assert_eq!(sandbox_state(&sb)["stats"]["requests"].as_u64(), Some(0));
    assert!(
        !out.stdout.contains("shared licence pool"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_dry_run_names_a_seat_shortfall_of_a_shared_pool_as_the_run_records_it() {
    let wd = Workdir::new();
    let mut plan = shared_pool_plan();
    // 1,200 users hold the old SKU, the line moves all of them but buys 1,000 seats.
    let line = &mut plan.customers[0].lines[0];
    line.seats = 1200;
    line.assigned = Some(1200);
    line.licenses_to_reassign = 1200;
    line.target_seats = 1000;
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let key = &plan.customers[0].key;
    // One wording for the dry run and the run (the run's typed reason), numbers grouped.
    let reason = "1,000 seats of Microsoft 365 E3 for 1,200 users: buy 200 more seats of Microsoft 365 E3 (or free some), then re-run apply";
    let out = dry_run(&wd, &sb, &[]).expect_code(0);
    assert_only_reads(&sb);
    assert!(
        out.stdout.contains(&format!(
            "{key}: the run would move nobody and end blocked (counting the seats it buys first): {reason}"
        )),
        "{}",
        out.stdout
    );
    // The users are listed as the ones the run moves once the seats are there: never as
    // users it "would move" now, which the blocked line would contradict.
    let id = &plan.customers[0].lines[0].id;
    let moves = format!("{key}: line {id} (Office 365 E3 → Microsoft 365 E3) ");
    assert!(
        out.stdout.contains(&format!(
            "{moves}moves nobody now; once 200 more seats of Microsoft 365 E3 are there, the run would move 1,200 of the 1,200 users it still moves (1,200 planned):"
        )),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains(&format!("{moves}would move")),
        "{}",
        out.stdout
    );
    assert_eq!(listed_users(&out.stdout, id).len(), 1200, "{}", out.stdout);
    assert!(
        out.stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("dry run: 1 customer in scope, "),
        "{}",
        out.stdout
    );
    let ko = dry_run(&wd, &sb, &["--lang", "ko"]).expect_code(0);
    assert!(
        ko.stdout.contains(&format!(
            "{key}: 항목 {id}(Office 365 E3 → Microsoft 365 E3)은(는) 지금은 아무도 이동하지 않습니다. Microsoft 365 E3 좌석이 200석 더 생기면 실제 실행은 아직 이동할 1,200명 중 1,200명을 이동합니다(계획 1,200명):"
        )),
        "{}",
        ko.stdout
    );
    assert!(
        ko.stdout.contains(&format!(
            "{key}: 실제 실행은 아무도 이동하지 않고 blocked로 끝납니다(이번 실행에서 먼저 구매하는 좌석 포함): 1,200명에게 필요한 Microsoft 365 E3 라이선스 중 1,000석만 사용 가능: Microsoft 365 E3을(를) 200석 더 구매"
        )),
        "{}",
        ko.stdout
    );
    let ja = dry_run(&wd, &sb, &["--lang", "ja"]).expect_code(0);
    assert!(
        ja.stdout.contains(&format!(
            "{key}: 項目 {id} (Office 365 E3 → Microsoft 365 E3) は今は誰も移動しません。Microsoft 365 E3 のシートがあと 200 シート揃えば、実際の実行では、まだ移動する 1,200 人のうち 1,200 人を移動します (計画 1,200 人):"
        )),
        "{}",
        ja.stdout
    );
    assert!(
        ja.stdout.contains(&format!(
            "{key}: 実際の実行では誰も移動せず blocked で終わります (今回先に購入するシートを含む): 1,200 人のユーザーに対して Microsoft 365 E3 の空きシートが 1,000 シート: Microsoft 365 E3 をあと 200 シート購入する"
        )),
        "{}",
        ja.stdout
    );
    // The real run ends the customer blocked with the same sentence.
    let run = run_command(apply_command(&wd, &sb, &[]), None).expect_code(1);
    assert!(run.stdout.contains(reason), "{}", run.stdout);
}

#[test]
fn the_dry_run_says_why_it_cannot_list_a_shared_pools_users() {
    let wd = Workdir::new();
    let plan = shared_pool_plan();
    let plan_path = write_plan(&wd, &plan);
    let seed = plan_path.to_str().unwrap();
    let key = plan.customers[0].key.clone();

    // Not accepted yet: its users cannot be read; the list comes once it accepts.
    let sb = Sandbox::start(&["--seed", seed, "--accept", "none"]);
    let out = dry_run(&wd, &sb, &[]).expect_code(0);
    assert_only_reads(&sb);
    assert!(
        out.stdout.contains(&format!(
            "{key}: its users are not listed: the customer has not accepted the reseller relationship yet"
        )) && out.stdout.contains("the list comes once it accepts"),
        "{}",
        out.stdout
    );
    drop(sb);

    // No GDAP role in the tenant: a 403, with the roles to ask for.
    let sb = Sandbox::start(&["--seed", seed, "--missing-role", "1"]);
    let out = dry_run(&wd, &sb, &[]).expect_code(0);
    assert_only_reads(&sb);
    for want in [
        "HTTP 403",
        "no GDAP role",
        "Directory Readers",
        "License Administrator or User Administrator",
    ] {
        assert!(out.stdout.contains(want), "{want}: {}", out.stdout);
    }
    drop(sb);

    // A token without MFA: the preflight stops the listing as it stops a run (exit 1).
    let sb = Sandbox::start(&["--seed", seed, "--require-mfa"]);
    let mut cmd = apply_command(&wd, &sb, &["--dry-run"]);
    with_refresh_token(&mut cmd, &sb, "nomfa-refresh-token-1");
    let out = run_command(cmd, None)
        .expect_code(1)
        .expect_stderr_contains("sign in with multi-factor authentication");
    assert!(
        out.stdout
            .contains("(customers: 1) are not listed: reading Partner Center failed"),
        "{}",
        out.stdout
    );
    // Everything else is still listed.
    assert!(
        out.stdout.contains("licenseupdates for 2 users"),
        "{}",
        out.stdout
    );
    assert_only_reads(&sb);
    drop(sb);

    // An endpoint that cannot be reached: the same stop as a run's preflight.
    let mut cmd = wd.command([
        "apply",
        "plan.json",
        "--endpoint",
        "http://127.0.0.1:9",
        "--now",
        "--dry-run",
    ]);
    cmd.env("CSPMOVE_TOKEN", "t");
    let out = run_command(cmd, None)
        .expect_code(1)
        .expect_stderr_contains("connection failed");
    assert!(out.stdout.contains("are not listed"), "{}", out.stdout);

    // No credentials: no call, and how to get the list.
    let out = wd
        .run([
            "apply",
            "plan.json",
            "--endpoint",
            "http://127.0.0.1:9",
            "--now",
            "--dry-run",
        ])
        .expect_code(0);
    assert!(
        out.stdout
            .contains("reading them needs credentials. Set CSPMOVE_TOKEN"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_rehearsals_dry_run_lists_the_pools_users_from_its_own_sandbox() {
    let wd = Workdir::new();
    let plan = shared_pool_plan();
    write_plan(&wd, &plan);
    let out = wd
        .run(["apply", "plan.json", "--sandbox", "--now", "--dry-run"])
        .expect_code(0);
    let line = &plan.customers[0].lines[0];
    let listed = listed_users(&out.stdout, &line.id);
    assert_eq!(listed.len(), 2, "{}", out.stdout);
    // Nothing of the rehearsal is written by its dry run.
    assert!(!wd.join("plan.sandbox.journal.jsonl").exists());
    assert!(!wd.join("plan.sandbox.journal.jsonl.sandbox-state").exists());
    // The rehearsal then moves those users.
    wd.run([
        "apply",
        "plan.json",
        "--sandbox",
        "--now",
        "--yes",
        "--report",
        "r.json",
    ])
    .expect_code(0);
    let report: Value = serde_json::from_str(&wd.read("r.json")).unwrap();
    let reported: Vec<String> = report["customers"][0]["moved_users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_ascii_lowercase())
        .collect();
    assert_eq!(reported, listed);
    // A dry run after it reads the rehearsal's state: nobody left to move.
    let after = wd
        .run(["apply", "plan.json", "--sandbox", "--now", "--dry-run"])
        .expect_code(0);
    assert!(!after.stdout.contains("licenseupdates"), "{}", after.stdout);
}
