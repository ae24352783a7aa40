"""Inference: the trained-model container, decoders, precomputed first-layer tables,
raw-text tagging in bounded-memory batches, output formats and the tagging runtime."""
