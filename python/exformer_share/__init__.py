"""Sharing exformer notebooks: every attention view of an exported page renders offline from the
notebook's saved widget state (see convert.py). Hooks:

- `ExformerSharePreprocessor`: an nbconvert preprocessor; scripts/setup.sh registers it for
  `HTMLExporter` in the venv's etc/jupyter/jupyter_nbconvert_config.json, so plain
  `jupyter nbconvert --to html NOTEBOOK` uses it.
- `ExformerTextPreprocessor`: registered for every other template exporter (`TemplateExporter`:
  markdown, LaTeX / PDF, rST): each view becomes its PNG followed by its text summary.
- `python -m exformer_share export NOTEBOOK [-o OUT.html]`: the same export without Jupyter's config.
"""
from .convert import convert_notebook, is_exformer, split_snapshots, static_state  # noqa: F401
from .preprocessor import ExformerSharePreprocessor, ExformerTextPreprocessor  # noqa: F401
