//! The journal: an append-only JSON Lines record of every state change `apply` makes,
//! and the lock that keeps two runs off one journal.
//!
//! The main decision: an event is written, flushed and fsynced *before* the executor
//! moves on, and a purchase writes `started` before its request leaves. So after a crash
//! the journal is never behind the world by more than one call, and a `started` without
//! an outcome tells the next run to reconcile (read the customer's orders) before it
//! orders again. The first line is a header holding the plan's sha256; a journal of
//! another plan is refused. A torn last line (the crash came mid-write) is ignored.
//! The lock is an OS advisory lock on `JOURNAL.lock`, so it dies with its process: a
//! killed run never leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::client::{ApiError, ErrorKind, render_error};
use super::reason::Reason;
use crate::fsx::Followed;
use crate::i18n::Texts;

pub const JOURNAL_SCHEMA: &str = "cspmove.journal/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub journal: String,
    pub plan_sha256: String,
    pub created: DateTime<Utc>,
    pub generated_by: String,
    /// Whether `apply --sandbox` wrote it: a rehearsal's "bought" is not a real order, so
    /// each mode refuses the other's journal. Absent in journals written before the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<bool>,
}

impl Header {
    /// The one check of a journal against the plan (and, when `sandbox` is given, the
    /// mode) that `apply`, `apply --dry-run` and `status` all make.
    pub fn check(
        &self,
        path: &Path,
        plan_sha256: &str,
        sandbox: Option<bool>,
    ) -> Result<(), JournalError> {
        if self.plan_sha256 != plan_sha256 {
            return Err(JournalError::OtherPlan {
                path: path.display().to_string(),
                found: self.plan_sha256.clone(),
                expected: plan_sha256.to_string(),
            });
        }
        match sandbox {
            Some(mode) => self.check_mode(path, mode),
            None => Ok(()),
        }
    }

    /// Refuses a journal written in the other mode (`--sandbox` or a real run).
    pub fn check_mode(&self, path: &Path, sandbox: bool) -> Result<(), JournalError> {
        match self.sandbox {
            Some(written) if written != sandbox => Err(JournalError::OtherMode {
                path: path.display().to_string(),
                written: mode_name(written),
                running: mode_name(sandbox),
            }),
            _ => Ok(()),
        }
    }
}

fn mode_name(sandbox: bool) -> &'static str {
    if sandbox {
        "an `apply --sandbox` rehearsal"
    } else {
        "a real run against Partner Center"
    }
}

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The customer appeared (or not) in the customer sweep.
    Relationship,
    /// The invitation link was written to invitations.csv.
    Invitation,
    /// An order (or cart checkout) for the customer's due lines.
    Provision,
    /// Reading orders and subscriptions after an ambiguous purchase.
    Reconcile,
    /// The licence swap for one user.
    LicenseUpdate,
    /// The reassignment phase of a customer as a whole.
    Reassign,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Started,
    Succeeded,
    Failed,
    /// Sent, but no definite answer: may or may not have taken effect.
    Ambiguous,
    /// Nothing to do yet: waiting for the customer, a date or the new seats.
    Waiting,
    /// Nothing can go on until the partner acts (seats short, an admin role missing);
    /// the note says what to do.
    Blocked,
}

/// A failure as the journal keeps it: the facts of the failed call, its kind included
/// (so a replayed journal still knows an MFA or a missing-role failure from a refusal).
/// Journals written before `kind` existed read as `refused`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRecord {
    #[serde(default = "refused")]
    pub kind: ErrorKind,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ambiguous: bool,
    pub call: String,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub code: Option<String>,
    pub description: String,
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub hint: String,
    /// cspmove's own reason, when the failure was found in the plan (no call was made):
    /// `description` and `hint` hold it in English, readers say it in their language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Box<Reason>>,
}

impl ErrorRecord {
    /// `description` in the language of `t` (Partner Center's words stay as they came).
    pub fn description_in(&self, t: &Texts) -> String {
        match &self.reason {
            Some(r) => r.text(t),
            None => self.description.clone(),
        }
    }

