//! Writing a big file past the page cache (`O_DIRECT` on Linux), on the writing thread
//! of a [`super::Streamed`] file: the plan file (`plan::write`, after its first
//! [`DIRECT_AFTER`] bytes) and the reports of a big plan (from their first block).
//! Their blocks are [`Block`]s, aligned for a direct write, which go to the disk
//! without a copy.
//!
//! A 1M-row plan is a gigabyte. Written the ordinary way, every 4 KiB of it is first
//! copied into a fresh page of the kernel's page cache; on the 2-core VM of
//! docs/benchmarks.md memory that has been free for a few seconds has been handed back to
//! the hypervisor (free page reporting), and getting it back costs more than the copy:
//! `dd` of 1 GB took 2.4–2.7 s of system time there against 0.07 s with `O_DIRECT`,
//! and the kernel's copy into the page cache was 22% of a cold `cspmove plan`.
//!
//! The main decision: only the part of a file past its first [`DIRECT_AFTER`] bytes is
//! written directly, so small plans (every sample, every test fixture) are written as
//! before and stay in the page cache for the command that reads them next; a big plan's
//! first 64 MiB does too. The bytes are the same either way: direct writes go from an
//! aligned buffer in whole blocks at aligned offsets, the tail that does not fill a
//! block is written the ordinary way, and a file system that refuses `O_DIRECT` (tmpfs,
//! some network file systems) is simply written the ordinary way. The price is that the
//! rest of a big plan is not in the page cache afterwards: a `report` or `status` run
//! right after reads it from disk.

use std::fs::File;
use std::io::{self, Write};

/// Bytes written the ordinary way before switching to direct writes.
pub const DIRECT_AFTER: u64 = 64 << 20;
/// Size of the aligned buffer, and of each direct write.
const BUFFER: usize = 8 << 20;
/// Alignment of buffer, length and offset of direct writes (covers 512-byte and 4 KiB
/// logical blocks).
const ALIGN: usize = 4096;

/// A heap buffer whose usable part starts at an [`ALIGN`]ed address (without `unsafe`:
/// a slightly bigger vector, used from its first aligned byte).
struct Aligned {
    bytes: Vec<u8>,
    start: usize,
}

impl Aligned {
    fn new(len: usize) -> Aligned {
        let bytes = vec![0u8; len + ALIGN];
        let start = bytes.as_ptr().align_offset(ALIGN);
        assert!(start < ALIGN, "a byte pointer can be aligned");
        Aligned { bytes, start }
    }

    fn capacity(&self) -> usize {
        self.bytes.len().saturating_sub(ALIGN)
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        let len = self.capacity();
        &mut self.bytes[self.start..self.start + len]
    }
}

/// Bytes gathered for one write, in memory aligned for a direct write: a file's bytes
/// filled into blocks of [`Block::new`]'s size (a multiple of [`ALIGN`]) go from the
/// block to the disk with [`DirectWriter::write_block`], without a copy.
pub(crate) struct Block {
    /// Allocated by the first [`Block::fill`].
    memory: Option<Aligned>,
    size: usize,
    len: usize,
}

impl Block {
    /// An empty block that holds up to `size` bytes (memory taken when first filled).
    pub(crate) fn new(size: usize) -> Block {
        Block {
            memory: None,
            size,
            len: 0,
        }
    }

    /// Appends as much of `bytes` as fits; returns how much that was.
    pub(crate) fn fill(&mut self, bytes: &[u8]) -> usize {
        let n = (self.size - self.len).min(bytes.len());
        if n > 0 {
            let size = self.size;
            let memory = self.memory.get_or_insert_with(|| Aligned::new(size));
            memory.as_mut_slice()[self.len..self.len + n].copy_from_slice(&bytes[..n]);
            self.len += n;
        }
        n
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        match &self.memory {
            Some(m) => &m.bytes[m.start..m.start + self.len],
            None => &[],
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == self.size
    }

    /// Empties the block, keeping its memory.
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    /// The block as it is, leaving an empty one of the same size (no memory yet).
    pub(crate) fn take(&mut self) -> Block {
        std::mem::replace(self, Block::new(self.size))
    }

    /// Drops the first `n` bytes, keeping the rest at the front.
    fn consume(&mut self, n: usize) {
        if let Some(m) = self.memory.as_mut() {
            m.as_mut_slice().copy_within(n..self.len, 0);
        }
        self.len -= n;
    }
}

/// A writer that switches `file` to `O_DIRECT` once `direct_after` bytes are written
/// and then writes whole aligned blocks, copied into an aligned buffer or, for a
/// [`Block`] that is whole blocks itself, straight from it.
pub struct DirectWriter<'f> {
    file: &'f mut File,
    /// Bytes written to the file so far.
    written: u64,
    direct_after: u64,
    /// `O_DIRECT` is on.
    direct: bool,
    /// Bytes copied in while direct (its memory taken when first needed).
    buffer: Block,
}

