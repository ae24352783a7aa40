"""nertag from Python: ``load()`` a model as a :class:`Tagger`, tag texts into
:class:`Doc` objects (:mod:`nertag.api.tagger`), :func:`train` and :func:`evaluate`
(:mod:`nertag.api.runs`); see the README's "Use from Python" and docs/python.md."""

from nertag.api.runs import Prediction, evaluate, predict_file, train
from nertag.api.tagger import Doc, Entity, Span, Tagger, Token, add_patterns, load

__all__ = ["load", "Tagger", "Doc", "Span", "Token", "Entity", "train", "evaluate",
           "predict_file", "Prediction", "add_patterns"]
