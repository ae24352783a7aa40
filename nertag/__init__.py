"""nertag: a small, readable named-entity tagger (window classifier in NumPy)."""

from nertag.version import __version__  # noqa: F401
