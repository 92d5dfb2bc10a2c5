//! The widget's state schema, `widget/protocol.json`: every state key with its owner (kernel, front
//! end, static page), its type and enum values, its default, and the constants and colours the
//! kernel and the front end share. The front end reads the same file (`widget/logic/protocol.js`).
//!
//! The file is embedded at compile time and parsed once per copy of the crate (evcxr links one
//! copy into each cell), on first use.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// `widget/protocol.json`, verbatim.
pub const PROTOCOL_JSON: &str = include_str!("../../../../widget/protocol.json");

/// Who writes a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    /// Only the kernel.
    Kernel,
    /// The front end may set it (the kernel sets the first value and checks what arrives).
    Front,
    /// Only a static page's model (`createStaticModel`).
    Page,
}

/// What a key holds, and for the front end's keys how a value it sends is checked.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KeyType {
    String,
    Int,
    Bool,
    Json,
    Binary,
    /// One of `values`.
    Enum {
        values: Vec<String>,
    },
    /// A finite number, clamped into `range`.
    Number {
        range: [f64; 2],
    },
    /// An integer index below the count in key `of`; outside it, clamped (`"clamp"`) or replaced
    /// by that value.
    Index {
        of: String,
        outside: Value,
    },
    /// Sorted, distinct indexes below the count in key `of`; every one is written `[]`.
    IndexSet {
        of: String,
    },
    /// A zoom window `{r0, c0, n}` clamped to the input, or null.
    Zoom,
}

/// One state key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Key {
    pub owner: Owner,
    #[serde(flatten)]
    pub ty: KeyType,
    /// A value, `{short, long}` by input length, or `{masked_lm, other}` by model kind; absent:
    /// the kernel computes it. (`null` is a default: `Some(Value::Null)`.)
    #[serde(default, deserialize_with = "present")]
    pub default: Option<Value>,
    /// The kernel redraws the layer, the tile and the snapshot when the front end changes it.
    #[serde(default)]
    pub redraw: bool,
    /// Set back to its default when a cell gives the view a new text.
    #[serde(default)]
    pub reset_with_text: bool,
}

/// A field that is there, `null` included.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl Key {
    /// The enum's values (empty for other types).
    pub fn values(&self) -> &[String] {
        match &self.ty {
            KeyType::Enum { values } => values,
            _ => &[],
        }
    }
}

#[derive(Debug, Deserialize)]
#[allow(non_snake_case)]
pub struct Constants {
    /// Longest input (visible tokens) drawn as a head view by default; longer inputs get the
    /// matrix view (the front end and the PNG snapshot alike).
    pub HEAD_VIEW_MAX_TOKENS: usize,
}

#[derive(Debug, Deserialize)]
pub struct Palette {
    /// One colour per head (head h gets entry h % len), `#rrggbb`.
    pub head_colours: Vec<String>,
    /// The light theme's heatmap ramp: weight 0 → first stop, 1 → last.
    pub ramp_light: Vec<String>,
    /// The dark theme's (the front end's only).
    pub ramp_dark: Vec<String>,
}

/// The parsed schema.
#[derive(Debug, Deserialize)]
pub struct Protocol {
    pub constants: Constants,
    pub palette: Palette,
    pub state: BTreeMap<String, Key>,
}

/// The schema (parsed on first use).
pub fn protocol() -> &'static Protocol {
    static P: OnceLock<Protocol> = OnceLock::new();
    P.get_or_init(|| {
        serde_json::from_str(PROTOCOL_JSON).expect("widget/protocol.json is a valid schema")
    })
}

/// A key's entry, if the schema has it.
pub fn key(name: &str) -> Option<&'static Key> {
    protocol().state.get(name)
}

/// Longest input drawn as a head view by default (`HEAD_VIEW_MAX_TOKENS`).
pub fn head_view_max_tokens() -> usize {
    protocol().constants.HEAD_VIEW_MAX_TOKENS
}

/// `#rrggbb` as 0xrrggbb.
pub fn hex_colour(s: &str) -> u32 {
    s.strip_prefix('#')
        .filter(|h| h.len() == 6)
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .unwrap_or_else(|| panic!("widget/protocol.json: {s:?} is not #rrggbb"))
}

/// A key's default for an input of `t` tokens from a model of kind `kind` (`masked_lm`, ...), if
/// the schema gives one.
pub fn default_for(name: &str, t: usize, kind: &str) -> Option<&'static Value> {
    let d = key(name)?.default.as_ref()?;
    Some(match d {
        Value::Object(m) if m.contains_key("short") => {
            &m[if t <= head_view_max_tokens() {
                "short"
            } else {
                "long"
            }]
        }
        Value::Object(m) if m.contains_key("other") => m.get(kind).unwrap_or(&m["other"]),
        v => v,
    })
}
