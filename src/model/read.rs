//! Reading a plan file as a stream: the head (schema, dates, inputs, summary) first, then
//! the customers one at a time, then the rejected rows, with the file's sha256 computed
//! on the way.
//!
//! `report`, `status`, `apply` and `sandbox --seed` read plans through this module, so a
//! million-line plan (about 1 GB) never has to be held as structs, and every command
//! refuses the same broken files with the same messages. A command that needs only some
//! fields of a customer reads its own view of one ([`PlanReader::open_as`]: any
//! `Deserialize` struct; serde skips the other fields without building them).
//!
//! Main decision: the reader does not rely on the writer's line layout (one customer per
//! line, `plan::write`), but it is fast on it. A raw line break never occurs inside a
//! JSON string, so a customer that is an object alone on its line (`{…}` or `{…},`) is
//! taken as one value without scanning it; serde then checks it whole. Any other layout,
//! or a line that does not parse as one customer, goes through a small scanner that
//! finds where each top-level value ends (it only tracks strings, escapes and brackets)
//! and serde parses that slice, so a pretty-printed plan or one written by another tool
//! reads the same, with the same messages. Customers are parsed in batches on the rayon
//! pool while the caller works on the previous batch, and handed out in file order;
//! the sha256 is computed on its own thread from the bytes as they are read. The head's
//! fields must come before `customers` (every writer of `cspmove.plan/v1` does so); a
//! file that ends before its closing brace is refused as truncated, never read as a
//! shorter plan.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::mpsc;

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::{Customer, InputInfo, Plan, PlanFileError, Rejection, SCHEMA, Summary};
use crate::fsx::Followed;

/// Bytes read from the file at a time.
const READ_CHUNK: usize = 1 << 20;
/// Customers parsed together (in parallel) at most, and the bytes of JSON a batch holds
/// at most (a batch always holds at least one customer).
const BATCH_VALUES: usize = 2_048;
const BATCH_BYTES: usize = 4 << 20;
/// Batches being parsed ahead of the caller.
const IN_FLIGHT: usize = 2;
/// The fast path looks this far for the end of a customer's line; a file without a line
/// break that soon (the whole plan on one line) is scanned instead.
const FAST_LINE_MAX: usize = 16 << 20;
/// Lines taken as one customer that were not one, after which the file is scanned.
const FAST_MISSES: u32 = 16;
/// Bytes handed to the hashing thread at a time.
const HASH_CHUNK: usize = 1 << 20;

/// A list of which a view needs only the length: each item is checked as JSON and
/// skipped without being built (`tasks: Count` in a view of a customer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count(pub u64);

impl<'de> serde::Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        struct Items;
        impl<'de> serde::de::Visitor<'de> for Items {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
        }
        d.deserialize_seq(Items)
    }
}

/// Everything a plan holds before its customers (serialised as a plan's first fields).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlanHead {
    pub schema: String,
    pub generated_by: String,
    pub as_of: NaiveDate,
    pub lead_days: u32,
    pub inputs: Vec<InputInfo>,
    pub summary: Summary,
}

impl PlanHead {
    /// The plan with these customers and rejections.
    pub fn into_plan(self, customers: Vec<Customer>, rejected: Vec<Rejection>) -> Plan {
        Plan {
            schema: self.schema,
            generated_by: self.generated_by,
            as_of: self.as_of,
            lead_days: self.lead_days,
            inputs: self.inputs,
            summary: self.summary,
            customers,
            rejected,
        }
    }

    /// The head of `plan` (its customers and rejections left out).
    pub fn of(plan: &Plan) -> PlanHead {
        PlanHead {
            schema: plan.schema.clone(),
            generated_by: plan.generated_by.clone(),
            as_of: plan.as_of,
            lead_days: plan.lead_days,
            inputs: plan.inputs.clone(),
            summary: plan.summary.clone(),
        }
    }
}

/// Where the reader is in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Inside the `customers` list, before an item (`first`: nothing read yet).
    Customers { first: bool },
    /// Inside the `rejected` list, before an item.
    Rejected { first: bool },
    /// Between top-level fields, after a value.
    Fields,
    /// After the closing brace.
    End,
}

/// Whether a reader computes the plan's sha256 (see [`PlanReader::open_as_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sha {
    /// Computed on a thread of its own; [`PlanReader::finish`] returns it.
    Compute,
    /// Not computed: for a command that does not check the plan against a journal
    /// (`report`, `status` without a journal). Hashing a 1 GB plan is ~0.6 s of CPU,
    /// a fifth of what such a command spends on the 2-core machine of
    /// docs/benchmarks.md. [`PlanReader::finish`] then fails; use [`PlanReader::end`].
    Skip,
}

/// The sha256 of the bytes read, computed on a thread of its own. Its chunks go back and
/// forth between the two threads, so hashing a gigabyte allocates a few megabytes, not
/// a thousand fresh ones.
struct Hasher {
    /// `false`: [`Sha::Skip`], nothing is hashed.
    on: bool,
    pending: Vec<u8>,
    tx: Option<mpsc::SyncSender<Vec<u8>>>,
    /// Chunks the thread has hashed, to be filled again.
    spent: Option<mpsc::Receiver<Vec<u8>>>,
    thread: Option<std::thread::JoinHandle<[u8; 32]>>,
}

impl Hasher {
    fn new(sha: Sha) -> Hasher {
        let off = Hasher {
            on: sha == Sha::Compute,
            pending: Vec::new(),
            tx: None,
            spent: None,
            thread: None,
        };
        if sha == Sha::Skip {
            return off;
        }
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(8);
        let (back, spent) = mpsc::sync_channel::<Vec<u8>>(16);
        let thread = std::thread::Builder::new()
            .name("plan-sha256".to_string())
            .spawn(move || {
                let mut hasher = Sha256::new();
                for bytes in rx {
                    hasher.update(&bytes);
                    // The reader may have stopped taking them back: then drop it.
                    let _ = back.try_send(bytes);
                }
                hasher.finalize().into()
            });
        match thread {
            Ok(thread) => Hasher {
                tx: Some(tx),
                spent: Some(spent),
                thread: Some(thread),
                ..off
            },
            // No thread to be had: hash here, at the end.
            Err(_) => off,
        }
    }

    fn add(&mut self, bytes: &[u8]) {
        if !self.on {
            return;
        }
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= HASH_CHUNK
            && let Some(tx) = &self.tx
        {
            let mut next = self
                .spent
                .as_ref()
                .and_then(|s| s.try_recv().ok())
                .unwrap_or_else(|| Vec::with_capacity(HASH_CHUNK + READ_CHUNK));
            next.clear();
            let full = std::mem::replace(&mut self.pending, next);
            if tx.send(full).is_err() {
                // The thread is gone (it panicked): `finish` says so.
                self.tx = None;
            }
        }
    }

