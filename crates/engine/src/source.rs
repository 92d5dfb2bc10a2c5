//! Resolving a model spec: a short name, a Hugging Face folder, a .gguf file, or a hub id found offline in the
//! Hugging Face cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub).

use crate::error::{EngineError, Result};
use crate::registry;
use std::path::{Path, PathBuf};

/// What a spec points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// A folder with config.json, weights and tokenizer.json.
    HfDir(PathBuf),
    /// A single GGUF file.
    Gguf(PathBuf),
}

/// A resolved spec.
#[derive(Debug, Clone)]
pub struct ResolvedSource {
    /// Display name (the short name or hub id, or the folder/file name).
    pub name: String,
    /// The path it resolved to, as text.
    pub source: String,
    pub kind: SourceKind,
}

/// The Hugging Face hub cache directory.
pub fn hf_cache_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("HF_HUB_CACHE") {
        if !p.is_empty() {
            return Some(PathBuf::from(p));
        }
    }
    if let Ok(p) = std::env::var("HF_HOME") {
        if !p.is_empty() {
            return Some(PathBuf::from(p).join("hub"));
        }
    }
    std::env::var("HOME")
        .ok()
        .map(|h| PathBuf::from(h).join(".cache/huggingface/hub"))
}

/// The snapshot folder of a cached repo folder (models--org--name).
fn snapshot_of(repo_dir: &Path) -> Option<PathBuf> {
    if let Ok(r) = std::fs::read_to_string(repo_dir.join("refs/main")) {
        let p = repo_dir.join("snapshots").join(r.trim());
        if p.is_dir() {
            return Some(p);
        }
    }
    let mut snaps: Vec<PathBuf> = std::fs::read_dir(repo_dir.join("snapshots"))
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    snaps.sort();
    snaps.pop()
}

/// A hub id ("org/name") in the offline cache.
pub fn hf_cache_lookup(id: &str) -> Option<PathBuf> {
    let cache = hf_cache_dir()?;
    let dir = cache.join(format!("models--{}", id.replace('/', "--")));
    snapshot_of(&dir)
}

/// All cached hub models that have a config.json: (id, snapshot folder).
pub fn hf_cache_models() -> Vec<(String, PathBuf)> {
    let Some(cache) = hf_cache_dir() else {
        return vec![];
    };
    let Ok(rd) = std::fs::read_dir(&cache) else {
        return vec![];
    };
    let mut out: Vec<(String, PathBuf)> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            let rest = n.strip_prefix("models--")?;
            let snap = snapshot_of(&e.path())?;
            snap.join("config.json")
                .is_file()
                .then(|| (rest.replace("--", "/"), snap))
        })
        .collect();
    out.sort();
    out
}

/// `model_type` from a folder's config.json.
pub fn config_model_type(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("config.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("model_type")
        .and_then(|m| m.as_str())
        .map(String::from)
}

fn from_path(name: String, p: &Path) -> Result<ResolvedSource> {
    let source = p.display().to_string();
    if p.is_dir() {
        if !p.join("config.json").is_file() {
            // A folder holding exactly one .gguf is accepted too.
            let ggufs: Vec<PathBuf> = std::fs::read_dir(p)?
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|f| {
                    f.extension()
                        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
                })
                .collect();
            if ggufs.len() == 1 {
                let g = ggufs[0].clone();
                return Ok(ResolvedSource {
                    name,
                    source: g.display().to_string(),
                    kind: SourceKind::Gguf(g),
                });
            }
            return Err(EngineError::MissingFile(p.join("config.json")));
        }
        return Ok(ResolvedSource {
            name,
            source,
            kind: SourceKind::HfDir(p.to_path_buf()),
        });
    }
    if p.is_file() {
        if p.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
        {
            return Ok(ResolvedSource {
                name,
                source,
                kind: SourceKind::Gguf(p.to_path_buf()),
            });
        }
        if p.file_name().is_some_and(|f| f == "config.json") {
            if let Some(parent) = p.parent() {
                return from_path(name, parent);
            }
        }
        return Err(EngineError::UnsupportedArchitecture(format!(
            "{} is neither a model folder (with config.json) nor a .gguf file",
            p.display()
        )));
    }
    Err(EngineError::MissingFile(p.to_path_buf()))
}

fn looks_like_path(spec: &str) -> bool {
    spec.starts_with('/')
        || spec.starts_with("./")
        || spec.starts_with("../")
        || spec.starts_with('~')
        || spec.to_ascii_lowercase().ends_with(".gguf")
        || spec.matches('/').count() > 1
}

/// Resolves a model spec.
pub fn resolve(spec: &str) -> Result<ResolvedSource> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err(EngineError::UnknownModel {
            name: String::new(),
            available: registry::available_names(),
        });
    }
    if let Some((p, sn)) = registry::find_short(spec) {
        let mut r = from_path(sn.name.to_string(), &p)?;
        r.name = sn.name.to_string();
        return Ok(r);
    }
    let expanded = if let Some(rest) = spec.strip_prefix("~/") {
        std::env::var("HOME")
            .map(|h| PathBuf::from(h).join(rest))
            .unwrap_or_else(|_| PathBuf::from(spec))
    } else {
        PathBuf::from(spec)
    };
    if expanded.exists() {
        let name = expanded
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| spec.to_string());
        return from_path(name, &expanded);
    }
    if looks_like_path(spec) {
        return Err(EngineError::MissingFile(expanded));
    }
    if spec.matches('/').count() == 1 {
        if let Some(snap) = hf_cache_lookup(spec) {
            return from_path(spec.to_string(), &snap);
        }
    }
    let mut available = registry::available_names();
    if registry::is_short_name(spec) {
        available.retain(|n| n != spec);
    }
    Err(EngineError::UnknownModel {
        name: spec.to_string(),
        available,
    })
}
