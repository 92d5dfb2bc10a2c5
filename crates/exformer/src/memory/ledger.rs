//! The ledger: every holder of kept memory (attention views today) registers here, says what it
//! keeps and when it was last used, and gives memory back when asked. [`make_room`] evicts the
//! least recently used things first: derived things (kept probabilities, pooled maps) before
//! whole runs, and within each, holders no front end shows before shown ones.

use super::budget::{human, MemoryBudget};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// One kind of kept memory of one holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// "queries/keys/values", "probabilities", "pooled map", "widget state", ...
    pub what: &'static str,
    pub bytes: u64,
    /// On the accelerator (else host memory).
    pub on_device: bool,
    /// Which eviction frees it (`None`: kept while the holder lives).
    pub tier: Option<Tier>,
}

/// What one holder keeps now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub parts: Vec<Part>,
}

impl Usage {
    /// Host bytes under the budget (what eviction can free).
    pub fn host(&self) -> u64 {
        let parts = self.parts.iter();
        parts
            .filter(|p| !p.on_device && p.tier.is_some())
            .map(|p| p.bytes)
            .sum()
    }
    /// Device bytes under the budget.
    pub fn device(&self) -> u64 {
        let parts = self.parts.iter();
        parts
            .filter(|p| p.on_device && p.tier.is_some())
            .map(|p| p.bytes)
            .sum()
    }
    /// Bytes kept outside the budget while the holder lives (a view's widget state: its tokens,
    /// predictions and the shown layer, what a front end needs to show it).
    pub fn unbounded(&self) -> u64 {
        let parts = self.parts.iter();
        parts.filter(|p| p.tier.is_none()).map(|p| p.bytes).sum()
    }
    /// Bytes (host, device) that evicting `tier` would free.
    fn freed_by(&self, tier: Tier) -> (u64, u64) {
        let mut f = (0, 0);
        for p in self
            .parts
            .iter()
            .filter(|p| p.tier.is_some_and(|t| t <= tier))
        {
            if p.on_device {
                f.1 += p.bytes
            } else {
                f.0 += p.bytes
            }
        }
        f
    }
}

/// What an eviction drops. A tier frees the ones before it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// What is made again cheaply from the run's own tensors: kept probabilities, pooled maps.
    Derived,
    /// The run's tensors themselves (made again by one forward of the same input).
    Run,
}

/// Something that keeps memory under the budget.
pub trait Holder: Send + Sync {
    /// Its number in this kernel (views: 1, 2, ...).
    fn number(&self) -> u64;
    /// A short description for [`super::memory`] ("view 3: 'The capital…', 512 tokens").
    fn label(&self) -> String;
    /// What it keeps now (recorded by the holder: reading it never waits).
    fn usage(&self) -> Usage;
    /// Whether a front end shows it now.
    fn shown(&self) -> bool;
    /// [`tick`] of its last use.
    fn last_used(&self) -> u64;
    /// When and how far it was last evicted ("evicted 12:03:04").
    fn evicted(&self) -> Option<String>;
    /// Drops what `tier` covers, unless a request is using it right now (then `false`).
    fn evict(&self, tier: Tier) -> bool;
}

/// Evictions so far (derived things, whole runs).
#[derive(Default)]
struct Counters {
    derived: AtomicU64,
    runs: AtomicU64,
}

#[derive(Default)]
struct Ledger {
    holders: Mutex<Vec<Weak<dyn Holder>>>,
    /// One eviction pass at a time.
    evicting: Mutex<()>,
    clock: AtomicU64,
    counters: Counters,
}

fn ledger() -> &'static Ledger {
    crate::global::global("memory.ledger", Ledger::default)
}

/// A fresh use time (for least-recently-used order).
pub fn tick() -> u64 {
    ledger().clock.fetch_add(1, Ordering::SeqCst) + 1
}

/// Adds a holder to the ledger (it leaves when dropped).
pub fn register(h: Weak<dyn Holder>) {
    let mut g = ledger().holders.lock().unwrap_or_else(|e| e.into_inner());
    g.retain(|w| w.strong_count() > 0);
    g.push(h);
}

