"""Vector stores behind one complete interface (`VectorStore`), chosen from one registry:
FAISS, embedded and the default, or Milvus (Milvus Lite in the index folder, or a Milvus
server/cluster by URI; pymilvus is imported only when Milvus is chosen).

The builder creates one store per build with `create_store`; loading opens the store the
manifest names with `open_store`. Passages, articles, the embedding cache and BM25 stay in the
index folder either way, so citations never depend on the store.
"""

from __future__ import annotations

import numpy as np

from qa.registry import Registry
from qa.storage.folder import IndexFolder
from qa.storage.vector_stores.base import VectorStore, row_meta, spec_matches, store_spec

__all__ = ["STORES", "VectorStore", "create_store", "open_store", "drop_replaced", "row_meta",
           "spec_matches", "store_spec"]

STORES: Registry[type[VectorStore]] = Registry("vector store")
STORES.add_lazy("faiss", "qa.storage.vector_stores.faiss:FaissStore")
STORES.add_lazy("milvus", "qa.storage.vector_stores.milvus:MilvusStore")


def create_store(folder: IndexFolder, vectors: np.ndarray, meta: list[dict], settings,
                 ids: np.ndarray | None = None) -> VectorStore:
    """A new store of kind `settings.store` holding `vectors` (row i under id i, or under
    `ids[i]`) for the build in the temporary `folder`."""
    return STORES.get(settings.store).create(folder, vectors, meta, settings, ids=ids)


def open_store(folder: IndexFolder, manifest: dict, settings=None) -> VectorStore:
    """The store an index manifest names (FAISS for manifests older than stores)."""
    spec = store_spec(manifest)
    return STORES.get(spec.get("kind", "faiss")).open(folder, spec, settings)


def drop_replaced(old_manifest: dict, new_manifest: dict, settings) -> None:
    """After a new build is in place: drop the Milvus collection of the build it replaced when
    that lived on a server (a store inside the index folder went away with the old folder)."""
    old, new = store_spec(old_manifest), store_spec(new_manifest)
    if old.get("kind") != "milvus" or old.get("embedded") or not old.get("collection"):
        return
    if (old.get("uri"), old.get("collection")) == (new.get("uri"), new.get("collection")):
        return
    from qa.storage.vector_stores.milvus import drop_collection

    drop_collection(old["uri"], old["collection"], settings.milvus_token if settings else None)
