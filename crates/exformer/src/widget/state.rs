//! Turning a run into widget state (docs/widget-protocol.md): JSON traits plus the binary `attn`
//! (one layer, one byte per weight; pooled for long inputs) and `thumbs` (every layer and head,
//! max-pooled). Attention is computed from the run only for what is sent.

use super::protocol::{self, KeyType, Owner};
use exformer_engine::{Analysis, EngineError, ModelKind, Pool, Run};
use serde_json::{json, Map, Value};
/// Largest thumbnail side.
pub const MAX_THUMB: usize = 32;
/// `attn` is sent at full resolution while n_heads × T² stays within this many bytes.
pub const FULL_ATTN_BYTES: usize = 4 << 20;
/// Beyond that, a max-pooled map of at most this many bytes ...
pub const POOLED_ATTN_BYTES: usize = 5 << 19;
/// ... and at most this many cells a side.
pub const MAX_POOLED_SIDE: usize = 512;
/// Thumbnails of every layer are computed with each run up to this many tokens; longer inputs
/// compute them when the model view is opened.
pub const EAGER_THUMBS_MAX_TOKENS: usize = 1024;

/// One weight as a byte: round(p × 255), clamped.
pub fn quantize(p: f32) -> u8 {
    if p.is_nan() {
        return 0;
    }
    (p.clamp(0.0, 1.0) * 255.0).round() as u8
}

pub fn quantize_all(v: &[f32]) -> Vec<u8> {
    v.iter().map(|&p| quantize(p)).collect()
}

/// What the browser receives before its first paint, at most, when the input is long: the JSON
/// state (tokens, predictions) plus the pooled `attn`.
pub const FIRST_PAINT_BYTES: usize = 3 << 20;
/// A pooled map is never smaller than this a side, whatever the JSON weighs.
pub const MIN_POOLED_SIDE: usize = 256;

/// Side of the `attn` map for T tokens and `heads` heads: T (full resolution) or the pooled side
/// (for a run whose other state takes `json_bytes`).
pub fn attn_side(t: usize, heads: usize, json_bytes: usize) -> usize {
    if heads.saturating_mul(t).saturating_mul(t) <= FULL_ATTN_BYTES {
        t
    } else {
        let budget = POOLED_ATTN_BYTES.min(FIRST_PAINT_BYTES.saturating_sub(json_bytes));
        (((budget / heads.max(1)) as f64).sqrt() as usize)
            .clamp(MIN_POOLED_SIDE, MAX_POOLED_SIDE)
            .min(t)
    }
}

/// [`attn_side`] for a run (its tokens and predictions as the widget sends them).
pub fn run_attn_side(run: &Run) -> usize {
    let t = run.seq_len();
    if run.n_heads().saturating_mul(t).saturating_mul(t) <= FULL_ATTN_BYTES {
        return t;
    }
    let a = run.meta();
    let json = serde_json::to_vec(&tokens_json(a))
        .map(|v| v.len())
        .unwrap_or(0)
        + serde_json::to_vec(&predictions_json(a))
            .map(|v| v.len())
            .unwrap_or(0);
    attn_side(t, run.n_heads(), json)
}

/// Up to this many bytes (n_layers × n_heads × T²), the widget state carries every layer
/// (`attn_all`), so a saved notebook's views change layer with no kernel (nbconvert HTML, the
/// .ipynb reopened without a kernel).
pub const ALL_LAYERS_IN_STATE_MAX_BYTES: usize = 1 << 20;

/// Bytes of every layer at full resolution, one per weight (n_layers × n_heads × T²).
pub fn all_layers_len(run: &Run) -> usize {
    let t = run.seq_len();
    run.n_layers() * run.n_heads() * t * t
}

/// Whether a run is small enough for `attn_all` in the widget state.
pub fn all_layers_in_state(run: &Run) -> bool {
    all_layers_len(run) <= ALL_LAYERS_IN_STATE_MAX_BYTES
}

