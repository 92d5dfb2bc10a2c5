#!/usr/bin/env bash
# Executes notebooks/quickstart.ipynb headless with the exformer kernel; writes the executed
# notebook and an HTML export to build/notebooks/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
mkdir -p build/notebooks
python scripts/run_notebook.py notebooks/quickstart.ipynb build/notebooks/quickstart.ipynb
jupyter nbconvert --to html --output-dir build/notebooks build/notebooks/quickstart.ipynb
echo "executed notebook: build/notebooks/quickstart.ipynb"
echo "HTML export:       build/notebooks/quickstart.html"