    /// `hint` in the language of `t`: a plan problem's, or the hint cspmove gives for
    /// Partner Center's code or HTTP status ([`super::client::hint_key`]) while the
    /// recorded hint is still that key's English text; any other hint as recorded.
    pub fn hint_in(&self, t: &Texts) -> String {
        if let Some(r) = &self.reason {
            return r.hint(t);
        }
        api_hint_in(&self.hint, self.status, self.code.as_deref(), self.kind, t)
    }

    /// The whole failure in one line, like [`std::fmt::Display`], in the language of `t`.
    pub fn text_in(&self, t: &Texts) -> String {
        render_error(
            &self.call,
            self.status,
            self.code.as_deref(),
            &self.description_in(t),
            self.request_id.as_deref(),
            &self.hint_in(t),
        )
    }
}

/// A hint recorded in English, in the language of `t` when it is the hint cspmove gives
/// for this status, code and kind (a journal written by an older cspmove, with other
/// words, keeps them).
pub fn api_hint_in(
    hint: &str,
    status: Option<u16>,
    code: Option<&str>,
    kind: ErrorKind,
    t: &Texts,
) -> String {
    let en = crate::i18n::texts(crate::i18n::Lang::En);
    super::client::hint_keys(status, code, kind)
        .into_iter()
        .find(|key| !hint.is_empty() && en.get(key) == hint)
        .map_or_else(|| hint.to_string(), |key| t.get(key).to_string())
}

fn refused() -> ErrorKind {
    ErrorKind::Refused
}

impl From<&ApiError> for ErrorRecord {
    fn from(e: &ApiError) -> ErrorRecord {
        ErrorRecord {
            kind: e.kind,
            ambiguous: e.ambiguous,
            call: e.call.clone(),
            status: e.status,
            code: e.code.clone(),
            description: e.description.clone(),
            request_id: e.request_id.clone(),
            hint: e.hint.clone(),
            reason: None,
        }
    }
}

impl From<ApiError> for ErrorRecord {
    fn from(e: ApiError) -> ErrorRecord {
        ErrorRecord::from(&e)
    }
}

impl std::fmt::Display for ErrorRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&render_error(
            &self.call,
            self.status,
            self.code.as_deref(),
            &self.description,
            self.request_id.as_deref(),
            &self.hint,
        ))
    }
}

/// One state change. Optional fields are left out when empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    /// The plan's customer key.
    pub customer: String,
    pub action: Action,
    pub state: State,
    /// The plan task this event carries out (`c1-t2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Plan line ids covered (provision), or the reassigned line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cart_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscription_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The user's `userPrincipalName`, for the execution report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_moved: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_remaining: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
    /// A short sentence for people reading the journal (English).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Why a customer is `blocked` or `waiting`, as data: `status` and the reports say
    /// it in their language. Journals written before it have only the `note`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Box<Reason>>,
}

impl Event {
    pub fn new(customer: &str, action: Action, state: State) -> Event {
        Event {
            at: Utc::now(),
            customer: customer.to_string(),
            action,
            state,
            task: None,
            lines: Vec::new(),
            tenant_id: None,
            request_id: None,
            order_id: None,
            cart_id: None,
            subscription_ids: Vec::new(),
            user: None,
            user_name: None,
            users_moved: None,
            users_remaining: None,
            error: None,
            note: None,
            reason: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{path}: cannot read or write the journal")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} was written for another plan (plan sha256 {found}, this plan is {expected}): \
         a changed plan needs a new journal (--journal NEW.jsonl); see docs/apply.md"
    )]
    OtherPlan {
        path: String,
        found: String,
        expected: String,
    },
    #[error(
        "{path}: this journal was written by {written}, and this is {running}: its orders \
         are not this mode's. Use another --journal (the defaults are PLAN.journal.jsonl \
         for real runs and PLAN.sandbox.journal.jsonl for --sandbox)"
    )]
    OtherMode {
        path: String,
        written: &'static str,
        running: &'static str,
    },
    #[error("{path}: line {line} is not a journal event: {message}")]
    Corrupt {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{path}: not a cspmove journal (its first line is not a {JOURNAL_SCHEMA} header)")]
    NotAJournal { path: String },
    #[error(
        "another `cspmove apply` is running on {path} (its lock {lock} is held); wait for it to finish"
    )]
    Locked { path: String, lock: String },
    /// The journal (or its lock) leads to a directory, a FIFO, a device or a socket:
    /// refused before it is opened (a FIFO would block, a device would take the events).
    #[error(
        "{path}: it is {kind}, not a regular file; cspmove keeps a journal only in a regular file (give --journal a file path)"
    )]
    NotRegular {
        /// As given, with the file it links to when it is a symlink.
        path: String,
        kind: &'static str,
    },
}

