"""The ONNX embedding backend: backend selection (fast, fake embedder) and the real export (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa import Index
from qa.embedders import get_embedder
from qa.embedders.sentence_transformer import SentenceTransformerEmbedder
from qa.errors import BadInput, ModelMismatch
from tests.support.fake_embedder import HashEmbedder

SENTENCES = [
    "Russia proposes consultations on the decarbonization of the economy.",
    "The local football team won the cup final on Saturday with a late goal.",
    "The probe entered orbit around Mars after a journey of seven months.",
    "Short.",
]


# ---- selection logic (no model) -------------------------------------------------------------

def test_get_embedder_onnx_int8_is_onnx_embedder_with_its_own_fingerprint(monkeypatch):
    from qa.embedders.onnx_runtime import OnnxEmbedder

    e = get_embedder(backend="onnx-int8")
    assert isinstance(e, OnnxEmbedder)
    assert e.backend == "onnx-int8" and e.model_id == "all-MiniLM-L6-v2"
    assert not e.loaded  # construction never exports nor loads
    torch_fp = SentenceTransformerEmbedder().fingerprint()
    assert e.fingerprint() == f"{torch_fp}-onnx-int8" != torch_fp


def test_get_embedder_torch_backend_gives_sentence_transformer():
    e = get_embedder(backend="torch")
    assert type(e) is SentenceTransformerEmbedder and e.backend == "torch"


def test_get_embedder_with_unknown_backend_raises_bad_input():
    with pytest.raises(BadInput, match="unknown embedding backend 'tensorrt'"):
        get_embedder(backend="tensorrt")


def test_registry_default_backend_is_the_settings_default_and_first():
    from qa.embedders import EMBEDDERS
    from qa.settings import Settings

    assert EMBEDDERS.names()[0] == Settings().backend == "onnx-int8"
    assert {"onnx-int8", "torch", "onnx"} <= set(EMBEDDERS.names())


def test_importing_the_embedders_and_their_factories_loads_no_backend_library():
    import subprocess
    import sys

    code = ("import sys, qa; from qa.embedders import EMBEDDERS, get_embedder\n"
            "[EMBEDDERS.get(b) for b in ('onnx-int8', 'torch', 'onnx')]; get_embedder(backend='onnx')\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'onnxruntime', "
            "'sentence_transformers', 'transformers', 'ray'}))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_get_embedder_without_backend_uses_settings_default():
    from qa.settings import Settings

    assert get_embedder().backend == Settings().backend


def test_manifest_records_backend_of_embedder(built_index):
    manifest = json.loads((built_index.folder / "manifest.json").read_text())
    assert manifest["model"]["backend"] == "hash"


def _retag(folder: Path, model_id: str, backend: str | None, fingerprint: str) -> None:
    f = folder / "manifest.json"
    m = json.loads(f.read_text())
    m["model"].update({"id": model_id, "fingerprint": fingerprint})
    if backend is None:
        m["model"].pop("backend", None)
    else:
        m["model"]["backend"] = backend
    f.write_text(json.dumps(m))


class _Recorder:
    """Stands in for get_embedder in qa.index: records the backend asked for."""

    def __init__(self, make):
        self.asked: list[str | None] = []
        self.make = make

    def __call__(self, model, batch_size=32, backend=None):
        self.asked.append(backend)
        return self.make(backend)


class _TaggedHash(HashEmbedder):
    """The fake embedder posing as the real model under some backend."""

    def __init__(self, backend):
        super().__init__(model_id="all-MiniLM-L6-v2")
        self.backend = backend

    def fingerprint(self) -> str:
        return f"fake-{self.backend}"


@pytest.mark.parametrize("backend", ["onnx-int8", "torch", "onnx"])
def test_load_picks_backend_recorded_in_manifest(built_index, monkeypatch, backend):
    import qa.index

    _retag(built_index.folder, "all-MiniLM-L6-v2", backend, f"fake-{backend}")
    rec = _Recorder(_TaggedHash)
    monkeypatch.setattr(qa.index, "get_embedder", rec)
    loaded = Index.load(built_index.folder)
    assert rec.asked == [backend]
    assert loaded.embedder.backend == backend


def test_load_of_manifest_without_backend_uses_torch(built_index, monkeypatch):
    import qa.index

    _retag(built_index.folder, "all-MiniLM-L6-v2", None, "fake-torch")
    rec = _Recorder(_TaggedHash)
    monkeypatch.setattr(qa.index, "get_embedder", rec)
    Index.load(built_index.folder)
    assert rec.asked == ["torch"]


def test_load_with_embedder_of_other_backend_raises_model_mismatch(built_index):
    _retag(built_index.folder, "all-MiniLM-L6-v2", "onnx-int8", "fake-onnx-int8")
    with pytest.raises(ModelMismatch, match="fake-onnx-int8"):
        Index.load(built_index.folder, embedder=_TaggedHash("torch"))


def test_build_uses_settings_backend(corpus_dir, tmp_path, monkeypatch):
    import qa.index
    from qa.settings import Settings

    rec = _Recorder(_TaggedHash)
    monkeypatch.setattr(qa.index, "get_embedder", rec)
    Index.build([corpus_dir], tmp_path / "ix", settings=Settings(backend="onnx"))
    assert rec.asked[0] == "onnx"
    assert json.loads((tmp_path / "ix" / "manifest.json").read_text())["model"]["backend"] == "onnx"


def test_cli_index_rejects_unknown_backend(corpus_dir, tmp_path, capsys):
    from qa.cli.main import main

    assert main(["index", str(corpus_dir), "--index", str(tmp_path / "ix"), "--backend", "gpu"]) == 2
    assert "invalid choice: 'gpu'" in capsys.readouterr().err


def test_cli_backend_choices_are_the_registered_backends():
    from qa.cli.main import build_parser
    from qa.embedders import EMBEDDERS

    index_parser = build_parser()._subparsers._group_actions[0].choices["index"]
    [backend] = [a for a in index_parser._actions if a.dest == "backend"]
    assert tuple(backend.choices) == EMBEDDERS.names()


def test_onnx_cache_root_follows_env(monkeypatch, tmp_path):
    from qa.embedders.onnx_runtime import OnnxEmbedder

    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "c"))
    e = OnnxEmbedder()
    assert e.cache_dir().parent == tmp_path / "c" / "onnx"
    assert "onnx-int8" in e.cache_dir().name


def test_onnx_embedder_rejects_unknown_variant():
    from qa.embedders.onnx_runtime import OnnxEmbedder

    with pytest.raises(ValueError, match="fp16"):
        OnnxEmbedder(backend="fp16")


# ---- the real export (slow) -----------------------------------------------------------------

@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("qa-cache")


@pytest.fixture(scope="module")
def exported(onnx_cache):
    """One real export + quantisation per module, into a private cache folder."""
    import os

    from qa.embedders.onnx_runtime import OnnxEmbedder

    old = os.environ.get("QA_CACHE_DIR")
    os.environ["QA_CACHE_DIR"] = str(onnx_cache)
    try:
        e = OnnxEmbedder()
        vecs = e.embed_batch(SENTENCES)
    finally:
        if old is None:
            os.environ.pop("QA_CACHE_DIR", None)
        else:
            os.environ["QA_CACHE_DIR"] = old
    return e, vecs


@pytest.mark.slow
def test_onnx_int8_embeddings_agree_with_torch(exported, real_embedder):
    e, vecs = exported
    assert e.exports == 1
    ref = real_embedder.embed_batch(SENTENCES)
    assert vecs.dtype == np.float32 and vecs.shape == ref.shape
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    cos = (vecs * ref).sum(axis=1)
    assert cos.min() > 0.99, cos
    # and it still tells the sentences apart like torch does: each sentence's nearest other
    # sentence is the same, and every pairwise similarity is within 0.03 of torch's (the order
    # of near-ties among the least similar pairs may swap under int8, and did on one machine)
    sim, ref_sim = vecs @ vecs.T, ref @ ref.T
    np.fill_diagonal(sim, -1.0)
    np.fill_diagonal(ref_sim, -1.0)
    assert np.array_equal(sim.argmax(axis=1), ref_sim.argmax(axis=1))
    assert np.abs(sim - ref_sim).max() < 0.03, np.abs(sim - ref_sim).max()


@pytest.mark.slow
def test_onnx_session_threads_do_not_spin_between_runs(exported):
    # spinning ORT threads steal the 2 cores from FAISS/numpy right after a question is encoded
    e, _ = exported
    entry = e.session().get_session_options().get_session_config_entry("session.intra_op.allow_spinning")
    assert entry == "0"


@pytest.mark.slow
def test_onnx_embeddings_barely_depend_on_batch_neighbours(exported):
    # dynamic quantisation scales activations per batch, so neighbours move a vector a little
    e, vecs = exported
    one_by_one = np.vstack([e.embed_batch([s]) for s in SENTENCES])
    assert (one_by_one * vecs).sum(axis=1).min() > 0.98


@pytest.mark.slow
def test_embed_spans_gives_the_same_text_vectors_and_a_vector_per_sentence_in_context(exported):
    e, vecs = exported
    text = ("Russia proposes energy talks\nRussia proposed consultations on decarbonization. "
            "The meeting was held in Moscow on June 11. The football team won the cup.")
    from qa.text.sentences import split_sentences

    first = text.index("\n") + 1
    spans = [(first + s, first + t) for s, t in split_sentences(text[first:])]
    tv, sv = e.embed_spans([text, *SENTENCES], [spans, *([] for _ in SENTENCES)])
    # the texts' vectors are what embed_batch gives the same batch (int8 scales depend on it)
    np.testing.assert_allclose(tv, e.embed_batch([text, *SENTENCES]), atol=1e-6)
    assert sv.shape == (3, e.dim)
    np.testing.assert_allclose(np.linalg.norm(sv, axis=1), 1.0, atol=1e-5)
    alone = e.embed_batch([text[s:t] for s, t in spans])
    # each pooled sentence is closest to its own separate encoding (read in context, not equal)
    assert np.array_equal((sv @ alone.T).argmax(axis=1), np.arange(3)), sv @ alone.T
    q = e.embed_batch(["Where was the meeting held?", "Which team won the cup?"])
    assert list((q @ sv.T).argmax(axis=1)) == [1, 2]


@pytest.mark.slow
def test_onnx_cache_is_reused_on_second_load(exported, onnx_cache, monkeypatch):
    from qa.embedders.onnx_runtime import OnnxEmbedder

    monkeypatch.setenv("QA_CACHE_DIR", str(onnx_cache))
    again = OnnxEmbedder()
    vecs = again.embed_batch(SENTENCES)
    assert again.exports == 0
    np.testing.assert_allclose(vecs, exported[1], atol=1e-6)


@pytest.mark.slow
def test_damaged_onnx_cache_is_rebuilt(exported, onnx_cache, monkeypatch, tmp_path):
    import shutil

    from qa.embedders.onnx_runtime import OnnxEmbedder

    copy = tmp_path / "cache"
    shutil.copytree(onnx_cache, copy)
    monkeypatch.setenv("QA_CACHE_DIR", str(copy))
    e = OnnxEmbedder()
    model = e.cache_dir() / "model.onnx"
    data = model.read_bytes()
    model.write_bytes(data[: len(data) // 2])  # an export cut short
    vecs = e.embed_batch(SENTENCES)
    assert e.exports == 1
    assert model.stat().st_size == len(data)
    np.testing.assert_allclose(vecs, exported[1], atol=1e-5)
    assert not [p for p in e.cache_dir().parent.iterdir() if ".tmp-" in p.name]


def test_load_without_an_embedder_builds_the_registered_backend_the_manifest_names(built_index):
    from qa.embedders import EMBEDDERS

    assert "hash" in EMBEDDERS  # tests/conftest.py registered the fake
    loaded = Index.load(built_index.folder)
    assert type(loaded.embedder) is HashEmbedder and loaded.embedder.model_id == "hash-test"
    assert loaded.search("cup final", k=1)[0].doc_id == "football"
