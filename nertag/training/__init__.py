"""Training: the loop (early stopping, schedules, progress events), one minibatch
step, and checkpoints for an exact resume."""