/// The file a journal path leads to (symlinks followed, by the one rule of
/// [`crate::fsx::follow`]), and whether it exists; anything but a regular file is refused.
fn journal_file(path: &Path) -> Result<(PathBuf, bool), JournalError> {
    match crate::fsx::follow(path).map_err(io_err(path))? {
        Followed::Regular(target, _) => Ok((target, true)),
        Followed::Missing(target) => Ok((target, false)),
        Followed::Other { target, kind } => Err(JournalError::NotRegular {
            path: if target == path {
                path.display().to_string()
            } else {
                format!("{} (a link to {})", path.display(), target.display())
            },
            kind,
        }),
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Refuses a journal path that leads to anything but a regular file (or nothing yet),
/// so commands can check `--journal` before they read the plan.
pub fn check_path(path: &Path) -> Result<(), JournalError> {
    journal_file(path).map(|_| ())
}

/// Reads a journal: header and events. A last line without its newline (a torn write)
/// is ignored; a bad line in the middle is an error (someone edited the file).
pub fn read(path: &Path) -> Result<Option<(Header, Vec<Event>)>, JournalError> {
    let mut events = Vec::new();
    Ok(for_each_event(path, |e| events.push(e))?.map(|header| (header, events)))
}

/// Reads the journal at `path` line by line and hands each event to `each`, in order
/// (the rules of [`read`]: a torn last line is ignored, a broken line before it is
/// refused), keeping only one line in memory. Returns the header, `None` for a journal
/// not written yet.
pub fn for_each_event(
    path: &Path,
    mut each: impl FnMut(Event),
) -> Result<Option<Header>, JournalError> {
    let (target, exists) = journal_file(path)?;
    if !exists {
        return Ok(None);
    }
    let file = match File::open(target) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    let mut reader = BufReader::new(file);
    // One line and whether it ended with a line break.
    let mut next_line = |buf: &mut Vec<u8>| -> Result<Option<bool>, JournalError> {
        buf.clear();
        let n = reader.read_until(b'\n', buf).map_err(io_err(path))?;
        Ok((n > 0).then(|| buf.last() == Some(&b'\n')))
    };
    let p = path.display().to_string();
    let mut line = Vec::new();
    let Some(first_complete) = next_line(&mut line)? else {
        return Ok(None);
    };
    let header: Header = match serde_json::from_slice(line.trim_ascii()) {
        Ok(h) if first_complete => h,
        // A crash while writing the very first line leaves a journal with nothing in it.
        _ if !first_complete && next_line(&mut Vec::new())?.is_none() => return Ok(None),
        _ => return Err(JournalError::NotAJournal { path: p }),
    };
    if header.journal != JOURNAL_SCHEMA {
        return Err(JournalError::NotAJournal { path: p });
    }
    // A line is known not to be the last once the next one is read.
    let mut pending: Option<(Vec<u8>, bool, usize)> = None;
    let mut number = 1;
    loop {
        let mut buf = Vec::with_capacity(line.capacity());
        let read = next_line(&mut buf)?;
        number += 1;
        if let Some((text, complete, at)) = pending.take() {
            let last = read.is_none();
            let text = text.trim_ascii();
            if !text.is_empty() {
                match serde_json::from_slice::<Event>(text) {
                    Ok(e) if complete || !last => each(e),
                    Ok(_) => {} // parsed but torn: the fsync never finished, so it did not happen
                    Err(_) if last => {}
                    Err(e) => {
                        return Err(JournalError::Corrupt {
                            path: p,
                            line: at,
                            message: e.to_string(),
                        });
                    }
                }
            }
        }
        match read {
            Some(complete) => pending = Some((buf, complete, number)),
            None => break,
        }
    }
    Ok(Some(header))
}

/// Reads a journal for `plan_sha256` without locking it (`status`, `--dry-run`): its
/// events, none for a journal not written yet, an error for another plan's journal.
pub fn read_for(
    path: &Path,
    plan_sha256: &str,
    sandbox: Option<bool>,
) -> Result<Vec<Event>, JournalError> {
    match read(path)? {
        Some((header, events)) => {
            header.check(path, plan_sha256, sandbox)?;
            Ok(events)
        }
        None => Ok(Vec::new()),
    }
}

/// The journal opened for appending, holding the lock.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    /// Held for the life of the run; the OS drops the lock with the process.
    _lock: File,
}

impl Journal {
    /// Takes the lock, checks the header against `plan_sha256` (writing one for a new
    /// journal) and returns the events already recorded.
    pub fn open(
        path: &Path,
        plan_sha256: &str,
        sandbox: bool,
    ) -> Result<(Journal, Vec<Event>), JournalError> {
        let mut events = Vec::new();
        let journal = Journal::open_each(path, plan_sha256, sandbox, |e| events.push(e))?;
        Ok((journal, events))
    }

    /// [`Journal::open`] that hands the events already recorded to `each` as they are
    /// read, one line in memory at a time (a journal of a big plan holds hundreds of
    /// thousands), instead of returning them. They are handed over before the header is
    /// checked: a journal of another plan is refused once read, before anything is written.
    pub fn open_each(
        path: &Path,
        plan_sha256: &str,
        sandbox: bool,
        each: impl FnMut(Event),
    ) -> Result<Journal, JournalError> {
        // Refused before anything is opened or locked; then every operation below works on
        // the file itself, the one the lock is named after, so a symlink stays a symlink.
        journal_file(path)?;
        let file_path = canonical(path);
        let lock = acquire_lock(path, &file_path)?;
        let existing = for_each_event(path, each)?;
        if let Some(header) = &existing {
            header.check(path, plan_sha256, Some(sandbox))?;
        }
        if existing.is_none() {
            // A fresh journal (or one torn before its header finished): write the header.
            let header = Header {
                journal: JOURNAL_SCHEMA.to_string(),
                plan_sha256: plan_sha256.to_string(),
                created: Utc::now(),
                generated_by: crate::GENERATED_BY.to_string(),
                sandbox: Some(sandbox),
            };
            let mut file = File::create(&file_path).map_err(io_err(path))?;
            let mut line = serde_json::to_vec(&header).expect("header serialises");
            line.push(b'\n');
            file.write_all(&line).map_err(io_err(path))?;
            file.sync_all().map_err(io_err(path))?;
            sync_dir(&file_path);
        }
        // A torn last line from a crash never happened (its fsync did not finish): cut it
        // off so the next event starts on a line of its own. Only the file's tail is read.
        if let Some(keep) = torn_tail(&file_path).map_err(io_err(path))? {
            let f = OpenOptions::new()
                .write(true)
                .open(&file_path)
                .map_err(io_err(path))?;
            f.set_len(keep).map_err(io_err(path))?;
            f.sync_all().map_err(io_err(path))?;
        }
        let file = OpenOptions::new()
            .append(true)
            .open(&file_path)
            .map_err(io_err(path))?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            _lock: lock,
        })
    }

    /// Appends one event and makes it durable before returning.
    pub fn append(&mut self, event: &Event) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(event).expect("events serialise");
        line.push(b'\n');
        // One write call per line, so a crash tears at most this line.
        self.file.write_all(&line).map_err(io_err(&self.path))?;
        self.file.flush().map_err(io_err(&self.path))?;
        self.file.sync_data().map_err(io_err(&self.path))?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Where a file whose last line is torn (no final line break) must be cut: just after
