//! [`MemoryReport`]: what [`super::memory`] shows: the budget, what is kept, and by which view.

use super::budget::{human, MemoryBudget};
use super::ledger::{self, Usage};

/// One holder's line in the report.
#[derive(Debug, Clone)]
pub struct HolderReport {
    pub number: u64,
    pub label: String,
    pub shown: bool,
    pub usage: Usage,
    /// When it was last evicted, if it was.
    pub evicted: Option<String>,
}

/// The budget and what is kept under it, most recently used first.
#[derive(Clone)]
pub struct MemoryReport {
    pub budget: MemoryBudget,
    pub host: u64,
    pub device: u64,
    /// Bytes views keep outside the budget: their widget states (tokens, predictions, the shown
    /// layer), what a front end needs to show them.
    pub widget_state: u64,
    pub holders: Vec<HolderReport>,
    /// Evictions so far: of derived things (probabilities, pooled maps), of whole runs.
    pub evictions: (u64, u64),
}

impl MemoryReport {
    pub(super) fn now() -> MemoryReport {
        let holders: Vec<HolderReport> = ledger::holders()
            .iter()
            .map(|h| HolderReport {
                number: h.number(),
                label: h.label(),
                shown: h.shown(),
                usage: h.usage(),
                evicted: h.evicted(),
            })
            .collect();
        MemoryReport {
            budget: MemoryBudget::current(),
            host: holders.iter().map(|h| h.usage.host()).sum(),
            device: holders.iter().map(|h| h.usage.device()).sum(),
            widget_state: holders.iter().map(|h| h.usage.unbounded()).sum(),
            holders,
            evictions: ledger::evictions(),
        }
    }
}

impl std::fmt::Display for MemoryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = &self.budget;
        writeln!(
            f,
            "memory budget: host {}, device {} ({})",
            human(b.host),
            b.device.map(human).unwrap_or_else(|| "not bounded".into()),
            b.source
        )?;
        let pct = |a: u64, of: u64| {
            if of == 0 {
                0.0
            } else {
                100.0 * a as f64 / of as f64
            }
        };
        write!(
            f,
            "kept: host {} ({:.0}% of the budget)",
            human(self.host),
            pct(self.host, b.host)
        )?;
        match b.device {
            Some(d) => writeln!(
                f,
                ", device {} ({:.0}%)",
                human(self.device),
                pct(self.device, d)
            )?,
            None => writeln!(f, ", device {}", human(self.device))?,
        }
        writeln!(
            f,
            "evictions so far: {} of probabilities / pooled maps, {} of whole runs",
            self.evictions.0, self.evictions.1
        )?;
        if self.holders.is_empty() {
            return writeln!(f, "nothing is kept: no view is alive");
        }
        writeln!(f, "most recently used first:")?;
        for h in &self.holders {
            let parts: Vec<String> = h
                .usage
                .parts
                .iter()
                .filter(|p| p.bytes > 0)
                .map(|p| {
                    format!(
                        "{} {}{}",
                        p.what,
                        human(p.bytes),
                        if p.on_device { " (device)" } else { "" }
                    )
                })
                .collect();
            writeln!(
                f,
                "  {} [{}]: {}{}",
                h.label,
                if h.shown { "shown" } else { "not shown" },
                if parts.is_empty() {
                    "nothing".to_string()
                } else {
                    parts.join(", ")
                },
                h.evicted
                    .as_ref()
                    .map(|e| format!("; {e}"))
                    .unwrap_or_default()
            )?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for MemoryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}
