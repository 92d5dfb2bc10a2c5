//! `save_html`: one self-contained offline page (docs/widget-protocol.md, "Standalone HTML").

use super::assets::{STANDALONE_TEMPLATE as TEMPLATE, WIDGET_CSS, WIDGET_JS};
use serde_json::Value;

/// Above this many weights in all layers together, the page carries only the shown layer.
pub const MAX_ALL_LAYERS_BYTES: usize = 50 * 1024 * 1024;

/// Escapes JSON for a `<script type="application/json">` block.
pub fn escape_json_for_html(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Fills the template: CSS, then JS, then the state last (user text could contain a placeholder).
pub fn standalone(state: &Value) -> String {
    let state = escape_json_for_html(&serde_json::to_string(state).unwrap_or_else(|_| "{}".into()));
    TEMPLATE
        .replacen("/*EXFORMER_CSS*/", WIDGET_CSS, 1)
        .replacen("/*EXFORMER_JS*/", WIDGET_JS, 1)
        .replacen("/*EXFORMER_STATE*/", &state, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_every_placeholder_and_escapes_user_text() {
        let state = json!({"tokens": [{"text": "</script><!-- /*EXFORMER_CSS*/ & more"}]});
        let page = standalone(&state);
        assert!(!page.contains("/*EXFORMER_STATE*/") && !page.contains("/*EXFORMER_JS*/"));
        assert!(page.contains(WIDGET_JS.lines().next().unwrap()));
        assert!(page.contains("\\u003c/script\\u003e\\u003c!-- /*EXFORMER_CSS*/ \\u0026 more"));
        // The state block parses back to the same JSON.
        let start = page.find("id=\"exformer-state\">").unwrap() + "id=\"exformer-state\">".len();
        let end = start + page[start..].find("</script>").unwrap();
        let back: Value = serde_json::from_str(&page[start..end]).unwrap();
        assert_eq!(back, state);
    }
}
