//! `exformer install`: writes the kernelspec (kernel.json and logos) where Jupyter finds it.
//!
//! The kernel compiles cells with cargo and links them against libtorch, so the spec records
//! the environment that built this binary: PATH (cargo, the venv's python), LD_LIBRARY_PATH
//! (torch's lib/), LIBTORCH_USE_PYTORCH and every EXFORMER_* variable.

use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub enum InstallTarget {
    User,
    SysPrefix,
    Prefix(PathBuf),
}

/// Where `share/jupyter/kernels/<name>` goes for each target.
pub fn kernels_dir(target: &InstallTarget) -> anyhow::Result<PathBuf> {
    Ok(match target {
        InstallTarget::User => {
            if let Some(d) = std::env::var_os("JUPYTER_DATA_DIR") {
                PathBuf::from(d).join("kernels")
            } else {
                let home =
                    std::env::var_os("HOME").ok_or_else(|| anyhow::anyhow!("HOME is not set"))?;
                PathBuf::from(home).join(".local/share/jupyter/kernels")
            }
        }
        InstallTarget::SysPrefix => {
            let prefix = python_prefix()?;
            prefix.join("share/jupyter/kernels")
        }
        InstallTarget::Prefix(p) => p.join("share/jupyter/kernels"),
    })
}

fn python_prefix() -> anyhow::Result<PathBuf> {
    if let Some(v) = std::env::var_os("VIRTUAL_ENV").or_else(|| std::env::var_os("EXFORMER_VENV")) {
        return Ok(PathBuf::from(v));
    }
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.prefix)"])
        .output()?;
    anyhow::ensure!(out.status.success(), "python3 could not report sys.prefix");
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// The kernel.json for this binary.
pub fn kernel_json(exe: &Path, display_name: &str) -> Value {
    let mut env = Map::new();
    for (k, v) in std::env::vars() {
        let keep = matches!(
            k.as_str(),
            "PATH"
                | "LD_LIBRARY_PATH"
                | "LIBTORCH_USE_PYTORCH"
                | "LIBTORCH"
                | "CARGO_HOME"
                | "RUSTUP_HOME"
                | "HF_HOME"
                | "HF_HUB_CACHE"
        ) || k.starts_with("EXFORMER_");
        if keep && k != "EXFORMER_BIN" {
            env.insert(k, Value::String(v));
        }
    }
    json!({
        "argv": [exe.display().to_string(), "kernel", "--connection-file", "{connection_file}"],
        "display_name": display_name,
        "language": "rust",
        "interrupt_mode": "message",
        "env": env,
        "metadata": { "debugger": false },
    })
}

/// Writes `<kernels_dir>/<name>/kernel.json` and returns the directory.
pub fn install(target: &InstallTarget, name: &str, display_name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?.canonicalize()?;
    let dir = kernels_dir(target)?.join(name);
    std::fs::create_dir_all(&dir)?;
    let spec = kernel_json(&exe, display_name);
    std::fs::write(
        dir.join("kernel.json"),
        serde_json::to_string_pretty(&spec)?,
    )?;
    Ok(dir)
}