/// its last line break (0 when it has none); `None` when it ends with one or is empty.
/// Reads the file backwards from its end, 64 KiB at a time, never the whole file.
fn torn_tail(file_path: &Path) -> std::io::Result<Option<u64>> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut f = File::open(file_path)?;
    let len = f.metadata()?.len();
    let mut end = len;
    let mut buf = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(chunk)?;
        if end == len && chunk.last() == Some(&b'\n') {
            return Ok(None);
        }
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            return Ok(Some(start + i as u64 + 1));
        }
        end = start;
    }
    Ok((len > 0).then_some(0))
}

/// One batch of encoded lines and whoever waits for them to be durable.
type Job = (Vec<u8>, tokio::sync::oneshot::Sender<Result<(), String>>);

/// The journal during a run: a writer thread that commits in groups.
///
/// With several customers in flight, events arrive faster than one fsync per event allows
/// (an fsync costs milliseconds). The writer takes every line queued while the previous
/// fsync ran, writes them with one call and fsyncs once; each caller still returns only
/// after its own line is durable, so "written before moving on" holds for every event.
#[derive(Debug)]
pub struct GroupCommit {
    path: PathBuf,
    tx: Option<std::sync::mpsc::Sender<Job>>,
    writer: Option<std::thread::JoinHandle<()>>,
    _lock: File,
}

