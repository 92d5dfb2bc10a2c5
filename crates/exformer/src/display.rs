//! Rich output from cells. Under the exformer kernel it goes through the bridge as
//! display_data; elsewhere (stock evcxr_jupyter) it is printed as evcxr MIME blocks, which that
//! kernel turns into the cell's output.

use serde_json::{json, Map, Value};

/// Shows a MIME bundle (`{"text/plain": .., "text/html": .., "image/png": <base64>}`).
pub fn show(bundle: Map<String, Value>) {
    if crate::comm::in_kernel()
        && crate::comm::display(Value::Object(bundle.clone()), json!({}), None, false).is_ok()
    {
        return;
    }
    print_mime_blocks(&bundle);
}

/// Prints evcxr's `EVCXR_BEGIN_CONTENT` blocks (what `evcxr_display` implementations emit).
pub fn print_mime_blocks(bundle: &Map<String, Value>) {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (mime, v) in bundle {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let _ = writeln!(out, "EVCXR_BEGIN_CONTENT {mime}\n{text}\nEVCXR_END_CONTENT");
    }
    let _ = out.flush();
}

pub fn html(html: &str) {
    let mut b = Map::new();
    b.insert("text/html".into(), Value::String(html.into()));
    b.insert("text/plain".into(), Value::String(strip_tags(html)));
    show(b);
}

pub fn markdown(md: &str) {
    let mut b = Map::new();
    b.insert("text/markdown".into(), Value::String(md.into()));
    b.insert("text/plain".into(), Value::String(md.into()));
    show(b);
}

/// Clears the cell's output (`wait`: only when new output arrives).
pub fn clear_output(wait: bool) {
    if crate::comm::clear_output(wait).is_err() {
        // Outside the exformer kernel there is no way to clear; say so on stderr.
        eprintln!("clear_output is only available in the exformer kernel");
    }
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}
