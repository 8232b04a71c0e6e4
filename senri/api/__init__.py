"""senri.api."""
