"""senri.models."""