    fn finish(mut self) -> io::Result<[u8; 32]> {
        if !self.on {
            return Err(io::Error::other(
                "the plan reader was opened without computing the plan's sha256",
            ));
        }
        let (Some(tx), Some(thread)) = (self.tx.take(), self.thread.take()) else {
            return Ok(Sha256::digest(&self.pending).into());
        };
        let rest = std::mem::take(&mut self.pending);
        let sent = tx.send(rest).is_ok();
        drop(tx);
        match thread.join() {
            Ok(digest) if sent => Ok(digest),
            _ => Err(io::Error::other(
                "the sha256 thread of the plan reader failed",
            )),
        }
    }
}

/// The bytes of the file as far as read; every byte read goes to the hash.
struct Source<R> {
    reader: R,
    buf: Vec<u8>,
    /// Next byte to look at.
    pos: usize,
    eof: bool,
    hasher: Hasher,
    /// Line (1-based) of `buf[pos]`, for messages.
    line: u64,
    /// While a batch is scanned: where it starts, which `fill` keeps in the buffer.
    keep: Option<usize>,
    /// Bytes asked of the reader at a time (small in tests, to cut values anywhere).
    chunk: usize,
}

/// A scan that ran out of bytes before its value ended.
struct Eof;

impl<R: Read> Source<R> {
    fn new(reader: R, sha: Sha) -> Source<R> {
        Source {
            reader,
            buf: Vec::with_capacity(READ_CHUNK),
            pos: 0,
            eof: false,
            hasher: Hasher::new(sha),
            line: 1,
            keep: None,
            chunk: READ_CHUNK,
        }
    }

    /// Reads more bytes; `false` at the end of the file. Offsets relative to `pos` (and
    /// to `keep`) stay valid across the call.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let cut = self.keep.map_or(self.pos, |k| k.min(self.pos));
        // Only when at least half the buffer goes: the bytes kept are then moved at
        // most once for as many bytes dropped (a batch of 4 MiB is read 1 MiB at a time).
        if cut > 0 && cut >= self.buf.len() / 2 {
            self.buf.drain(..cut);
            self.pos -= cut;
            self.keep = self.keep.map(|k| k - cut);
        }
        let old = self.buf.len();
        self.buf.reserve(self.chunk);
        let n = (&mut self.reader)
            .take(self.chunk as u64)
            .read_to_end(&mut self.buf)?;
        self.hasher.add(&self.buf[old..]);
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    /// The fast path: when the value at `pos` is an object alone on its line (`{…}` up
    /// to the line break, perhaps followed by `,`), its length, unchecked: serde checks
    /// it. `None` when the line is anything else (or the file ends first). `Err(())`
    /// when no line break comes within [`FAST_LINE_MAX`] bytes.
    fn line_value(&mut self) -> io::Result<Result<Option<usize>, ()>> {
        if self.buf.get(self.pos) != Some(&b'{') {
            return Ok(Ok(None));
        }
        let mut from = 1;
        loop {
            if let Some(k) = memchr::memchr(b'\n', &self.buf[self.pos + from..]) {
                let line = &self.buf[self.pos..self.pos + from + k];
                let blank = |b: u8| matches!(b, b' ' | b'\t' | b'\r');
                let mut end = line.len();
                while end > 1 && blank(line[end - 1]) {
                    end -= 1;
                }
                if line[end - 1] == b',' {
                    end -= 1;
                    while end > 1 && blank(line[end - 1]) {
                        end -= 1;
                    }
                }
                return Ok(Ok((end > 1 && line[end - 1] == b'}').then_some(end)));
            }
            from = self.buf.len() - self.pos;
            if from > FAST_LINE_MAX {
                return Ok(Err(()));
            }
            if !self.fill()? {
                return Ok(Ok(None));
            }
        }
    }

    /// The next byte that is not JSON whitespace, not consumed; `None` at the end.
    fn peek(&mut self) -> io::Result<Option<u8>> {
        loop {
            while let Some(&b) = self.buf.get(self.pos) {
                match b {
                    b' ' | b'\t' | b'\r' => self.pos += 1,
                    b'\n' => {
                        self.pos += 1;
                        self.line += 1;
                    }
                    _ => return Ok(Some(b)),
                }
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Length of the JSON value starting at `pos` (after whitespace), reading more bytes
    /// as needed; also how many line breaks it holds. Only strings, escapes and brackets
    /// are tracked: whether the value is valid JSON is serde's to say.
    fn value_len(&mut self) -> io::Result<Result<(usize, u64), Eof>> {
        let Some(first) = self.peek()? else {
            return Ok(Err(Eof));
        };
        let mut i = 0;
        let mut lines = 0;
        if !matches!(first, b'{' | b'[' | b'"') {
            // A number, `true`, `false` or `null`: up to the next delimiter.
            loop {
                let rest = &self.buf[self.pos + i..];
                match rest.iter().position(|b| {
                    matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n' | b':')
                }) {
                    Some(k) => return Ok(Ok((i + k, 0))),
                    None => i += rest.len(),
                }
                if !self.fill()? {
                    return Ok(Ok((i, 0)));
                }
            }
        }
        let mut depth = 0usize;
        let mut in_string = false;
        loop {
            let bytes = &self.buf[self.pos..];
            while i < bytes.len() {
                if in_string {
                    match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
                        None => i = bytes.len(),
                        Some(k) => {
                            i += k;
                            if bytes[i] == b'\\' {
                                if i + 1 >= bytes.len() {
                                    // The escaped byte is not read yet: look again after
                                    // the next read.
                                    break;
                                }
                                i += 2;
                            } else {
                                in_string = false;
                                i += 1;
                                if depth == 0 {
                                    return Ok(Ok((i, lines)));
                                }
                            }
                        }
                    }
                    continue;
                }
                match bytes[i] {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        // `depth` is at least 1 here: the value started with a bracket.
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return Ok(Ok((i + 1, lines)));
                        }
                    }
                    b'\n' => lines += 1,
                    _ => {}
                }
                i += 1;
            }
            if !self.fill()? {
                return Ok(Err(Eof));
            }
        }
    }

    /// Consumes `len` bytes holding `lines` line breaks.
    fn consume(&mut self, len: usize, lines: u64) {
        self.pos += len;
        self.line += lines;
    }
}

