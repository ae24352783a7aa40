"""Scripts that are not library code: multi-seed runs, tokenizer agreement."""
