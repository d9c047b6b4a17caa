"""The real all-MiniLM-L6-v2 from the installed wheel (slow: loads the model)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from qa import Index

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
QUESTION = "What did Russia propose on decarbonization?"


@pytest.fixture(scope="module")
def demo_index(tmp_path_factory, real_embedder):
    folder = tmp_path_factory.mktemp("demo") / "index"
    return Index.build([ROOT / "data" / "articles"], folder, embedder=real_embedder)


def test_real_embeddings_are_unit_float32_and_semantic(real_embedder):
    v = real_embedder.embed_batch(["cutting carbon emissions", "decarbonization of the economy",
                                   "football match result"])
    assert v.dtype == np.float32 and v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


@pytest.mark.parametrize("config", ["dense", "hybrid"])
def test_decarbonization_question_ranks_the_consultations_passage_first(demo_index, config):
    hit = demo_index.search(QUESTION, k=3, config=config)[0]
    assert hit.doc_id == "003_73730ed10e7a2f7e"
    assert "consultations" in hit.text
    body = demo_index.articles[hit.doc_id].body
    assert body[hit.passage.char_start:hit.passage.char_end] == hit.text
    s, e = hit.highlight
    assert "consultations" in body[s:e]


def test_cli_ask_json_on_real_index(demo_index):
    r = subprocess.run([sys.executable, "-m", "qa", "ask", QUESTION, "--json", "--index", str(demo_index.folder)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    first = out["hits"][0]
    assert first["doc_id"] == "003_73730ed10e7a2f7e" and "consultations" in first["text"]
    body = demo_index.articles[first["doc_id"]].body
    assert body[first["char_start"]:first["char_end"]] == first["text"]


def test_real_index_rerun_embeds_nothing(demo_index, real_embedder):
    again = Index.build([ROOT / "data" / "articles"], demo_index.folder, embedder=real_embedder)
    assert again.last_build.up_to_date and again.last_build.embedded == 0


def test_abstains_on_a_question_the_demo_cannot_answer(demo_index):
    from qa.answer.ask import ask

    yes = ask(demo_index, QUESTION, k=3)
    no = ask(demo_index, "What is the boiling point of mercury in a laboratory?", k=3)
    assert yes.answerable and yes.confidence >= yes.threshold
    assert not no.answerable and no.hits


def test_hybrid_rerank_and_grouping_on_real_model(demo_index):
    hits = demo_index.search(QUESTION, k=3, config="hybrid-rerank", group=True)
    assert hits[0].doc_id == "003_73730ed10e7a2f7e" and "consultations" in hits[0].text
    assert {"dense", "bm25", "fused", "rerank"} <= set(hits[0].scores)
