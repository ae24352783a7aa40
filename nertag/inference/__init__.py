"""Inference: the trained-model container (:mod:`.model`), its decoders (:mod:`.decode`)
and the fast scorers that compute the same z = Wx + b → h → s from precomputed
per-word-type and per-feature tables (:mod:`.tables`, :mod:`.word_types`,
:mod:`.token_tables`, :mod:`.shared_types`)."""
