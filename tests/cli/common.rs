//! Test support: a temporary work directory per test that runs the real binary and, on
//! failure, prints the command, its exit code, stdout and stderr; and a sandbox process
//! on 127.0.0.1 that is killed when the test ends.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_cspmove");

/// The repository root, for `samples/` and `tests/fixtures/`.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures").join(name)
}

pub fn sample(name: &str) -> PathBuf {
    repo().join("samples").join(name)
}

pub struct Workdir {
    pub dir: tempfile::TempDir,
}

/// The outcome of one run of the binary.
#[derive(Debug)]
pub struct Output {
    pub command: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    fn describe(&self) -> String {
        format!(
            "command: {}\nexit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }

    /// Asserts the exit code and returns self for further checks.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit code\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn expect_stdout_contains(self, needle: &str) -> Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn expect_stderr_contains(self, needle: &str) -> Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.describe()
        );
        self
    }
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file into the work directory.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents).unwrap();
        path
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.join(name))
            .unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
    }

    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.path())
            .args(args)
            .env_remove("CSPMOVE_TOKEN")
            .env_remove("CSPMOVE_REFRESH_TOKEN")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs the binary in this directory with no stdin.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let cmd = self.command(args);
        run_command(cmd, None)
    }

    /// Runs the binary with `stdin` as its standard input.
    pub fn run_with_stdin<I, S>(&self, args: I, stdin: &[u8]) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let cmd = self.command(args);
        run_command(cmd, Some(stdin))
    }
}

pub fn run_command(mut cmd: Command, stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    let command = format!("{cmd:?}");
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command}: {e}"));
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    let out = child.wait_with_output().unwrap();
    Output {
        command,
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A `cspmove sandbox` process on 127.0.0.1, killed on drop.
pub struct Sandbox {
    pub child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub token: String,
}

impl Sandbox {
    /// Starts `cspmove sandbox --listen 127.0.0.1:0 --token TOKEN --sell-legacy-offers`
    /// plus `extra` flags: Partner Center as it was before 2022, selling new legacy
    /// subscriptions. Only the tests of the legacy order path use it, on purpose;
    /// [`Sandbox::start`] follows today's rules.
    pub fn start_legacy(extra: &[&str]) -> Sandbox {
        let mut flags = vec!["--sell-legacy-offers"];
        flags.extend_from_slice(extra);
        Sandbox::start(&flags)
    }

    /// Starts `cspmove sandbox --listen 127.0.0.1:0 --token TOKEN` plus `extra` flags
    /// (today's Partner Center rules: a new purchase of a deprecated legacy offer is
    /// refused with 403 `2091`) and waits for its first stdout line.
    pub fn start(extra: &[&str]) -> Sandbox {
        let token = format!("test-token-{}", std::process::id());
        let mut cmd = Command::new(BIN);
        cmd.args(["sandbox", "--listen", "127.0.0.1:0", "--token", &token])
            .args(extra)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start sandbox");
        let stdout = child.stdout.take().unwrap();
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("sandbox first line");
        let prefix = "cspmove sandbox listening on ";
        let url = line
            .trim()
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("unexpected first sandbox line: {line:?}"))
            .to_string();
        // Keep draining stdout so the sandbox never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
        });
        Sandbox { child, url, token }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
