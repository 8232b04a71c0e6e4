"""Event stores: the EventStore protocol, its query model, SQLite and Elasticsearch backends,
the contract tests both pass, and open_store(url)."""
