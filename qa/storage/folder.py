"""The index folder: plain files plus `manifest.json`, written atomically, checked on load.

Layout of `index/`:
    manifest.json    format version, model id + weights hash, dimension, chunking, counts, checksums
    dense.faiss      FAISS index; id i == line i of passages.jsonl
    vectors.npy      float32 (n, dim) unit vectors, the embedding cache for incremental updates
    passages.jsonl   one Passage per line (+ its embedding key); passages.offsets.npy: line offsets
    articles.jsonl   one Article per line; articles.offsets.npy: line offsets
    passage_article.npy, articles.keys.json   article row per passage; doc_id/source/date per article
    bm25/, bm25_docs/   bm25s files (npy + json) over passages and over whole articles

A write builds everything in a temporary sibling folder, fsyncs it, then swaps it into place
(one atomic `renameat2(RENAME_EXCHANGE)` on Linux), so a crash leaves the previous index intact.
No pickle is written or read.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from qa.settings import FORMAT_VERSION
from qa.errors import IndexCorrupt, IndexLocked, IndexNotFound, ModelMismatch
from qa.hashing import sha256_file

MANIFEST = "manifest.json"
FULL_CHECK_BYTES = 256 * 2**20  # files larger than this are checked by size only at load
PARTIAL = ".partial"  # embedding shards of an interrupted build, inside the live index folder


def index_files(folder: Path) -> list[Path]:
    """Every data file of a built index folder (what the manifest checksums)."""
    skip = {MANIFEST, ".gitkeep"}
    # a Milvus Lite file (qa/stores/milvus.py) is a database that rewrites its own files whenever
    # it is opened, with its own write-ahead log: checksums would fail on every load
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in skip
                  and PARTIAL not in p.relative_to(folder).parts
                  and not re.fullmatch(r"milvus-\w+\.db", p.relative_to(folder).parts[0]))


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _fsync_tree(folder: Path) -> None:
    for p in [*folder.rglob("*"), folder]:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    rc = fn(AT_FDCWD, os.fsencode(str(a)), AT_FDCWD, os.fsencode(str(b)), RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def commit_folder(tmp: Path, target: Path, manifest: dict[str, Any]) -> None:
    """Checksum `tmp`'s files into its manifest, fsync, and swap it into place at `target`."""
    files = {}
    for p in index_files(tmp):
        files[str(p.relative_to(tmp))] = {"sha256": sha256_file(p), "bytes": p.stat().st_size}
    manifest = {**manifest, "files": files}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    (tmp / ".gitkeep").touch()
    _fsync_tree(tmp)
    if target.exists():
        if _exchange(tmp, target):
            shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the previous index
        else:
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, target)
    dfd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def new_tmp_folder(target: Path) -> Path:
    """A fresh temporary sibling of `target`; leftovers of killed builds are removed first
    (the caller holds the write lock, so no other build is using them)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{int(time.time() * 1000)}")
    tmp.mkdir()
    return tmp


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of an index folder.

    Raises:
        IndexNotFound: no folder or no manifest there.
        IndexCorrupt: the manifest is not valid JSON.
    """
    f = folder / MANIFEST
    if not f.exists():
        raise IndexNotFound(f"no index at {str(folder)!r} (no {MANIFEST}); build one with "
                            f"`python -m qa index PATH --index {folder}`")
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise IndexCorrupt(f"{f} is not valid JSON; rebuild with `python -m qa index --rebuild "
                           f"--index {folder}`") from None


def reindex_command(folder: Path, manifest: dict[str, Any]) -> str:
    """The `qa index` command that rebuilds `folder` with the model, backend, chunking and
    store its manifest records (only what differs from the defaults is spelled out)."""
    from qa.settings import Settings

    d, model, chunk = Settings(), manifest.get("model", {}), manifest.get("chunking", {})
    opts = [(model.get("id"), d.model, "--model"), (model.get("backend"), d.backend, "--backend"),
            (chunk.get("target_tokens"), d.target_tokens, "--target-tokens"),
            (chunk.get("overlap_sentences"), d.overlap_sentences, "--overlap"),
            ((manifest.get("store") or {}).get("kind"), "faiss", "--store")]
    cmd = [f"python -m qa index PATH --index {folder}"]
    cmd += [f"{flag} {value}" for value, default, flag in opts if value is not None and value != default]
    if chunk.get("sentence_vectors") is False:
        cmd.append("--no-sentence-vectors")
    return " ".join(cmd)


def check_manifest(folder: Path, manifest: dict[str, Any], model_id: str | None = None,
                   fingerprint: str | None = None, verify: bool = True) -> None:
    """Refuse an index of another format or model, or with missing/changed files.

    Raises:
        ModelMismatch: format version or model differs from what is asked for.
        IndexCorrupt: a file is missing, has the wrong size or (when verified) the wrong checksum.
    """
    rebuild = f"rebuild with `python -m qa index --rebuild --index {folder}`"
    fmt = manifest.get("format_version")
    if fmt != FORMAT_VERSION:
        raise ModelMismatch(f"index at {folder} has format version {fmt!r}, this qa reads "
                            f"{FORMAT_VERSION}; re-index with `{reindex_command(folder, manifest)}` "
                            f"(PATH: the articles it was built from; its embeddings are reused, not redone)")
    model = manifest.get("model", {})
    if model_id is not None and model.get("id") != model_id:
        raise ModelMismatch(f"index at {folder} was built with model {model.get('id')!r}, "
                            f"not {model_id!r}; search with that model or {rebuild}")
    if fingerprint is not None and model.get("fingerprint") not in (None, fingerprint):
        raise ModelMismatch(f"index at {folder} was built with other weights of {model.get('id')!r} "
                            f"({model.get('fingerprint')} vs installed {fingerprint}); {rebuild}")
    for name, info in manifest.get("files", {}).items():
        p = folder / name
        if not p.exists():
            raise IndexCorrupt(f"index file {p} is missing; {rebuild}")
        size = p.stat().st_size
        if size != info.get("bytes"):
            raise IndexCorrupt(f"index file {p} has {size} bytes, the manifest says "
                               f"{info.get('bytes')} (truncated or edited); {rebuild}")
        if verify and size <= FULL_CHECK_BYTES and sha256_file(p) != info.get("sha256"):
            raise IndexCorrupt(f"index file {p} does not match its checksum (edited or damaged); "
                               f"{rebuild}")


@contextmanager
def write_lock(target: Path) -> Iterator[None]:
    """Hold an exclusive lock for writing `target`; a second writer fails at once, clearly."""
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.with_name(f".{target.name}.lock")
    fh = open(lock_path, "a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            who = fh.read().strip() or "another process"
            raise IndexLocked(f"index {str(target)!r} is being written by {who}; wait for it to "
                              f"finish (lock file {lock_path})") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        yield
    finally:
        fh.close()
