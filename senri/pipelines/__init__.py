"""Pipeline files that ship with senri (the demo graph)."""
