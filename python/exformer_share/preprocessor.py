"""nbconvert preprocessor: exformer views become offline HTML outputs (see convert.py)."""
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from .convert import convert_notebook, split_snapshots


class ExformerSharePreprocessor(Preprocessor):
    """Rewrites each exformer view output to draw itself from the saved widget state."""

    enabled = Bool(True, help="Convert exformer views (set False to keep nbconvert's widget output)").tag(config=True)

    def preprocess(self, nb, resources):
        counts = convert_notebook(nb)
        resources.setdefault("exformer_share", {}).update(counts)
        return nb, resources


class ExformerTextPreprocessor(Preprocessor):
    """For exports without HTML (markdown, LaTeX / PDF, rST): each exformer view shows its PNG and
    then its text summary (a renderer shows one MIME type per output)."""

    enabled = Bool(True, help="Split exformer views into their PNG and their text summary").tag(config=True)

    def preprocess(self, nb, resources):
        resources.setdefault("exformer_share", {})["split"] = split_snapshots(nb)
        return nb, resources
