//! Writing output files, and the sha256 of file contents: one way each for the whole crate.
//!
//! Every file cspmove produces (the plan file, reports, `invitations.csv`, execution
//! reports, the sandbox's state file) goes through [`write_atomic`] or
//! [`write_atomic_with`]: the bytes go to a temporary file beside the target, which is
//! then renamed over it, so a reader never sees half a file and a failed write leaves the
//! old file untouched. Two decisions:
//!
//! - **The target is resolved first.** A symlink is written *through* (the new file
//!   replaces the link's target and the link stays), and a target that exists but is
//!   not a regular file (a device, a FIFO, a directory, a socket) is refused with a
//!   message instead of being replaced: renaming over `/dev/full` as root deletes the
//!   device. A new file takes the permissions of the file it replaces.
//! - **Durability is chosen per file** ([`Durability`]). Small files that a partner acts
//!   on are fsynced before the rename and the directory after it. The plan file, which
//!   can be a gigabyte, is not fsynced and an older plan is moved aside rather than
//!   renamed over (see [`Durability::MoveAside`] and docs/exit-codes.md).
//!
//! A file that can be large and is written front to back (the plan file, the reports of
//! a big plan) goes through [`PendingFile::streamed`]: the disk writes it, past the page
//! cache, while the caller is still producing it ([`Streamed`], [`direct`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use sha2::{Digest, Sha256};

pub mod direct;

/// How [`write_atomic_with`] makes the new file durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync the new file, rename it over the target, fsync the directory: after a power
    /// loss the path holds the old file or the complete new one.
    Fsync,
    /// No fsync; an existing file is renamed aside, the new one into place, and the old
    /// one removed. ext4 starts writing a file back at once when it is renamed over
    /// another (`auto_da_alloc`), which cost 0.4 s of a 2.5 s run on a 1 GB plan; moving
    /// the old file aside avoids that. The price: a power loss in the seconds after the
    /// write may leave an incomplete file, which is acceptable only for a file that can
    /// be made again and is checked when read (the plan file: `apply` refuses invalid
    /// JSON and a plan whose sha256 is not the journal's). Any failure of the process
    /// itself still leaves the old file or the new one.
    MoveAside,
}

/// Why a file could not be written. The path is the one the user gave.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write {}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "cannot write {}: it is {kind}, not a regular file, and cspmove will not replace it (give a file path)",
        shown(.path, .target)
    )]
    NotRegular {
        path: PathBuf,
        /// Where `path` leads after following symlinks.
        target: PathBuf,
        kind: &'static str,
    },
}

impl WriteError {
    /// The path as the user gave it.
    pub fn path(&self) -> &Path {
        match self {
            WriteError::Io { path, .. } | WriteError::NotRegular { path, .. } => path,
        }
    }

    /// The underlying I/O error, if any (a full disk, a permission, a broken pipe).
    pub fn io(&self) -> Option<&io::Error> {
        match self {
            WriteError::Io { source, .. } => Some(source),
            WriteError::NotRegular { .. } => None,
        }
    }
}

fn shown(path: &Path, target: &Path) -> String {
    if path == target {
        path.display().to_string()
    } else {
        format!("{} (a link to {})", path.display(), target.display())
    }
}

/// Whether `path` can be written: it does not exist yet, or it is (or links to) a
/// regular file. Commands call this before reading any input, so a wrong path costs
/// nothing; [`write_atomic_with`] checks again when it writes.
pub fn check_target(path: &Path) -> Result<(), WriteError> {
    target_of(path).map(|_| ())
}

