//! Writing the plan file: compact JSON, one customer (and one rejection) per line,
//! written atomically.
//!
//! Main decision: at a million rows a pretty-printed plan is several times larger and
//! slower to write and read, while one compact object per line still diffs, greps and
//! streams well; any JSON reader reads it as the same document serde would write. The
//! customers are serialised in parallel in bounded batches (so memory stays flat; the
//! next batch is serialised while the last one is written) and written in plan order,
//! so the bytes do not depend on the thread count. The file is a
//! [`crate::fsx::PendingFile`] (beside its destination under a temporary name, renamed
//! into place; an older plan moved aside rather than renamed over,
//! [`Durability::MoveAside`]), so a reader never sees half a plan and a failed write
//! leaves any older plan untouched. It is filled through [`Streamed`]: a thread of its
//! own writes the bytes, past the page cache after the first 64 MiB, while the next
//! customers are serialised.

use std::io::{self, Write};
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use crate::fsx::direct::DIRECT_AFTER;
use crate::fsx::{Durability, PendingFile, Streamed};
use crate::model::{Customer, InputInfo, Plan, Rejection, Summary};
use crate::plan::Prepared;

/// Customers serialised per parallel work item.
const CHUNK: usize = 256;
/// Work items held in memory at once.
const BATCH: usize = 16;

#[derive(Serialize)]
struct Head<'a> {
    schema: &'a str,
    generated_by: &'a str,
    as_of: chrono::NaiveDate,
    lead_days: u32,
    inputs: &'a [InputInfo],
    summary: &'a Summary,
}

fn json_err(e: serde_json::Error) -> io::Error {
    io::Error::other(e)
}

/// Writes one list item as JSON.
type WriteItem<T> = fn(&mut Vec<u8>, &T) -> io::Result<()>;

fn serde_item<T: Serialize>(out: &mut Vec<u8>, item: &T) -> io::Result<()> {
    serde_json::to_writer(out, item).map_err(json_err)
}

fn customer_item(out: &mut Vec<u8>, customer: &Customer) -> io::Result<()> {
    crate::plan::json::write_customer(out, customer);
    Ok(())
}

/// Serialises `batch` into `buffers`, one buffer per chunk of `CHUNK` items, in
/// parallel; returns how many buffers it filled.
fn serialise_batch<T: Sync>(
    batch: &[T],
    buffers: &mut [Vec<u8>],
    write_item: WriteItem<T>,
) -> io::Result<usize> {
    batch
        .par_chunks(CHUNK)
        .zip(buffers.par_iter_mut())
        .try_for_each(|(chunk, buf)| {
            buf.clear();
            for (i, item) in chunk.iter().enumerate() {
                if i > 0 {
                    buf.extend_from_slice(b",\n");
                }
                write_item(buf, item)?;
            }
            Ok::<(), io::Error>(())
        })?;
    Ok(batch.len().div_ceil(CHUNK))
}

fn write_list<T: Sync>(
    out: &mut (impl Write + Send),
    items: &[T],
    write_item: WriteItem<T>,
) -> io::Result<()> {
    if items.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(b"[\n")?;
    write_batches(out, items.chunks(CHUNK * BATCH), BATCH, |batch, buffers| {
        serialise_batch(batch, buffers, write_item)
    })?;
    out.write_all(b"\n]")
}

/// Writes to `out`, in order and separated by `,\n`, the chunks of JSON that `fill`
/// serialises from each of `batches` into up to `buffers` buffers (returning how many it
/// filled; a batch that fills none ends the list). Runs on the current rayon pool.
///
/// Two sets of buffers: while one batch is written out, the next is serialised, so the
/// file system and the serialiser work at the same time. Buffers are reused batch after
/// batch: fresh ones would cost a page fault per 4 KiB written.
pub(crate) fn write_batches<B: Send, W: Write + Send + ?Sized>(
    out: &mut W,
    mut batches: impl Iterator<Item = B>,
    buffers: usize,
    fill: impl Fn(B, &mut [Vec<u8>]) -> io::Result<usize> + Sync,
) -> io::Result<()> {
    let mut ready: Vec<Vec<u8>> = vec![Vec::new(); buffers];
    let mut spare: Vec<Vec<u8>> = vec![Vec::new(); buffers];
    let mut filled = match batches.next() {
        Some(batch) => fill(batch, &mut ready)?,
        None => 0,
    };
    let mut first = true;
    while filled > 0 {
        let next = batches.next();
        let (written, serialised) = rayon::join(
            || -> io::Result<()> {
                for buf in &ready[..filled] {
                    if !first {
                        out.write_all(b",\n")?;
                    }
                    first = false;
                    out.write_all(buf)?;
                }
                Ok(())
            },
            || match next {
                Some(batch) => fill(batch, &mut spare),
                None => Ok(0),
            },
        );
        written?;
        filled = serialised?;
        std::mem::swap(&mut ready, &mut spare);
    }
    Ok(())
}

