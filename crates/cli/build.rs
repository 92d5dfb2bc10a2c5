//! Bakes libtorch's folder into the binary's RUNPATH, so `exformer` runs without
//! LD_LIBRARY_PATH or `scripts/env.sh`. torch-sys reports the folder it linked against
//! (`DEP_TCH_LIBTORCH_LIB`); the path is written relative to the binary (`$ORIGIN/...`, which
//! survives moving the checkout) and absolute (which survives copying the binary elsewhere).

use std::path::{Component, Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Some(lib) = std::env::var_os("DEP_TCH_LIBTORCH_LIB").map(PathBuf::from) else {
        return;
    };
    let lib = lib.canonicalize().unwrap_or(lib);
    let mut paths = vec![];
    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out; the binary lands in <target>/<profile>.
    if let Some(bin_dir) = std::env::var_os("OUT_DIR")
        .map(PathBuf::from)
        .and_then(|o| o.ancestors().nth(3).map(Path::to_path_buf))
        .and_then(|d| d.canonicalize().ok())
    {
        if let Some(rel) = relative(&bin_dir, &lib) {
            paths.push(format!("$ORIGIN/{}", rel.display()));
        }
    }
    paths.push(lib.display().to_string());
    println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{}", paths.join(":"));
}

/// `to` relative to the folder `from` (both absolute).
fn relative(from: &Path, to: &Path) -> Option<PathBuf> {
    let f: Vec<Component> = from.components().collect();
    let t: Vec<Component> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut rel = PathBuf::new();
    for _ in common..f.len() {
        rel.push("..");
    }
    for c in &t[common..] {
        rel.push(c.as_os_str());
    }
    Some(rel)
}
