"""The Milvus store, through pymilvus's `MilvusClient`.

One collection per index build: `id` (INT64 primary key == passage row, so `passages.jsonl`
beside it stays the citation source), `vector` (FLOAT_VECTOR, inner product over unit vectors)
and the scalar fields `doc_id`, `source`, `source_lc` (lower-cased, for the case-insensitive
source filter) and `date`, so metadata filters run inside Milvus as filter expressions.

Without a URI the collection lives in a Milvus Lite file inside the index folder
(`milvus-<build>.db`), written in the temporary build folder and swapped in with the rest of
the index. With a URI (`http://host:19530`, or a `.db` path outside the folder) every build
writes a new collection and drops the one it replaces once the new manifest is in place. The
token comes from `Settings.milvus_token` or `QA_MILVUS_TOKEN` and is never written down.

Milvus Lite is single-process: while one process has a `.db` open, another is refused
(`IndexLocked`) — serve such an index from one process, or from a Milvus server.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import threading
from pathlib import Path

import numpy as np

from qa.errors import BadInput, IndexCorrupt, IndexLocked
from qa.storage.folder import IndexFolder
from qa.storage.selection import Selection
from qa.storage.vector_stores.base import ANN_THRESHOLD, IVF_NPROBE, empty_result, folder_token, ivf_lists

INSERT_BATCH = 2000  # rows per insert call: ~3 MB of 384-d vectors, well under gRPC limits
MAX_VARCHAR = 65535
COLLECTION = "passages"  # the collection of a Lite file inside the index folder
_LIKE_UNSAFE = re.compile(r'[%_\\"\']')  # LIKE has no escape character in every Milvus version

_open_lite: dict[str, int] = {}  # Lite paths this process has open -> users (shared servers)
_open_lock = threading.Lock()


def _client_cls():
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise BadInput("the Milvus store needs pymilvus and milvus-lite; install them with "
                       "`pip install -r requirements-scale.txt`") from None
    return MilvusClient


def _is_lite(uri: str) -> bool:
    return uri.endswith(".db")


def _lock_holder(path: Path) -> bool:
    """True when another process holds Milvus Lite's lock on `path`."""
    lock = path / "LOCK"
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _single_process_error(path: Path) -> IndexLocked:
    return IndexLocked(f"Milvus Lite is single-process and {path} is open in another process "
                       f"(the web UI or another qa command); stop that process first, or serve "
                       f"the index from a Milvus server (`qa index --store milvus --milvus-uri "
                       f"http://HOST:19530`)")


def connect(uri: str, token: str | None = None):
    """A `MilvusClient` for a server URI or a Milvus Lite `.db` path.

    Raises:
        IndexLocked: a Milvus Lite file another process has open.
        BadInput: pymilvus or milvus-lite is not installed.
    """
    cls = _client_cls()
    if not _is_lite(uri):
        return cls(uri=uri, token=token or os.environ.get("QA_MILVUS_TOKEN", ""))
    path = Path(uri).resolve()
    with _open_lock:
        if str(path) not in _open_lite and _lock_holder(path):
            raise _single_process_error(path)
        logging.getLogger("pymilvus").setLevel(logging.CRITICAL)  # we say it in one line instead
        logging.getLogger("milvus_lite").setLevel(logging.CRITICAL)
        try:
            client = cls(str(path))
        except Exception as e:  # pymilvus reports a held lock as "Open local milvus failed"
            if _lock_holder(path):
                raise _single_process_error(path) from None
            raise IndexCorrupt(f"Milvus Lite file {path} cannot be opened ({e}); rebuild with "
                               f"`qa index --rebuild --store milvus`") from None
        _open_lite[str(path)] = _open_lite.get(str(path), 0) + 1
    return client


def release(client, uri: str) -> None:
    """Close a client; the last user of a Lite file in this process stops its server."""
    try:
        client.close()
    except Exception:  # closing a connection whose server is gone must not mask the real error
        pass
    if not _is_lite(uri):
        return
    path = str(Path(uri).resolve())
    with _open_lock:
        users = _open_lite.get(path, 0) - 1
        if users > 0:
            _open_lite[path] = users
            return
        _open_lite.pop(path, None)
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(path)  # flushes and releases the file lock


