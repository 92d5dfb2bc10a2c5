//! Process-wide state that survives evcxr's per-cell copies of this crate.
//!
//! evcxr links dependencies statically into every cell's shared object, so each cell that uses
//! exformer carries its own copy of the crate and of its `static`s and thread-locals. The bridge
//! connection, the registry of live widgets and the "which front-end message is being handled"
//! marker must be one per process, whichever cell's copy of the code asks. They live in one
//! registry, leaked once; its address is published in a process environment variable whose name
//! carries the crate version and the registry's layout, so only identical copies share it.
//! Entries are keyed by name and checked by `TypeId` (stable across copies of the same build).

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::thread::ThreadId;

type Registry = Mutex<HashMap<&'static str, &'static (dyn Any + Send + Sync)>>;

fn var_name() -> String {
    format!(
        "EXFORMER_PROCESS_STATE_{}_{}",
        env!("CARGO_PKG_VERSION").replace(['.', '-'], "_"),
        std::mem::size_of::<Registry>() * 1000 + std::mem::align_of::<Registry>()
    )
}

fn registry() -> &'static Registry {
    static LOCAL: OnceLock<&'static Registry> = OnceLock::new();
    LOCAL.get_or_init(|| {
        let name = var_name();
        if let Some(addr) = std::env::var(&name)
            .ok()
            .and_then(|v| usize::from_str_radix(&v, 16).ok())
        {
            // SAFETY: the address was published by a copy of this same crate version (the variable
            // name encodes the version and the registry's layout); the registry is leaked, never freed.
            return unsafe { &*(addr as *const Registry) };
        }
        let r: &'static Registry = Box::leak(Box::new(Mutex::new(HashMap::new())));
        std::env::set_var(&name, format!("{:x}", r as *const Registry as usize));
        r
    })
}

/// The process-wide value for `key`, created by `init` on first use.
pub fn global<T: Any + Send + Sync>(key: &'static str, init: impl FnOnce() -> T) -> &'static T {
    let mut map = registry().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(v) = map.get(key) {
        if let Some(t) = v.downcast_ref::<T>() {
            return t;
        }
    }
    let v: &'static T = Box::leak(Box::new(init()));
    map.insert(key, v);
    v
}

/// Per-thread values kept process-wide (a `thread_local!` would be per copy of the crate).
pub struct ThreadSlots<T> {
    slots: Mutex<HashMap<ThreadId, T>>,
}

impl<T: Clone> ThreadSlots<T> {
    pub fn new() -> Self {
        ThreadSlots {
            slots: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self) -> Option<T> {
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&std::thread::current().id())
            .cloned()
    }

    /// Sets (or clears) this thread's value and returns the previous one.
    pub fn replace(&self, value: Option<T>) -> Option<T> {
        let mut m = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let id = std::thread::current().id();
        match value {
            Some(v) => m.insert(id, v),
            None => m.remove(&id),
        }
    }
}

impl<T: Clone> Default for ThreadSlots<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A process-wide counter for unique ids.
pub fn next_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    global("ids", || AtomicU64::new(0)).fetch_add(1, Ordering::Relaxed)
}

/// An id unique across processes and cells: the process id, the time, and [`next_id`] (comm ids,
/// display ids).
pub fn unique_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}-{:x}-{}", std::process::id(), nanos, next_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_same_value_and_thread_slots() {
        let a = global("test.counter", || Mutex::new(1u32));
        *a.lock().unwrap() += 1;
        let b = global("test.counter", || Mutex::new(100u32));
        assert_eq!(*b.lock().unwrap(), 2);
        assert!(std::env::var(var_name()).is_ok());
        let slots: &ThreadSlots<String> = global("test.slots", ThreadSlots::new);
        assert_eq!(slots.replace(Some("x".into())), None);
        assert_eq!(slots.get().as_deref(), Some("x"));
        std::thread::spawn(move || assert_eq!(slots.get(), None))
            .join()
            .unwrap();
        assert_eq!(slots.replace(None).as_deref(), Some("x"));
        assert_ne!(next_id(), next_id());
    }
}
