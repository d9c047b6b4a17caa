"""Same-story grouping: passages of other articles that say the same thing become one hit.

Two outlets often carry one wire story. Walking the ranked candidates, a passage whose vector is
within `threshold` cosine of an already kept passage from another article is attached to that
hit as `also_reported_by` instead of taking a rank, so the top k are k distinct pieces of
evidence.
"""

from __future__ import annotations

import numpy as np

from qa.storage.snapshot import IndexSnapshot


def group_same_story(snap: IndexSnapshot, rows: np.ndarray, k: int, threshold: float) -> list[tuple[int, list[dict]]]:
    """Positions in `rows` to keep (at most k), each with the passages it absorbed."""
    kept: list[tuple[int, list[dict]]] = []
    kept_vecs: list[np.ndarray] = []
    kept_docs: list[str] = []
    for j, row in enumerate(rows):
        p = snap.passages[int(row)]
        v = np.asarray(snap.vectors[int(row)], dtype=np.float32)
        match = None
        for n, (kv, kd) in enumerate(zip(kept_vecs, kept_docs)):
            if kd != p.doc_id and float(kv @ v) >= threshold:
                match = n
                break
        if match is not None:
            kept[match][1].append({"doc_id": p.doc_id, "source": snap.articles[p.doc_id].source,
                                   "passage_id": p.passage_id, "char_start": p.char_start,
                                   "char_end": p.char_end})
            continue
        if len(kept) == k:
            continue  # still scanning: a later passage may belong to a kept story
        kept.append((j, []))
        kept_vecs.append(v)
        kept_docs.append(p.doc_id)
    return kept
