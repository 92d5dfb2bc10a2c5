"""Writes the README's picture: the PNG snapshot that an exformer view carries in its output
(drawn by the project's own renderer, crates/exformer), taken from an executed notebook.

    python scripts/readme_picture.py [NOTEBOOK] [OUT.png] [--view N]

Defaults: docs/example_executed.ipynb, docs/attention-view.png, the first view."""
import argparse
import base64
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def view_pngs(nb):
    """PNG bytes of every exformer view output (widget view + PNG + 'AttentionView:' text), in order."""
    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = o.get("data", {})
            if WIDGET_VIEW in data and "image/png" in data and str(data.get("text/plain", "")).startswith("AttentionView:"):
                yield base64.b64decode(data["image/png"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebook", nargs="?", default=str(ROOT / "docs" / "example_executed.ipynb"))
    ap.add_argument("out", nargs="?", default=str(ROOT / "docs" / "attention-view.png"))
    ap.add_argument("--view", type=int, default=0, help="which view (0 = the first)")
    a = ap.parse_args()
    pngs = list(view_pngs(nbformat.read(a.notebook, as_version=4)))
    if not pngs:
        print(f"{a.notebook}: no exformer view with a PNG snapshot (execute it first)", file=sys.stderr)
        return 1
    png = pngs[a.view]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    Path(a.out).write_bytes(png)
    print(f"wrote {a.out} ({len(png) / 1024:.0f} KB, view {a.view} of {len(pngs)} in {a.notebook})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
