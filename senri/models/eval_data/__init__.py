"""Held-out labels the model evaluations use (boxes drawn by hand on packaged photos)."""
