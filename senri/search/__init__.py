"""Search: structured search over the event archive (events), similar-by-image (similar) and
face search (faces), with their CLI commands."""