/// Every layer at full resolution, concatenated (for offline HTML).
pub fn all_layer_bytes(run: &Run) -> Result<Vec<u8>, EngineError> {
    let mut out = vec![];
    for l in 0..run.n_layers() {
        out.extend(quantize_all(&run.attention(l)?));
    }
    Ok(out)
}

/// Thumbnail side for T tokens.
pub fn thumb_size(t: usize) -> usize {
    t.clamp(1, MAX_THUMB)
}

/// Uint8 [n_layers, n_heads, S, S]: each head's map max-pooled, cell c → bin floor(c·S/T).
pub fn thumbs(run: &Run) -> Result<(Vec<u8>, usize), EngineError> {
    let s = thumb_size(run.seq_len());
    let mut out = Vec::with_capacity(run.n_layers() * run.n_heads() * s * s);
    for l in 0..run.n_layers() {
        out.extend(quantize_all(&run.pooled(l, None, s, Pool::Max)?));
    }
    Ok((out, s))
}

/// Largest side of a zoomed full-resolution tile.
pub const MAX_TILE: usize = 256;

/// The front end's `zoom` (`{"r0", "c0", "n"}` or null) as a window clamped to the input:
/// (first row, first column, side), or None when nothing is zoomed.
pub fn zoom_window(zoom: &Value, t: usize) -> Option<(usize, usize, usize)> {
    let get = |k: &str| {
        zoom.get(k)
            .and_then(|v| v.as_f64())
            .filter(|v| v.is_finite())
            .map(|v| v.max(0.0) as usize)
    };
    let n = get("n")?.clamp(1, MAX_TILE).min(t);
    if n == 0 {
        return None;
    }
    let r0 = get("r0")?.min(t - n);
    let c0 = get("c0")?.min(t - n);
    Some((r0, c0, n))
}

pub fn kind_str(k: ModelKind) -> &'static str {
    match k {
        ModelKind::MaskedLm => "masked_lm",
        ModelKind::CausalLm => "causal_lm",
        ModelKind::Encoder => "encoder",
    }
}

pub fn tokens_json(a: &Analysis) -> Value {
    Value::Array(
        a.tokens
            .iter()
            .map(|t| json!({"text": t.text, "special": t.special, "segment": t.segment, "masked": t.masked, "knocked_out": t.knocked_out}))
            .collect(),
    )
}

/// Top-k per position; probabilities to 5 decimals (an f32 printed in full takes 19 characters,
/// and at 8k tokens the list is most of the JSON state).
pub fn predictions_json(a: &Analysis) -> Value {
    let short = |p: f32| ((p as f64) * 1e5).round() / 1e5;
    Value::Array(
        a.predictions
            .iter()
            .map(|p| {
                Value::Array(
                    p.iter()
                        .map(|x| json!({"token": x.token, "prob": short(x.prob)}))
                        .collect(),
                )
            })
            .collect(),
    )
}

/// Token range of pooled bin `b` of `p` bins over `t` tokens: the cells c with floor(c·p/t) = b,
/// as (first, last) token (the front end's `binRange`; widget/test/vectors/bins.json holds cases
/// both check).
pub fn bin_range(b: usize, p: usize, t: usize) -> (usize, usize) {
    let lo = (b * t).div_ceil(p);
    let hi = lo.max(((b + 1) * t).div_ceil(p).max(1) - 1);
    (lo, hi.min(t.saturating_sub(1)))
}

/// A front-end key's default for T tokens (widget/protocol.json).
fn length_default(key: &str, t: usize) -> &'static Value {
    protocol::default_for(key, t, "").unwrap_or(&Value::Null)
}

/// The initial view for T tokens: the head view up to `HEAD_VIEW_MAX_TOKENS`, the matrix past it.
pub fn default_view(t: usize) -> &'static str {
    length_default("view", t).as_str().unwrap_or("head")
}

/// How heads combine at first for T tokens: one colour per head while the curves stay readable,
/// their mean past that.
pub fn default_combine(t: usize) -> &'static str {
    length_default("combine", t).as_str().unwrap_or("each")
}

