//! Exit codes and error texts of the commands that call Partner Center (`apply`,
//! `doctor`, `sandbox`), as docs/exit-codes.md states them: which failures are usage
//! errors (2, nothing done) and which stop a run (1), and that each cause is named once.

use cspmove::apply::testplan::plan_with;

use crate::common::{Sandbox, Workdir, run_command};

fn write_plan(wd: &Workdir, customers: usize) -> std::path::PathBuf {
    let plan = plan_with(customers, 0, 0);
    wd.write("plan.json", serde_json::to_vec_pretty(&plan).unwrap())
}

#[test]
fn an_only_that_matches_nobody_is_a_usage_error_and_starts_no_journal() {
    let wd = Workdir::new();
    write_plan(&wd, 2);
    for extra in [&["--yes"][..], &["--dry-run"][..]] {
        let mut cmd = wd.command([
            "apply",
            "plan.json",
            "--endpoint",
            "https://127.0.0.1:9",
            "--only",
            "nobody.example",
        ]);
        cmd.args(extra).env("CSPMOVE_TOKEN", "t");
        run_command(cmd, None)
            .expect_code(2)
            .expect_stderr_contains(
                "--only nobody.example matches no customer of the plan (give a plan key, customer ID or domain)",
            );
        assert!(!wd.join("plan.journal.jsonl").exists());
    }
}

#[test]
fn a_token_without_mfa_stops_apply_at_preflight_with_exit_1_and_says_so_once() {
    let wd = Workdir::new();
    let plan_path = write_plan(&wd, 1);
    let sb = Sandbox::start(&["--seed", plan_path.to_str().unwrap(), "--require-mfa"]);
    let mut cmd = wd.command([
        "apply",
        "plan.json",
        "--endpoint",
        &sb.url,
        "--yes",
        "--now",
    ]);
    cmd.env("CSPMOVE_REFRESH_TOKEN", "nomfa-refresh-token-1")
        .env("CSPMOVE_CLIENT_ID", "app")
        .env("CSPMOVE_CLIENT_SECRET", "client-secret-789")
        .env("CSPMOVE_TENANT_ID", "partner-tenant")
        .env("CSPMOVE_AUTHORITY", &sb.url);
    let out = run_command(cmd, None)
        .expect_code(1)
        .expect_stderr_contains("cspmove: error: preflight ");
    let error = out
        .stderr
        .lines()
        .find(|l| l.starts_with("cspmove: error:"))
        .unwrap();
    assert_eq!(error.matches("code 900421").count(), 1, "{error}");
    assert!(
        error.contains("sign in with multi-factor authentication"),
        "{error}"
    );
    assert!(!out.stderr.contains("client-secret-789"), "{}", out.stderr);
    // Nothing was bought: the sandbox has no order.
    assert!(!out.stdout.contains("orders placed 1"), "{}", out.stdout);
}

#[test]
fn doctor_with_a_refused_token_exits_1_and_names_the_failed_checks() {
    let wd = Workdir::new();
    let sb = Sandbox::start(&[]);
    let mut cmd = wd.command(["doctor", "--endpoint", &sb.url]);
    cmd.env("CSPMOVE_TOKEN", "not-the-sandbox-token");
    run_command(cmd, None)
        .expect_code(1)
        .expect_stderr_contains("preflight checks failed: a run would stop");
}

#[test]
fn a_journal_held_by_another_run_exits_1_naming_its_lock() {
    let wd = Workdir::new();
    write_plan(&wd, 1);
    // The lock another `apply` would hold: an OS lock on JOURNAL.lock.
    let lock = std::fs::File::create(wd.join("plan.journal.jsonl.lock")).unwrap();
    lock.try_lock().unwrap();
    let mut cmd = wd.command([
        "apply",
        "plan.json",
        "--endpoint",
        "https://127.0.0.1:9",
        "--yes",
    ]);
    cmd.env("CSPMOVE_TOKEN", "t");
    run_command(cmd, None)
        .expect_code(1)
        .expect_stderr_contains("another `cspmove apply` is running on")
        .expect_stderr_contains("plan.journal.jsonl.lock");
    drop(lock);
}

#[test]
fn endpoint_errors_keep_their_cause_once() {
    let wd = Workdir::new();
    write_plan(&wd, 1);
    let mut cmd = wd.command(["apply", "plan.json", "--endpoint", "not a url", "--yes"]);
    cmd.env("CSPMOVE_TOKEN", "t");
    let out = run_command(cmd, None)
        .expect_code(2)
        .expect_stderr_contains("\"not a url\" is not a URL: ");
    assert_eq!(out.stderr.matches("not a URL").count(), 1, "{}", out.stderr);
    let mut cmd = wd.command(["doctor", "--endpoint", "https://127.0.0.1:9"]);
    cmd.env("CSPMOVE_REFRESH_TOKEN", "r-123456")
        .env("CSPMOVE_CLIENT_ID", "app")
        .env("CSPMOVE_CLIENT_SECRET", "s-123456")
        .env("CSPMOVE_TENANT_ID", "t")
        .env("CSPMOVE_AUTHORITY", "ftp://login.example");
    run_command(cmd, None)
        .expect_code(2)
        .expect_stderr_contains(
            "CSPMOVE_AUTHORITY: ftp://login.example: unsupported scheme \"ftp\"; use https://",
        );
}

#[test]
fn a_sandbox_that_cannot_listen_exits_1_naming_the_address() {
    let wd = Workdir::new();
    // Take a port, then ask the sandbox to listen on it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    wd.run(["sandbox", "--listen", &addr, "--token", "x"])
        .expect_code(1)
        .expect_stderr_contains(&format!("cannot listen on {addr}: "));
}
