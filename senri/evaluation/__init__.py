"""Evaluations of senri's models and of its answers: accuracy on held-out sets, printed.

`senri models eval NAME` runs a model's evaluation (`senri.evaluation.models` knows which);
`senri eval ask` runs the question benchmark (`senri.evaluation.ask`). This package may import
the runtime; nothing in the runtime imports it (docs/architecture.md).
"""
