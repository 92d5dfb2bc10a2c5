"""Makes `exformer_share` (python/exformer_share) importable in this Python's environment and
registers its nbconvert preprocessor for HTML exports, so that plain `jupyter nbconvert --to html`
renders exformer views offline. Idempotent; run by scripts/setup.sh with the venv's python.

- <site-packages>/exformer_share.pth  -> the repository's python/ folder (no copy, no build step)
- <prefix>/etc/jupyter/jupyter_nbconvert_config.json: HTMLExporter.preprocessors gets
  "exformer_share.ExformerSharePreprocessor", TemplateExporter.preprocessors (markdown, LaTeX /
  PDF, rST) "exformer_share.ExformerTextPreprocessor" (other settings in that file are kept)
- <prefix>/etc/jupyter/jupyter_server_config.json: the same, for JupyterLab's "Save and Export
  Notebook As > HTML" (the server converts with its own config)
- <prefix>/share/jupyter/labextensions/exformer-saved-views: the JupyterLab extension in
  widget/lab/saved_views.js, which draws exformer views from a notebook's saved state when the
  notebook has no kernel (its file name carries a hash of its content, so browsers never run a
  stale copy)
"""
import hashlib
import json
import shutil
import sys
import sysconfig
from pathlib import Path

PREPROCESSOR = "exformer_share.ExformerSharePreprocessor"
TEXT_PREPROCESSOR = "exformer_share.ExformerTextPreprocessor"


def register(cfg_path: Path) -> None:
    """Adds the preprocessors to that JSON config file, keeping the rest: HTMLExporter (and its
    subclasses) gets the offline views, every other template exporter the PNG + text split."""
    cfg_path.parent.mkdir(parents=True, exist_ok=True)
    cfg = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
    for exporter, name in (("HTMLExporter", PREPROCESSOR), ("TemplateExporter", TEXT_PREPROCESSOR)):
        pre = cfg.setdefault(exporter, {}).setdefault("preprocessors", [])
        if name not in pre:
            pre.append(name)
    cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")


LAB_EXTENSION = "exformer-saved-views"


def install_lab_extension(root: Path, prefix: Path) -> Path:
    """Installs widget/lab/saved_views.js as a prebuilt JupyterLab extension; returns its folder."""
    source = (root / "widget" / "lab" / "saved_views.js").read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:12]
    dest = prefix / "share" / "jupyter" / "labextensions" / LAB_EXTENSION
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "static").mkdir(parents=True)
    entry = f"static/remoteEntry.{digest}.js"
    (dest / entry).write_bytes(source)
    package = {
        "name": LAB_EXTENSION,
        "version": "0.1.0",
        "description": "Draws exformer attention views from a notebook's saved widget state when it has no kernel.",
        "license": "MIT OR Apache-2.0",
        "jupyterlab": {"_build": {"load": entry, "extension": "./extension"}},
    }
    (dest / "package.json").write_text(json.dumps(package, indent=2) + "\n")
    (dest / "install.json").write_text(json.dumps({"packageManager": "exformer", "packageName": LAB_EXTENSION,
                                                   "uninstallInstructions": f"remove {dest}"}, indent=2) + "\n")
    return dest


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    pth = Path(sysconfig.get_paths()["purelib"]) / "exformer_share.pth"
    pth.write_text(str(root / "python") + "\n")
    etc = Path(sys.prefix) / "etc" / "jupyter"
    for name in ("jupyter_nbconvert_config.json", "jupyter_server_config.json"):
        register(etc / name)
    lab = install_lab_extension(root, Path(sys.prefix))
    print(f"exformer_share: {pth}; HTMLExporter preprocessor in {etc}/jupyter_{{nbconvert,server}}_config.json; "
          f"JupyterLab extension in {lab}")


if __name__ == "__main__":
    main()
