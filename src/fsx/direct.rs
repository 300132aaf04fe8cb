//! Writing a big file past the page cache (`O_DIRECT` on Linux): the plan file
//! (`plan::write`, after its first [`DIRECT_AFTER`] bytes) and the reports of a big
//! plan ([`super::Streamed`], from their first block).
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

    fn as_mut_slice(&mut self) -> &mut [u8] {
        let len = self.bytes.len() - ALIGN;
        &mut self.bytes[self.start..self.start + len]
    }
}

/// A `Write` into a new, empty file that switches the file to `O_DIRECT` once
/// `direct_after` bytes are written (when the file system allows it). Call
/// [`DirectWriter::finish`] at the end: dropping it without loses the buffered bytes.
pub struct DirectWriter<'f> {
    file: &'f mut File,
    /// Bytes handed to the file so far (its length).
    written: u64,
    direct_after: u64,
    /// `Some` once writing directly.
    buffer: Option<Aligned>,
    filled: usize,
}

impl<'f> DirectWriter<'f> {
    /// `file` must be empty and open for writing; `direct_after` is rounded up to a
    /// multiple of the alignment.
    pub fn new(file: &'f mut File, direct_after: u64) -> DirectWriter<'f> {
        DirectWriter {
            file,
            written: 0,
            direct_after: direct_after.next_multiple_of(ALIGN as u64),
            buffer: None,
            filled: 0,
        }
    }

    /// Whether the writer has switched to direct writes.
    pub fn is_direct(&self) -> bool {
        self.buffer.is_some()
    }

    fn write_plain(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Writes the full blocks of the buffer directly and keeps the rest at its start.
    fn flush_blocks(&mut self) -> io::Result<()> {
        let blocks = self.filled / ALIGN * ALIGN;
        let Some(buffer) = self.buffer.as_mut() else {
            return Ok(());
        };
        let data = buffer.as_mut_slice();
        let mut done = 0;
        while done < blocks {
            match self.file.write(&data[done..blocks]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(EINVAL) => {
                    // The file system took the flag but not the write (a refused write
                    // writes nothing): the rest goes the ordinary way.
                    set_direct(self.file, false)?;
                    self.file.write_all(&data[done..self.filled])?;
                    self.written += self.filled as u64;
                    self.filled = 0;
                    self.buffer = None;
                    self.direct_after = u64::MAX;
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        data.copy_within(blocks..self.filled, 0);
        self.written += blocks as u64;
        self.filled -= blocks;
        Ok(())
    }

    /// Writes what is buffered (the last partial block the ordinary way) and leaves the
    /// file in ordinary mode.
    pub fn finish(mut self) -> io::Result<()> {
        if self.buffer.is_none() {
            return Ok(());
        }
        self.flush_blocks()?;
        if let Some(mut buffer) = self.buffer.take() {
            set_direct(self.file, false)?;
            let tail = &buffer.as_mut_slice()[..self.filled];
            self.file.write_all(tail)?;
            self.written += self.filled as u64;
            self.filled = 0;
        }
        Ok(())
    }
}

impl Write for DirectWriter<'_> {
    fn write(&mut self, mut bytes: &[u8]) -> io::Result<usize> {
        let total = bytes.len();
        if self.buffer.is_none() {
            let room = self.direct_after.saturating_sub(self.written);
            if room > 0 {
                let n = bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX));
                self.write_plain(&bytes[..n])?;
                bytes = &bytes[n..];
            }
            if bytes.is_empty() {
                return Ok(total);
            }
            if !self.written.is_multiple_of(ALIGN as u64)
                || !set_direct(self.file, true).is_ok_and(|on| on)
            {
                // Not at a block boundary (the file was not empty) or no O_DIRECT here.
                self.direct_after = u64::MAX;
                self.write_plain(bytes)?;
                return Ok(total);
            }
            self.buffer = Some(Aligned::new(BUFFER));
        }
        while !bytes.is_empty() {
            let Some(buffer) = self.buffer.as_mut() else {
                // A refused direct write switched back to ordinary writes.
                self.write_plain(bytes)?;
                break;
            };
            let room = BUFFER - self.filled;
            let n = room.min(bytes.len());
            buffer.as_mut_slice()[self.filled..self.filled + n].copy_from_slice(&bytes[..n]);
            self.filled += n;
            bytes = &bytes[n..];
            if self.filled == BUFFER {
                self.flush_blocks()?;
            }
        }
        Ok(total)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Buffered bytes that do not fill a block can only be written at the end.
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
