//! The one thread every view's model runs happen on.
//!
//! A thread that has run a forward keeps per-thread memory for as long as it lives: libtorch's
//! and the BLAS library's scratch buffers and its own malloc arena, measured at 7-22 MB a thread
//! for SmolLM2 at 512 tokens. Each view has a worker thread, so 30 views whose workers each ran
//! a re-run held ~500 MB that no budget could see. Runs are serialised inside the engine anyway;
//! sending them to one long-lived thread costs a channel hop and keeps that memory once.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, sync_channel, Sender};
use std::sync::Mutex;
use std::thread::ThreadId;

type Job = Box<dyn FnOnce() + Send + 'static>;

struct ModelThread {
    jobs: Mutex<Sender<Job>>,
    id: ThreadId,
}

fn model_thread() -> &'static ModelThread {
    crate::global::global("model.thread", || {
        let (tx, rx) = channel::<Job>();
        let handle = std::thread::Builder::new()
            .name("exformer-model".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            })
            .expect("spawn the model thread");
        ModelThread {
            jobs: Mutex::new(tx),
            id: handle.thread().id(),
        }
    })
}

/// Runs `f` on the model thread and waits for it (on the model thread itself: runs it at once).
/// A panic in `f` is resumed in the caller.
pub fn on_model_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    let t = model_thread();
    if std::thread::current().id() == t.id {
        return f();
    }
    let (done_tx, done_rx) = sync_channel::<std::thread::Result<T>>(1);
    let job: Box<dyn FnOnce() + Send + '_> = Box::new(move || {
        let _ = done_tx.send(catch_unwind(AssertUnwindSafe(f)));
    });
    // SAFETY: this function does not return before the job has run to its end or been dropped
    // unrun (the receive below waits for one or the other), so what `f` borrows outlives it.
    let job: Job = unsafe { std::mem::transmute::<Box<dyn FnOnce() + Send + '_>, Job>(job) };
    let sent = t.jobs.lock().unwrap_or_else(|e| e.into_inner()).send(job);
    if sent.is_err() {
        panic!("the exformer model thread is gone");
    }
    match done_rx.recv() {
        Ok(Ok(v)) => v,
        Ok(Err(panic)) => resume_unwind(panic),
        Err(_) => panic!("the exformer model thread dropped a run"),
    }
}

/// Queues `f` on the model thread after the runs already queued, without waiting for it.
pub fn after_queued_runs(f: impl FnOnce() + Send + 'static) {
    let _ = model_thread()
        .jobs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send(Box::new(f));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_one_thread_borrows_and_passes_panics_back() {
        let data = [1, 2, 3];
        let (sum, id) = on_model_thread(|| (data.iter().sum::<i32>(), std::thread::current().id()));
        assert_eq!(sum, 6);
        assert_ne!(id, std::thread::current().id());
        let other = std::thread::spawn(|| on_model_thread(|| std::thread::current().id()))
            .join()
            .unwrap();
        assert_eq!(other, id, "every caller's job runs on the same thread");
        assert_eq!(
            on_model_thread(|| on_model_thread(|| 5)),
            5,
            "nested calls run at once"
        );
        let p = std::panic::catch_unwind(|| on_model_thread(|| panic!("boom")));
        assert!(p.is_err());
        assert_eq!(
            on_model_thread(|| 7),
            7,
            "the thread survives a panicking job"
        );
    }
}
