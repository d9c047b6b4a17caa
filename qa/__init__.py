"""qa: cited passage retrieval over news articles.

    from qa import Index
    index = Index.build(["data/articles"], "index")
    hits = index.search("What did Russia propose on decarbonization?", k=3)
"""

from qa.settings import Settings
from qa.embedders import get_embedder
from qa.embedders.sentence_transformer import SentenceTransformerEmbedder
from qa.errors import BadInput, IndexCorrupt, IndexLocked, IndexNotFound, ModelCorrupt, ModelMismatch, QAError
from qa.index import Index
from qa.ingest.reader import ingest
from qa.types import Article, Hit, Passage

__all__ = [
    "Article", "BadInput", "Hit", "Index", "IndexCorrupt", "IndexLocked",
    "IndexNotFound", "ModelCorrupt", "ModelMismatch", "Passage", "QAError", "SentenceTransformerEmbedder",
    "Settings", "get_embedder", "ingest",
]
__version__ = "0.1.0"
