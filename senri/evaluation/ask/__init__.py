"""The question benchmark: held-out questions over a generated archive, answered by `senri ask`
and scored against an oracle that reads the archive's truth (``senri eval ask``)."""
