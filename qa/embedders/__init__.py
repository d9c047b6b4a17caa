"""Embedding backends by name: the `EMBEDDERS` registry and `get_embedder` (text -> unit vectors).

`EMBEDDERS` is the registry of embedding backends: a name maps to a factory
`(model, batch_size) -> Embedder`, and `get_embedder` is the one way to build an embedder by
name. Every entry is lazy, so importing this package never imports torch, sentence-transformers
or ONNX Runtime: a backend's module is imported when the backend is first chosen, and its model
loads on the first `embed_batch`. Where the vectors are computed (this process or Ray) is
qa.embedders.engines.
"""

from __future__ import annotations

from typing import Callable

from qa.embedders.base import Embedder
from qa.registry import Registry
from qa.settings import DEFAULT_MODEL, Settings

EmbedderFactory = Callable[[str, int], Embedder]  # (model name or folder, batch size) -> embedder

EMBEDDERS: Registry[EmbedderFactory] = Registry("embedding backend")
# the first entry is the default, Settings.backend
EMBEDDERS.add_lazy("onnx-int8", "qa.embedders.onnx_runtime:onnx_int8_embedder")
EMBEDDERS.add_lazy("torch", "qa.embedders.sentence_transformer:SentenceTransformerEmbedder")
EMBEDDERS.add_lazy("onnx", "qa.embedders.onnx_runtime:onnx_fp32_embedder")


def embedder_factory(backend: str | None = None) -> EmbedderFactory:
    """The factory registered for a backend.

    Args:
        backend: a name in `EMBEDDERS`; None means `Settings.backend`.

    Raises:
        BadInput: an unknown backend (the message lists the registered ones).
    """
    return EMBEDDERS.get(Settings().backend if backend is None else backend)


def get_embedder(model: str = DEFAULT_MODEL, batch_size: int = 32, backend: str | None = None) -> Embedder:
    """The embedder for a model name and backend. Cheap: the model loads on first use.

    Args:
        model: model name or local folder.
        batch_size: texts per forward pass.
        backend: a name in `EMBEDDERS`; None means `Settings.backend`.

    Raises:
        BadInput: an unknown backend, or a model that is neither a folder nor the packaged one.
    """
    return embedder_factory(backend)(model, batch_size)
