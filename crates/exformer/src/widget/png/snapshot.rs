//! What a snapshot draws: the input of every drawing file beside this one.
//!
//! `HEAD_VIEW_MAX_TOKENS` below is widget/protocol.json's (`protocol::head_view_max_tokens`): the
//! longest input (visible tokens) drawn as a head view; longer inputs switch to the matrix view.

/// Which view to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PngView {
    /// Two token columns joined by curves (only up to `HEAD_VIEW_MAX_TOKENS` visible tokens).
    Head,
    /// Heatmap of the mean over the selected heads.
    Matrix,
}

/// One token as the snapshot shows it.
#[derive(Debug, Clone)]
pub struct SnapToken {
    /// Display text (a leading space is dropped on screen, whitespace is made visible).
    pub text: String,
    /// A special token ([CLS], <s>, ...): drawn muted; dropped with `hide_special`.
    pub special: bool,
    /// Masked by the user: struck through with a MASK badge.
    pub masked: bool,
    /// Knocked out by the user: struck through (wavy) with a KO badge and a dashed outline.
    pub knocked_out: bool,
    /// 0 = segment A, 1 = segment B (drawn in the segment-B colour).
    pub segment: u8,
}

/// Everything the snapshot draws.
pub struct Snapshot<'a> {
    /// Title line, e.g. "SmolLM2-135M-Instruct · layer 3 of 30".
    pub title: &'a str,
    /// The T tokens.
    pub tokens: &'a [SnapToken],
    /// Number of heads in `attn`.
    pub n_heads: usize,
    /// The selected layer: Uint8 row-major `[n_heads, T, T]`, weight = byte / 255; rows are queries
    /// ("from"), columns keys ("to").
    pub attn: &'a [u8],
    /// Selected heads; empty = all.
    pub heads: &'a [usize],
    /// Hide weights below this (0..1).
    pub threshold: f32,
    /// Drop special tokens' rows and columns and renormalise each row (per head).
    pub hide_special: bool,
    /// Requested view (the head view turns into the matrix view above
    /// `HEAD_VIEW_MAX_TOKENS`).
    pub view: PngView,
    /// If set, only that token's attention (from it and to it) is drawn in full, the rest faint.
    pub focus: Option<usize>,
    /// A position and its top-k `(token, prob)` listed in a side panel.
    pub predictions: Option<(usize, &'a [(String, f32)])>,
}
