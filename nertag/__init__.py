"""nertag: a small, readable named-entity tagger (window classifier in NumPy)."""

__version__ = "0.1.0"
