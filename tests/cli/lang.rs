//! `--lang en|ko|ja` on the commands whose output a Korean or Japanese partner reads:
//! `apply` (summary, `--dry-run` listing, execution report), `status` and `doctor`,
//! against a real `cspmove sandbox` on 127.0.0.1. Headings and sentences follow the
//! language; customer keys, domains, IDs, URLs and paths pass through unchanged; JSON
//! for scripts stays English. A language cspmove does not have is a usage error.

use cspmove::apply::testplan::plan_with;
use serde_json::Value;

use crate::apply::{apply_command, write_plan};
use crate::common::{Sandbox, Workdir, run_command};

#[test]
fn status_lang_ko_translates_the_table_and_keeps_keys_and_json() {
    let wd = Workdir::new();
    let plan = plan_with(1, 1, 1);
    let plan_path = write_plan(&wd, &plan);
    // Nobody has accepted yet: every customer waits for the reseller relationship.
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap(), "--accept", "none"]);
    let cmd = apply_command(&wd, &sb, &["--lang", "ko", "--report", "run.md"]);
    let out = run_command(cmd, None).expect_code(0);
    // apply's summary on stdout and its .md report are Korean, paths as given.
    assert!(out.stdout.contains("고객 3곳:"), "{}", out.stdout);
    assert!(out.stdout.contains("저널: "), "{}", out.stdout);
    assert!(out.stdout.contains("plan.journal.jsonl"), "{}", out.stdout);
    assert!(!out.stdout.contains("orders placed"), "{}", out.stdout);
    let md = wd.read("run.md");
    assert!(md.contains("다음 단계"), "{md}");

    let text = wd
        .run(["status", "plan.json", "--lang", "ko"])
        .expect_code(0);
    let header = text.stdout.lines().next().unwrap();
    for heading in ["고객", "상태", "다음 단계"] {
        assert!(header.contains(heading), "{}", text.stdout);
    }
    for c in &plan.customers {
        let shown = c.domain.as_deref().unwrap_or(&c.key);
        assert!(
            text.stdout.contains(shown) || text.stdout.contains(&c.key),
            "{shown} missing:\n{}",
            text.stdout
        );
    }
    assert!(text.stdout.contains("수락 대기"), "{}", text.stdout);
    assert!(
        !text.stdout.contains("awaiting_acceptance"),
        "{}",
        text.stdout
    );
    // The English default is unchanged.
    let en = wd.run(["status", "plan.json"]).expect_code(0);
    assert!(en.stdout.contains("awaiting_acceptance"), "{}", en.stdout);
    // JSON is for scripts: codes and English next steps whatever --lang says.
    let json = wd
        .run(["status", "plan.json", "--format", "json", "--lang", "ko"])
        .expect_code(0);
    let v: Value = serde_json::from_str(&json.stdout).expect("status JSON");
    let statuses: Vec<&str> = v["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"awaiting_acceptance"), "{statuses:?}");
    assert!(
        json.stdout
            .contains("customer accepts the reseller relationship"),
        "{}",
        json.stdout
    );
}

