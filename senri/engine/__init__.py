"""senri.engine."""
