"""senri.indexes."""
