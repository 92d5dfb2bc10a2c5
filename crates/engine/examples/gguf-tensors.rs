//! Inspect a GGUF file with the engine's own reader (used by tests/engine/test_gguf.py):
//!
//!     gguf-tensors FILE.gguf --info                      # JSON: version, metadata keys, tensors (name, type, shape)
//!     gguf-tensors FILE.gguf --dequant OUT.safetensors [NAME ...]   # f32 tensors (all if no names)
//!     gguf-tensors FILE.gguf --tokenize TEXT              # JSON list of token ids from the metadata tokenizer
//!
//! Errors are printed as the engine's messages with exit status 1.

use exformer_engine::gguf::{tokenizer_from_gguf, GgufFile};
use exformer_engine::EngineError;

fn run(args: &[String]) -> Result<(), EngineError> {
    let usage = || {
        EngineError::Unsupported("usage: gguf-tensors FILE.gguf (--info | --dequant OUT.safetensors [NAME ...] | --tokenize TEXT)".into())
    };
    let (file, cmd) = match args {
        [f, c, ..] => (f, c.as_str()),
        _ => return Err(usage()),
    };
    let g = GgufFile::open(file)?;
    match cmd {
        "--info" => {
            let tensors: Vec<_> = g
                .tensors
                .iter()
                .map(|t| serde_json::json!({"name": t.name, "type": t.ggml_type.name(), "shape": t.shape(), "offset": t.offset}))
                .collect();
            let keys: Vec<&str> = g.metadata.iter().map(|(k, _)| k.as_str()).collect();
            let out = serde_json::json!({"version": g.version, "alignment": g.alignment, "data_offset": g.data_offset,
                                         "architecture": g.architecture(), "metadata_keys": keys, "tensors": tensors});
            println!("{out}");
        }
        "--dequant" => {
            let out = args.get(2).ok_or_else(usage)?;
            let names: Vec<String> = if args.len() > 3 {
                args[3..].to_vec()
            } else {
                g.tensors.iter().map(|t| t.name.clone()).collect()
            };
            let mut data = Vec::new();
            for n in &names {
                let (v, shape) = g.tensor_f32(n)?;
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                data.push((
                    n.clone(),
                    shape.iter().map(|&s| s as usize).collect::<Vec<_>>(),
                    bytes,
                ));
            }
            let views: Vec<(String, safetensors::tensor::TensorView)> = data
                .iter()
                .map(|(n, s, b)| {
                    (
                        n.clone(),
                        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                            .expect("consistent view"),
                    )
                })
                .collect();
            safetensors::tensor::serialize_to_file(views, None, std::path::Path::new(out))
                .map_err(|e| EngineError::Unsupported(format!("could not write {out}: {e}")))?;
        }
        "--tokenize" => {
            let text = args.get(2).ok_or_else(usage)?;
            let (tok, specials) = tokenizer_from_gguf(&g)?;
            let enc = tok
                .encode(text.as_str(), true)
                .map_err(|e| EngineError::Tokenizer(e.to_string()))?;
            let out = serde_json::json!({"ids": enc.get_ids(), "offsets": enc.get_offsets(), "bos": specials.bos, "eos": specials.eos,
                                         "add_bos": specials.add_bos});
            println!("{out}");
        }
        _ => return Err(usage()),
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
