//! One memory budget per kernel for what views keep (their runs' tensors, kept probabilities,
//! pooled maps, widget state), on the host and on the device separately.
//!
//! ```no_run
//! exformer::set_memory_budget("host=3GB")?;   // or EXFORMER_MEMORY_BUDGET="3GB"; default 10% of RAM
//! println!("{}", exformer::memory());        // the budget, what is kept and by which view
//! # Ok::<(), exformer::memory::MemoryError>(())
//! ```
//!
//! Before a view runs the model it makes room: the least recently used things of other views are
//! dropped, kept probabilities and pooled maps before whole runs, views no front end shows before
//! shown ones; a dropped thing is made again, identical, when it is next asked for. A view that
//! is serving a request is never touched. A run that alone is larger than the budget fails with
//! an error that says what it needs.
//!
//! # Layout
//! - `budget`: [`MemoryBudget`]: the figures, their defaults, parsing sizes.
//! - `ledger`: holders, least-recently-used order, [`ledger::make_room`].
//! - `report`: [`MemoryReport`], what [`memory`] returns.

mod budget;
pub mod ledger;
mod report;

pub use budget::{human, machine_ram, MemoryBudget, DEFAULT_DEVICE_SHARE, DEFAULT_HOST_SHARE};
pub use report::{HolderReport, MemoryReport};

/// A memory budget that cannot be set, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryError(pub String);

impl std::fmt::Display for MemoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Invalid memory budget: {}", self.0)
    }
}

impl std::error::Error for MemoryError {}

/// Sets the kernel's memory budget: `"3 GB"` or `"host=3GB"` for the host, `"device=10GB"` for
/// the accelerator, both with a comma, or a share: `"host=15%"`. Zero, negative sizes and more
/// than the machine has are refused. What is kept beyond the new budget is evicted now.
pub fn set_memory_budget(spec: &str) -> Result<MemoryBudget, MemoryError> {
    let b = MemoryBudget::parse(spec, &MemoryBudget::current(), "set in a cell")
        .map_err(MemoryError)?;
    b.clone().set();
    ledger::make_room(ledger::Need::default(), ledger::Need::default(), None)
        .map_err(MemoryError)?;
    Ok(b)
}

/// Hands memory freed on the heap back to the system. glibc keeps freed blocks of a few MB (a
/// layer's probabilities, a forward's activations) in its arenas, one per thread that allocated
/// them (each view's worker is one), so without this what an eviction or a finished forward freed
/// would be reused by the process but never leave it. Called after each of those.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim only releases free heap memory; it takes no pointers.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// [`return_freed_memory`] on the model thread once the runs queued there are done, without
/// waiting: giving back a few hundred MB takes ~100 ms, which a layer change or a re-run should
/// not wait for. Calls made while one is pending share it.
pub fn return_freed_memory_soon() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let pending: &'static AtomicBool =
        crate::global::global("memory.trim_pending", Default::default);
    if !pending.swap(true, Ordering::SeqCst) {
        crate::model_thread::after_queued_runs(move || {
            pending.store(false, Ordering::SeqCst);
            return_freed_memory();
        });
    }
}

/// The budget in force.
pub fn memory_budget() -> MemoryBudget {
    MemoryBudget::current()
}

/// The budget, what is kept now, by which view, and evictions so far.
pub fn memory() -> MemoryReport {
    MemoryReport::now()
}
