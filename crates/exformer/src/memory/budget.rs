//! The budget itself: how many bytes kept tensors may take on the host and on the device, where
//! the figure came from, and the parsing of `"3 GB"`, `"25%"`, `"host=2GB, device=10GB"`.

use std::sync::Mutex;

/// How much what views keep may take: on the host (RAM) and on the accelerator.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryBudget {
    /// Bytes of host memory.
    pub host: u64,
    /// Bytes of device memory; `None` when no device figure is known (no accelerator, or its
    /// memory could not be read): device tensors are then not bounded.
    pub device: Option<u64>,
    /// Where the figures came from ("default: 10% of 24.0 GB of RAM", "EXFORMER_MEMORY_BUDGET", "set in a cell").
    pub source: String,
}

/// The share of the machine's RAM the default host budget takes.
pub const DEFAULT_HOST_SHARE: f64 = 0.10;
/// The share of the device's free memory (when first asked) the default device budget takes.
pub const DEFAULT_DEVICE_SHARE: f64 = 0.5;
/// The smallest default host budget, whatever the machine.
const MIN_DEFAULT_HOST: u64 = 256 << 20;

/// The machine's RAM in bytes (`MemTotal`), if it can be read.
pub fn machine_ram() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// (total, free) bytes of CUDA device 0, read once from `nvidia-smi` (None without one).
pub fn device_memory() -> Option<(u64, u64)> {
    let slot = crate::global::global("memory.device", || Mutex::new(None::<Option<(u64, u64)>>));
    let mut g = slot.lock().unwrap_or_else(|e| e.into_inner());
    *g.get_or_insert_with(|| {
        if !exformer_engine::cuda_available() {
            return None;
        }
        let out = std::process::Command::new("nvidia-smi")
            .args([
                "--query-gpu=memory.total,memory.free",
                "--format=csv,noheader,nounits",
                "-i",
                "0",
            ])
            .output()
            .ok()?;
        let s = String::from_utf8_lossy(&out.stdout);
        let mut it = s
            .lines()
            .next()?
            .split(',')
            .map(|x| x.trim().parse::<u64>().ok());
        Some((it.next()?? << 20, it.next()?? << 20))
    })
}

/// A byte count for people: "342 MB", "2.40 GB".
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.0} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.0} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

/// One size: `"3GB"`, `"3 GiB"`, `"512MB"`, `"1500000000"` (bytes) or `"25%"` of `whole`.
pub fn parse_size(text: &str, whole: Option<u64>, what: &str) -> Result<u64, String> {
    let t = text.trim();
    let bad = || {
        format!("'{text}' is not a memory size: write it like \"3 GB\", \"512 MB\", \"2 GiB\" or \"25%\"")
    };
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.trim().parse().map_err(|_| bad())?;
    if !n.is_finite() {
        return Err(bad());
    }
    if n < 0.0 {
        return Err(format!(
            "the {what} memory budget cannot be negative ('{text}')"
        ));
    }
    let unit = unit.trim().to_ascii_lowercase();
    let bytes = if unit == "%" {
        let whole = whole.ok_or_else(|| format!("'{text}': the {what} memory's size is unknown here, so give the budget in bytes (\"3 GB\")"))?;
        if n > 100.0 {
            return Err(format!(
                "the {what} memory budget cannot be more than 100% ('{text}')"
            ));
        }
        whole as f64 * n / 100.0
    } else {
        let mul = match unit.as_str() {
            "" | "b" => 1.0,
            "k" | "kb" => 1e3,
            "m" | "mb" => 1e6,
            "g" | "gb" => 1e9,
            "t" | "tb" => 1e12,
            "kib" => 1024.0,
            "mib" => 1024.0 * 1024.0,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            "tib" => 1024f64.powi(4),
            _ => return Err(bad()),
        };
        n * mul
    };
    let bytes = bytes.round() as u64;
    if bytes == 0 {
        return Err(format!("the {what} memory budget must be more than zero ('{text}'): nothing could be kept, not even the run being looked at"));
    }
    if let Some(w) = whole.filter(|w| bytes > *w) {
        return Err(format!(
            "the {what} memory budget ('{text}', {}) is more than this machine has ({}): give at most that",
            human(bytes),
            human(w)
        ));
    }
    Ok(bytes)
}

