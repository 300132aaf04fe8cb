//! How a run reports its progress to whoever drives it: a small observer trait that the
//! binary implements with progress bars (`src/cli/bars.rs`), so the library draws
//! nothing and depends on no terminal crate.
//!
//! The main decision is that every method has an empty default and takes `&self`: the
//! executor calls them from concurrent workers without knowing whether anything listens,
//! and a library user (a test, a service) implements only what it wants.

/// Events of one `apply` run, in the order they happen.
pub trait Observer: Send + Sync {
    /// The customer sweep listed `n` more customers (one call per page).
    fn customers_listed(&self, _n: usize) {}
    /// Work starts: `customers` accepted customers with something to do, `licence_moves`
    /// of them with licences to move.
    fn work_started(&self, _customers: u64, _licence_moves: u64) {}
    /// One customer's purchases are settled (bought, failed or nothing due).
    fn customer_provisioned(&self) {}
    /// One customer's licence moves are settled.
    fn customer_reassigned(&self) {}
    /// The run's work is over (the summary follows).
    fn finished(&self) {}
    /// Runs the confirmation before the first purchase with any display out of its way.
    fn around_prompt(&self, prompt: &mut dyn FnMut() -> bool) -> bool {
        prompt()
    }
}

/// Reports nothing.
pub struct Silent;

impl Observer for Silent {}
