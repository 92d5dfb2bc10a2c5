//! The attention view's server side at prompt length, without a kernel: what a user waits for.
//!
//!     view-bench MODEL TEXT_FILE [CLICK_POSITION ...]
//!
//! Prints one JSON line: `first_paint_s` (the run plus the shown layer's state: what the browser
//! needs before it can draw), `payload_bytes` (that state: JSON traits + binary buffers),
//! `clicks` (per position: seconds from a knock-out to the published update, and how many
//! positions were reused from the previous run), and `peak_rss_mb` of this process.
//! Used by benches/long_bench.py.

use exformer::engine::{Input, Model};
use std::sync::Arc;
use std::time::Instant;

fn peak_rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn payload_bytes(state: &serde_json::Value) -> usize {
    let mut n = 0;
    if let Some(obj) = state.as_object() {
        for (k, v) in obj {
            if k == "_buffers" {
                for b in v.as_object().into_iter().flat_map(|o| o.values()) {
                    n += b.as_str().map(|s| s.len() * 3 / 4).unwrap_or(0);
                }
            } else {
                n += k.len() + serde_json::to_string(v).map(|s| s.len()).unwrap_or(0);
            }
        }
    }
    n
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: view-bench MODEL TEXT_FILE [CLICK_POSITION ...]");
        std::process::exit(2);
    }
    let text = std::fs::read_to_string(&args[1]).expect("read the text file");
    let clicks: Vec<usize> = args[2..]
        .iter()
        .map(|a| a.parse().expect("a click position"))
        .collect();
    let t = Instant::now();
    let model = Arc::new(Model::load(&args[0], &Default::default()).expect("load the model"));
    let load_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let view =
        exformer::AttentionView::new(model.clone(), Input::new(text)).expect("run the model");
    let first_paint_s = t.elapsed().as_secs_f64();
    let state = view.state_json(false);
    let tokens = state["seq_len"].as_u64().unwrap_or(0);
    let mut out = vec![];
    for &c in &clicks {
        let t = Instant::now();
        view.knock_out(&[c]).expect("knock out");
        let s = t.elapsed().as_secs_f64();
        out.push(serde_json::json!({"position": c, "s": s, "reused": view.reused_positions()}));
        view.knock_out(&[]).expect("undo");
    }
    println!(
        "{}",
        serde_json::json!({
            "load_s": load_s, "tokens": tokens, "first_paint_s": first_paint_s, "payload_bytes": payload_bytes(&state),
            "attn_size": state["attn_size"], "clicks": out, "peak_rss_mb": peak_rss_mb(),
        })
    );
}
