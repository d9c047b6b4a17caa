"""Hashing: the content hash that ids and cache keys come from, and the sha256 of a file.

One owner for both, so the index checksums, the model fingerprint and the ONNX export cache
all hash files the same way, and every module that needs a hash imports it from here (the
embedders never import storage for it).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK = 1 << 20  # files are read in 1 MiB blocks: a model or vector file never sits whole in memory


def content_hash(*parts: str) -> str:
    """Stable short hash of text parts (ids and cache keys come from content).

    Args:
        parts: the texts, hashed in order with a separator, so ("ab", "c") != ("a", "bc").

    Returns:
        The first 16 hex digits of their sha256.
    """
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


def sha256_file(path: str | Path) -> str:
    """The sha256 of a file's bytes, read block by block.

    Args:
        path: the file.

    Returns:
        All 64 hex digits.

    Raises:
        OSError: the file cannot be read.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(BLOCK), b""):
            h.update(block)
    return h.hexdigest()
