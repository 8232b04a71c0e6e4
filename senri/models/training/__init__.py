"""Training code for the models senri trains itself (needs the `train` extra: torch)."""
