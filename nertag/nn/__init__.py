"""The lecture's mathematics in NumPy: layers with hand-derived backward passes, the
window model, the CRF, optimisers, a computation-graph engine with the same model on
it, and gradient checking.  Imports NumPy and :mod:`nertag.errors`, nothing else."""