impl<'f> DirectWriter<'f> {
    /// A writer that writes the ordinary way up to `direct_after` bytes (rounded up to
    /// a block), then directly where the file system allows. `file` must be empty and
    /// at its start: whether a write is aligned is judged from the bytes written here.
    pub fn new(file: &'f mut File, direct_after: u64) -> DirectWriter<'f> {
        DirectWriter {
            file,
            written: 0,
            direct_after: direct_after
                .checked_next_multiple_of(ALIGN as u64)
                .unwrap_or(u64::MAX),
            direct: false,
            buffer: Block::new(BUFFER),
        }
    }

    /// Whether writes go past the page cache by now.
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    fn write_plain(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Switches to direct writes if the file is at an aligned offset and its file
    /// system takes them; else stays in the ordinary way for good.
    fn switch_on(&mut self) -> io::Result<bool> {
        // Any failure to set the flag means the ordinary way, never a failed write.
        if self.written.is_multiple_of(ALIGN as u64)
            && matches!(set_direct(self.file, true), Ok(true))
        {
            self.direct = true;
        } else {
            // An unaligned position (a short file that grew) or no O_DIRECT.
            self.direct_after = u64::MAX;
        }
        Ok(self.direct)
    }

    /// Writes `data` (whole aligned blocks, from aligned memory) at the current, aligned
    /// offset; a file system that refuses (EINVAL) gets the rest the ordinary way, and
    /// so does everything after. Returns the bytes written directly.
    fn write_direct(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < data.len() {
            match self.file.write(&data[done..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(EINVAL) => {
                    // Some file systems accept the flag but not the write (or not this
                    // alignment): the rest goes the ordinary way.
                    set_direct(self.file, false)?;
                    self.direct = false;
                    self.direct_after = u64::MAX;
                    self.written += done as u64;
                    return Ok(done);
                }
                Err(e) => return Err(e),
            }
        }
        self.written += done as u64;
        Ok(done)
    }

    /// Writes the whole blocks of the buffer directly and keeps the rest.
    fn flush_blocks(&mut self) -> io::Result<()> {
        let mut buffer = self.buffer.take();
        let blocks = buffer.len() / ALIGN * ALIGN;
        let done = self.write_direct(&buffer.as_slice()[..blocks])?;
        if !self.direct {
            return self.write_plain(&buffer.as_slice()[done..]);
        }
        buffer.consume(blocks);
        self.buffer = buffer;
        Ok(())
    }

    /// Writes `block` as [`Write::write_all`] does, straight from its memory when it is
    /// whole aligned blocks and nothing else waits in the buffer (no copy).
    pub(crate) fn write_block(&mut self, block: &Block) -> io::Result<()> {
        let data = block.as_slice();
        let whole = !data.is_empty()
            && data.len().is_multiple_of(ALIGN)
            && (data.as_ptr() as usize).is_multiple_of(ALIGN)
            && self.buffer.is_empty();
        if whole && !self.direct && self.written >= self.direct_after {
            self.switch_on()?;
        }
        if whole && self.direct {
            let done = self.write_direct(data)?;
            return self.write_plain(&data[done..]);
        }
        self.write_all(data)
    }

    /// Writes what is left (the ordinary way) and turns `O_DIRECT` off again.
    pub fn finish(mut self) -> io::Result<()> {
        if !self.direct {
            return Ok(());
        }
        self.flush_blocks()?;
        if self.direct {
            set_direct(self.file, false)?;
            self.direct = false;
            let tail = self.buffer.take();
            self.write_plain(tail.as_slice())?;
        }
        Ok(())
    }
}

impl Write for DirectWriter<'_> {
    fn write(&mut self, mut bytes: &[u8]) -> io::Result<usize> {
        let total = bytes.len();
        if !self.direct {
            let room = self.direct_after.saturating_sub(self.written);
            if room > 0 {
                let n = bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX));
                self.write_plain(&bytes[..n])?;
                bytes = &bytes[n..];
            }
            if bytes.is_empty() {
                return Ok(total);
            }
            if !self.switch_on()? {
                self.write_plain(bytes)?;
                return Ok(total);
            }
        }
        while !bytes.is_empty() {
            if !self.direct {
                // A direct write was refused on the way: the rest goes the ordinary way.
                self.write_plain(bytes)?;
                break;
            }
            let n = self.buffer.fill(bytes);
            bytes = &bytes[n..];
            if self.buffer.is_full() {
                self.flush_blocks()?;
            }
        }
        Ok(total)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Direct writes go out in whole blocks; the tail waits for `finish`.
        Ok(())
    }
}

/// The error a file system gives for a direct write it does not take.
const EINVAL: i32 = 22;

