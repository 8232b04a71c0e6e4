"""senri.query."""
