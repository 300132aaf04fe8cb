//! Integration tests of what every command does alike: a closed standard output ends it
//! quietly with 0, error texts name their file and say their cause once, `--map` to a
//! header that is not there lists the headers, and the shell completions and the man
//! page come from the same clap definitions as `--help`.

use std::process::Stdio;

use crate::common::Workdir;

/// `n` rows over `n / 2` customers, enough for outputs far larger than a pipe's buffer.
fn rows_csv(n: usize) -> String {
    let mut csv = String::from("Customer ID,Domain,Customer name,Offer,Seats,End date\n");
    for i in 0..n {
        let c = i / 2;
        csv.push_str(&format!(
            "{c:08x}-0000-0000-0000-000000000000,c{c}.example.com,Customer {c},Office 365 E3,{},2027-{:02}-15\n",
            1 + i % 40,
            1 + i % 12
        ));
    }
    csv
}

fn planned(wd: &Workdir, rows: usize) {
    wd.write("customers.csv", rows_csv(rows));
    wd.run([
        "plan",
        "customers.csv",
        "--as-of",
        "2026-11-21",
        "-o",
        "plan.json",
    ])
    .expect_code(0);
}

/// Runs `args` with a standard output whose reader has gone (`| head -c0`).
fn with_closed_stdout(wd: &Workdir, args: &[&str]) -> (Option<i32>, String) {
    let mut cmd = wd.command(args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Regression: `cspmove status --format json | head` printed `error: Broken pipe` (the
/// I/O error hid inside serde_json's) and exited 1. The outputs here are larger than a
/// pipe's buffer, so each command meets the closed pipe even if it starts writing
/// before the reader is gone.
#[test]
fn a_closed_stdout_ends_every_command_quietly_with_0() {
    let wd = Workdir::new();
    planned(&wd, 2000);
    for args in [
        &["status", "plan.json", "--format", "json"][..],
        &["status", "plan.json"],
        &["report", "plan.json", "-o", "r.md"],
        &[
            "plan",
            "customers.csv",
            "--as-of",
            "2026-11-21",
            "-o",
            "p2.json",
            "--format",
            "json",
        ],
        &["catalog", "--format", "json"],
        // The streamed dry run's output error is typed (ApplyError::DryRunOutput) and
        // keeps the broken pipe as its source.
        &["apply", "plan.json", "--sandbox", "--dry-run"],
        &["completions", "bash"],
        &["man"],
    ] {
        let (code, stderr) = with_closed_stdout(&wd, args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

/// Regression: errors printed their cause twice ("Permission denied (os error 13):
/// Permission denied (os error 13)"), and a plan file error did not name the file.
#[test]
fn errors_name_their_file_and_say_their_cause_once() {
    let wd = Workdir::new();
    let out = wd
        .run(["report", "missing.json", "-o", "r.md"])
        .expect_code(2);
    assert_eq!(
        out.stderr,
        "cspmove: error: missing.json: cannot read the plan file: No such file or directory (os error 2)\n"
    );
    let out = wd.run(["status", "missing.json"]).expect_code(2);
    assert_eq!(
        out.stderr,
        "cspmove: error: missing.json: cannot read the plan file: No such file or directory (os error 2)\n"
    );
    wd.write("broken.json", "{ not json");
    let out = wd.run(["status", "broken.json"]).expect_code(2);
    assert_eq!(
        out.stderr,
        "cspmove: error: broken.json: not a cspmove plan file: line 1: expected a field name, found 'n'\n"
    );
    planned(&wd, 4);
    std::fs::create_dir(wd.join("journal-dir")).unwrap();
    // A journal path that is a directory is refused like `-o` at one (exit 2, before
    // the plan is read; it used to fail on the read with exit 1).
    let out = wd
        .run(["status", "plan.json", "--journal", "journal-dir"])
        .expect_code(2);
    assert_eq!(
        out.stderr,
        "cspmove: error: journal-dir: it is a directory, not a regular file; cspmove keeps a \
         journal only in a regular file (give --journal a file path)\n"
    );
    // An I/O error names the file and its cause once (a path through a file: ENOTDIR,
    // even for root).
    let out = wd
        .run(["status", "plan.json", "--journal", "plan.json/j.jsonl"])
        .expect_code(1);
    assert_eq!(out.stderr.matches("os error").count(), 1, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("cspmove: error: plan.json/j.jsonl: cannot read or write the journal: "),
        "{}",
        out.stderr
    );
}

/// `--map seats=Lizenzen` for a header the file does not have: the message says that the
/// header row has no such column and lists the headers it has.
#[test]
fn map_to_a_missing_header_lists_the_headers() {
    let wd = Workdir::new();
    wd.write(
        "c.csv",
        "Customer ID,Offer,Anzahl\naaaaaaaa-0000-0000-0000-000000000001,Office 365 E3,12\n",
    );
    let out = wd
        .run(["plan", "c.csv", "--map", "seats=Lizenzen", "-o", "p.json"])
        .expect_code(2);
    assert_eq!(
        out.stderr,
        "cspmove: error: c.csv: --map seats=\"Lizenzen\": the header row (row 1) has no column \
         named \"Lizenzen\"; its headers are: \"Customer ID\", \"Offer\", \"Anzahl\"\n"
    );
    assert!(!wd.join("p.json").exists());
}

#[test]
fn completion_scripts_come_for_each_shell_and_bash_completes_commands_and_flags() {
    let wd = Workdir::new();
    for (shell, marker) in [
        ("bash", "complete -F _cspmove"),
        ("zsh", "#compdef cspmove"),
        ("fish", "complete -c cspmove"),
        (
            "powershell",
            "Register-ArgumentCompleter -Native -CommandName 'cspmove'",
        ),
    ] {
        let out = wd.run(["completions", shell]).expect_code(0);
        assert!(out.stdout.contains(marker), "{shell}: lacks {marker:?}");
        for word in [
            "plan", "report", "apply", "status", "sandbox", "as-of", "strict",
        ] {
            assert!(out.stdout.contains(word), "{shell}: lacks {word}");
        }
    }
    wd.run(["completions", "tcsh"])
        .expect_code(2)
        .expect_stderr_contains("possible values: bash");
    // Run the bash script as bash does on <Tab>: `cspmove pl` → plan, `cspmove plan --st` → --strict.
    let script = wd.run(["completions", "bash"]).expect_code(0).stdout;
    wd.write("cspmove.bash", script);
    let probe = r#"source ./cspmove.bash
complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=();
  _cspmove cspmove "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"; echo "${COMPREPLY[*]}"; }
complete_words cspmove pl
complete_words cspmove plan --st
"#;
    let out = std::process::Command::new("bash")
        .current_dir(wd.path())
        .args(["--norc", "-c", probe])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        ["plan", "--strict"],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_man_pages_document_every_command_and_flag() {
    let wd = Workdir::new();
    let page = wd.run(["man"]).expect_code(0).stdout;
    assert!(page.contains(".TH cspmove 1"), "{page}");
    for command in [
        "cspmove\\-plan",
        "cspmove\\-report",
        "cspmove\\-apply",
        "cspmove\\-completions",
    ] {
        assert!(page.contains(command), "the main page lacks {command}");
    }
    let plan = wd.run(["man", "plan"]).expect_code(0).stdout;
    assert!(
        plan.contains(&format!(
            ".TH cspmove-plan 1  \"cspmove {}\"",
            env!("CARGO_PKG_VERSION")
        )),
        "{plan}"
    );
    // The help text of a flag, from its doc comment: one source for --help and the page.
    assert!(plan.contains("\\-\\-lead\\-days"), "{plan}");
    assert!(plan.contains("Provision this many days before the original subscription expires"));
    wd.run(["man", "nope"])
        .expect_code(2)
        .expect_stderr_contains("no such command; the commands are: plan, report");
    std::fs::create_dir(wd.join("man1")).unwrap();
    wd.run(["man", "--dir", "man1"]).expect_code(0);
    let mut pages: Vec<String> = std::fs::read_dir(wd.join("man1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        [
            "cspmove-apply.1",
            "cspmove-catalog-fetch.1",
            "cspmove-catalog-search.1",
            "cspmove-catalog-show.1",
            "cspmove-catalog.1",
            "cspmove-completions.1",
            "cspmove-doctor.1",
            "cspmove-man.1",
            "cspmove-plan.1",
            "cspmove-report.1",
            "cspmove-sandbox.1",
            "cspmove-status.1",
            "cspmove.1"
        ]
    );
    assert_eq!(wd.read("man1/cspmove-plan.1"), plan);
}
