//! Integration tests of the files every command writes: one rule for the report format
//! of a path (`plan --report` and `report -o`), writes through symlinks, and refusal of
//! targets that are not regular files (a FIFO, a directory), which used to be replaced.

use crate::common::Workdir;

const CSV: &str = "Customer ID,Domain,Customer name,Offer,Seats,End date\n\
aaaaaaaa-0000-0000-0000-000000000001,contoso.com,Contoso,Office 365 E3,25,2027-01-31\n";

fn plan_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["plan", "customers.csv", "--as-of", "2026-11-21"];
    args.extend_from_slice(extra);
    args
}

/// Regression: `report -o r.htm` worked while `plan --report r.htm` exited 2, because
/// `cli/plan.rs` kept its own list of extensions.
#[test]
fn htm_and_markdown_extensions_work_for_plan_report_and_report_output() {
    let wd = Workdir::new();
    wd.write("customers.csv", CSV);
    wd.run(plan_args(&[
        "-o",
        "plan.json",
        "--report",
        "a.htm",
        "--report",
        "a.MARKDOWN",
    ]))
    .expect_code(0);
    assert!(wd.read("a.htm").starts_with("<!DOCTYPE html>"));
    assert!(wd.read("a.MARKDOWN").starts_with('#'));
    wd.run(["report", "plan.json", "-o", "b.htm"])
        .expect_code(0);
    assert_eq!(wd.read("a.htm"), wd.read("b.htm"));
}

#[test]
fn an_unknown_report_extension_gets_the_same_message_from_both_commands() {
    let wd = Workdir::new();
    wd.write("customers.csv", CSV);
    let from_plan = wd
        .run(plan_args(&["-o", "plan.json", "--report", "r.txt"]))
        .expect_code(2);
    assert!(!wd.join("plan.json").exists(), "nothing is written");
    wd.run(plan_args(&["-o", "plan.json"])).expect_code(0);
    let from_report = wd
        .run(["report", "plan.json", "-o", "r.txt"])
        .expect_code(2);
    let expected = "r.txt: unknown report format (use .xlsx, .csv, .html or .htm, .md or \
                    .markdown, .json)";
    assert!(from_plan.stderr.contains(expected), "{}", from_plan.stderr);
    assert!(
        from_report.stderr.contains(expected),
        "{}",
        from_report.stderr
    );
}

#[cfg(unix)]
#[test]
fn plan_and_reports_write_through_a_symlink_and_keep_it() {
    use std::os::unix::fs::symlink;
    let wd = Workdir::new();
    wd.write("customers.csv", CSV);
    std::fs::create_dir(wd.join("store")).unwrap();
    wd.write("store/plan.json", "old plan");
    symlink("store/plan.json", wd.join("plan.json")).unwrap();
    symlink("store/review.md", wd.join("review.md")).unwrap();
    wd.run(plan_args(&["-o", "plan.json", "--report", "review.md"]))
        .expect_code(0);
    for link in ["plan.json", "review.md"] {
        let meta = std::fs::symlink_metadata(wd.join(link)).unwrap();
        assert!(meta.file_type().is_symlink(), "{link} is still a link");
    }
    assert!(wd.read("store/plan.json").contains("cspmove.plan/"));
    assert!(wd.read("store/review.md").starts_with('#'));
    wd.run(["report", "plan.json", "-o", "review.md", "--lang", "ko"])
        .expect_code(0);
    assert!(
        std::fs::symlink_metadata(wd.join("review.md"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(wd.read("store/review.md").contains("요약"));
}

/// Regression (hostile test): `plan -o FIFO` deleted the FIFO and put a regular file
/// there; as root, `-o /dev/full` removed the device. Every output path is now checked
/// before any row is read.
#[cfg(unix)]
#[test]
fn a_fifo_as_plan_or_report_path_is_refused_and_left_alone() {
    use std::os::unix::fs::FileTypeExt;
    let wd = Workdir::new();
    wd.write("customers.csv", CSV);
    let fifo = wd.join("pipe");
    mkfifo(&fifo);
    let refused = "cannot write pipe: it is a FIFO (named pipe), not a regular file, and \
                   cspmove will not replace it";
    wd.run(plan_args(&["-o", "pipe"]))
        .expect_code(2)
        .expect_stderr_contains(refused);
    wd.run(plan_args(&["-o", "plan.json", "--report", "pipe.csv"]))
        .expect_code(0);
    std::fs::rename(wd.join("pipe.csv"), wd.join("ok.csv")).unwrap();
    std::os::unix::fs::symlink("pipe", wd.join("pipe.csv")).unwrap();
    wd.run(plan_args(&["-o", "plan2.json", "--report", "pipe.csv"]))
        .expect_code(2)
        .expect_stderr_contains("cannot write pipe.csv (a link to ");
    assert!(!wd.join("plan2.json").exists());
    wd.run(["report", "plan.json", "-o", "pipe.csv"])
        .expect_code(2)
        .expect_stderr_contains("it is a FIFO (named pipe)");
    let meta = std::fs::metadata(&fifo).unwrap();
    assert!(meta.file_type().is_fifo(), "the FIFO is still a FIFO");
}

/// Regression (hostile test): `--journal` at a FIFO hung `status` on the open, and a
/// journal at a device took the events. The journal follows the one rule of every file
/// cspmove writes: refused with exit 2 before the plan is read, the FIFO left alone.
#[cfg(unix)]
#[test]
fn a_fifo_or_a_device_as_journal_is_refused_and_left_alone() {
    use std::os::unix::fs::FileTypeExt;
    let wd = Workdir::new();
    let plan = cspmove::apply::testplan::plan_with(1, 0, 0);
    wd.write("plan.json", serde_json::to_vec(&plan).unwrap());
    let fifo = wd.join("pipe.jsonl");
    mkfifo(&fifo);
    let refused = "pipe.jsonl: it is a FIFO (named pipe), not a regular file";
    wd.run(["status", "plan.json", "--journal", "pipe.jsonl"])
        .expect_code(2)
        .expect_stderr_contains(refused);
    wd.run([
        "apply",
        "plan.json",
        "--sandbox",
        "--journal",
        "pipe.jsonl",
        "--yes",
    ])
    .expect_code(2)
    .expect_stderr_contains(refused);
    wd.run([
        "apply",
        "plan.json",
        "--sandbox",
        "--dry-run",
        "--journal",
        "/dev/null",
    ])
    .expect_code(2)
    .expect_stderr_contains("/dev/null: it is a character device");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(!wd.join("pipe.jsonl.lock").exists());
    assert!(!wd.join("sandbox-invitations.csv").exists());
}

/// Runs the binary like [`Workdir::run`], but fails the test after 30 s instead of
/// hanging on a FIFO; then it opens `fifo` read-write, which ends the binary's blocked
/// open, so no process is left behind.
#[cfg(unix)]
fn run_within(wd: &Workdir, args: &[&str], fifo: &std::path::Path) -> crate::common::Output {
    let cmd = wd.command(args);
    let shown = args.join(" ");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(crate::common::run_command(cmd, None));
    });
    match rx.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok(out) => out,
        Err(_) => {
            let _ = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(fifo);
            panic!("`cspmove {shown}` did not end in 30 s: it opened the FIFO");
        }
    }
}