impl MemoryBudget {
    /// The default: a tenth of the RAM for the host, half of the device's free memory.
    pub fn default_for_machine() -> MemoryBudget {
        let ram = machine_ram();
        let host = ram
            .map(|r| ((r as f64 * DEFAULT_HOST_SHARE) as u64).max(MIN_DEFAULT_HOST))
            .unwrap_or(2 << 30);
        let device = device_memory().map(|(_, free)| (free as f64 * DEFAULT_DEVICE_SHARE) as u64);
        let mut source = match ram {
            Some(r) => format!(
                "default: {:.0}% of {} of RAM",
                DEFAULT_HOST_SHARE * 100.0,
                human(r)
            ),
            None => "default: 2 GiB (the RAM's size could not be read)".to_string(),
        };
        if device.is_some() {
            source.push_str(&format!(
                ", {:.0}% of the device's free memory",
                DEFAULT_DEVICE_SHARE * 100.0
            ));
        }
        MemoryBudget {
            host,
            device,
            source,
        }
    }

    /// Parses `"3 GB"` (host), `"host=3GB, device=10GB"` or `"device=50%"`; a part left out keeps
    /// its value in `base`.
    pub fn parse(spec: &str, base: &MemoryBudget, source: &str) -> Result<MemoryBudget, String> {
        let mut b = base.clone();
        b.source = source.to_string();
        let parts: Vec<&str> = spec
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            return Err(
                "the memory budget is empty: write it like \"3 GB\" or \"host=3GB, device=10GB\""
                    .into(),
            );
        }
        for p in parts {
            match p.split_once('=') {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("host") => {
                    b.host = parse_size(v, machine_ram(), "host")?
                }
                Some((k, v)) if k.trim().eq_ignore_ascii_case("device") => {
                    let total = device_memory().map(|d| d.0);
                    if total.is_none() && !exformer_engine::cuda_available() {
                        return Err(
                            "there is no accelerator here to give a device memory budget to".into(),
                        );
                    }
                    b.device = Some(parse_size(v, total, "device")?)
                }
                Some((k, _)) => {
                    return Err(format!(
                        "'{k}' is not a memory: the budget has a host= and a device= part"
                    ))
                }
                None => b.host = parse_size(p, machine_ram(), "host")?,
            }
        }
        Ok(b)
    }

    fn slot() -> &'static Mutex<Option<MemoryBudget>> {
        crate::global::global("memory.budget", || Mutex::new(None))
    }

    /// The budget in force: set in a cell, else `EXFORMER_MEMORY_BUDGET`, else the default.
    pub fn current() -> MemoryBudget {
        let mut g = Self::slot().lock().unwrap_or_else(|e| e.into_inner());
        g.get_or_insert_with(|| {
            let default = Self::default_for_machine();
            match std::env::var("EXFORMER_MEMORY_BUDGET") {
                Ok(v) if !v.trim().is_empty() => {
                    match Self::parse(&v, &default, "EXFORMER_MEMORY_BUDGET") {
                        Ok(b) => b,
                        Err(e) => {
                            tracing::warn!("EXFORMER_MEMORY_BUDGET is ignored: {e}");
                            MemoryBudget {
                                source: format!(
                                    "{} (EXFORMER_MEMORY_BUDGET ignored: {e})",
                                    default.source
                                ),
                                ..default
                            }
                        }
                    }
                }
                _ => default,
            }
        })
        .clone()
    }

    /// Makes this the budget from now on.
    pub fn set(self) {
        *Self::slot().lock().unwrap_or_else(|e| e.into_inner()) = Some(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_bad_ones_say_why() {
        assert_eq!(parse_size("3GB", None, "host"), Ok(3_000_000_000));
        assert_eq!(parse_size(" 2 GiB", None, "host"), Ok(2 << 30));
        assert_eq!(parse_size("512mb", None, "host"), Ok(512_000_000));
        assert_eq!(parse_size("1500", None, "host"), Ok(1500));
        assert_eq!(parse_size("25%", Some(4000), "host"), Ok(1000));
        assert!(parse_size("0", None, "host")
            .unwrap_err()
            .contains("more than zero"));
        assert!(parse_size("-1GB", None, "host")
            .unwrap_err()
            .contains("negative"));
        assert!(parse_size("3 apples", None, "host")
            .unwrap_err()
            .contains("not a memory size"));
        assert!(parse_size("5GB", Some(1 << 30), "host")
            .unwrap_err()
            .contains("more than this machine has"));
        assert!(parse_size("150%", Some(1000), "host")
            .unwrap_err()
            .contains("100%"));
        let base = MemoryBudget {
            host: 1,
            device: None,
            source: "x".into(),
        };
        let b = MemoryBudget::parse("host=1GB", &base, "cell").unwrap();
        assert_eq!((b.host, b.device), (1_000_000_000, None));
        assert!(MemoryBudget::parse("disk=1GB", &base, "cell")
            .unwrap_err()
            .contains("host= and a device="));
        assert!(MemoryBudget::parse("", &base, "cell").is_err());
    }
}
