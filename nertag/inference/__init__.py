"""Inference: the trained-model container (:mod:`.model`), its decoders (:mod:`.decode`)
and the fast scorer of the tagging path, which computes the same z = Wx + b → h → s from
per-word-type rows (:mod:`.word_types`, with :mod:`.token_tables` for the name-list
codes and :mod:`.shared_types` for worker processes), checked against the parameters
before each use (:mod:`.snapshot`)."""
