//! The attention widget: an analysis turned into anywidget state, and nothing else.
//!
//! - [`protocol`]: the state schema both sides read (`widget/protocol.json`).
//! - [`state`]: encoding an analysis (JSON traits, one byte per attention weight, thumbnails).
//! - [`anywidget`]: a widget model synced over the Jupyter widget comm protocol.
//! - [`view`]: [`AttentionView`], the run + its widget + click coalescing + outputs (one concept
//!   per file under `view/`).
//! - [`assets`]: the embedded front end (ES module, CSS, page template).
//! - [`png`]: the static PNG snapshot (GitHub, nbviewer, untrusted notebooks).
//! - [`html`]: `save_html`, one self-contained offline page.

pub mod anywidget;
pub mod assets;
pub mod html;
pub mod png;
pub mod protocol;
pub mod state;
pub mod view;

pub use view::{views_in_memory, AttentionView, ClickMode, ViewSettings};
