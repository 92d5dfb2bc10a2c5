"""Makes `exformer_share` (python/exformer_share) importable in this Python's environment and
registers its nbconvert preprocessor for HTML exports, so that plain `jupyter nbconvert --to html`
renders exformer views offline. Idempotent; run by scripts/setup.sh with the venv's python.

- <site-packages>/exformer_share.pth  -> the repository's python/ folder (no copy, no build step)
- <prefix>/etc/jupyter/jupyter_nbconvert_config.json: HTMLExporter.preprocessors gets
  "exformer_share.ExformerSharePreprocessor" (other settings in that file are kept)
- <prefix>/etc/jupyter/jupyter_server_config.json: the same, for JupyterLab's "Save and Export
  Notebook As > HTML" (the server converts with its own config)
"""
import json
import sys
import sysconfig
from pathlib import Path

PREPROCESSOR = "exformer_share.ExformerSharePreprocessor"


def register(cfg_path: Path) -> None:
    """Adds the preprocessor to HTMLExporter.preprocessors in that JSON config file, keeping the rest."""
    cfg_path.parent.mkdir(parents=True, exist_ok=True)
    cfg = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
    pre = cfg.setdefault("HTMLExporter", {}).setdefault("preprocessors", [])
    if PREPROCESSOR not in pre:
        pre.append(PREPROCESSOR)
    cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    pth = Path(sysconfig.get_paths()["purelib"]) / "exformer_share.pth"
    pth.write_text(str(root / "python") + "\n")
    etc = Path(sys.prefix) / "etc" / "jupyter"
    for name in ("jupyter_nbconvert_config.json", "jupyter_server_config.json"):
        register(etc / name)
    print(f"exformer_share: {pth}; HTMLExporter preprocessor in {etc}/jupyter_{{nbconvert,server}}_config.json")


if __name__ == "__main__":
    main()