impl Journal {
    /// Hands the file to a group-commit writer thread.
    pub fn group_commit(self) -> GroupCommit {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let mut file = self.file;
        let writer = std::thread::Builder::new()
            .name("cspmove-journal".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while let Ok(more) = rx.try_recv() {
                        batch.push(more);
                    }
                    let bytes: Vec<u8> =
                        batch.iter().flat_map(|(b, _)| b.iter().copied()).collect();
                    let result = file
                        .write_all(&bytes)
                        .and_then(|()| file.flush())
                        .and_then(|()| file.sync_data())
                        .map_err(|e| e.to_string());
                    for (_, done) in batch {
                        let _ = done.send(result.clone());
                    }
                }
            })
            .expect("spawn the journal writer");
        GroupCommit {
            path: self.path,
            tx: Some(tx),
            writer: Some(writer),
            _lock: self._lock,
        }
    }
}

impl GroupCommit {
    /// Appends events (in order) and returns once they are durable.
    pub async fn append_all(&self, events: &[Event]) -> Result<(), JournalError> {
        let mut bytes = Vec::new();
        for e in events {
            serde_json::to_writer(&mut bytes, e).expect("events serialise");
            bytes.push(b'\n');
        }
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let failed = |message: String| JournalError::Io {
            path: self.path.display().to_string(),
            source: std::io::Error::other(message),
        };
        self.tx
            .as_ref()
            .expect("open until closed")
            .send((bytes, done_tx))
            .map_err(|_| failed("the journal writer stopped".into()))?;
        done_rx
            .await
            .map_err(|_| failed("the journal writer stopped".into()))?
            .map_err(failed)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        // Let the writer finish what is queued before the lock is released.
        drop(self.tx.take());
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// `JOURNAL.lock` beside the journal.
pub fn lock_path(journal: &Path) -> PathBuf {
    let mut name = journal.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    journal.with_file_name(name)
}

/// The journal's own path, through any symlinks: two runs that name one journal by
/// different paths (a link, `./x`, `../d/x`) must meet at one lock. A journal that does
/// not exist yet resolves through its directory (and a dangling link to its target, the
/// file that will be created).
pub fn canonical(journal: &Path) -> PathBuf {
    let journal = match crate::fsx::follow(journal) {
        Ok(Followed::Regular(target, _) | Followed::Missing(target)) => target,
        Ok(Followed::Other { target, .. }) => target,
        Err(_) => journal.to_path_buf(),
    };
    let journal = journal.as_path();
    if let Ok(p) = std::fs::canonicalize(journal) {
        return p;
    }
    let dir = journal
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (std::fs::canonicalize(dir), journal.file_name()) {
        (Ok(d), Some(name)) => d.join(name),
        _ => journal.to_path_buf(),
    }
}

/// Takes the lock of the journal `journal` (as given) whose file is `file` (canonical).
fn acquire_lock(journal: &Path, file: &Path) -> Result<File, JournalError> {
    let lock = lock_path(file);
    if let Followed::Other { kind, .. } = crate::fsx::follow(&lock).map_err(io_err(&lock))? {
        return Err(JournalError::NotRegular {
            path: lock.display().to_string(),
            kind,
        });
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(io_err(&lock))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(JournalError::Locked {
            path: journal.display().to_string(),
            lock: lock.display().to_string(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(&lock)(e)),
    }
}

/// Makes a newly created file's directory entry durable too (best effort).
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// The default journal: `PLAN.journal.jsonl` beside the plan (`x.json` → `x.journal.jsonl`).
pub fn default_path(plan: &Path) -> PathBuf {
    let stem = plan
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cspmove-plan".to_string());
    plan.with_file_name(format!("{stem}.journal.jsonl"))
}

/// The default journal of `apply --sandbox` rehearsals: `PLAN.sandbox.journal.jsonl`.
pub fn default_sandbox_path(plan: &Path) -> PathBuf {
    let stem = plan
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cspmove-plan".to_string());
    plan.with_file_name(format!("{stem}.sandbox.journal.jsonl"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        {
            let (mut j, events) = Journal::open(&path, "abc", false).unwrap();
            assert!(events.is_empty());
            let mut e = Event::new("c1", Action::Provision, State::Started);
            e.request_id = Some("r1".into());
            j.append(&e).unwrap();
            j.append(&Event::new("c1", Action::Provision, State::Succeeded))
                .unwrap();
        }
        // Simulate a crash mid-write.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"at":"2026-11-21T00:00:00Z","customer":"c2","act"#)
            .unwrap();
        drop(f);
        let (_, events) = read(&path).unwrap().unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].request_id.as_deref(), Some("r1"));
        // Reopening ends the torn line; later events read back fine.
        let (mut j, events) = Journal::open(&path, "abc", false).unwrap();
        assert_eq!(events.len(), 2);
        j.append(&Event::new("c3", Action::Relationship, State::Succeeded))
            .unwrap();
        drop(j);
        let (_, events) = read(&path).unwrap().unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[2].customer, "c3");
    }

    #[tokio::test]
    async fn group_commit_keeps_order_and_durability() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let (j, _) = Journal::open(&path, "abc", false).unwrap();
        let gc = j.group_commit();
        let events: Vec<Event> = (0..20)
            .map(|i| Event::new(&format!("c{i}"), Action::Provision, State::Started))
            .collect();
        let (a, b) = events.split_at(10);
        let (ra, rb) = tokio::join!(gc.append_all(a), gc.append_all(b));
        ra.unwrap();
        rb.unwrap();
        // Still locked while the writer lives.
        assert!(matches!(
            Journal::open(&path, "abc", false),
            Err(JournalError::Locked { .. })
        ));
        drop(gc);
        let (_, read_back) = read(&path).unwrap().unwrap();
        assert_eq!(read_back.len(), 20);
        // Each batch stays contiguous and in order.
        let pos = |k: &str| read_back.iter().position(|e| e.customer == k).unwrap();
        assert!(pos("c0") < pos("c9") && pos("c10") < pos("c19"));
    }

    #[test]
    fn a_torn_tail_is_found_from_the_end_of_the_file_at_any_size() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("j");
        let cases: [(&[u8], Option<u64>); 4] = [
            (b"", None),
            (b"a\nb\n", None),
            (b"a\nbc", Some(2)),
            (b"abc", Some(0)),
        ];
        for (bytes, want) in cases {
            std::fs::write(&f, bytes).unwrap();
            assert_eq!(torn_tail(&f).unwrap(), want, "{bytes:?}");
        }
        // A torn line longer than one read of the tail (64 KiB).
        let mut big = b"{\"x\":1}\n".to_vec();
        big.extend(std::iter::repeat_n(b'y', 200_000));
        std::fs::write(&f, &big).unwrap();
        assert_eq!(torn_tail(&f).unwrap(), Some(8));
    }

