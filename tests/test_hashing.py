"""qa.hashing: the one content hash and the one file checksum."""

import hashlib

from qa.hashing import BLOCK, content_hash, sha256_file


def test_sha256_file_equals_sha256_of_the_bytes_across_block_boundaries(tmp_path):
    data = bytes(range(256)) * (BLOCK // 256 * 2 + 3)  # two whole blocks and a partial one
    f = tmp_path / "blob.bin"
    f.write_bytes(data)
    assert sha256_file(f) == hashlib.sha256(data).hexdigest()


def test_sha256_file_of_an_empty_file_is_the_hash_of_no_bytes(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    assert sha256_file(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


def test_content_hash_separates_its_parts():
    assert content_hash("ab", "c") != content_hash("a", "bc")
    assert content_hash("a", "b") == content_hash("a", "b") and len(content_hash("x")) == 16


def test_content_hash_value_is_stable_so_old_indexes_keep_their_embedding_keys():
    assert content_hash("fingerprint", "text") == "43d2d1edbfe2f26b"
