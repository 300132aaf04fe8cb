//! Interned cell texts: the few values an export repeats on every row (offer names and
//! IDs, licensing programs, countries) stored once and named by a 4-byte [`Sym`].
//!
//! A million-row export holds perhaps fifty distinct offers, a handful of programs and a
//! few dozen countries; kept as a `String` per row they were five allocations and ~120
//! bytes of every row. The main decision: one interner for the whole process, whose
//! texts live until it exits (they are leaked on purpose), so a [`Sym`] turns back into
//! a `&'static str` without a table at hand and rows of several inputs need no
//! renumbering. The memory held is one copy of each distinct text ever read, which for
//! a command-line run is less than the rows would hold; a long-running process that
//! reads many different exports would keep all their distinct offer names. Lookups go
//! through a per-thread cache first, so parallel row parsers do not contend on the lock
//! taken only for a text the process has not seen before; reads of a [`Sym`] take no
//! lock.

use std::cell::RefCell;
use std::num::NonZeroU32;
use std::sync::{LazyLock, Mutex, OnceLock};

use foldhash::HashMap;

/// An interned text. `Option<Sym>` is 4 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(NonZeroU32);

/// Slots of chunk `k` (`FIRST << k`): chunks double, so 23 of them hold every `u32`.
const FIRST: usize = 1024;
const CHUNKS: usize = 23;

type Chunk = Box<[OnceLock<&'static str>]>;

struct Interner {
    /// Text → symbol, for interning (locked).
    index: LazyLock<Mutex<HashMap<&'static str, Sym>>>,
    /// Symbol → text, for reading (lock-free once written).
    chunks: [OnceLock<Chunk>; CHUNKS],
}

static INTERNER: Interner = Interner {
    index: LazyLock::new(Default::default),
    chunks: [const { OnceLock::new() }; CHUNKS],
};

thread_local! {
    static CACHE: RefCell<HashMap<&'static str, Sym>> = RefCell::new(HashMap::default());
}

/// Chunk and offset of slot `slot` (0-based).
fn place(slot: usize) -> (usize, usize) {
    let k = (slot / FIRST + 1).ilog2() as usize;
    (k, slot - FIRST * ((1 << k) - 1))
}

impl Sym {
    /// The symbol of `text`, interning it on first sight.
    pub fn new(text: &str) -> Sym {
        if let Some(sym) = CACHE.with(|c| c.borrow().get(text).copied()) {
            return sym;
        }
        let sym = Sym::intern(text);
        CACHE.with(|c| c.borrow_mut().insert(sym.as_str(), sym));
        sym
    }

    fn intern(text: &str) -> Sym {
        let mut index = INTERNER
            .index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(&sym) = index.get(text) {
            return sym;
        }
        let slot = index.len();
        let (k, offset) = place(slot);
        assert!(k < CHUNKS, "more distinct texts than the interner holds");
        let chunk = INTERNER.chunks[k].get_or_init(|| {
            (0..FIRST << k)
                .map(|_| OnceLock::new())
                .collect::<Vec<_>>()
                .into_boxed_slice()
        });
        let text: &'static str = Box::leak(text.into());
        chunk[offset]
            .set(text)
            .expect("each slot is written once, under the lock");
        let sym = Sym(NonZeroU32::new(slot as u32 + 1).expect("slot + 1 > 0"));
        index.insert(text, sym);
        sym
    }

    /// The text.
    pub fn as_str(self) -> &'static str {
        let (k, offset) = place(self.0.get() as usize - 1);
        INTERNER.chunks[k]
            .get()
            .and_then(|chunk| chunk[offset].get())
            .expect("a symbol is only made for an interned text")
    }
}

impl std::fmt::Debug for Sym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::ops::Deref for Sym {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_fill_the_chunks_in_order() {
        assert_eq!(place(0), (0, 0));
        assert_eq!(place(FIRST - 1), (0, FIRST - 1));
        assert_eq!(place(FIRST), (1, 0));
        assert_eq!(place(3 * FIRST - 1), (1, 2 * FIRST - 1));
        assert_eq!(place(3 * FIRST), (2, 0));
        let last = place(u32::MAX as usize - 1);
        assert!(last.0 < CHUNKS);
    }

    #[test]
    fn one_symbol_per_text_from_every_thread() {
        let texts: Vec<String> = (0..5000).map(|i| format!("offer {i}")).collect();
        let syms: Vec<Vec<Sym>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| texts.iter().map(|t| Sym::new(t)).collect::<Vec<_>>()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for other in &syms[1..] {
            assert_eq!(&syms[0], other);
        }
        for (sym, text) in syms[0].iter().zip(&texts) {
            assert_eq!(sym.as_str(), text);
        }
        assert_ne!(Sym::new("Office 365 E3"), Sym::new("office 365 e3"));
        assert_eq!(&*Sym::new(""), "");
    }
}
