"""training/train_reader.py end to end on a tiny SQuAD-format sample and a tiny random BERT:
every stage runs and the packaged reader loads (CI never trains the real one)."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT

TOPICS = [
    ("Harbour_Bridge", "The harbour bridge opened in 1932 after eight years of work. It carries rail and road traffic.",
     "Its steel arch was built by a firm from Middlesbrough. Painting it takes ten years.",
     [("When did the harbour bridge open?", "1932"), ("Who built the steel arch?", "a firm from Middlesbrough")]),
    ("Tea", "Tea was first drunk in China as a medicine. It reached Europe in the seventeenth century.",
     "Green tea is not oxidised, while black tea is fully oxidised before drying.",
     [("Where was tea first drunk?", "China"), ("Which tea is fully oxidised?", "black tea")]),
    ("Glacier", "The glacier has lost a third of its volume since 1980, according to the survey.",
     "Meltwater from the glacier feeds the river that supplies the valley's farms.",
     [("How much volume has the glacier lost?", "a third"), ("What does the meltwater feed?", "the river")]),
    ("Chess", "The tournament was won by a sixteen-year-old from Chennai on the last day.",
     "Play started late because the hall's lights failed in the morning.",
     [("Who won the tournament?", "a sixteen-year-old from Chennai"), ("Why did play start late?", "the hall's lights failed")]),
]


def squad_file(path):
    data = []
    for title, p1, p2, qas in TOPICS:
        paras = []
        for n, ctx in enumerate((p1, p2)):
            items = [{"id": f"{title}-{n}-{i}", "question": q,
                      "answers": [{"text": a, "answer_start": ctx.index(a)}]}
                     for i, (q, a) in enumerate(qas) if a in ctx]
            paras.append({"context": ctx, "qas": items})
        data.append({"title": title, "paragraphs": paras})
    path.write_text(json.dumps({"version": "1.1", "data": data}))
    return path


def tiny_bert(folder):
    from transformers import BertConfig, BertModel

    cfg = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=256)
    BertModel(cfg).save_pretrained(str(folder))
    shutil.copy(ROOT / "qa" / "models" / "reader" / "tokenizer.json", folder / "tokenizer.json")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("recipe", [[], ["--layers", "1", "--negatives", "1", "--read-depth", "2",
                                         "--quantize-embeddings", "--rank-pool", "mean", "--head-lr", "10",
                                         "--combination", "three"]], ids=["first-reader", "cut-start"])
def test_training_script_runs_every_stage_on_a_tiny_sample(tmp_path, recipe):
    from qa.hashing import sha256_file
    from qa.search.reader import Reader
    from qa.search.rerank import FEATURES

    out = tmp_path / "out"
    cmd = [sys.executable, str(ROOT / "training" / "train_reader.py"), "--work", str(tmp_path / "work"),
           "--out", str(out), "--squad", str(squad_file(tmp_path / "squad.json")),
           "--start", str(tiny_bert(tmp_path / "start")), "--validation-articles", "1",
           "--combination-articles", "1", "--reader-articles", "2", "--max-steps", "3", *recipe]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    meta = json.loads((out / "reader.json").read_text())
    assert meta["training"]["steps"] == 3 and meta["training"]["seed"] == 13
    names = meta["combination"]["features"]
    assert len(meta["combination"]["weights"]) == len(names) and names[-2:] == ["reader", "reader_span"]
    assert set(names[:-2]) <= set(FEATURES) | {"features"}
    for name, digest in meta["files"].items():
        assert sha256_file(out / name) == digest
    card = (out / "MODEL_CARD.md").read_text()
    assert "CC BY-SA 4.0" in card and "3 steps" in card
    assert ("A 1-layer BERT" in card and "first 1 of 2 layers" in card and "Gather" in card
            and meta["read_depth"] == 2 and meta["training"]["rank_pool"] == "mean"
            and meta["combination"]["features"] == ["features", "reader", "reader_span"]) if recipe else ("A 2-layer BERT" in card and meta["read_depth"] == 20)
    assert "step 3/3" in (tmp_path / "work" / "train.log").read_text()
    rank, span = Reader(out).score("When did the bridge open?", [("Bridge", "It opened in 1932."), ("Tea", "Tea is old.")])
    assert rank.shape == (2,) and np.isfinite(rank).all() and np.isfinite(span).all()
    _, _, answers = Reader(out).read("When did the bridge open?", [("Bridge", "It opened in 1932.")])
    # the export gives per-token logits: a span in the passage, or None when a 3-step model points into the title
    assert len(answers) == 1 and (answers[0] is None or 0 <= answers[0][0] < answers[0][1] <= len("It opened in 1932."))
    import onnxruntime as ort
    assert {"start", "end"} <= {o.name for o in ort.InferenceSession(str(out / "model.onnx")).get_outputs()}
    bar = meta["training"]["validation"]["answerable_above"]  # a tiny sample: too few to place it
    assert "answerable_above" in meta and (meta["answerable_above"] is None) == (bar["value"] is None)
    assert "Something here answers" in card


@pytest.fixture
def stages(monkeypatch):
    """training/reader_stages.py imported as the script imports it (training/ on the path)."""
    monkeypatch.syspath_prepend(str(ROOT / "training"))
    for name in ("data", "reader_stages"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    yield importlib.import_module("reader_stages")
    for name in ("data", "reader_stages"):
        sys.modules.pop(name, None)


def test_cut_negative_is_the_passage_without_its_answer_sentence(stages):
    text = ("The council met on Monday. It voted to close the old bridge in March. "
            "Traffic will use the ring road instead. Residents asked for a footpath.")
    span = (text.index("March"), text.index("March") + len("March"))
    cut = stages.cut_answer(text, span, ["March"])
    assert cut == "The council met on Monday. Traffic will use the ring road instead. Residents asked for a footpath."
    # an answer sentence at the very start or end goes too; nothing else is touched
    first = (0, len("The council"))
    assert stages.cut_answer(text, first, ["The council"]).startswith("It voted to close")
    end = (text.index("footpath"), text.index("footpath") + 8)
    assert stages.cut_answer(text, end, ["footpath"]).endswith("ring road instead.")


def test_cut_negative_refused_when_the_answer_is_still_there_or_little_is_left(stages):
    text = "Paris is the capital. Paris hosted the games in 1924 and again in 2024 after a century."
    span = (text.index("1924"), text.index("1924") + 4)
    assert stages.cut_answer(text, span, ["1924"]) is None  # only four words would be left
    text = ("The winner was Ana Silva, who led from the start. Ana Silva had won the same race two years "
            "before, when the course was shorter and the weather kinder.")
    span = (text.index("Ana Silva"), text.index("Ana Silva") + 9)
    assert stages.cut_answer(text, span, ["Ana Silva"]) is None  # the answer is in another sentence too


@pytest.mark.slow
def test_a_run_continued_with_init_and_cut_negatives(tmp_path):
    squad, start = squad_file(tmp_path / "squad.json"), tiny_bert(tmp_path / "start")
    base = [sys.executable, str(ROOT / "training" / "train_reader.py"), "--squad", str(squad), "--start", str(start),
            "--validation-articles", "1", "--combination-articles", "1", "--reader-articles", "2",
            "--layers", "1", "--negatives", "1", "--read-depth", "2", "--rank-pool", "mean", "--combination", "three"]
    first, more, out = tmp_path / "first", tmp_path / "more", tmp_path / "out"
    done = subprocess.run([*base, "--work", str(first), "--max-steps", "3", "--stages", "data,reader"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (first / "reader_torch" / "net.pt").exists() and not (first / "onnx").exists()  # stopped after training
    for extra, says in ((["--seed", "14"], "other splits"), (["--layers", "2"], "trained with layers 1")):
        wrong = subprocess.run([*base, "--work", str(tmp_path / "other"), "--init", str(first), *extra,
                                "--max-steps", "2"], capture_output=True, text=True, timeout=900)
        assert wrong.returncode != 0 and says in wrong.stderr and "Traceback" not in wrong.stderr
    wrong = subprocess.run([*base, "--work", str(tmp_path / "other"), "--init", str(tmp_path / "start"),
                            "--max-steps", "2"], capture_output=True, text=True, timeout=900)
    assert wrong.returncode != 0 and "not a finished training run" in wrong.stderr
    done = subprocess.run([*base, "--work", str(more), "--init", str(first), "--cut-negatives", "1",
                           "--max-steps", "2", "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    t = json.loads((out / "reader.json").read_text())["training"]
    assert t["steps"] == 2 and t["continued_from"]["steps"] == 3 and t["cut_negatives"] == 1
    assert t["cut_counts"]["cut"] + t["cut_counts"]["cut_missing"] > 0  # one try per question a step
    assert (more / "index").is_symlink()  # the first run's index and candidates, not rebuilt
    card = (out / "MODEL_CARD.md").read_text()
    assert "a first run of 3 steps" in card and "holding the answer removed" in card
