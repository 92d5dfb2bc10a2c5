#!/usr/bin/env bash
# Executes notebooks/quickstart.ipynb headless with the exformer kernel; writes the executed
# notebook and an HTML export to build/notebooks/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
mkdir -p build/notebooks
python scripts/run_notebook.py notebooks/quickstart.ipynb build/notebooks/quickstart.ipynb
# The venv's nbconvert config (scripts/install_share.py) makes every exformer view draw itself
# offline from the saved widget state; `python -m exformer_share export` does the same without it.
jupyter nbconvert --to html --output-dir build/notebooks build/notebooks/quickstart.ipynb
if ! grep -q 'id="exformer-share-module-' build/notebooks/quickstart.html; then
  echo "warning: quickstart.html has no offline views (run scripts/setup.sh: it registers exformer_share with nbconvert)" >&2
fi
echo "executed notebook: build/notebooks/quickstart.ipynb"
echo "HTML export:       build/notebooks/quickstart.html (offline: every view draws from the saved state)"