/// Regression (hostile test): a plan path at a FIFO hung `status`, `report`, `apply` and
/// `doctor` on the open, and a directory or a device gave an I/O error or "incomplete".
/// Every command reads a plan through the plan reader, which refuses them (exit 2),
/// naming the path and what it is, before opening it; the FIFO is left alone.
#[cfg(unix)]
#[test]
fn a_fifo_a_device_or_a_directory_as_plan_is_refused_without_opening_it() {
    use std::os::unix::fs::FileTypeExt;
    let wd = Workdir::new();
    let fifo = wd.join("plan.json");
    mkfifo(&fifo);
    let refused = "plan.json: is a FIFO (named pipe), not a plan file";
    for args in [
        &["status", "plan.json"][..],
        &["status", "plan.json", "--format", "json"],
        &["report", "plan.json", "-o", "r.csv"],
        &["apply", "plan.json", "--sandbox", "--dry-run"],
        &["doctor", "--sandbox", "plan.json"],
    ] {
        let out = run_within(&wd, args, &fifo);
        out.expect_code(2).expect_stderr_contains(refused);
    }
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(!wd.join("r.csv").exists());
    assert!(!wd.join("sandbox-invitations.csv").exists());

    // Through a symlink, the message names both.
    std::os::unix::fs::symlink("plan.json", wd.join("link.json")).unwrap();
    run_within(&wd, &["status", "link.json"], &fifo)
        .expect_code(2)
        .expect_stderr_contains("link.json: is a link to ")
        .expect_stderr_contains("which is a FIFO (named pipe), not a plan file");

    // A device would read forever (or be empty); a directory gave an I/O error.
    std::fs::create_dir(wd.join("plans")).unwrap();
    for (path, kind) in [
        (
            "/dev/null",
            "/dev/null: is a character device, not a plan file",
        ),
        ("plans", "plans: is a directory, not a plan file"),
    ] {
        wd.run(["status", path])
            .expect_code(2)
            .expect_stderr_contains(kind);
        wd.run(["doctor", "--sandbox", path])
            .expect_code(2)
            .expect_stderr_contains(kind);
    }
}

/// Regression (hostile test): `plan FIFO` hung on the open of its input. An input, a
/// `--catalog` and an `--offer-map` follow the same rule as a plan file.
#[cfg(unix)]
#[test]
fn a_fifo_or_a_device_as_plan_input_is_refused_without_opening_it() {
    use std::os::unix::fs::FileTypeExt;
    let wd = Workdir::new();
    wd.write("customers.csv", CSV);
    let fifo = wd.join("customers.fifo");
    mkfifo(&fifo);
    run_within(&wd, &["plan", "customers.fifo", "-o", "plan.json"], &fifo)
        .expect_code(2)
        .expect_stderr_contains("customers.fifo: is a FIFO (named pipe), not an input file");
    run_within(
        &wd,
        &plan_args(&["--catalog", "customers.fifo", "-o", "plan.json"]),
        &fifo,
    )
    .expect_code(2)
    .expect_stderr_contains("--catalog customers.fifo: is a FIFO (named pipe)");
    wd.run(["plan", "/dev/zero", "-o", "plan.json"])
        .expect_code(2)
        .expect_stderr_contains("/dev/zero: is a character device, not an input file");
    assert!(!wd.join("plan.json").exists());
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
}

/// Makes a named pipe at `path` (the `mkfifo` command).
#[cfg(unix)]
fn mkfifo(path: &std::path::Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    assert!(made.unwrap().success(), "mkfifo {}", path.display());
}