/// A plan file read front to back. [`PlanReader::open`] reads the head; then
/// [`next_customer`](PlanReader::next_customer) hands out the customers in file order,
/// [`next_rejection`](PlanReader::next_rejection) the rejected rows, and
/// [`finish`](PlanReader::finish) checks the end of the document and returns the sha256.
/// `C` is what a customer is read as: [`Customer`], or a command's view of one
/// ([`PlanReader::open_as`]).
pub struct PlanReader<R, C = Customer> {
    src: Source<R>,
    head: PlanHead,
    place: Place,
    /// Customers parsed ahead of the caller, in file order.
    ready: VecDeque<C>,
    /// Batches being parsed on the rayon pool, in file order.
    in_flight: VecDeque<mpsc::Receiver<Batch<C>>>,
    /// Customers handed out so far.
    customers: u64,
    /// Customers scanned so far (handed out, ready or in flight).
    scanned: u64,
    rejected: u64,
    /// Whether customers alone on their line are taken without a scan (see the module
    /// comment); off after [`FAST_MISSES`] lines that were not one customer.
    fast: bool,
    misses: u32,
    /// The next customer is scanned (its line was not one customer).
    scan_next: bool,
    /// An error the scan met after lines taken as one customer each and not parsed yet:
    /// it is the file's only once they parse. A line that was more than one customer
    /// (a whole plan on one line ends with `}` too) moves the scan past the end of the
    /// list, where it finds a "cut" file; parsing that line fails first, and the file is
    /// scanned again from it ([`PlanReader::rescan_from`]), which drops this error.
    deferred: Option<PlanFileError>,
    /// Rejections found before the customers (a layout no cspmove writes; kept to be
    /// handed out after the customers).
    early_rejected: Option<VecDeque<Rejection>>,
    seen_rejected: bool,
    /// The file, for [`PlanFileError::InFile`] (set by [`PlanReader::open`]).
    path: Option<std::path::PathBuf>,
    /// Byte buffers of batches taken, filled again by the next batches (memory that
    /// is already mapped: fresh pages cost more than the copy on a VM that hands freed
    /// memory back to its host, docs/benchmarks.md).
    spare: Vec<Vec<u8>>,
}

/// Where one customer's JSON is in a batch's bytes.
#[derive(Debug, Clone, Copy)]
struct Span {
    at: usize,
    len: usize,
    /// Line of its first byte.
    line: u64,
    /// Found by the scanner (its end is certain); else taken as its whole line, which
    /// serde must confirm.
    scanned: bool,
}

/// A batch of customers: every byte scanned for it (from the end of the previous batch,
/// so batches are contiguous) and, once parsed, each customer or why it did not parse.
struct Batch<C> {
    bytes: Vec<u8>,
    spans: Vec<Span>,
    /// Number (1-based) of its first customer.
    first_n: u64,
    parsed: Vec<Result<C, serde_json::Error>>,
}

impl<R, C> std::fmt::Debug for PlanReader<R, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanReader")
            .field("place", &self.place)
            .field("customers", &self.customers)
            .finish_non_exhaustive()
    }
}

fn syntax(line: u64, message: impl Into<String>) -> PlanFileError {
    PlanFileError::Syntax {
        line,
        message: message.into(),
    }
}

fn describe(b: Option<u8>) -> String {
    match b {
        None => "the end of the file".to_string(),
        Some(b) if b.is_ascii_graphic() => format!("'{}'", b as char),
        Some(b) => format!("byte 0x{b:02x}"),
    }
}

/// Whether `path` may be opened as a plan, by the one rule of [`crate::fsx::follow`]:
/// symlinks are followed to the real file, and a FIFO, a device, a directory or a socket
/// is refused before it is opened (opening a FIFO blocks until someone writes to it, a
/// device reads forever). A path that does not exist is left to the open, which says so.
fn plan_file(path: &Path) -> Result<(), PlanFileError> {
    match crate::fsx::follow(path).map_err(PlanFileError::Io)? {
        Followed::Regular(..) | Followed::Missing(_) => Ok(()),
        Followed::Other { target, kind } => Err(PlanFileError::NotRegular {
            link_to: (target != path).then_some(target),
            kind,
        }),
    }
}

impl PlanReader<File> {
    /// Opens a plan file and reads its head.
    /// Every error of the reader it returns names `path` ([`PlanFileError::InFile`]).
    pub fn open(path: &Path) -> Result<PlanReader<File>, PlanFileError> {
        PlanReader::open_as(path)
    }

    /// [`open`](PlanReader::open), reading each customer as `C`: a struct of the
    /// customer's fields a command needs (named as in the plan; serde skips the others
    /// without building them, so reading is cheaper the less `C` holds).
    pub fn open_as<C: DeserializeOwned + Send + 'static>(
        path: &Path,
    ) -> Result<PlanReader<File, C>, PlanFileError> {
        PlanReader::open_as_with(path, Sha::Compute)
    }

    /// [`open_as`](PlanReader::open_as), computing the plan's sha256 or not.
    pub fn open_as_with<C: DeserializeOwned + Send + 'static>(
        path: &Path,
        sha: Sha,
    ) -> Result<PlanReader<File, C>, PlanFileError> {
        let opened = plan_file(path)
            .and_then(|()| File::open(path).map_err(PlanFileError::Io))
            .and_then(|file| PlanReader::<File, C>::with_source(Source::new(file, sha)));
        let mut reader = opened.map_err(|e| e.in_file(path))?;
        reader.path = Some(path.to_path_buf());
        Ok(reader)
    }
}

impl<R: Read> PlanReader<R> {
    /// Reads the head of the plan `reader` holds: every field before `customers`.
    pub fn new(reader: R) -> Result<PlanReader<R>, PlanFileError> {
        PlanReader::with_source(Source::new(reader, Sha::Compute))
    }

    /// [`new`](PlanReader::new), reading each customer as `C` (see
    /// [`open_as`](PlanReader::open_as)).
    pub fn new_as<C: DeserializeOwned + Send + 'static>(
        reader: R,
    ) -> Result<PlanReader<R, C>, PlanFileError> {
        PlanReader::<R, C>::with_source(Source::new(reader, Sha::Compute))
    }

    /// Reads the whole plan into memory, with its sha256.
    pub fn read_all(mut self) -> Result<(Plan, String), PlanFileError> {
        let mut customers = Vec::new();
        while let Some(c) = self.next_customer()? {
            customers.push(c);
        }
        let mut rejected = Vec::new();
        while let Some(r) = self.next_rejection()? {
            rejected.push(r);
        }
        let head = self.head.clone();
        let sha = self.finish()?;
        Ok((head.into_plan(customers, rejected), sha))
    }
}

