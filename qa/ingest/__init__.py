"""Ingest: bytes and files (text, HTML, records, PDF, DOCX, RSS/Atom feeds) -> Article."""
