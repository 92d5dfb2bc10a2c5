//! How long a view lives: a cell variable or a front end that shows it keeps it alive; a view no
//! front end shows frees its run's tensors after the release delay (and makes the run again,
//! identical, when it is next needed).

use super::data::{AttentionView, ViewInner};
use super::settings::ViewSettings;
use std::collections::HashMap;
use std::sync::Mutex;

/// Views a front end shows (or was just given to show): the front end may still talk to them, so
/// they stay alive even when no cell variable holds them. A view that is in neither place is
/// dropped, and with it its run, widget state and worker thread.
fn shown_views() -> &'static Mutex<HashMap<String, AttentionView>> {
    crate::global::global("view.shown", Default::default)
}

pub(super) fn views_alive() -> &'static std::sync::atomic::AtomicUsize {
    crate::global::global("view.alive", Default::default)
}

/// How many attention views exist in this process (held by a cell variable or shown by a front
/// end); for memory checks.
pub fn views_in_memory() -> usize {
    views_alive().load(std::sync::atomic::Ordering::SeqCst)
}

impl Drop for ViewInner {
    fn drop(&mut self) {
        views_alive().fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        let mut q = self.work.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.closed = true;
        self.work.wake.notify_all();
    }
}

impl AttentionView {
    /// Keeps the view alive for the front ends (see [`shown_views`]).
    pub(super) fn hold_for_front_end(&self) {
        shown_views()
            .lock()
            .unwrap()
            .insert(self.inner.display_id.clone(), self.clone());
    }

    /// After the release delay, if no front end shows the view: lets go of it (a cell variable may
    /// still hold it) and, after a front end went away (`free_run`), frees its run's tensors.
    pub(super) fn let_go_unless_shown(&self, parent: Option<String>, free_run: bool) {
        let weak = self.weak();
        let id = self.inner.display_id.clone();
        std::thread::spawn(move || {
            std::thread::sleep(ViewSettings::current().release_after);
            let Some(me) = Self::from_weak(&weak) else {
                return;
            };
            if me.inner.attached.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                if free_run {
                    me.enqueue(parent, |q| q.release = true);
                }
                shown_views().lock().unwrap().remove(&id);
            }
        });
    }
}
