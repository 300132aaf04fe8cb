//! Streaming a big UTF-8 CSV file from disk instead of reading it whole first.
//!
//! Reading 200 MB into memory before parsing puts the whole copy (and a page fault per
//! 4 KiB of fresh memory) in front of everything else. When the first MiB shows plain
//! UTF-8 text with a header row, the file is instead fed to the csv parser in 1 MiB
//! chunks, hashed as it passes, while earlier rows are already being validated. The main
//! decision: streaming is only an optimisation of the common case. If any record turns
//! out not to be UTF-8, the result is thrown away and the file is read again whole, with
//! encoding detection and `INVALID_ENCODING` rejections, so both ways give the same answer.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::csv::SpanBytes;

const CHUNK: usize = 1 << 20;
/// Chunks kept for looking back at the start of the current record (blank-line counting).
const KEEP: usize = 8;

/// The most recent chunks of the stream, by stream offset.
#[derive(Default)]
pub(crate) struct ChunkStore {
    chunks: Mutex<VecDeque<(u64, Arc<Vec<u8>>)>>,
}

impl SpanBytes for ChunkStore {
    fn byte_at(&self, pos: u64) -> Option<u8> {
        let chunks = self.chunks.lock().unwrap_or_else(|e| e.into_inner());
        let (start, data) = chunks.iter().rev().find(|(start, _)| pos >= *start)?;
        data.get(usize::try_from(pos - start).ok()?).copied()
    }
}

/// A `Read` that hands the file to the csv parser chunk by chunk, keeping recent chunks
/// in a [`ChunkStore`] and hashing every byte.
pub(crate) struct ChunkReader<R> {
    inner: R,
    store: Arc<ChunkStore>,
    current: Arc<Vec<u8>>,
    pos: usize,
    next_start: u64,
    hasher: Sha256,
    eof: bool,
    /// Buffers of chunks that left the store, reused to avoid fresh pages.
    free: Vec<Vec<u8>>,
}

fn fill(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl<R: Read> ChunkReader<R> {
    /// `skipped` bytes (a BOM) are hashed but not handed on; `head` was read already.
    pub(crate) fn new(inner: R, skipped: &[u8], head: Vec<u8>, store: Arc<ChunkStore>) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(skipped);
        let mut reader = ChunkReader {
            inner,
            store,
            current: Arc::new(Vec::new()),
            pos: 0,
            next_start: 0,
            hasher,
            eof: false,
            free: Vec::new(),
        };
        reader.push_chunk(head);
        reader
    }

    fn push_chunk(&mut self, data: Vec<u8>) {
        self.hasher.update(&data);
        let len = data.len() as u64;
        let data = Arc::new(data);
        let mut chunks = self.store.chunks.lock().unwrap_or_else(|e| e.into_inner());
        chunks.push_back((self.next_start, Arc::clone(&data)));
        while chunks.len() > KEEP {
            if let Some((_, old)) = chunks.pop_front()
                && let Ok(buf) = Arc::try_unwrap(old)
            {
                self.free.push(buf);
            }
        }
        drop(chunks);
        self.next_start += len;
        self.current = data;
        self.pos = 0;
    }

    /// Reads what the parser left (normally nothing) and returns the sha256 in hex.
    pub(crate) fn finish(mut self) -> std::io::Result<String> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = fill(&mut self.inner, &mut buf)?;
            if n == 0 {
                break;
            }
            self.hasher.update(&buf[..n]);
        }
        Ok(hex::encode(self.hasher.finalize()))
    }
}

impl<R: Read> Read for ChunkReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.current.len() {
            if self.eof {
                return Ok(0);
            }
            let mut data = self.free.pop().unwrap_or_default();
            data.resize(CHUNK, 0);
            let n = fill(&mut self.inner, &mut data)?;
            if n == 0 {
                self.eof = true;
                return Ok(0);
            }
            data.truncate(n);
            self.push_chunk(data);
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads up to `limit` bytes from the start of a file.
pub(crate) fn read_head(reader: &mut impl Read, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut head = vec![0u8; limit];
    let n = fill(reader, &mut head)?;
    head.truncate(n);
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_pass_every_byte_and_hash_it() {
        let data: Vec<u8> = (0..3 * CHUNK + 123).map(|i| (i % 251) as u8).collect();
        let store = Arc::new(ChunkStore::default());
        let mut reader = ChunkReader::new(
            &data[1000..],
            &data[..10],
            data[10..1000].to_vec(),
            Arc::clone(&store),
        );
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, &data[10..]);
        assert_eq!(store.byte_at(out.len() as u64 - 1), out.last().copied());
        assert_eq!(store.byte_at(out.len() as u64), None);
        assert_eq!(reader.finish().unwrap(), hex::encode(Sha256::digest(&data)));
    }
}
