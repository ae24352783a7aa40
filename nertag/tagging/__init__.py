"""Tagging raw text with a model: chunks of input → sentences → batched predictions →
entities (:mod:`.chunks`), streaming a file through it in one process or worker
processes (:mod:`.runtime`, :mod:`.parallel`), and tagging CoNLL columns
(:mod:`.tokenized`)."""
