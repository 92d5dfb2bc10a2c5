"""python -m exformer_share export NOTEBOOK [-o OUT.html] [--template lab|classic]

Writes one HTML page in which every exformer view renders from the notebook's saved widget state,
offline (the same as `jupyter nbconvert --to html` in the project's venv, without Jupyter's config)."""
import argparse
import sys
from pathlib import Path


def export(notebook: str, out: str | None = None, template: str = "lab") -> Path:
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    from .preprocessor import ExformerSharePreprocessor

    src = Path(notebook)
    dst = Path(out) if out else src.with_suffix(".html")
    nb = nbformat.read(src, as_version=4)
    exporter = HTMLExporter(config=Config(), template_name=template)
    exporter.register_preprocessor(ExformerSharePreprocessor(), enabled=True)
    body, resources = exporter.from_notebook_node(nb, resources={"metadata": {"name": src.stem, "path": str(src.parent)}})
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(body, encoding="utf-8")
    n = resources.get("exformer_share", {}).get("views", 0)
    print(f"wrote {dst} ({dst.stat().st_size / 1024:.0f} KB, {n} exformer view{'s' if n != 1 else ''})")
    return dst


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m exformer_share", description=__doc__.split("\n\n")[1])
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("export", help="notebook -> one offline HTML page")
    ex.add_argument("notebook")
    ex.add_argument("-o", "--output", help="output file (default: NOTEBOOK with .html)")
    ex.add_argument("--template", default="lab", choices=["lab", "classic"])
    args = ap.parse_args(argv)
    try:
        export(args.notebook, args.output, args.template)
    except (OSError, ValueError) as e:
        print(f"exformer_share: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