/// Sets or clears `O_DIRECT` on `file`; `Ok(false)` when the platform or the file system
/// does not offer it.
#[cfg(target_os = "linux")]
fn set_direct(file: &File, on: bool) -> io::Result<bool> {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    let flags = fcntl_getfl(file)?;
    let wanted = if on {
        flags | OFlags::DIRECT
    } else {
        flags - OFlags::DIRECT
    };
    match fcntl_setfl(file, wanted) {
        Ok(()) => Ok(true),
        Err(e) if on && e == rustix::io::Errno::INVAL => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(target_os = "linux"))]
fn set_direct(_file: &File, _on: bool) -> io::Result<bool> {
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// Writes `bytes` in pieces of the given sizes (cycled) and reads the file back.
    fn written(bytes: &[u8], pieces: &[usize], direct_after: u64) -> (Vec<u8>, bool) {
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        let path = dir.path().join("plan.json");
        let mut file = File::create(&path).unwrap();
        let mut writer = DirectWriter::new(&mut file, direct_after);
        let mut rest = bytes;
        for &size in pieces.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let n = size.min(rest.len());
            writer.write_all(&rest[..n]).unwrap();
            rest = &rest[n..];
        }
        let direct = writer.is_direct();
        writer.finish().unwrap();
        drop(file);
        (std::fs::read(&path).unwrap(), direct)
    }

    #[test]
    fn every_length_is_written_byte_for_byte() {
        for len in [
            0,
            1,
            ALIGN - 1,
            ALIGN,
            ALIGN + 1,
            3 * ALIGN + 17,
            BUFFER - 1,
            BUFFER,
            BUFFER + 1,
            2 * BUFFER + ALIGN + 5,
        ] {
            let bytes = data(len);
            for direct_after in [0, 1, ALIGN as u64, 10_000] {
                for pieces in [&[1_000_003][..], &[1, 4095, 70_000, 13]] {
                    let (back, _) = written(&bytes, pieces, direct_after);
                    assert!(back == bytes, "len {len}, direct after {direct_after}");
                }
            }
        }
    }

    #[test]
    fn blocks_are_written_byte_for_byte_with_or_without_a_copy() {
        // Whole aligned blocks go straight from the block; a block after bytes that
        // are still buffered, a short block and the tail are copied. The file is the
        // bytes in order either way.
        let bytes = data(9 * ALIGN + 123);
        for (direct_after, plain_first) in [(0, 0), (0, 17), (ALIGN as u64, 0), (u64::MAX, 0)] {
            let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
            let path = dir.path().join("file");
            let mut file = File::create(&path).unwrap();
            let mut writer = DirectWriter::new(&mut file, direct_after);
            writer.write_all(&bytes[..plain_first]).unwrap();
            let mut rest = &bytes[plain_first..];
            let mut block = Block::new(2 * ALIGN);
            while !rest.is_empty() {
                let n = block.fill(rest);
                rest = &rest[n..];
                if block.is_full() || rest.is_empty() {
                    writer.write_block(&block).unwrap();
                    block.clear();
                }
            }
            writer.finish().unwrap();
            drop(file);
            let back = std::fs::read(&path).unwrap();
            assert!(
                back == bytes,
                "direct after {direct_after}, {plain_first} plain first"
            );
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn blocks_on_tmpfs_are_written_byte_for_byte() {
        // tmpfs refused O_DIRECT before Linux 6.6 (every block then goes the ordinary
        // way) and takes it since: the bytes are the same either way.
        let Ok(dir) = tempfile::tempdir_in("/dev/shm") else {
            return;
        };
        let path = dir.path().join("file");
        let bytes = data(3 * ALIGN + 5);
        let mut file = File::create(&path).unwrap();
        let mut writer = DirectWriter::new(&mut file, 0);
        let mut block = Block::new(2 * ALIGN);
        for piece in bytes.chunks(2 * ALIGN) {
            block.fill(piece);
            writer.write_block(&block).unwrap();
            block.clear();
        }
        let direct = writer.is_direct();
        writer.finish().unwrap();
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        let probe = File::create(dir.path().join("probe")).unwrap();
        if !set_direct(&probe, true).unwrap() {
            assert!(
                !direct,
                "no direct writes where the file system refuses them"
            );
        }
    }

    #[test]
    fn small_files_are_written_the_ordinary_way() {
        let bytes = data(100_000);
        let (back, direct) = written(&bytes, &[4096], DIRECT_AFTER);
        assert_eq!(back, bytes);
        assert!(!direct);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn big_files_switch_to_direct_writes_where_the_file_system_allows() {
        let bytes = data(BUFFER + 3 * ALIGN + 1);
        let (back, direct) = written(&bytes, &[65_536], ALIGN as u64);
        assert_eq!(back, bytes);
        // The worktree's file system (ext4 here) takes O_DIRECT; tmpfs may not, and the
        // bytes are the same either way.
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        let probe = File::create(dir.path().join("probe")).unwrap();
        if set_direct(&probe, true).unwrap() {
            assert!(direct, "switched to O_DIRECT after the first block");
        }
    }
}