impl<R: Read, C: DeserializeOwned + Send + 'static> PlanReader<R, C> {
    fn with_source(mut src: Source<R>) -> Result<PlanReader<R, C>, PlanFileError> {
        match src.peek().map_err(PlanFileError::Io)? {
            Some(b'{') => src.pos += 1,
            None => return Err(PlanFileError::Truncated("is empty".to_string())),
            other => {
                return Err(syntax(
                    src.line,
                    format!("expected '{{' at the start, found {}", describe(other)),
                ));
            }
        }
        let mut schema = None;
        let mut generated_by = None;
        let mut as_of = None;
        let mut lead_days = None;
        let mut inputs = None;
        let mut summary = None;
        let mut early_rejected = None;
        let mut first = true;
        loop {
            let line = src.line;
            match src.peek().map_err(PlanFileError::Io)? {
                Some(b'}') => break,
                Some(b',') if !first => src.pos += 1,
                Some(b'"') if first => {}
                None => {
                    return Err(PlanFileError::Truncated("before its customers".to_string()));
                }
                other if first => {
                    return Err(syntax(
                        line,
                        format!("expected a field name, found {}", describe(other)),
                    ));
                }
                other => {
                    return Err(syntax(
                        line,
                        format!("expected ',' or '}}', found {}", describe(other)),
                    ));
                }
            }
            first = false;
            let key: String = read_value(&mut src, "a field name", "before its customers")?;
            let line = src.line;
            match src.peek().map_err(PlanFileError::Io)? {
                Some(b':') => src.pos += 1,
                None => return Err(PlanFileError::Truncated("before its customers".into())),
                other => {
                    return Err(syntax(
                        line,
                        format!("expected ':' after \"{key}\", found {}", describe(other)),
                    ));
                }
            }
            let field = |name: &str| format!("the field \"{name}\"");
            match key.as_str() {
                "schema" => {
                    let value: Option<String> =
                        read_value(&mut src, &field("schema"), "before its customers")?;
                    match value.as_deref() {
                        Some(SCHEMA) => schema = value,
                        other => {
                            return Err(PlanFileError::Schema(
                                other.unwrap_or("(none)").to_string(),
                            ));
                        }
                    }
                }
                "generated_by" => {
                    generated_by = Some(read_value(&mut src, &field(&key), "before its customers")?)
                }
                "as_of" => {
                    as_of = Some(read_value(&mut src, &field(&key), "before its customers")?)
                }
                "lead_days" => {
                    lead_days = Some(read_value(&mut src, &field(&key), "before its customers")?)
                }
                "inputs" => {
                    inputs = Some(read_value(&mut src, &field(&key), "before its customers")?)
                }
                "summary" => {
                    summary = Some(read_value(&mut src, &field(&key), "before its customers")?)
                }
                "rejected" => {
                    let list: Vec<Rejection> =
                        read_value(&mut src, &field(&key), "before its customers")?;
                    early_rejected = Some(list.into());
                }
                "customers" => {
                    let line = src.line;
                    match src.peek().map_err(PlanFileError::Io)? {
                        Some(b'[') => src.pos += 1,
                        None => {
                            return Err(PlanFileError::Truncated(
                                "before its customers".to_string(),
                            ));
                        }
                        other => {
                            return Err(syntax(
                                line,
                                format!(
                                    "expected '[' after \"customers\", found {}",
                                    describe(other)
                                ),
                            ));
                        }
                    }
                    let schema = schema.ok_or_else(|| {
                        if generated_by.is_none() && summary.is_none() {
                            PlanFileError::Schema("(none)".to_string())
                        } else {
                            PlanFileError::Missing(
                                "the field \"schema\" (it comes before \"customers\")",
                            )
                        }
                    })?;
                    let head = PlanHead {
                        schema,
                        generated_by: generated_by.ok_or(PlanFileError::Missing(
                            "the field \"generated_by\" (it comes before \"customers\")",
                        ))?,
                        as_of: as_of.ok_or(PlanFileError::Missing(
                            "the field \"as_of\" (it comes before \"customers\")",
                        ))?,
                        lead_days: lead_days.ok_or(PlanFileError::Missing(
                            "the field \"lead_days\" (it comes before \"customers\")",
                        ))?,
                        inputs: inputs.ok_or(PlanFileError::Missing(
                            "the field \"inputs\" (it comes before \"customers\")",
                        ))?,
                        summary: summary.ok_or(PlanFileError::Missing(
                            "the field \"summary\" (it comes before \"customers\")",
                        ))?,
                    };
                    return Ok(PlanReader {
                        src,
                        head,
                        place: Place::Customers { first: true },
                        ready: VecDeque::new(),
                        in_flight: VecDeque::new(),
                        customers: 0,
                        scanned: 0,
                        rejected: 0,
                        fast: true,
                        misses: 0,
                        scan_next: false,
                        deferred: None,
                        seen_rejected: early_rejected.is_some(),
                        early_rejected,
                        path: None,
                        spare: Vec::new(),
                    });
                }
                _ => skip_value(&mut src, &field(&key), "before its customers")?,
            }
        }
        // The document ended without a customer list.
        if schema.is_none() {
            return Err(PlanFileError::Schema("(none)".to_string()));
        }
        Err(PlanFileError::Missing("the field \"customers\""))
    }

    pub fn head(&self) -> &PlanHead {
        &self.head
    }

    /// Customers handed out so far.
    pub fn customers_read(&self) -> u64 {
        self.customers
    }

    /// The next customer, `None` after the last one.
    pub fn next_customer(&mut self) -> Result<Option<C>, PlanFileError> {
        let next = self.next_customer_here();
        next.map_err(|e| self.located(e))
    }

    /// `error`, naming the file when the reader has one.
    fn located(&self, error: PlanFileError) -> PlanFileError {
        match &self.path {
            Some(path) => error.in_file(path),
            None => error,
        }
    }

    fn next_customer_here(&mut self) -> Result<Option<C>, PlanFileError> {
        loop {
            if let Some(c) = self.ready.pop_front() {
                self.customers += 1;
                return Ok(Some(c));
            }
            // Keep the pool busy while the caller works on what is ready.
            while self.in_flight.len() < IN_FLIGHT && self.scan_batch()? {}
            if !self.take_batch()? {
                return Ok(None);
            }
        }
    }

    /// Before an item of the list the reader is in: `true` when an item follows,
    /// `false` when the list closed (then consumed). `what` names the last item read
    /// (for messages), `cut` says where a file that ends here was cut.
    fn list_next(&mut self, first: bool, what: &str, cut: &str) -> Result<bool, PlanFileError> {
        let line = self.src.line;
        match self.src.peek().map_err(PlanFileError::Io)? {
            Some(b']') => {
                self.src.pos += 1;
                return Ok(false);
            }
            Some(b',') if !first => self.src.pos += 1,
            None => return Err(PlanFileError::Truncated(cut.to_string())),
            _ if first => return Ok(true),
            other => {
                return Err(syntax(
                    line,
                    format!(
                        "expected ',' or ']' after {what}, found {}",
                        describe(other)
                    ),
                ));
            }
        }
        let line = self.src.line;
        match self.src.peek().map_err(PlanFileError::Io)? {
            None => Err(PlanFileError::Truncated(cut.to_string())),
            Some(b']') => Err(syntax(line, format!("a ',' after {what} ends the list"))),
            _ => Ok(true),
        }
    }

    /// Scans up to a batch of customers and sends it to the rayon pool to be parsed;
    /// `false` when the customer list has ended.
    fn scan_batch(&mut self) -> Result<bool, PlanFileError> {
        if let Some(e) = self.deferred.take() {
            if self.in_flight.is_empty() {
                return Err(e);
            }
            // The batches in flight are parsed first (`take_batch`).
            self.deferred = Some(e);
            return Ok(false);
        }
        if !matches!(self.place, Place::Customers { .. }) {
            return Ok(false);
        }
        // Every byte from here to the end of the scan belongs to the batch.
        self.src.keep = Some(self.src.pos);
        let scanned = self.scan_spans();
        let keep = self.src.keep.take().unwrap_or(self.src.pos);
        let spans = scanned?;
        let first_n = self.scanned + 1;
        self.scanned += spans.len() as u64;
        let mut bytes = self.spare.pop().unwrap_or_default();
        bytes.clear();
        bytes.extend_from_slice(&self.src.buf[keep..self.src.pos]);
        let batch = Batch {
            bytes,
            spans,
            first_n,
            parsed: Vec::new(),
        };
        let (tx, rx) = mpsc::sync_channel(1);
        rayon::spawn(move || {
            let mut batch = batch;
            batch.parsed = parse_spans(&batch.bytes, &batch.spans);
            // A reader dropped early no longer waits for it.
            let _ = tx.send(batch);
        });
        self.in_flight.push_back(rx);
        Ok(true)
    }

    /// The spans of up to a batch of customers, relative to `src.keep`.
    fn scan_spans(&mut self) -> Result<Vec<Span>, PlanFileError> {
        let mut spans = Vec::new();
        match self.scan_spans_into(&mut spans) {
            Ok(()) => Ok(spans),
            // Lines taken whole are not checked yet: the error waits for them.
            Err(e) if !self.in_flight.is_empty() || spans.iter().any(|s| !s.scanned) => {
                self.deferred = Some(e);
                Ok(spans)
            }
            Err(e) => Err(e),
        }
    }

    fn scan_spans_into(&mut self, spans: &mut Vec<Span>) -> Result<(), PlanFileError> {
        let mut batch_len = 0usize;
        while spans.len() < BATCH_VALUES && batch_len < BATCH_BYTES {
            let Place::Customers { first } = self.place else {
                break;
            };
            let n = self.scanned + spans.len() as u64;
            let last = format!("customer {n}");
            let cut = format!("after customer {n}, before the end of the customer list");
            if !self.list_next(first, &last, &cut)? {
                self.place = Place::Fields;
                break;
            }
            self.place = Place::Customers { first: false };
            let line = self.src.line;
            let mut found = None;
            if self.fast && !std::mem::take(&mut self.scan_next) {
                match self.src.line_value().map_err(PlanFileError::Io)? {
                    Ok(len) => found = len,
                    Err(()) => self.fast = false,
                }
            }
            let (len, lines, scanned) = match found {
                Some(len) => (len, 0, false),
                None => match self.src.value_len().map_err(PlanFileError::Io)? {
                    Ok((len, lines)) => (len, lines, true),
                    Err(Eof) => {
                        return Err(PlanFileError::Truncated(format!(
                            "in the middle of customer {} (line {line})",
                            n + 1
                        )));
                    }
                },
            };
            let keep = self.src.keep.unwrap_or(0);
            spans.push(Span {
                at: self.src.pos - keep,
                len,
                line,
                scanned,
            });
            batch_len += len;
            self.src.consume(len, lines);
        }
        Ok(())
    }

    /// Waits for the oldest batch in flight and queues its customers; `false` when none
    /// is in flight. A line taken as one customer that does not parse is scanned again
    /// (with everything after it): only a scanned customer's error is the file's.
    fn take_batch(&mut self) -> Result<bool, PlanFileError> {
        let Some(rx) = self.in_flight.pop_front() else {
            return Ok(false);
        };
        let batch = rx.recv().map_err(|_| {
            PlanFileError::Io(io::Error::other(
                "a parsing thread of the plan reader failed",
            ))
        })?;
        let Batch {
            bytes,
            spans,
            first_n,
            parsed,
        } = batch;
        for (i, (span, customer)) in spans.iter().zip(parsed).enumerate() {
            let n = first_n + i as u64;
            match customer {
                Ok(c) => self.ready.push_back(c),
                Err(source) if span.scanned => {
                    return Err(PlanFileError::Customer {
                        n,
                        line: span.line,
                        source,
                    });
                }
                Err(_) => {
                    self.rescan_from(bytes, *span, n)?;
                    return Ok(true);
                }
            }
        }
        if self.spare.len() < IN_FLIGHT + 1 {
            self.spare.push(bytes);
        }
        Ok(true)
    }

    /// Goes back to the customer number `n` at `span` of `bytes` (a batch): the bytes
    /// from there, of the batches after it and not yet scanned become the buffer again,
    /// and that customer is scanned.
    fn rescan_from(&mut self, mut bytes: Vec<u8>, span: Span, n: u64) -> Result<(), PlanFileError> {
        bytes.drain(..span.at);
        while let Some(rx) = self.in_flight.pop_front() {
            let later = rx.recv().map_err(|_| {
                PlanFileError::Io(io::Error::other(
                    "a parsing thread of the plan reader failed",
                ))
            })?;
            bytes.extend_from_slice(&later.bytes);
        }
        bytes.extend_from_slice(&self.src.buf[self.src.pos..]);
        self.src.buf = bytes;
        self.src.pos = 0;
        self.src.keep = None;
        self.src.line = span.line;
        // The separator before it was read already: a value comes next.
        self.place = Place::Customers { first: true };
        self.scanned = n - 1;
        self.scan_next = true;
        self.deferred = None;
        self.misses += 1;
        if self.misses >= FAST_MISSES {
            self.fast = false;
        }
        Ok(())
    }

    /// Skips the customers not read yet (still checked for completeness).
    fn skip_customers(&mut self) -> Result<(), PlanFileError> {
        while self.take_batch()? {}
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        self.ready.clear();
        while let Place::Customers { first } = self.place {
            let n = self.scanned;
            let last = format!("customer {n}");
            let cut = format!("after customer {n}, before the end of the customer list");
            if !self.list_next(first, &last, &cut)? {
                self.place = Place::Fields;
                break;
            }
            self.place = Place::Customers { first: false };
            let line = self.src.line;
            match self.src.value_len().map_err(PlanFileError::Io)? {
                Ok((len, lines)) => self.src.consume(len, lines),
                Err(Eof) => {
                    return Err(PlanFileError::Truncated(format!(
                        "in the middle of customer {} (line {line})",
                        n + 1
                    )));
                }
            }
            self.scanned += 1;
        }
        Ok(())
    }

    /// Moves past top-level fields after the customers up to the `rejected` list (its
    /// items then come next) or the end of the document.
    fn next_field(&mut self) -> Result<(), PlanFileError> {
        while self.place == Place::Fields {
            let line = self.src.line;
            match self.src.peek().map_err(PlanFileError::Io)? {
                Some(b',') => self.src.pos += 1,
                Some(b'}') => {
                    self.src.pos += 1;
                    self.place = Place::End;
                    return Ok(());
                }
                None => {
                    return Err(PlanFileError::Truncated(
                        "after its customers, before the end of the document".to_string(),
                    ));
                }
                other => {
                    return Err(syntax(
                        line,
                        format!("expected ',' or '}}', found {}", describe(other)),
                    ));
                }
            }
            let what = "after its customers, before the end of the document";
            let key: String = read_value(&mut self.src, "a field name", what)?;
            let line = self.src.line;
            match self.src.peek().map_err(PlanFileError::Io)? {
                Some(b':') => self.src.pos += 1,
                None => return Err(PlanFileError::Truncated(what.to_string())),
                other => {
                    return Err(syntax(
                        line,
                        format!("expected ':' after \"{key}\", found {}", describe(other)),
                    ));
                }
            }
            if key == "rejected" && !self.seen_rejected {
                self.seen_rejected = true;
                let line = self.src.line;
                match self.src.peek().map_err(PlanFileError::Io)? {
                    Some(b'[') => {
                        self.src.pos += 1;
                        self.place = Place::Rejected { first: true };
                    }
                    None => return Err(PlanFileError::Truncated(what.to_string())),
                    other => {
                        return Err(syntax(
                            line,
                            format!("expected '[' after \"rejected\", found {}", describe(other)),
                        ));
                    }
                }
            } else if key == "customers" || key == "rejected" {
                return Err(syntax(line, format!("the field \"{key}\" appears twice")));
            } else {
                skip_value(&mut self.src, &format!("the field \"{key}\""), what)?;
            }
        }
        Ok(())
    }

    /// The next rejected row, `None` after the last one. Customers not read yet are
    /// skipped (still checked for completeness).
    pub fn next_rejection(&mut self) -> Result<Option<Rejection>, PlanFileError> {
        let next = self.next_rejection_here();
        next.map_err(|e| self.located(e))
    }

    fn next_rejection_here(&mut self) -> Result<Option<Rejection>, PlanFileError> {
        if let Some(r) = self.early_rejected.as_mut().and_then(VecDeque::pop_front) {
            self.rejected += 1;
            return Ok(Some(r));
        }
        loop {
            match self.place {
                Place::Customers { .. } => self.skip_customers()?,
                Place::Fields => self.next_field()?,
                Place::End => return Ok(None),
                Place::Rejected { first } => {
                    let n = self.rejected;
                    let cut = format!("in the list of rejected rows, after row {n} of it");
                    if !self.list_next(first, &format!("rejected row {n}"), &cut)? {
                        self.place = Place::Fields;
                        continue;
                    }
                    self.place = Place::Rejected { first: false };
                    let r: Rejection =
                        read_value(&mut self.src, &format!("rejected row {}", n + 1), &cut)?;
                    self.rejected += 1;
                    return Ok(Some(r));
                }
            }
        }
    }

    /// Reads to the end of the file (skipping what was not read), checks that the
    /// document is complete and nothing but whitespace follows it, and returns the
    /// sha256 of the file's bytes (lower-case hex).
    pub fn finish(self) -> Result<String, PlanFileError> {
        let path = self.path.clone();
        self.finish_here().map_err(|e| match &path {
            Some(path) => e.in_file(path),
            None => e,
        })
    }

    /// [`finish`](PlanReader::finish) without the sha256: checks that the document is
    /// complete (reading what was not read) and nothing but whitespace follows it. The
    /// one way to end a reader opened with [`Sha::Skip`].
    pub fn end(mut self) -> Result<(), PlanFileError> {
        let ended = self.end_here();
        ended.map_err(|e| self.located(e))
    }

    fn finish_here(mut self) -> Result<String, PlanFileError> {
        self.end_here()?;
        let digest = self.src.hasher.finish().map_err(PlanFileError::Io)?;
        Ok(hex::encode(digest))
    }

    fn end_here(&mut self) -> Result<(), PlanFileError> {
        while self.next_rejection()?.is_some() {}
        if !self.seen_rejected {
            return Err(PlanFileError::Missing("the field \"rejected\""));
        }
        let line = self.src.line;
        match self.src.peek().map_err(PlanFileError::Io)? {
            None => {}
            other => {
                return Err(syntax(
                    line,
                    format!("unexpected {} after the end of the plan", describe(other)),
                ));
            }
        }
        Ok(())
    }
}