/// Writes the head of `plan` (every field before `customers`), then `,"customers":`.
fn write_head(plan: &Plan, out: &mut impl Write) -> io::Result<()> {
    let head = serde_json::to_vec(&Head {
        schema: &plan.schema,
        generated_by: &plan.generated_by,
        as_of: plan.as_of,
        lead_days: plan.lead_days,
        inputs: &plan.inputs,
        summary: &plan.summary,
    })
    .map_err(json_err)?;
    // The head object without its closing brace; the lists follow as more fields.
    out.write_all(&head[..head.len() - 1])?;
    out.write_all(b",\"customers\":")
}

/// Writes the rejections and closes the document.
fn write_tail(plan: &Plan, out: &mut (impl Write + Send)) -> io::Result<()> {
    out.write_all(b",\"rejected\":")?;
    write_list(out, &plan.rejected, serde_item::<Rejection>)?;
    out.write_all(b"}\n")
}

/// Writes `plan` as JSON to `out` (runs on the current rayon pool).
pub fn write_plan(plan: &Plan, out: &mut (impl Write + Send)) -> io::Result<()> {
    write_head(plan, out)?;
    write_list(out, &plan.customers, customer_item)?;
    write_tail(plan, out)
}

/// Writes the plan `prepared` holds, building its customers a few at a time: the same
/// bytes [`write_plan`] writes for the plan [`Prepared::build`] returns. Returns the plan
/// without its customers.
pub fn write_prepared(prepared: Prepared<'_>, out: &mut (impl Write + Send)) -> io::Result<Plan> {
    write_head(prepared.head(), out)?;
    let plan = if prepared.head().summary.customers == 0 {
        out.write_all(b"[]")?;
        prepared.build()
    } else {
        out.write_all(b"[\n")?;
        let plan = prepared.write_customers(out)?;
        out.write_all(b"\n]")?;
        plan
    };
    write_tail(&plan, out)?;
    Ok(plan)
}

/// A plan file that could not be written (it names the path).
pub use crate::fsx::WriteError;

/// Writes `plan` to `path` atomically (temporary file beside it, then rename), using
/// `threads` workers for serialising (`None` = one per core).
pub fn write_plan_file(plan: &Plan, path: &Path, threads: Option<usize>) -> Result<(), WriteError> {
    write_atomically(path, threads, |out| write_plan(plan, out))
}

/// Writes the plan `prepared` holds to `path` atomically, as [`write_prepared`] does;
/// the same file [`write_plan_file`] writes for the plan with its customers. Returns
/// the plan without its customers.
pub fn write_prepared_file(prepared: Prepared<'_>, path: &Path) -> Result<Plan, WriteError> {
    let mut plan = None;
    // The customers are built on the planning pool; one thread serialises the rejections.
    write_atomically(path, Some(1), |out| {
        plan = Some(write_prepared(prepared, out)?);
        Ok(())
    })?;
    Ok(plan.expect("written"))
}

fn write_atomically(
    path: &Path,
    threads: Option<usize>,
    write: impl FnOnce(&mut Streamed) -> io::Result<()> + Send,
) -> Result<(), WriteError> {
    let io_err = |source: io::Error| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|e| io_err(io::Error::other(e)))?;
    // A big plan goes to the disk in blocks written by a thread of their own
    // (`fsx::Streamed`), so the serialising threads never wait for the disk; past its
    // first 64 MiB, past the page cache (`fsx::direct`).
    let mut out = PendingFile::create(path)?.streamed_direct_after(DIRECT_AFTER);
    pool.install(|| write(&mut out)).map_err(io_err)?;
    tracing::debug!("plan file filled: cpu {:.2}s", crate::plan::cpu_seconds());
    out.commit_as(Durability::MoveAside)?;
    tracing::debug!("plan file in place: cpu {:.2}s", crate::plan::cpu_seconds());
    Ok(())
}