def _quote(value: str) -> str:
    return '"' + value + '"'


def filter_expression(allowed: Selection) -> str:
    """A Milvus filter expression for a selection: its metadata filter itself, translated to
    the collection's scalar fields, or the row list when the filter cannot be said safely."""
    f = allowed.filter
    if not _LIKE_UNSAFE.search(f.needle):
        parts = []
        if f.needle:
            parts.append(f"source_lc like {_quote('%' + f.needle + '%')}")
        if f.dated:
            parts.append('date != ""')  # an undated article never passes a date filter
        if f.since:
            parts.append(f"date >= {_quote(f.since)}")
        if f.until:
            parts.append(f"date <= {_quote(f.until)}")
        if parts:
            return " and ".join(parts)
    return "id in [" + ",".join(str(int(i)) for i in allowed.rows) + "]"


class MilvusStore:
    """A Milvus collection of passage vectors; Milvus primary key == passage row."""

    store_kind = "milvus"

    def __init__(self, client, uri: str, collection: str, spec: dict, token: str | None = None):
        self.client = client
        self._token = token  # kept for `drop`, never written to the manifest
        self.uri = uri
        self.collection = collection
        self.spec = spec
        self._count: int | None = None

    # ---- creating and opening -------------------------------------------------------------

    @classmethod
    def create(cls, folder: IndexFolder, vectors: np.ndarray, meta: list[dict], settings,
               ids: np.ndarray | None = None) -> "MilvusStore":
        """A new collection holding `vectors` (row i under id i, or under `ids[i]`) for the
        build in `folder`."""
        from pymilvus import DataType

        token = folder_token(folder.path)
        if settings.milvus_uri:
            uri, name, embedded = settings.milvus_uri, f"qa_{token}", False
            rel_uri = uri
        else:
            rel_uri, name, embedded = folder.milvus_lite_name(token), COLLECTION, True
            folder.path.mkdir(parents=True, exist_ok=True)
            uri = str(folder.path / rel_uri)
        client = connect(uri, settings.milvus_token)
        dim = int(vectors.shape[1])
        try:
            schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
            for f in ("doc_id", "source", "source_lc", "date"):
                schema.add_field(f, DataType.VARCHAR, max_length=MAX_VARCHAR)
            index_params = client.prepare_index_params()
            # exact search like FAISS's flat index; an inverted file with 8-bit codes from the same
            # size on (qa.storage.vector_stores.faiss), scanning `IVF_NPROBE` lists per query
            if len(vectors) >= ANN_THRESHOLD:
                nlist = ivf_lists(len(vectors))
                index_params.add_index("vector", index_type="IVF_SQ8", metric_type="IP",
                                       params={"nlist": nlist})
                index = {"type": "IVF_SQ8", "nlist": nlist, "nprobe": min(IVF_NPROBE, nlist)}
            else:
                index_params.add_index("vector", index_type="FLAT", metric_type="IP")
                index = {"type": "FLAT"}
            client.create_collection(name, schema=schema, index_params=index_params,
                                     consistency_level="Strong")
            spec = {"kind": "milvus", "uri": rel_uri, "collection": name, "embedded": embedded,
                    "dim": dim, "index": index}
            store = cls(client, uri, name, spec, settings.milvus_token)
            store.add(np.arange(len(vectors)) if ids is None else np.asarray(ids, dtype=np.int64), vectors, meta)
            client.flush(name)
        except BaseException:
            if not embedded:  # the Lite file goes with the temporary folder
                _drop_quietly(client, name)
            release(client, uri)
            raise
        return store

    @classmethod
    def open(cls, folder: IndexFolder, spec: dict, settings) -> "MilvusStore":
        """Connect to the collection an index manifest names.

        Raises:
            IndexLocked: a Milvus Lite file another process has open.
            IndexCorrupt: the collection is gone.
        """
        uri = str(folder.root / spec["uri"]) if spec.get("embedded") else spec["uri"]
        client = connect(uri, settings.milvus_token if settings else None)
        if not client.has_collection(spec["collection"]):
            release(client, uri)
            raise IndexCorrupt(f"Milvus collection {spec['collection']!r} at {spec['uri']} is gone; "
                               f"rebuild with `qa index --rebuild --store milvus --index {folder}`")
        client.load_collection(spec["collection"])
        return cls(client, uri, spec["collection"], spec, settings.milvus_token if settings else None)

    def manifest_entry(self) -> dict:
        return {"store": dict(self.spec)}

    def close(self) -> None:
        if self.client is not None:
            release(self.client, self.uri)
            self.client = None

    def drop(self) -> None:
        """Remove this collection from an external Milvus (a Lite file in the folder goes with it)."""
        if not self.spec.get("embedded"):
            if self.client is None:
                drop_collection(self.uri, self.collection, self._token)
            else:
                _drop_quietly(self.client, self.collection)

    # ---- the store interface --------------------------------------------------------------

    def add(self, ids: np.ndarray, vectors: np.ndarray, meta: list[dict]) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float32)
        if not (len(ids) == len(vectors) == len(meta)):
            raise BadInput(f"add needs one id and one meta row per vector: {len(ids)} ids, "
                           f"{len(vectors)} vectors, {len(meta)} meta rows")
        for start in range(0, len(ids), INSERT_BATCH):
            rows = [{"id": int(i), "vector": v.tolist(), "doc_id": m["doc_id"], "source": m["source"],
                     "source_lc": m["source"].lower(), "date": m["date"]}
                    for i, v, m in zip(ids[start:start + INSERT_BATCH], vectors[start:start + INSERT_BATCH],
                                       meta[start:start + INSERT_BATCH])]
            self.client.upsert(self.collection, rows)
        self._count = None

    def delete(self, ids: np.ndarray) -> None:
        ids = [int(i) for i in np.asarray(ids, dtype=np.int64)]
        if ids:
            self.client.delete(self.collection, ids=ids)
        self._count = None

    def __len__(self) -> int:
        if self._count is None:
            res = self.client.query(self.collection, filter="", output_fields=["count(*)"],
                                    consistency_level="Strong")
            self._count = int(res[0]["count(*)"])
        return self._count

    count = __len__

    def search_batch(self, queries: np.ndarray, k: int,
                     allowed: Selection | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k `(scores, ids)` per query; the metadata filters run inside Milvus."""
        q = np.asarray(queries, dtype=np.float32)
        n = len(self)
        if n == 0 or (allowed is not None and len(allowed) == 0):
            return empty_result(len(q))
        k = max(1, min(k, n if allowed is None else len(allowed)))
        params: dict = {"metric_type": "IP"}
        index = self.spec.get("index", {})
        if index.get("type") == "IVF_SQ8":
            # a filter's rows may sit in lists a plain probe would skip, as in qa.storage.vector_stores.faiss
            params["params"] = {"nprobe": index["nlist"] if allowed is not None else index["nprobe"]}
        res = self.client.search(self.collection, data=q.tolist(), limit=k,
                                 filter=filter_expression(allowed) if allowed is not None else "",
                                 search_params=params, output_fields=[], consistency_level="Strong")
        scores = np.full((len(q), k), -np.inf, dtype=np.float32)
        ids = np.full((len(q), k), -1, dtype=np.int64)
        for qi, hits in enumerate(res):
            for j, h in enumerate(hits[:k]):
                scores[qi, j], ids[qi, j] = h["distance"], h["id"]
        return scores, ids


def drop_collection(uri: str, name: str, token: str | None) -> None:
    """Drop collection `name` at `uri`; a failure is logged, not raised (the build is done)."""
    try:
        client = connect(uri, token)
    except Exception as e:
        logging.getLogger("qa").warning("could not reach %s to drop collection %s: %s", uri, name, e)
        return
    try:
        _drop_quietly(client, name)
    finally:
        release(client, uri)


def _drop_quietly(client, name: str) -> None:
    try:
        client.drop_collection(name)
    except Exception as e:  # the build already failed or succeeded; a leftover is only named
        logging.getLogger("qa").warning("could not drop Milvus collection %s: %s", name, e)