/// Parses each customer of a batch. The bytes are checked as UTF-8 once (the spans
/// start and end at ASCII brackets), so serde does not check each string again; bytes
/// that are not UTF-8 are parsed as bytes, for serde's message.
fn parse_spans<C: DeserializeOwned + Send>(
    bytes: &[u8],
    spans: &[Span],
) -> Vec<Result<C, serde_json::Error>> {
    match std::str::from_utf8(bytes) {
        Ok(text) => spans
            .par_iter()
            .map(|s| serde_json::from_str(&text[s.at..s.at + s.len]))
            .collect(),
        Err(_) => spans
            .par_iter()
            .map(|s| serde_json::from_slice(&bytes[s.at..s.at + s.len]))
            .collect(),
    }
}

/// Reads and parses the next value. `what` names it in a message, `place` says where a
/// file that ends there was cut.
fn read_value<R: Read, T: DeserializeOwned>(
    src: &mut Source<R>,
    what: &str,
    place: &str,
) -> Result<T, PlanFileError> {
    let line = src.line;
    match src.value_len().map_err(PlanFileError::Io)? {
        Ok((len, lines)) => {
            let value = serde_json::from_slice(&src.buf[src.pos..src.pos + len]).map_err(|e| {
                PlanFileError::Value {
                    what: what.to_string(),
                    line,
                    source: e,
                }
            })?;
            src.consume(len, lines);
            Ok(value)
        }
        Err(Eof) => Err(PlanFileError::Truncated(place.to_string())),
    }
}