/// Which edges the head view draws per query for T tokens (see the widget's `EDGE_MODES`).
pub fn default_edges(t: usize) -> &'static str {
    length_default("edges", t).as_str().unwrap_or("all")
}

/// The suggested threshold for T tokens.
pub fn default_threshold(t: usize) -> f64 {
    length_default("threshold", t).as_f64().unwrap_or(0.0)
}

/// The settings a new view starts with, for T tokens of a model of kind `kind`: every front-end
/// key's default from the schema, and the middle layer.
pub fn initial_settings(t: usize, kind: ModelKind, n_layers: usize) -> Map<String, Value> {
    let mut m: Map<String, Value> = protocol::protocol()
        .state
        .iter()
        .filter(|(_, k)| k.owner == Owner::Front)
        .filter_map(|(name, _)| {
            Some((
                name.clone(),
                protocol::default_for(name, t, kind_str(kind))?.clone(),
            ))
        })
        .collect();
    m.insert("layer".into(), json!(n_layers / 2));
    m
}

/// What a new text resets (positions, and what depends on the input's length), with the values
/// for T tokens.
pub fn reset_with_text(t: usize) -> Map<String, Value> {
    protocol::protocol()
        .state
        .iter()
        .filter(|(_, k)| k.reset_with_text)
        .map(|(name, _)| (name.clone(), length_default(name, t).clone()))
        .collect()
}

/// Whether the kernel redraws (layer, tile, snapshot) when the front end changes `key`.
pub fn redraws(key: &str) -> bool {
    protocol::key(key).is_some_and(|k| k.redraw)
}

