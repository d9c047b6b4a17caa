"""Search: one pipeline per configuration; retrieve, fuse, rerank, group, highlight, filters."""
