"""Storage: the index folder (names, manifest, lock, atomic commit), tables, BM25, vector stores, sentence vectors."""
