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