/// What a path leads to once its symlinks are followed ([`follow`]).
#[derive(Debug)]
pub enum Followed {
    /// Nothing is there yet: a new file would be created at this path.
    Missing(PathBuf),
    /// A regular file, with its metadata.
    Regular(PathBuf, fs::Metadata),
    /// Something cspmove neither reads as a file nor replaces: a directory, a FIFO, a
    /// device, a socket (`kind` says which, as "a FIFO (named pipe)").
    Other { target: PathBuf, kind: &'static str },
}

/// Follows the symlinks of `path` (dangling ones too: their target is what would be
/// created) and says what is there. The one rule for every file cspmove writes, and for
/// the journal, which it also reads and appends to: only a regular file, or a path that
/// does not exist yet, is used; anything else is refused by the caller, never opened
/// (opening a FIFO blocks, writing a device destroys data).
pub fn follow(path: &Path) -> io::Result<Followed> {
    let target = resolve(path)?;
    match fs::metadata(&target) {
        Ok(meta) if meta.is_file() => Ok(Followed::Regular(target, meta)),
        Ok(meta) => Ok(Followed::Other {
            target,
            kind: kind_of(&meta.file_type()),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Followed::Missing(target)),
        Err(e) => Err(e),
    }
}

/// The path that is written for `path` (symlinks followed), and the metadata of the
/// regular file there, if one exists.
fn target_of(path: &Path) -> Result<(PathBuf, Option<fs::Metadata>), WriteError> {
    let followed = follow(path).map_err(|source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    match followed {
        Followed::Regular(target, meta) => Ok((target, Some(meta))),
        Followed::Missing(target) => Ok((target, None)),
        Followed::Other { target, kind } => Err(WriteError::NotRegular {
            path: path.to_path_buf(),
            target,
            kind,
        }),
    }
}

/// Writes `bytes` to `path` atomically and durably ([`Durability::Fsync`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_with(path, Durability::Fsync, |file| file.write_all(bytes))
}

/// Writes the file at `path` atomically: `write` fills a new temporary file beside the
/// target, which then replaces the target as `durability` says. On any error the
/// temporary file is removed and the target is as it was.
pub fn write_atomic_with(
    path: &Path,
    durability: Durability,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), WriteError> {
    let mut pending = PendingFile::create(path)?;
    write(pending.file()).map_err(|source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    pending.commit(durability)
}

/// A file of [`write_atomic_with`] whose bytes come over time, so that several can be
/// written at once (the reports of one pass over a plan): the temporary file is created
/// by [`PendingFile::create`], filled through [`PendingFile::file`], and replaces the
/// target on [`PendingFile::commit`]. Dropped without a commit, it is removed and the
/// target is as it was.
#[derive(Debug)]
pub struct PendingFile {
    path: PathBuf,
    target: PathBuf,
    temp: PathBuf,
    existing: Option<fs::Metadata>,
    file: Option<File>,
}

impl PendingFile {
    pub fn create(path: &Path) -> Result<PendingFile, WriteError> {
        let io_err = |source: io::Error| WriteError::Io {
            path: path.to_path_buf(),
            source,
        };
        let (target, existing) = target_of(path)?;
        let temp = temp_path(&target);
        let file = OpenOptions::new()
            .write(true)
            .read(true)
            .create_new(true)
            .open(&temp)
            .map_err(io_err)?;
        let pending = PendingFile {
            path: path.to_path_buf(),
            target,
            temp,
            existing,
            file: Some(file),
        };
        if let Some(meta) = &pending.existing {
            pending
                .file
                .as_ref()
                .expect("open")
                .set_permissions(meta.permissions())
                .map_err(io_err)?;
        }
        Ok(pending)
    }

    /// The path the user gave.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("open until committed")
    }

    /// Puts the new file in place as `durability` says.
    pub fn commit(mut self, durability: Durability) -> Result<(), WriteError> {
        let file = self.file.take().expect("open until committed");
        let result = match durability {
            Durability::Fsync => file.sync_all().and_then(|()| {
                drop(file);
                fs::rename(&self.temp, &self.target)?;
                sync_dir(&self.target);
                Ok(())
            }),
            Durability::MoveAside => {
                drop(file);
                replace_moving_aside(&self.temp, &self.target, self.existing.is_some())
            }
        };
        result.map_err(|source| WriteError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

impl PendingFile {
    /// This pending file as a [`Streamed`] writer: the way to write a file that can be
    /// large (a report of a million-line plan).
    pub fn streamed(self) -> Streamed {
        self.streamed_direct_after(0)
    }

    /// As [`PendingFile::streamed`], with the first `bytes` of the file written the
    /// ordinary way, into the page cache (see [`direct`]).
    pub fn streamed_direct_after(self, bytes: u64) -> Streamed {
        Streamed {
            file: self,
            direct_after: bytes,
            buf: direct::Block::new(STREAM_BLOCK),
            pipe: None,
            sequential: true,
            written: 0,
            kicked: 0,
            syncer: None,
        }
    }
}

/// Bytes a [`Streamed`] file gathers before they go to its writing thread; a file that
/// never holds more is written the ordinary way, at the end. A stream holds up to
/// `STREAM_QUEUE + 2` blocks (one filling, the queue, one being written): 16 MB.
/// Measured on the 1M-line plan, 4 MB blocks keep the disk as busy as 8 MB ones did
/// (the serialising threads waited under 0.05 s in all for a free place in the queue)
/// with half the memory.
const STREAM_BLOCK: usize = 4 << 20;
/// Blocks on their way to the writing thread at most.
const STREAM_QUEUE: usize = 2;
/// Bytes written the ordinary way between two background syncs (after a seek).
const SYNC_EVERY: u64 = 32 << 20;

/// A [`PendingFile`] filled front to back, at any size, with the disk writing while the
/// caller is still producing bytes. Main decision: a file bigger than one block
/// (`STREAM_BLOCK`) is handed in blocks to a thread of its own, which writes them
/// with `O_DIRECT` where the file system allows it ([`direct`]): the bytes
/// go from memory to the disk without a copy into the page cache, which on the
/// machine of docs/benchmarks.md costs more than the disk's own time, and the fsync
/// of the commit has nothing left to wait for. Writing is then bound by the slower
/// of the caller and the disk, not their sum. A writer that seeks (the zip of an
/// `.xlsx`) ends the stream: what is queued is written, and from then on bytes go
/// straight to the file, synced in the background every `SYNC_EVERY` bytes so the
/// final fsync does not wait for all of them either. A small file is written in one
/// go at the commit. The bytes in the file are the same either way.
pub struct Streamed {
    file: PendingFile,
    /// Bytes written the ordinary way before direct writes start.
    direct_after: u64,
    /// Bytes not yet handed on (up to a block), in memory aligned for direct writes.
    buf: direct::Block,
    /// The writing thread, once the first block is full.
    pipe: Option<Pipe>,
    /// Still written front to back (no seek yet).
    sequential: bool,
    /// After a seek: bytes written, and when the last background sync was asked for.
    written: u64,
    kicked: u64,
    syncer: Option<(mpsc::SyncSender<()>, std::thread::JoinHandle<()>)>,
}

struct Pipe {
    tx: mpsc::SyncSender<direct::Block>,
    /// Blocks written, to be filled again.
    spent: mpsc::Receiver<direct::Block>,
    thread: std::thread::JoinHandle<io::Result<()>>,
}

impl Streamed {
    /// The path the user gave.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Starts the writing thread; `Ok(false)` when no thread can be had (the bytes are
    /// then written here).
    fn start_pipe(&mut self) -> io::Result<bool> {
        let mut clone = self.file.file().try_clone()?;
        let direct_after = self.direct_after;
        let (tx, rx) = mpsc::sync_channel::<direct::Block>(STREAM_QUEUE);
        let (back, spent) = mpsc::sync_channel::<direct::Block>(STREAM_QUEUE + 1);
        let thread = std::thread::Builder::new()
            .name("file-writer".to_string())
            .spawn(move || -> io::Result<()> {
                let mut direct = direct::DirectWriter::new(&mut clone, direct_after);
                for mut block in rx {
                    // Whole blocks go from the block's own aligned memory to the disk.
                    direct.write_block(&block)?;
                    block.clear();
                    let _ = back.try_send(block);
                }
                direct.finish()
            });
        match thread {
            Ok(thread) => {
                self.pipe = Some(Pipe { tx, spent, thread });
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    }

    /// Hands the gathered bytes to the writing thread (starting it), or writes them here.
    fn hand_on(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if self.pipe.is_none() && !self.start_pipe()? {
            self.sequential = false;
            let buf = self.buf.take();
            return self.write_plain(buf.as_slice());
        }
        let pipe = self.pipe.as_ref().expect("started");
        // Handed on before a written block is taken back: a block is only new (its
        // memory taken at its first fill) when none came back while the queue had room.
        let block = self.buf.take();
        if pipe.tx.send(block).is_err() {
            // The thread stopped on an error: `end_pipe` returns it.
            return self.end_pipe();
        }
        if let Ok(spent) = pipe.spent.try_recv() {
            self.buf = spent;
        }
        Ok(())
    }

    /// Writes what is gathered or queued and stops the writing thread; the file is then
    /// in ordinary mode, its offset at its end.
    fn end_pipe(&mut self) -> io::Result<()> {
        let Some(pipe) = self.pipe.take() else {
            let buf = self.buf.take();
            return self.file.file().write_all(buf.as_slice());
        };
        let rest = self.buf.take();
        let sent = rest.is_empty() || pipe.tx.send(rest).is_ok();
        drop(pipe.tx);
        let result = pipe
            .thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the file-writing thread failed")));
        result?;
        if !sent {
            return Err(io::Error::other("the file-writing thread stopped early"));
        }
        Ok(())
    }

    /// Writes straight to the file (after a seek), with background syncs.
    fn write_plain(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.file().write_all(bytes)?;
        self.written += bytes.len() as u64;
        if self.written - self.kicked >= SYNC_EVERY {
            if self.syncer.is_none() {
                self.syncer = self.file.file().try_clone().ok().and_then(|clone| {
                    let (tx, rx) = mpsc::sync_channel::<()>(1);
                    std::thread::Builder::new()
                        .name("file-sync".to_string())
                        .spawn(move || {
                            for () in rx {
                                // Errors show at the commit's own fsync.
                                let _ = clone.sync_data();
                            }
                        })
                        .ok()
                        .map(|thread| (tx, thread))
                });
            }
            // A sync still running takes the new bytes with the next one.
            if let Some((tx, _)) = &self.syncer
                && tx.try_send(()).is_ok()
            {
                self.kicked = self.written;
            }
        }
        Ok(())
    }

    /// Writes what is left and puts the file in place, fsynced ([`Durability::Fsync`]).
    pub fn commit(self) -> Result<(), WriteError> {
        self.commit_as(Durability::Fsync)
    }

    /// Writes what is left and puts the file in place as `durability` says.
    pub fn commit_as(mut self, durability: Durability) -> Result<(), WriteError> {
        let ended = self.end_pipe();
        if let Some((tx, thread)) = self.syncer.take() {
            drop(tx);
            let _ = thread.join();
        }
        let path = self.file.path().to_path_buf();
        ended.map_err(|source| WriteError::Io { path, source })?;
        self.file.commit(durability)
    }
}

impl Write for Streamed {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write_all(bytes)?;
        Ok(bytes.len())
    }

    fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        if !self.sequential {
            return self.write_plain(bytes);
        }
        while !bytes.is_empty() {
            let n = self.buf.fill(bytes);
            bytes = &bytes[n..];
            if self.buf.is_full() {
                self.hand_on()?;
                if !self.sequential {
                    return self.write_plain(bytes);
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Gathered bytes go on when a block is full or at the commit.
        Ok(())
    }
}

impl io::Seek for Streamed {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        if self.sequential {
            if pos == io::SeekFrom::Current(0) && self.pipe.is_none() {
                // Where the writer is, asked without moving (the zip writer does).
                let at = self.file.file().stream_position()?;
                return Ok(at + self.buf.len() as u64);
            }
            self.end_pipe()?;
            self.sequential = false;
        }
        self.file.file().seek(pos)
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        // Still open: not committed (or the commit failed before the rename).
        if self.file.take().is_some() || self.temp.exists() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Follows symlinks (also dangling ones, whose target is then created) to the path that
/// is actually written.
fn resolve(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    // The kernel's own limit for nested links (ELOOP).
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

fn kind_of(file_type: &fs::FileType) -> &'static str {
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

/// `.NAME.PID-N.tmp` beside `target`: hidden, unique per process and per write (reports
/// are written in parallel), and recognisable as ours if a killed process leaves one.
fn temp_path(target: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cspmove".to_string());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(".{name}.{}-{n}.tmp", std::process::id()))
}

/// Makes the rename itself durable. Best effort: not every file system lets a directory
/// be opened and synced, and the data is already safe in the file.
fn sync_dir(target: &Path) {
    #[cfg(unix)]
    if let Some(dir) = target.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = target;
}

/// [`Durability::MoveAside`]: if the second rename fails, the old file is put back; if
/// the old file cannot be removed afterwards, the new one stands and a warning names the
/// leftover.
fn replace_moving_aside(temp: &Path, target: &Path, existing: bool) -> io::Result<()> {
    if !existing {
        return fs::rename(temp, target);
    }
    let aside = temp.with_extension("old");
    fs::rename(target, &aside)?;
    if let Err(e) = fs::rename(temp, target) {
        let _ = fs::rename(&aside, target);
        return Err(e);
    }
    if let Err(e) = fs::remove_file(&aside) {
        tracing::warn!(
            "the new file is at {}, but the old one could not be removed from {}: {e}",
            target.display(),
            aside.display()
        );
    }
    Ok(())
}

/// The sha256 of file contents as 64 lowercase hex digits, as the plan records its
/// inputs and the journal its plan.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The sha256 of the file at `path` (read in blocks, not into memory).
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut file = File::open(path)?;
    io::copy(&mut file, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp") || n.ends_with(".old"))
            .collect()
    }

    #[test]
    fn writes_a_new_file_and_replaces_an_old_one_in_both_modes() {
        let dir = tempfile::tempdir().unwrap();
        for durability in [Durability::Fsync, Durability::MoveAside] {
            let path = dir.path().join(format!("{durability:?}.txt"));
            write_atomic_with(&path, durability, |f| f.write_all(b"one")).unwrap();
            assert_eq!(fs::read(&path).unwrap(), b"one");
            write_atomic_with(&path, durability, |f| f.write_all(b"two")).unwrap();
            assert_eq!(fs::read(&path).unwrap(), b"two");
        }
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        fs::write(&path, "old").unwrap();
        for durability in [Durability::Fsync, Durability::MoveAside] {
            let err = write_atomic_with(&path, durability, |f| {
                f.write_all(b"half")?;
                Err(io::Error::other("disk on fire"))
            })
            .unwrap_err();
            assert_eq!(err.path(), path);
            assert_eq!(err.to_string(), format!("cannot write {}", path.display()));
            assert_eq!(err.io().unwrap().to_string(), "disk on fire");
            assert_eq!(fs::read_to_string(&path).unwrap(), "old");
            assert_eq!(leftovers(dir.path()), Vec::<String>::new());
        }
    }

    #[cfg(unix)]
    #[test]
    fn writes_through_a_symlink_and_keeps_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.csv");
        fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink("real.csv", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        // A dangling link: its target is created.
        let dangling = dir.path().join("dangling.csv");
        std::os::unix::fs::symlink("made.csv", &dangling).unwrap();
        write_atomic(&dangling, b"made").unwrap();
        assert!(
            fs::symlink_metadata(&dangling)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("made.csv")).unwrap(),
            "made"
        );
    }

    #[cfg(unix)]
    #[test]
    fn keeps_the_permissions_of_the_file_it_replaces() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("invitations.csv");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&path, b"new").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_fifo_a_directory_and_a_link_to_them() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let err = write_atomic(&fifo, b"x").unwrap_err();
        assert!(
            err.to_string()
                .contains("it is a FIFO (named pipe), not a regular file"),
            "{err}"
        );
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());

        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        let err = write_atomic(&sub, b"x").unwrap_err();
        assert!(err.to_string().contains("it is a directory"), "{err}");
        assert!(sub.is_dir());

        let link = dir.path().join("to-pipe");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        let err = write_atomic(&link, b"x").unwrap_err();
        assert!(err.to_string().contains("(a link to "), "{err}");
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    /// As root, renaming over a device deletes it. `/dev/null` is only checked (a
    /// regression here must not cost the machine its /dev/null); the write itself is
    /// tried on a device node made in a temporary directory where that is allowed (root).
    #[cfg(unix)]
    #[test]
    fn refuses_a_character_device() {
        use std::os::unix::fs::FileTypeExt;
        let err = check_target(Path::new("/dev/null")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot write /dev/null: it is a character device, not a regular file, and \
             cspmove will not replace it (give a file path)"
        );
        let dir = tempfile::tempdir().unwrap();
        let device = dir.path().join("null");
        let made = std::process::Command::new("mknod")
            .arg(&device)
            .args(["c", "1", "3"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if made {
            let err = write_atomic(&device, b"x").unwrap_err();
            assert!(err.to_string().contains("character device"), "{err}");
            assert!(
                fs::symlink_metadata(&device)
                    .unwrap()
                    .file_type()
                    .is_char_device()
            );
            assert_eq!(leftovers(dir.path()), Vec::<String>::new());
        }
    }

    /// A streamed file holds exactly the bytes written, whatever their pieces: small (in
    /// one go at the commit), several blocks (through the writing thread, directly where
    /// the file system allows), and with seeks that patch earlier bytes (the zip of an
    /// `.xlsx`), before and after the first block.
    #[test]
    fn a_streamed_file_holds_exactly_the_bytes_written() {
        use std::io::{Seek, SeekFrom};
        // In the crate directory rather than /tmp, which may be a tmpfs (no O_DIRECT).
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        let data: Vec<u8> = (0..(3 * STREAM_BLOCK + 12_345) as u64)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for (case, len) in [10, STREAM_BLOCK, STREAM_BLOCK + 1, data.len()]
            .into_iter()
            .enumerate()
        {
            for patch_at in [None, Some(5), Some(len.saturating_sub(3))] {
                let path = dir.path().join(format!("{case}-{patch_at:?}.bin"));
                fs::write(&path, b"old").unwrap();
                let mut out = PendingFile::create(&path).unwrap().streamed();
                let mut want = data[..len].to_vec();
                let mut at = 0;
                let mut piece = 1;
                while at < len {
                    let n = piece.min(len - at);
                    out.write_all(&data[at..at + n]).unwrap();
                    at += n;
                    piece = piece * 7 % 1_000_003 + 1;
                }
                if let Some(p) = patch_at {
                    assert_eq!(out.stream_position().unwrap(), len as u64);
                    out.seek(SeekFrom::Start(p as u64)).unwrap();
                    out.write_all(b"XYZ").unwrap();
                    want[p..p + 3].copy_from_slice(b"XYZ");
                    out.seek(SeekFrom::End(0)).unwrap();
                    out.write_all(b"tail").unwrap();
                    want.extend_from_slice(b"tail");
                }
                out.commit().unwrap();
                let got = fs::read(&path).unwrap();
                assert_eq!(got.len(), want.len(), "{case} {patch_at:?}");
                assert!(got == want, "{case} {patch_at:?}: bytes differ");
            }
        }
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    /// The plan file's way: the first `n` bytes the ordinary way, the rest directly, for
    /// lengths around `n` and around the blocks; committed moving the old file aside.
    #[test]
    fn a_streamed_file_with_an_ordinary_start_holds_exactly_the_bytes_written() {
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        let data: Vec<u8> = (0..(3 * STREAM_BLOCK + 5_000) as u64)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        for direct_after in [4096_u64, STREAM_BLOCK as u64 + 100] {
            let n = direct_after as usize;
            for len in [n - 1, n, n + 1, n + STREAM_BLOCK, data.len()] {
                let path = dir.path().join(format!("{direct_after}-{len}.bin"));
                fs::write(&path, b"old plan").unwrap();
                let mut out = PendingFile::create(&path)
                    .unwrap()
                    .streamed_direct_after(direct_after);
                for piece in data[..len].chunks(65_537) {
                    out.write_all(piece).unwrap();
                }
                out.commit_as(Durability::MoveAside).unwrap();
                let got = fs::read(&path).unwrap();
                assert!(
                    got == data[..len],
                    "direct after {direct_after}, {len} bytes"
                );
                assert_eq!(
                    leftovers(dir.path()).len(),
                    0,
                    "{:?}",
                    leftovers(dir.path())
                );
            }
        }
    }

    #[test]
    fn a_streamed_file_dropped_without_a_commit_leaves_the_old_file() {
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        let path = dir.path().join("r.csv");
        fs::write(&path, b"old").unwrap();
        let mut out = PendingFile::create(&path).unwrap().streamed();
        out.write_all(&vec![b'x'; 2 * STREAM_BLOCK + 1]).unwrap();
        drop(out);
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn sha256_of_bytes_and_of_a_file_agree() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(&path, &data).unwrap();
        assert_eq!(sha256_file(&path).unwrap(), sha256_hex(&data));
    }
}
