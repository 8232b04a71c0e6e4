"""Vector collections: FAISS-backed, persisted, filtered; named collections on disk, and
replicas fed from a Kafka embeddings topic."""
