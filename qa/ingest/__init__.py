"""Ingest: bytes and files (text, HTML, records) -> Article."""