fn skip_value<R: Read>(src: &mut Source<R>, what: &str, place: &str) -> Result<(), PlanFileError> {
    let _ = what;
    match src.value_len().map_err(PlanFileError::Io)? {
        Ok((len, lines)) => {
            src.consume(len, lines);
            Ok(())
        }
        Err(Eof) => Err(PlanFileError::Truncated(place.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::demo;

    mod erased {
        pub trait Json {
            fn json(&self) -> String;
        }
        impl<T: serde::Serialize> Json for T {
            fn json(&self) -> String {
                serde_json::to_string(self).unwrap()
            }
        }
    }

    fn canonical(plan: &Plan) -> Vec<u8> {
        let mut bytes = Vec::new();
        crate::plan::write::write_plan(plan, &mut bytes).unwrap();
        bytes
    }

    fn read_chunked(bytes: &[u8], chunk: usize) -> Result<(Plan, String), PlanFileError> {
        let mut src = Source::new(bytes, Sha::Compute);
        src.chunk = chunk;
        PlanReader::with_source(src)?.read_all()
    }

    fn sha(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    #[test]
    fn every_layout_reads_back_as_the_plan_with_the_files_sha256() {
        for lines in [0, 1, 7, 300] {
            let plan = demo::plan(lines);
            let with_end = |mut bytes: Vec<u8>, end: &[u8]| {
                bytes.extend_from_slice(end);
                bytes
            };
            for bytes in [
                canonical(&plan),
                serde_json::to_vec(&plan).unwrap(),
                serde_json::to_vec_pretty(&plan).unwrap(),
                // The whole plan on one line that ends with a line break (`jq -c`, most
                // tools): the line also ends with `}`, like a customer's; it used to be
                // refused as cut after customer 1.
                with_end(serde_json::to_vec(&plan).unwrap(), b"\n"),
                with_end(serde_json::to_vec(&plan).unwrap(), b"\r\n"),
                with_end(serde_json::to_vec_pretty(&plan).unwrap(), b"\n"),
            ] {
                for chunk in [1, 3, 64, 4096, READ_CHUNK] {
                    let (back, digest) = read_chunked(&bytes, chunk)
                        .unwrap_or_else(|e| panic!("{lines} lines, chunk {chunk}: {e}"));
                    assert_eq!(back, plan, "{lines} lines, chunk {chunk}");
                    assert_eq!(digest, sha(&bytes));
                }
            }
        }
    }

    #[test]
    fn customers_come_one_at_a_time_after_the_head_over_many_batches() {
        let plan = demo::plan(12_000);
        assert!(plan.customers.len() > BATCH_VALUES * 2);
        let bytes = canonical(&plan);
        let mut reader = PlanReader::new(&bytes[..]).unwrap();
        assert_eq!(reader.head(), &PlanHead::of(&plan));
        for (i, expected) in plan.customers.iter().enumerate() {
            let c = reader.next_customer().unwrap().unwrap();
            assert_eq!(&c, expected, "customer {i}");
        }
        assert!(reader.next_customer().unwrap().is_none());
        assert_eq!(reader.customers_read(), plan.customers.len() as u64);
        let mut rejected = Vec::new();
        while let Some(r) = reader.next_rejection().unwrap() {
            rejected.push(r);
        }
        assert_eq!(rejected, plan.rejected);
        assert_eq!(reader.finish().unwrap(), sha(&bytes));
    }

    #[test]
    fn unread_customers_are_skipped_and_still_hashed() {
        let plan = demo::plan(50);
        let bytes = canonical(&plan);
        let mut reader = PlanReader::new(&bytes[..]).unwrap();
        reader.next_customer().unwrap().unwrap();
        assert_eq!(
            reader.next_rejection().unwrap().as_ref(),
            plan.rejected.first()
        );
        assert_eq!(reader.finish().unwrap(), sha(&bytes));
        // Straight to the end from the head.
        let reader = PlanReader::new(&bytes[..]).unwrap();
        assert_eq!(reader.finish().unwrap(), sha(&bytes));
    }

    #[test]
    fn a_reader_without_the_sha256_reads_the_same_and_still_refuses_a_cut_plan() {
        let plan = demo::plan(3_000);
        let bytes = canonical(&plan);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plan.json");
        std::fs::write(&file, &bytes).unwrap();
        let mut reader = PlanReader::open_as_with::<Customer>(&file, Sha::Skip).unwrap();
        let mut customers = Vec::new();
        while let Some(c) = reader.next_customer().unwrap() {
            customers.push(c);
        }
        assert_eq!(customers, plan.customers);
        reader.end().unwrap();
        // `finish` promises a sha256 that was not computed: an error, not a wrong value.
        let reader = PlanReader::open_as_with::<Customer>(&file, Sha::Skip).unwrap();
        let message = format!("{:?}", reader.finish().unwrap_err());
        assert!(message.contains("without computing"), "{message}");
        let reader = PlanReader::open_as_with::<Customer>(&file, Sha::Compute).unwrap();
        assert_eq!(reader.finish().unwrap(), sha(&bytes));
        // Cut in the middle of a customer: refused, naming the file.
        let cut = bytes.len() / 2;
        std::fs::write(&file, &bytes[..cut]).unwrap();
        let reader = PlanReader::open_as_with::<Customer>(&file, Sha::Skip).unwrap();
        let err = reader.end().unwrap_err();
        assert!(
            matches!(&err, PlanFileError::InFile { source, .. }
                if matches!(**source, PlanFileError::Truncated(_))),
            "{err:?}"
        );
        assert!(err.to_string().contains("plan.json"), "{err}");
    }

    #[test]
    fn a_value_longer_than_the_read_buffer_and_escapes_at_every_cut() {
        let mut plan = demo::plan(3);
        plan.customers[1].name = Some("\"\\\u{1}é한".repeat(READ_CHUNK / 4));
        let bytes = canonical(&plan);
        assert!(bytes.len() > 2 * READ_CHUNK);
        assert_eq!(read_chunked(&bytes, READ_CHUNK).unwrap().0, plan);
        let mut small = demo::plan(2);
        small.customers[0].name = Some("a\\\"b\n\"".to_string());
        let bytes = canonical(&small);
        for chunk in 1..20 {
            assert_eq!(
                read_chunked(&bytes, chunk).unwrap().0,
                small,
                "chunk {chunk}"
            );
        }
    }

    /// The canonical layout with each customer's line broken after its first planned
    /// line (`{"key":…,"lines":[{…}` then the rest): every such first line looks like a
    /// customer alone on its line and is not one.
    fn broken_lines(bytes: &[u8]) -> Vec<u8> {
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let mut out = String::new();
        for line in text.split_inclusive('\n') {
            match line.find("\"warnings\":[") {
                Some(at) if line.starts_with("{\"key\"") => {
                    let end = at + line[at..].find("]}").unwrap() + 2;
                    out.push_str(&line[..end]);
                    out.push_str("\n  ");
                    out.push_str(&line[end..]);
                }
                _ => out.push_str(line),
            }
        }
        out.into_bytes()
    }

    #[test]
    fn lines_that_are_not_one_customer_are_scanned_instead() {
        let plan = demo::plan(300);
        let bytes = canonical(&plan);
        // Several customers on one line.
        let text = String::from_utf8(bytes.clone()).unwrap();
        let joined = text.replacen("},\n{\"key\"", "}, {\"key\"", 40);
        assert_ne!(joined, text);
        // Customers over several lines, each first line looking like a whole customer
        // (more of them than the fast path tolerates, so it turns itself off).
        let broken = broken_lines(&bytes);
        assert!(plan.customers.len() > FAST_MISSES as usize * 2);
        for variant in [joined.into_bytes(), broken.clone()] {
            for chunk in [7, 4096, READ_CHUNK] {
                let (back, digest) = read_chunked(&variant, chunk).unwrap();
                assert_eq!(back, plan, "chunk {chunk}");
                assert_eq!(digest, sha(&variant));
            }
        }
        let mut reader = PlanReader::new(&broken[..]).unwrap();
        while reader.next_customer().unwrap().is_some() {}
        assert!(!reader.fast, "the fast path turned itself off");
        // A broken customer after such lines is still named by its number and line.
        let text = String::from_utf8(broken).unwrap();
        let bad = text.replacen("\"relationship\":\"request\"", "\"relationship\":0", 1);
        let first_bad = text[..text.find("\"relationship\":\"request\"").unwrap()]
            .matches("{\"key\"")
            .count() as u64;
        let line = text[..text.find("\"relationship\":\"request\"").unwrap()]
            .matches('\n')
            .count()
            + 1;
        match PlanReader::new(bad.as_bytes()).and_then(PlanReader::read_all) {
            Err(PlanFileError::Customer { n, line: at, .. }) => {
                assert_eq!((n, at), (first_bad, line as u64));
            }
            other => panic!("{other:?}"),
        }
        // A canonical plan cut in the middle of a customer's line is refused as cut.
        let cut = &bytes[..bytes.len() / 2];
        let message = read_chunked(cut, READ_CHUNK).unwrap_err().to_string();
        assert!(message.contains("in the middle of customer"), "{message}");
    }

    #[test]
    fn a_view_reads_only_the_fields_it_names() {
        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Names {
            key: String,
            name: Option<String>,
            lines: Vec<Rows>,
        }
        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Rows {
            row: u64,
        }
        let plan = demo::plan(5_000);
        let bytes = canonical(&plan);
        let mut reader = PlanReader::new_as::<Names>(&bytes[..]).unwrap();
        assert_eq!(reader.head(), &PlanHead::of(&plan));
        let mut seen = Vec::new();
        while let Some(c) = reader.next_customer().unwrap() {
            seen.push(c);
        }
        let want: Vec<Names> = plan
            .customers
            .iter()
            .map(|c| Names {
                key: c.key.clone(),
                name: c.name.clone(),
                lines: c.lines.iter().map(|l| Rows { row: l.row }).collect(),
            })
            .collect();
        assert_eq!(seen, want);
        assert_eq!(
            reader.next_rejection().unwrap().as_ref(),
            plan.rejected.first()
        );
        assert_eq!(reader.finish().unwrap(), sha(&bytes));
        // A field the view names must still be right.
        let text = String::from_utf8(bytes)
            .unwrap()
            .replacen("\"row\":", "\"row\":-", 1);
        let message = PlanReader::new_as::<Names>(text.as_bytes())
            .and_then(|mut r| {
                while r.next_customer()?.is_some() {}
                r.finish()
            })
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("broken at customer 1 (line 2)"),
            "{message}"
        );
    }

    #[test]
    fn a_plan_cut_anywhere_is_refused_as_truncated() {
        let plan = demo::plan(4);
        for bytes in [canonical(&plan), serde_json::to_vec_pretty(&plan).unwrap()] {
            let end = bytes.iter().rposition(|b| *b == b'}').unwrap();
            for cut in 0..=end {
                match read_chunked(&bytes[..cut], 4096) {
                    Err(PlanFileError::Truncated(_)) => {}
                    other => panic!("cut at {cut} of {}: {other:?}", bytes.len()),
                }
            }
        }
        // The message says where and what to do.
        let bytes = canonical(&plan);
        let second = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
        let third = second + bytes[second..].iter().position(|b| *b == b'\n').unwrap() + 1;
        let message = read_chunked(&bytes[..third + 40], 4096)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("in the middle of customer 2 (line 3)"),
            "{message}"
        );
        assert!(message.contains("re-run `cspmove plan`"), "{message}");
    }

    #[test]
    fn other_schemas_broken_files_and_odd_layouts() {
        let err = |text: &str| PlanReader::new(text.as_bytes()).and_then(PlanReader::read_all);
        assert!(matches!(
            err(r#"{"schema": "someone.else/v3", "rows": []}"#),
            Err(PlanFileError::Schema(s)) if s == "someone.else/v3"
        ));
        assert!(matches!(
            err(r#"{"rows": []}"#),
            Err(PlanFileError::Schema(_))
        ));
        assert!(matches!(
            err("{ not json"),
            Err(PlanFileError::Syntax { line: 1, .. })
        ));
        assert!(matches!(err("[1, 2]"), Err(PlanFileError::Syntax { .. })));
        assert!(matches!(err(""), Err(PlanFileError::Truncated(_))));

        let plan = demo::plan(5);
        // Fields a reader does not know are skipped; rejected rows before the customers
        // are still handed out after them.
        let j = |v: &dyn erased::Json| v.json();
        let text = format!(
            "{{\"schema\":{},\"extra\":{{\"a\":[1,{{\"b\":\"]}}\"}}]}},\"generated_by\":{},\"as_of\":{},\
             \"lead_days\":{},\"inputs\":{},\"rejected\":{},\"summary\":{},\"customers\":{}}}",
            j(&plan.schema),
            j(&plan.generated_by),
            j(&plan.as_of),
            j(&plan.lead_days),
            j(&plan.inputs),
            j(&plan.rejected),
            j(&plan.summary),
            j(&plan.customers),
        );
        let (back, _) = PlanReader::new(text.as_bytes())
            .unwrap()
            .read_all()
            .unwrap();
        assert_eq!(back, plan);

        // Head fields after the customers are refused by name.
        let mut text = serde_json::to_string(&plan).unwrap();
        text = text.replacen("\"lead_days\":", "\"lead_dayz\":", 1);
        let message = err(&text).unwrap_err().to_string();
        assert!(message.contains("lead_days"), "{message}");

        // A broken customer is named by number and line; trailing garbage is refused.
        let bytes = canonical(&plan);
        let text = String::from_utf8(bytes).unwrap();
        let broken = text.replacen(
            "\"relationship\":\"request\"",
            "\"relationship\":\"maybe\"",
            1,
        );
        let message = err(&broken).unwrap_err().to_string();
        assert!(message.contains("customer 1 (line 2)"), "{message}");
        let message = err(&format!("{text}x")).unwrap_err().to_string();
        assert!(message.contains("after the end"), "{message}");
    }
}
