"""qa: cited passage retrieval over news articles.

    from qa import Index
    index = Index.build(["data/articles"], "index")
    hits = index.search("What did Russia propose on decarbonization?", k=3)
"""

from .config import Settings
from .embed import HashEmbedder, SentenceTransformerEmbedder, get_embedder
from .errors import BadInput, IndexCorrupt, IndexLocked, IndexNotFound, ModelMismatch, QAError
from .index import Index
from .ingest import ingest
from .types import Article, Hit, Passage

__all__ = [
    "Article", "BadInput", "HashEmbedder", "Hit", "Index", "IndexCorrupt", "IndexLocked",
    "IndexNotFound", "ModelMismatch", "Passage", "QAError", "SentenceTransformerEmbedder",
    "Settings", "get_embedder", "ingest",
]
__version__ = "0.1.0"