#[test]
fn doctor_lang_ja_translates_the_table_and_keeps_the_endpoint() {
    let wd = Workdir::new();
    let plan_path = write_plan(&wd, &plan_with(1, 1, 0));
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let mut cmd = wd.command(["doctor", "--endpoint", &sb.url, "plan.json", "--lang", "ja"]);
    cmd.env("CSPMOVE_TOKEN", &sb.token);
    let out = run_command(cmd, None).expect_code(0);
    let header = out.stdout.lines().next().unwrap();
    for heading in ["チェック", "対象", "結果", "詳細"] {
        assert!(header.contains(heading), "{}", out.stdout);
    }
    assert!(out.stdout.contains(&sb.url), "{}", out.stdout);
    // Check names and verdicts are words of the table too (JSON keeps the codes).
    let endpoint = out.stdout.lines().nth(1).unwrap();
    assert!(endpoint.starts_with("エンドポイント"), "{}", out.stdout);
    assert!(endpoint.contains("  OK  "), "{}", out.stdout);
    assert!(out.stdout.contains("GDAP ロール"), "{}", out.stdout);
    assert!(
        out.stdout.contains("応答し、トークンを受け入れます"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .trim_end()
            .ends_with("すべてのチェックに合格しました: 実行を開始できます"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("all checks passed"), "{}", out.stdout);
}

#[test]
fn apply_dry_run_lang_ko_translates_the_listing_and_keeps_ids() {
    let wd = Workdir::new();
    let plan = plan_with(1, 1, 0);
    write_plan(&wd, &plan);
    let out = wd
        .run([
            "apply",
            "plan.json",
            "--sandbox",
            "--dry-run",
            "--now",
            "--lang",
            "ko",
        ])
        .expect_code(0);
    assert!(
        out.stdout.contains("시험 실행: 대상 고객 2곳"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("GET /v1/customers?size="),
        "{}",
        out.stdout
    );
    let id = plan.customers[0].customer_id.as_deref().unwrap();
    assert!(out.stdout.contains(id), "{id} missing:\n{}", out.stdout);
    assert!(!out.stdout.contains("dry run:"), "{}", out.stdout);
}

#[test]
fn an_unknown_lang_is_a_usage_error_naming_the_languages() {
    let wd = Workdir::new();
    write_plan(&wd, &plan_with(1, 0, 0));
    for args in [
        vec!["status", "plan.json", "--lang", "xx"],
        vec!["doctor", "--sandbox", "plan.json", "--lang", "xx"],
        vec![
            "apply",
            "plan.json",
            "--sandbox",
            "--dry-run",
            "--lang",
            "xx",
        ],
        vec!["report", "plan.json", "-o", "r.md", "--lang", "xx"],
    ] {
        let out = wd.run(&args).expect_code(2);
        assert!(out.stderr.contains("'xx'"), "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("en, ko, ja"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
}

/// A block recorded by a run in one language reads in the reader's language later: the
/// journal keeps the reason as data (and its English note), `status --lang` says it.
#[test]
fn a_blocked_customers_reason_follows_the_readers_language() {
    let wd = Workdir::new();
    let mut plan = plan_with(1, 1, 0);
    // 3 users to move, 2 seats bought: blocked, 1 seat short.
    plan.customers[1].lines[0].target_seats = 2;
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let cmd = apply_command(&wd, &sb, &["--lang", "ko", "--report", "run.md"]);
    let out = run_command(cmd, None).expect_code(1);
    assert!(out.stdout.contains("1석 더 구매"), "{}", out.stdout);
    assert!(wd.read("run.md").contains("1석 더 구매"));
    // The journal: the reason as data, the note in English for people reading the file.
    let journal = wd.read("plan.journal.jsonl");
    let blocked = journal
        .lines()
        .find(|l| l.contains("\"state\":\"blocked\""))
        .expect("a blocked event");
    let v: Value = serde_json::from_str(blocked).unwrap();
    assert_eq!(v["reason"]["kind"], "seats_short", "{blocked}");
    assert_eq!(v["reason"]["free"], 2, "{blocked}");
    assert!(
        v["note"].as_str().unwrap().contains("buy 1 more seat of"),
        "{blocked}"
    );
    let ja = wd
        .run(["status", "plan.json", "--lang", "ja"])
        .expect_code(0);
    assert!(ja.stdout.contains("あと 1 シート購入"), "{}", ja.stdout);
    assert!(ja.stdout.contains("Microsoft 365 E3"), "{}", ja.stdout);
    let en = wd.run(["status", "plan.json"]).expect_code(0);
    assert!(
        en.stdout
            .contains("2 seats of Microsoft 365 E3 for 3 users: buy 1 more seat"),
        "{}",
        en.stdout
    );
    let json = wd
        .run(["status", "plan.json", "--format", "json", "--lang", "ja"])
        .expect_code(0);
    assert!(json.stdout.contains("buy 1 more seat"), "{}", json.stdout);

    // A journal written before reasons existed (no `reason`, only the note) still loads
    // and shows its note as written.
    let old: String = journal
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if let Some(o) = v.as_object_mut() {
                o.remove("reason");
                if o.get("state").and_then(Value::as_str) == Some("blocked") {
                    o.insert("note".into(), "an old note, as written".into());
                }
            }
            format!("{v}\n")
        })
        .collect();
    wd.write("old.jsonl", old);
    let out = wd
        .run([
            "status",
            "plan.json",
            "--journal",
            "old.jsonl",
            "--lang",
            "ko",
        ])
        .expect_code(0);
    assert!(
        out.stdout.contains("an old note, as written"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("차단됨"), "{}", out.stdout);
}

/// A line the plan cannot buy: the dry run and the run's failure say why in the
/// language asked for, with the line and the offending ID as they are.
#[test]
fn a_line_that_cannot_be_bought_is_explained_in_the_language() {
    let wd = Workdir::new();
    let mut plan = plan_with(1, 0, 0);
    plan.customers[0].lines[0].target_offer_id = Some("x/../y".into());
    let plan_path = write_plan(&wd, &plan);
    let dry = wd
        .run([
            "apply",
            "plan.json",
            "--sandbox",
            "--dry-run",
            "--now",
            "--lang",
            "ja",
        ])
        .expect_code(0);
    assert!(
        dry.stdout
            .contains("行 c1-l1: 移行先オファー ID \"x/../y\" は、レガシー オファーの GUID"),
        "{}",
        dry.stdout
    );
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let cmd = apply_command(&wd, &sb, &["--lang", "ko", "--report", "run.csv"]);
    let out = run_command(cmd, None).expect_code(1);
    assert!(
        out.stdout.contains("c1-l1 줄: 대상 제품 ID"),
        "{}",
        out.stdout
    );
    let csv = wd.read("run.csv");
    assert!(csv.contains("입력의 해당 줄"), "{csv}");
    let ko = wd
        .run(["status", "plan.json", "--lang", "ko"])
        .expect_code(0);
    assert!(ko.stdout.contains("입력의 해당 줄"), "{}", ko.stdout);
    let json = wd
        .run(["status", "plan.json", "--format", "json", "--lang", "ko"])
        .expect_code(0);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    let c = &v["customers"][0];
    assert_eq!(c["status"], "failed");
    assert!(
        c["error"]["description"]
            .as_str()
            .unwrap()
            .contains("is neither a legacy offer GUID"),
        "{c}"
    );
    assert_eq!(c["error"]["reason"]["kind"], "bad_target_offer_id", "{c}");
}

/// Partner Center refuses a legacy purchase (403 2091): its description passes through,
/// and the hint cspmove adds for the code is said in the reader's language.
#[test]
fn the_hint_for_a_refusal_follows_the_readers_language() {
    let wd = Workdir::new();
    let plan = cspmove::apply::testplan::with_legacy_targets(plan_with(1, 0, 0));
    let plan_path = write_plan(&wd, &plan);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap()]);
    let cmd = apply_command(&wd, &sb, &["--lang", "ko"]);
    let out = run_command(cmd, None).expect_code(1);
    assert!(
        out.stdout
            .contains("Partner Center는 더 이상 새 레거시(라이선스 기반) 구독을 판매하지 않습니다"),
        "{}",
        out.stdout
    );
    // Partner Center's own description passes through as it came.
    assert!(out.stdout.contains("code 2091 The offer"), "{}", out.stdout);
    let ja = wd
        .run(["status", "plan.json", "--lang", "ja"])
        .expect_code(0);
    assert!(
        ja.stdout.contains(
            "新しいレガシー (ライセンス ベース) サブスクリプションはもう販売されていません"
        ),
        "{}",
        ja.stdout
    );
    let en = wd.run(["status", "plan.json"]).expect_code(0);
    assert!(
        en.stdout
            .contains("Partner Center no longer sells new legacy (license-based) subscriptions"),
        "{}",
        en.stdout
    );
}

#[test]
fn a_rehearsal_says_what_it_is_in_the_language() {
    let wd = Workdir::new();
    write_plan(&wd, &plan_with(1, 0, 0));
    let out = wd
        .run([
            "apply",
            "plan.json",
            "--sandbox",
            "--now",
            "--yes",
            "--lang",
            "ja",
        ])
        .expect_code(0);
    assert!(
        out.stderr
            .contains("cspmove: プロセス内のサンドボックス (http://127.0.0.1:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.starts_with("顧客 1 社: 完了 1\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("ジャーナル: plan.sandbox.journal.jsonl"),
        "{}",
        out.stdout
    );
}
