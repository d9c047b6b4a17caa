"""Text: sentences, chunking with offsets, the BM25 analyzer."""