    #[test]
    fn journal_of_another_plan_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        drop(Journal::open(&path, "aaa", false).unwrap());
        let err = Journal::open(&path, "bbb", false).unwrap_err();
        assert!(matches!(err, JournalError::OtherPlan { .. }), "{err}");
        assert!(err.to_string().contains("another plan"));
    }

    #[test]
    fn a_sandbox_journal_is_refused_by_a_real_run_and_the_other_way_round() {
        let dir = tempfile::tempdir().unwrap();
        let rehearsal = dir.path().join("rehearsal.jsonl");
        drop(Journal::open(&rehearsal, "aaa", true).unwrap());
        let err = Journal::open(&rehearsal, "aaa", false).unwrap_err();
        assert!(matches!(err, JournalError::OtherMode { .. }), "{err}");
        assert!(err.to_string().contains("--sandbox"), "{err}");
        assert!(Journal::open(&rehearsal, "aaa", true).is_ok());

        let real = dir.path().join("real.jsonl");
        drop(Journal::open(&real, "aaa", false).unwrap());
        assert!(matches!(
            Journal::open(&real, "aaa", true).unwrap_err(),
            JournalError::OtherMode { .. }
        ));
    }

    #[test]
    fn second_open_is_locked_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let first = Journal::open(&path, "aaa", false).unwrap();
        let err = Journal::open(&path, "aaa", false).unwrap_err();
        assert!(matches!(err, JournalError::Locked { .. }), "{err}");
        drop(first);
        assert!(Journal::open(&path, "aaa", false).is_ok());
    }

    #[test]
    fn cspmoves_hints_follow_the_readers_language_and_other_hints_stay() {
        use crate::apply::client::hint_for;
        use crate::i18n::{Lang, texts};
        let mut r = ErrorRecord {
            kind: ErrorKind::Refused,
            ambiguous: false,
            call: "POST /v1/customers/x/carts".into(),
            status: Some(403),
            code: Some("20002".into()),
            description: "Customer has not accepted the relationship".into(),
            request_id: Some("r-1".into()),
            hint: hint_for(Some(403), Some("20002"), ErrorKind::Refused),
            reason: None,
        };
        assert!(r.hint.contains("not accepted the reseller relationship"));
        let ko = r.text_in(texts(Lang::Ko));
        assert!(
            ko.contains("재판매인 관계 요청을 수락하지 않았습니다"),
            "{ko}"
        );
        // Partner Center's description, the call and the request ID pass through.
        assert!(
            ko.contains("Customer has not accepted the relationship"),
            "{ko}"
        );
        assert!(ko.contains("(request ID r-1)"), "{ko}");
        let ja = r.hint_in(texts(Lang::Ja));
        assert!(ja.contains("再販業者関係の要求"), "{ja}");
        assert_eq!(r.hint_in(texts(Lang::En)), r.hint);
        // A hint in other words (an older cspmove, an auth error's own) stays as written.
        r.hint = "an older hint".into();
        assert_eq!(r.hint_in(texts(Lang::Ko)), "an older hint");
        // Every hint cspmove gives has a text in every language.
        for (status, code, kind) in [
            (Some(401), None, ErrorKind::Auth),
            (None, None, ErrorKind::Unreachable),
            (Some(429), None, ErrorKind::Throttled),
            (Some(503), None, ErrorKind::Transient),
            (Some(404), None, ErrorKind::Refused),
            (Some(400), Some("60012"), ErrorKind::Refused),
        ] {
            let key = crate::apply::client::hint_key(status, code, kind).unwrap();
            let en = texts(Lang::En).get(key);
            assert_eq!(hint_for(status, code, kind), en);
            for lang in [Lang::Ko, Lang::Ja] {
                let said = api_hint_in(en, status, code, kind, texts(lang));
                assert_ne!(said, en, "{key} in {}", lang.code());
            }
        }
        assert_eq!(
            crate::apply::client::hint_key(Some(400), None, ErrorKind::Refused),
            None
        );
    }

    #[test]
    fn an_error_record_keeps_its_kind_through_the_journal() {
        let mut e = Event::new("c1", Action::Reassign, State::Failed);
        e.error = Some(ErrorRecord {
            kind: ErrorKind::Mfa,
            ambiguous: false,
            call: "GET /v1/customers/x/users".into(),
            status: Some(401),
            code: Some("900421".into()),
            description: "MFA required".into(),
            request_id: None,
            hint: "sign in with multi-factor authentication".into(),
            reason: None,
        });
        let text = serde_json::to_string(&e).unwrap();
        assert!(text.contains(r#""kind":"mfa""#), "{text}");
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(back, e);
        // A journal line from before the field reads as a refusal.
        let old: ErrorRecord =
            serde_json::from_str(r#"{"call":"x","description":"d","hint":""}"#).unwrap();
        assert_eq!(old.kind, ErrorKind::Refused);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_to_a_locked_journal_meets_the_same_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let _first = Journal::open(&path, "aaa", false).unwrap();
        let link = dir.path().join("sub");
        std::fs::create_dir(&link).unwrap();
        let link = link.join("link.jsonl");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let err = Journal::open(&link, "aaa", false).unwrap_err();
        assert!(matches!(err, JournalError::Locked { .. }), "{err}");
    }

    /// Regression (hostile test): `--journal` at a FIFO blocked `status` forever on the
    /// open, and `apply --journal /dev/null` "kept" its events in the device.
    #[cfg(unix)]
    #[test]
    fn a_fifo_or_a_device_as_journal_is_refused_without_opening_it() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("j.fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        for path in [
            fifo.as_path(),
            link.as_path(),
            Path::new("/dev/null"),
            dir.path(),
        ] {
            let err = read(path).unwrap_err();
            assert!(matches!(err, JournalError::NotRegular { .. }), "{err}");
            let err = Journal::open(path, "aaa", false).unwrap_err();
            assert!(matches!(err, JournalError::NotRegular { .. }), "{err}");
            assert!(check_path(path).is_err());
        }
        let err = read(&fifo).unwrap_err().to_string();
        assert!(
            err.contains("it is a FIFO (named pipe), not a regular file"),
            "{err}"
        );
        let err = read(&link).unwrap_err().to_string();
        assert!(err.contains("link.jsonl (a link to "), "{err}");
        // Nothing was created beside them.
        assert!(!dir.path().join("j.fifo.lock").exists());
    }

    /// A symlinked journal is the file it links to: events land there, the link stays a
    /// link, and the lock is the target's (a dangling link creates its target).
    #[cfg(unix)]
    #[test]
    fn a_symlinked_journal_is_written_through_and_locked_at_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        std::fs::create_dir(&store).unwrap();
        let target = store.join("real.jsonl");
        let link = dir.path().join("j.jsonl");
        std::os::unix::fs::symlink("store/real.jsonl", &link).unwrap();
        {
            let (mut j, events) = Journal::open(&link, "aaa", false).unwrap();
            assert!(events.is_empty());
            j.append(&Event::new("c1", Action::Provision, State::Started))
                .unwrap();
            // The lock is the target's: opening the target itself meets it.
            assert!(matches!(
                Journal::open(&target, "aaa", false),
                Err(JournalError::Locked { .. })
            ));
            assert!(store.join("real.jsonl.lock").exists());
            assert!(!dir.path().join("j.jsonl.lock").exists());
        }
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let (_, events) = read(&target).unwrap().unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(canonical(&link), std::fs::canonicalize(&target).unwrap());
    }

    #[test]
    fn default_path_is_beside_the_plan() {
        assert_eq!(
            default_path(Path::new("/x/cspmove-plan.json")),
            PathBuf::from("/x/cspmove-plan.journal.jsonl")
        );
        assert_eq!(
            lock_path(Path::new("/x/a.jsonl")),
            PathBuf::from("/x/a.jsonl.lock")
        );
    }
}