/// The live holders, most recently used first.
pub fn holders() -> Vec<Arc<dyn Holder>> {
    let mut v: Vec<Arc<dyn Holder>> = {
        let mut g = ledger().holders.lock().unwrap_or_else(|e| e.into_inner());
        g.retain(|w| w.strong_count() > 0);
        g.iter().filter_map(Weak::upgrade).collect()
    };
    v.sort_by_key(|h| std::cmp::Reverse(h.last_used()));
    v
}

/// Evictions so far: (derived, whole runs).
pub fn evictions() -> (u64, u64) {
    let c = &ledger().counters;
    (
        c.derived.load(Ordering::SeqCst),
        c.runs.load(Ordering::SeqCst),
    )
}

/// Memory a new run or request needs, on the host and on the device.
#[derive(Debug, Clone, Copy, Default)]
pub struct Need {
    pub host: u64,
    pub device: u64,
}

/// The error for a run that cannot fit the budget even with everything else evicted.
pub fn too_big(need: Need, budget: &MemoryBudget) -> Option<String> {
    let raise = "raise it with exformer::set_memory_budget(\"host=8GB\") (or \"device=...\") in a cell, or EXFORMER_MEMORY_BUDGET before the kernel starts";
    if need.host > budget.host {
        return Some(format!(
            "this run needs {} of host memory to keep, more than the whole memory budget ({}, {}); {raise}, or use a shorter input",
            human(need.host), human(budget.host), budget.source
        ));
    }
    match budget.device {
        Some(d) if need.device > d => Some(format!(
            "this run needs {} of device memory to keep, more than the whole device memory budget ({}, {}); {raise}, or use a shorter input",
            human(need.device), human(d), budget.source
        )),
        _ => None,
    }
}

/// Evicts least recently used things of other holders (never `except`) until what all holders
/// keep plus `need` fits the budget, or nothing else can go; holders busy with a request are
/// skipped. Errors when `must` (what the run cannot do without: `need` less what it may drop
/// at once, such as kept probabilities) alone is over the budget; else returns whether it fits.
pub fn make_room(need: Need, must: Need, except: Option<u64>) -> Result<bool, String> {
    let budget = MemoryBudget::current();
    if let Some(e) = too_big(must, &budget) {
        return Err(e);
    }
    let _one = ledger().evicting.lock().unwrap_or_else(|e| e.into_inner());
    let all = holders();
    let (mut host, mut device) = all
        .iter()
        .map(|h| h.usage())
        .fold((0, 0), |(a, b), u| (a + u.host(), b + u.device()));
    let device_budget = budget.device.unwrap_or(u64::MAX);
    let over = |h: u64, d: u64| {
        h + need.host > budget.host || d.saturating_add(need.device) > device_budget
    };
    if !over(host, device) {
        return Ok(true);
    }
    // Least recently used first: views no front end shows before shown ones.
    let mut order: Vec<&Arc<dyn Holder>> =
        all.iter().filter(|h| Some(h.number()) != except).collect();
    order.sort_by_key(|h| (h.shown(), h.last_used()));
    for tier in [Tier::Derived, Tier::Run] {
        for h in &order {
            if !over(host, device) {
                break;
            }
            let (fh, fd) = h.usage().freed_by(tier);
            // Only what helps: host bytes when the host is over, device bytes when the device is.
            let helps = (host + need.host > budget.host && fh > 0)
                || (device.saturating_add(need.device) > device_budget && fd > 0);
            if !helps || !h.evict(tier) {
                continue;
            }
            host -= fh.min(host);
            device -= fd.min(device);
            let c = &ledger().counters;
            match tier {
                Tier::Derived => c.derived.fetch_add(1, Ordering::SeqCst),
                Tier::Run => c.runs.fetch_add(1, Ordering::SeqCst),
            };
            tracing::debug!(
                holder = h.number(),
                ?tier,
                host = fh,
                device = fd,
                "evicted under the memory budget"
            );
        }
    }
    let fits = !over(host, device);
    if !fits {
        tracing::debug!(
            host,
            device,
            "over the memory budget: what is left is in use"
        );
    }
    Ok(fits)
}
