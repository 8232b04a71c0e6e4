"""Small model weights that ship inside the senri package (see senri.models.registry)."""