/// The keys the front end may set and what each accepts: the keys widget/protocol.json gives to the
/// front end, checked by their type there. Everything else (tokens, sizes, buffers, run ids)
/// belongs to the kernel. Numbers out of range are clamped, lists cleaned; a value of the wrong
/// type is refused (`None`).
pub fn accept_from_front(state: &Map<String, Value>, key: &str, v: &Value) -> Option<Value> {
    let spec = protocol::key(key).filter(|k| k.owner == Owner::Front)?;
    let dim = |k: &str| state.get(k).and_then(Value::as_u64).unwrap_or(0) as i64;
    let int = |v: &Value| {
        v.as_f64()
            .filter(|x| x.is_finite() && x.fract() == 0.0)
            .map(|x| x as i64)
    };
    match &spec.ty {
        KeyType::Index { of, outside } => int(v).map(|i| {
            let n = dim(of);
            if (0..n).contains(&i) {
                json!(i)
            } else if outside == "clamp" {
                json!(i.clamp(0, (n - 1).max(0)))
            } else {
                outside.clone()
            }
        }),
        KeyType::IndexSet { of } => {
            let n = dim(of);
            let mut set: Vec<i64> = v
                .as_array()?
                .iter()
                .map(int)
                .collect::<Option<Vec<_>>>()?
                .into_iter()
                .filter(|h| (0..n).contains(h))
                .collect();
            set.sort_unstable();
            set.dedup();
            // Every index (or none left) is written `[]`.
            if set.len() as i64 == n {
                set.clear();
            }
            Some(json!(set))
        }
        KeyType::Number { range: [lo, hi] } => v
            .as_f64()
            .filter(|x| x.is_finite())
            .map(|x| json!(x.clamp(*lo, *hi))),
        KeyType::Bool => v.as_bool().map(|b| json!(b)),
        KeyType::Enum { values } => v
            .as_str()
            .filter(|s| values.iter().any(|o| o == s))
            .map(|s| json!(s)),
        KeyType::Zoom => match v {
            Value::Null => Some(Value::Null),
            _ => zoom_window(v, dim("seq_len") as usize)
                .map(|(r0, c0, n)| json!({"r0": r0, "c0": c0, "n": n})),
        },
        KeyType::String | KeyType::Int | KeyType::Json | KeyType::Binary => None,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_front_end_sets_only_its_keys_and_in_range() {
        let st: Map<String, Value> = serde_json::from_value(
            json!({"n_layers": 30, "n_heads": 9, "seq_len": 12, "layer": 3}),
        )
        .unwrap();
        let f = |k: &str, v: Value| accept_from_front(&st, k, &v);
        assert_eq!(f("layer", json!(7)), Some(json!(7)));
        assert_eq!(f("layer", json!(99)), Some(json!(29)));
        assert_eq!(f("layer", json!(-4)), Some(json!(0)));
        assert_eq!(f("layer", json!(2.5)), None);
        assert_eq!(f("layer", json!("3")), None);
        assert_eq!(f("heads", json!([4, 2, 2, 40])), Some(json!([2, 4])));
        assert_eq!(
            f("heads", json!((0..9).collect::<Vec<_>>())),
            Some(json!([]))
        );
        assert_eq!(f("heads", json!(["x"])), None);
        assert_eq!(f("threshold", json!(7.0)), Some(json!(1.0)));
        assert_eq!(f("focus", json!(12)), Some(json!(-1)));
        assert_eq!(f("view", json!("matrix")), Some(json!("matrix")));
        assert_eq!(f("view", json!("3d")), None);
        assert_eq!(
            f("zoom", json!({"r0": 10, "c0": -3, "n": 64})),
            Some(json!({"r0": 0, "c0": 0, "n": 12}))
        );
        assert_eq!(f("zoom", Value::Null), Some(Value::Null));
        for owned in [
            "tokens",
            "n_heads",
            "seq_len",
            "attn_layer",
            "run_id",
            "busy",
            "_esm",
        ] {
            assert_eq!(f(owned, json!(1)), None, "{owned} belongs to the kernel");
        }
    }

    use super::*;
    use exformer_engine::{Interventions, Prediction, Token};

    /// widget/protocol.json against the kernel's behaviour: every front-end key is accepted (each
    /// enum value as itself, anything else refused), no other key is, the defaults are accepted
    /// values, and the constants are the ones the kernel uses.
    #[test]
    fn the_schema_is_what_the_kernel_does() {
        let p = protocol::protocol();
        let st: Map<String, Value> =
            serde_json::from_value(json!({"n_layers": 30, "n_heads": 9, "seq_len": 100})).unwrap();
        let front: Vec<&str> = p
            .state
            .iter()
            .filter(|(_, k)| k.owner == Owner::Front)
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(
            front,
            [
                "combine",
                "edges",
                "focus",
                "heads",
                "hide_special",
                "layer",
                "mode",
                "pair_filter",
                "sinks",
                "threshold",
                "view",
                "zoom"
            ]
        );
        let kinds = [ModelKind::MaskedLm, ModelKind::CausalLm, ModelKind::Encoder];
        for (name, k) in &p.state {
            let accepted = |v: Value| accept_from_front(&st, name, &v);
            if k.owner != Owner::Front {
                for v in [json!(1), json!("x"), json!(true), json!([]), Value::Null] {
                    assert_eq!(accepted(v), None, "{name} belongs to the {:?}", k.owner);
                }
                continue;
            }
            for v in k.values() {
                assert_eq!(accepted(json!(v)), Some(json!(v)), "{name} = {v}");
                assert_eq!(accepted(json!(format!("{v}?"))), None, "{name}");
                assert_eq!(accepted(json!(v.to_uppercase() + "!")), None, "{name}");
            }
            if let KeyType::Enum { .. } | KeyType::Bool = k.ty {
                assert_eq!(accepted(json!(2.5)), None, "{name}");
            }
            // what a new view starts with is what the front end could have set
            for (t, kind) in [10, 60, 61, 8000].into_iter().zip(kinds.iter().cycle()) {
                let initial = initial_settings(t, *kind, 30);
                let v = initial
                    .get(name)
                    .unwrap_or_else(|| panic!("{name}: no initial value"));
                assert_eq!(
                    accepted(v.clone()).as_ref(),
                    Some(v),
                    "{name} at {t} tokens"
                );
            }
        }
        // the kinds the kernel writes are the schema's
        let kind_values: Vec<&str> = protocol::key("kind")
            .unwrap()
            .values()
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(kind_values, kinds.map(kind_str));
        // the settings a view starts with, as the kernel wrote them before the schema
        assert_eq!(
            Value::Object(initial_settings(61, ModelKind::CausalLm, 30)),
            json!({"layer": 15, "heads": [], "view": "matrix", "threshold": 0.0,
                "hide_special": false, "combine": "mean", "edges": "top3", "sinks": "auto",
                "pair_filter": "all", "mode": "knockout", "focus": -1, "zoom": null})
        );
        assert_eq!(
            serde_json::to_string(&initial_settings(7, ModelKind::MaskedLm, 12)).unwrap(),
            r#"{"combine":"each","edges":"all","focus":-1,"heads":[],"hide_special":false,"layer":6,"mode":"mask","pair_filter":"all","sinks":"auto","threshold":0.05,"view":"head","zoom":null}"#
        );
        assert_eq!(initial_settings(5, ModelKind::MaskedLm, 12)["mode"], "mask");
        assert_eq!(
            initial_settings(5, ModelKind::Encoder, 12)["mode"],
            "knockout"
        );
        assert_eq!(initial_settings(5, ModelKind::Encoder, 12)["layer"], 6);
        // HEAD_VIEW_MAX_TOKENS is where every length default switches
        let n = protocol::head_view_max_tokens();
        assert_eq!(n, 60);
        assert_eq!((default_view(n), default_view(n + 1)), ("head", "matrix"));
        assert_eq!(
            (default_threshold(n), default_threshold(n + 1)),
            (0.05, 0.0)
        );
        // what a new text resets, and what the kernel redraws for
        let reset: Vec<String> = reset_with_text(8000).keys().cloned().collect();
        assert_eq!(
            reset,
            ["combine", "edges", "focus", "threshold", "view", "zoom"]
        );
        assert_eq!(reset_with_text(8000)["focus"], -1);
        let redraw: Vec<&str> = p
            .state
            .keys()
            .map(String::as_str)
            .filter(|k| redraws(k))
            .collect();
        assert_eq!(
            redraw,
            [
                "focus",
                "heads",
                "hide_special",
                "layer",
                "threshold",
                "view",
                "zoom"
            ]
        );
        assert_eq!(p.palette.head_colours.len(), 16);
        assert_eq!(protocol::hex_colour(&p.palette.head_colours[0]), 0x1f77b4);
        assert_eq!(protocol::hex_colour(&p.palette.ramp_light[5]), 0x0b2f6b);
    }

    /// widget/test/vectors/bins.json, which the front end's `binRange` checks too.
    #[test]
    fn pooled_bins_match_the_shared_vectors() {
        let v: Value =
            serde_json::from_str(include_str!("../../../../widget/test/vectors/bins.json"))
                .unwrap();
        let cases = v["cases"].as_array().unwrap();
        assert!(cases.len() >= 10);
        let n = |c: &Value, k: &str| c[k].as_u64().unwrap() as usize;
        for c in cases {
            let (b, p, t) = (n(c, "b"), n(c, "P"), n(c, "T"));
            assert_eq!(bin_range(b, p, t), (n(c, "lo"), n(c, "hi")), "{c}");
        }
        // and every bin of a few sizes covers its cells, in order
        for (p, t) in [(4, 10), (512, 8192), (512, 683), (7, 7), (1, 1)] {
            let mut next = 0;
            for b in 0..p {
                let (lo, hi) = bin_range(b, p, t);
                assert_eq!(lo, next, "bin {b} of {p} over {t}");
                assert!((lo..=hi).all(|c| c * p / t == b));
                next = hi + 1;
            }
            assert_eq!(next, t);
        }
    }

    fn synthetic(t: usize) -> Analysis {
        Analysis {
            model: "synthetic".into(),
            architecture: "llama".into(),
            kind: ModelKind::CausalLm,
            tokens: (0..t)
                .map(|i| Token {
                    id: i as u32,
                    text: format!("t{i}"),
                    start: 0,
                    end: 0,
                    special: i == 0,
                    segment: 0,
                    masked: false,
                    knocked_out: false,
                })
                .collect(),
            n_layers: 1,
            n_heads: 1,
            attention: vec![],
            predictions: (0..t)
                .map(|_| {
                    vec![Prediction {
                        id: 1,
                        token: "x".into(),
                        prob: 0.5,
                    }]
                })
                .collect(),
            hidden_states: None,
            head_outputs: None,
            interventions: Interventions::default(),
        }
    }

    #[test]
    fn quantize_rounds_and_clamps() {
        assert_eq!(quantize(0.0), 0);
        assert_eq!(quantize(1.0), 255);
        assert_eq!(quantize(0.5), 128);
        assert_eq!(quantize(1.5), 255);
        assert_eq!(quantize(-0.1), 0);
        assert_eq!(quantize(f32::NAN), 0);
        assert_eq!(quantize_all(&[0.0, 1.0]), vec![0, 255]);
    }

    #[test]
    fn attn_is_full_resolution_until_its_budget_then_pooled() {
        // 9 heads (SmolLM2): 682 tokens fit in 4 MB, 683 do not.
        assert_eq!(attn_side(512, 9, 0), 512);
        assert_eq!(attn_side(682, 9, 10 << 20), 682);
        let s = attn_side(683, 9, 0);
        assert!(s < 683 && 9 * s * s <= POOLED_ATTN_BYTES, "{s}");
        assert_eq!(attn_side(8192, 9, 0), s);
        assert!(attn_side(8192, 1, 0) <= MAX_POOLED_SIDE);
        // Heavy JSON state leaves less room for the map, down to its minimum.
        let s2 = attn_side(8192, 9, 2 << 20);
        assert!(
            s2 < s && 9 * s2 * s2 + (2 << 20) <= FIRST_PAINT_BYTES,
            "{s2}"
        );
        assert_eq!(attn_side(8192, 9, 3 << 20), MIN_POOLED_SIDE);
        assert_eq!(thumb_size(7), 7);
        assert_eq!(thumb_size(4000), MAX_THUMB);
    }

    #[test]
    fn zoom_windows_are_clamped() {
        assert_eq!(zoom_window(&Value::Null, 100), None);
        assert_eq!(
            zoom_window(&json!({"r0": 10, "c0": 0, "n": 64}), 100),
            Some((10, 0, 64))
        );
        assert_eq!(
            zoom_window(&json!({"r0": 90, "c0": -5, "n": 64}), 100),
            Some((36, 0, 64))
        );
        assert_eq!(
            zoom_window(&json!({"r0": 0, "c0": 0, "n": 100000}), 8000),
            Some((0, 0, MAX_TILE))
        );
        assert_eq!(
            zoom_window(&json!({"r0": 0, "c0": 0, "n": 64}), 10),
            Some((0, 0, 10))
        );
        assert_eq!(zoom_window(&json!({"r0": "x", "c0": 0, "n": 64}), 10), None);
        assert_eq!(
            zoom_window(&json!({"r0": 1e300, "c0": 0, "n": 8}), 10),
            Some((2, 0, 8))
        );
    }

    #[test]
    fn json_traits() {
        let a = synthetic(3);
        assert_eq!(tokens_json(&a)[0]["special"], true);
        assert_eq!(predictions_json(&a).as_array().unwrap().len(), 3);
        assert_eq!(
            serde_json::to_string(&predictions_json(&a)[0]).unwrap(),
            r#"[{"prob":0.5,"token":"x"}]"#
        );
        assert_eq!(kind_str(ModelKind::MaskedLm), "masked_lm");
        assert_eq!(default_view(60), "head");
        assert_eq!(default_view(61), "matrix");
        // past the head view's default length: heads averaged, the 3 strongest edges per query
        assert_eq!((default_combine(60), default_edges(60)), ("each", "all"));
        assert_eq!((default_combine(61), default_edges(61)), ("mean", "top3"));
    }
}
