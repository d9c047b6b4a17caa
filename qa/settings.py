"""One place for defaults. `None` at call time means "use the value here".

The chunking and model fields are written into the index manifest, so an index says how it
was built and a search with other settings can be refused or explained.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

FORMAT_VERSION = 4  # 2: adds bm25_docs/ (whole-article BM25); 3: memory-mapped tables (records.py);
# 4: passages pooled from article windows (window_tokens in the chunking), pending passages
DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_INDEX_DIR = "index"
DEFAULT_DATA_DIR = "data/articles"


@dataclass(frozen=True)
class Settings:
    """Defaults for building and searching an index."""

    model: str = DEFAULT_MODEL
    # Chunking: passages aim at `target_tokens` word pieces and never exceed the model limit.
    target_tokens: int = 120
    overlap_sentences: int = 1
    title_tokens: int = 24  # at most this many title word pieces are prepended for embedding
    embed_title: bool = True
    sentence_vectors: bool = True  # embed each sentence at index time for the highlighter
    # Passages pooled from article windows of at most this many word pieces (qa.embedders.windows;
    # embedders with token states, the ONNX backends); 0: each passage embedded behind its title
    window_tokens: int = 128
    batch_size: int = 32
    # A long build commits in steps (qa.storage.steps): what is read is keyword-searchable at
    # once, and embedded passages join the dense index at most every `step_seconds` (0: one
    # commit at the end). Passages are embedded in groups of whole articles of about
    # `step_passages` passages (one shard), in article order.
    step_seconds: float = 60.0
    step_passages: int = 256
    # Embedding backend: torch (sentence-transformers fp32), onnx (fp32) or onnx-int8 (quantised).
    # onnx-int8: ~3.5x torch's throughput, SciFact nDCG@10 within 0.006 of torch (bench/RESULTS.md)
    backend: str = "onnx-int8"
    # Scale-out (README "Scaling out"): the vector store and the embedding engine
    store: str = "faiss"  # faiss (embedded) or milvus
    milvus_uri: str | None = None  # None: Milvus Lite inside the index folder; else a server URI
    milvus_token: str | None = field(default=None, repr=False)  # never written down; QA_MILVUS_TOKEN
    engine: str = "local"  # local (this process) or ray (Ray Data actors)
    ray_address: str | None = None  # None: a local Ray runtime; else a cluster (or RAY_ADDRESS)
    ray_actors: int | None = None  # embedding actors (None: one per CPU Ray offers)
    # Retrieval
    k: int = 5
    # the reading model on the features' best 4; QA_CONFIG=hybrid-rerank answers without it (~30 ms
    # less a question on 2 cores, ~4.7x a server's throughput; bench/RESULTS.md "The reader by default")
    config: str = field(default_factory=lambda: os.environ.get("QA_CONFIG") or "hybrid-read")
    candidates: int = 100  # depth of each retriever before fusion
    rrf_k: int = 60
    rerank_depth: int = 100  # fused candidates a reranker re-scores
    group: bool = False  # same-story grouping (the UI turns it on)
    same_story_threshold: float = 0.8  # cosine between passages of two articles telling one story
    # answerable when best cosine - abstain_unseen * (share of the question's names and numbers
    # that no passage holds) >= off-topic background + margin; both calibrated on news questions
    # (bench/calibrate_abstention.py: the unseen weight with the widest range of margins that flag
    # <= 5% of every set's answerable and >= 90% of every group of unanswerable and off-topic
    # tuning questions, the margin in its middle; was 0.28 from Cranfield, then 0.19 alone)
    abstain_margin: float = 0.2065
    abstain_unseen: float = 0.05

    def chunking(self) -> dict[str, Any]:
        return {
            "target_tokens": self.target_tokens,
            "overlap_sentences": self.overlap_sentences,
            "title_tokens": self.title_tokens,
            "embed_title": self.embed_title,
            "sentence_vectors": self.sentence_vectors,
            "window_tokens": self.window_tokens,
        }

    def with_(self, **changes: Any) -> "Settings":
        changes = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **changes)
