//! The widget's front end and page template, embedded (no CDN, works offline).

/// The ES module anywidget loads (`_esm`): the bundle of `widget/` (see widget/README.md).
pub const WIDGET_JS: &str = include_str!("../../../../widget/exformer.js");
/// The widget's stylesheet (`_css`).
pub const WIDGET_CSS: &str = include_str!("../../../../widget/exformer.css");
/// The page `save_html` fills (docs/widget-protocol.md, "Standalone HTML").
pub const STANDALONE_TEMPLATE: &str = include_str!("../../../../widget/standalone.html");
