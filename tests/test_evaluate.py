"""Evaluation: metrics against an independent reference, question-set formats, every error path,
the CLI outputs and the BEIR cache. Tiny inline corpora and the fake embedder only."""

from __future__ import annotations

import csv
import json
import math
import random

import pytest

from qa.cli.main import main
from qa.errors import BadInput
from qa.evaluation.questions import Question, beir_index, read_beir, read_question_file, read_source
from qa.evaluation.metrics import answer_metrics, contains_answer, doc_ranking, ir_metrics
from qa.evaluation.runner import evaluate_config, evaluate_set, unknown_doc_ids, worst_questions

from tests.conftest import SHARED_BENCH

# ---- metrics ---------------------------------------------------------------------------------


def _reference(qrels: dict[str, int], docs: list[str]) -> dict[str, float]:
    """nDCG@10, Recall@n, MRR@10, MAP@100 written out from their definitions (trec_eval's)."""
    rel = {d: g for d, g in qrels.items() if g > 0}
    gains = [qrels.get(d, 0) for d in docs]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:10]) if g > 0)
    ideal = sorted(rel.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    out = {"ndcg@10": dcg / idcg if idcg else 0.0}
    for n in (1, 5, 10, 100):
        out[f"recall@{n}"] = sum(1 for d in docs[:n] if d in rel) / len(rel)
    first = next((i for i, d in enumerate(docs[:10], 1) if d in rel), None)
    out["mrr@10"] = 1 / first if first else 0.0
    hits, ap = 0, 0.0
    for i, d in enumerate(docs[:100], 1):
        if d in rel:
            hits += 1
            ap += hits / i
    out["map@100"] = ap / len(rel)
    return out


def test_ir_metrics_match_reference_on_random_graded_runs():
    rng = random.Random(7)
    pool = [f"d{i}" for i in range(150)]
    qrels, ranked = {}, {}
    for q in range(37):  # awkward sizes: 0..120 docs retrieved, 1..13 judged, grades 0..4
        judged = rng.sample(pool, rng.randint(1, 13))
        qrels[f"q{q}"] = {d: rng.choice([0, 1, 1, 2, 3, 4]) for d in judged}
        if not any(g > 0 for g in qrels[f"q{q}"].values()):
            qrels[f"q{q}"][judged[0]] = 1
        ranked[f"q{q}"] = rng.sample(pool, rng.randint(0, 120))
    mean, per_q = ir_metrics(qrels, ranked)
    for q in qrels:
        ref = _reference(qrels[q], ranked[q])
        for m, v in ref.items():
            assert per_q[q][m] == pytest.approx(v, abs=1e-6), (q, m)
    for m in ("ndcg@10", "recall@10", "mrr@10", "map@100"):
        assert mean[m] == pytest.approx(sum(_reference(qrels[q], ranked[q])[m] for q in qrels) / 37, abs=1e-6)


def test_ir_metrics_keep_our_order_when_doc_ids_sort_the_other_way():
    # trec_eval breaks score ties by doc id; our ranking must survive whatever the ids are
    _, per_q = ir_metrics({"q1": {"a": 1}, "q2": {"z": 1}}, {"q1": ["z", "a"], "q2": ["a", "z"]})
    assert per_q["q1"]["mrr@10"] == pytest.approx(0.5) and per_q["q2"]["mrr@10"] == pytest.approx(0.5)
    assert per_q["q1"]["recall@1"] == 0.0 and per_q["q2"]["recall@1"] == 0.0


def test_mrr_at_10_ignores_a_relevant_document_at_rank_11():
    docs = [f"x{i}" for i in range(10)] + ["rel"]
    mean, _ = ir_metrics({"q": {"rel": 1}}, {"q": docs})
    assert mean["mrr@10"] == 0.0 and mean["recall@100"] == 1.0


def test_judged_question_with_no_results_scores_zero_and_unjudged_is_skipped():
    mean, per_q = ir_metrics({"q1": {"a": 1}, "q2": {"b": 1}, "q3": {}}, {"q1": ["a"], "q2": []})
    assert set(per_q) == {"q1", "q2"}
    assert per_q["q2"]["ndcg@10"] == 0.0 and mean["ndcg@10"] == pytest.approx(0.5)


def test_contains_answer_is_case_insensitive_and_whitespace_normalised():
    assert contains_answer("The  Heads of\nState council met", ["heads of state COUNCIL"])
    assert not contains_answer("Heads of the State Council", ["heads of state council"])
    assert not contains_answer("anything", ["", "  "])


def test_answer_metrics_report_first_answering_rank():
    mean, per_q = answer_metrics({"q": ["no", "nope", "yes Paris", "Paris"], "r": ["x"]},
                                 {"q": ("paris",), "r": ("y",), "s": ()})
    assert per_q["q"]["first_answer_rank"] == 3 and per_q["r"]["first_answer_rank"] is None
    assert "s" not in per_q
    assert per_q["q"]["answer_hit@1"] == 0.0 and per_q["q"]["answer_hit@3"] == 1.0
    assert mean["answer_hit@5"] == pytest.approx(0.5)


def test_doc_ranking_puts_a_document_at_its_best_passage(built_index):
    hits = built_index.search("cup final football Mars probe", k=10, config="bm25")
    ranking = doc_ranking(hits)
    assert [d for d, _ in ranking] == list(dict.fromkeys(h.doc_id for h in hits))
    assert ranking[0][1] == hits[0].score


# ---- question sets ---------------------------------------------------------------------------


def _jsonl(path, records):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return path


def test_jsonl_ids_default_to_line_numbers_and_empty_records_should_find_nothing(tmp_path):
    f = _jsonl(tmp_path / "q.jsonl", [
        {"id": "a", "question": "Who won the cup?", "answers": ["local team"], "doc_ids": ["football"]},
        "",
        {"question": "Where is the probe?", "doc_ids": ["space"]},
        {"question": "Price of tea in China?", "answers": [], "doc_ids": []},
    ])
    qs = read_question_file(f).questions
    assert [q.qid for q in qs] == ["a", "3", "4"]
    assert qs[0].answers == ("local team",) and qs[0].qrels == {"football": 1}
    assert qs[1].answers == () and qs[2].expects_nothing and not qs[0].expects_nothing


def test_csv_lists_are_pipe_separated_and_commas_survive_quoting(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text('id,question,answers,doc_ids\n'
                 'c1,"Who won, and when?",local team|Saturday,football|energy\n'
                 ',Nothing here?,,\n')
    qs = read_question_file(f).questions
    assert qs[0].text == "Who won, and when?" and qs[0].answers == ("local team", "Saturday")
    assert qs[0].qrels == {"football": 1, "energy": 1}
    assert qs[1].qid == "3" and qs[1].expects_nothing


@pytest.mark.parametrize("name,content,msg", [
    ("q.jsonl", '{"question": "ok"}\n{"question": "broken",\n', "line 2: malformed JSON"),
    ("q.jsonl", '{"question": "ok"}\n{"answers": ["x"]}\n', "line 2: missing or empty 'question'"),
    ("q.jsonl", '{"question": "  "}\n', "line 1: missing or empty 'question'"),
    ("q.jsonl", '{"question": "q", "answers": 5}\n', "line 1: 'answers' must be a list"),
    ("q.jsonl", '{"question": "q", "doc_ids": [{"a": 1}]}\n', "line 1: 'doc_ids' must be a list"),
    ("q.jsonl", '[1, 2]\n', "line 1: expected an object"),
    ("q.jsonl", '{"id": 1, "question": "a"}\n{"id": "1", "question": "b"}\n', "line 2: duplicate id '1'"),
    ("q.jsonl", "", "empty file"),
    ("q.jsonl", "\n  \n", "empty file"),
    ("q.csv", "id,text\n1,hello\n", "CSV needs a 'question' column"),
    ("q.csv", "question,answers\nfine,x\n\"bad\",x,extra\n", "line 3: 1 more cells"),
    ("q.csv", "question\n", "holds no questions"),
    ("q.txt", "question\n", "unsupported question set type"),
])
def test_malformed_question_sets_raise_bad_input_naming_the_line(tmp_path, name, content, msg):
    f = tmp_path / name
    f.write_text(content)
    with pytest.raises(BadInput, match=msg.replace("(", r"\(").replace("[", r"\[")):
        read_question_file(f)


def test_missing_question_set_raises(tmp_path):
    with pytest.raises(BadInput, match="no such question set"):
        read_source(tmp_path / "nope.jsonl")


def _beir(tmp_path, qrels="query-id\tcorpus-id\tscore\nq1\td1\t2\nq2\td3\t1\n", name="mini"):
    d = tmp_path / name
    (d / "qrels").mkdir(parents=True)
    _jsonl(d / "corpus.jsonl", [
        {"_id": "d1", "title": "Mars probe", "text": "The probe entered orbit around Mars after seven months."},
        {"_id": "d2", "title": "Cup final", "text": "The local team won the cup final with a late goal."},
        {"_id": "d3", "title": "", "text": "Energy ministers met and agreed a cooperation mechanism."},
        {"_id": "d4", "title": "", "text": ""},
    ])
    _jsonl(d / "queries.jsonl", [
        {"_id": "q1", "text": "probe orbit Mars"},
        {"_id": "q2", "text": "energy ministers meeting", "answers": [["cooperation mechanism", "a mechanism"]]},
        {"_id": "q3", "text": "judged in another split"},
    ])
    if qrels is not None:
        (d / "qrels" / "test.tsv").write_text(qrels)
    return d


def test_beir_folder_reads_graded_qrels_nested_answers_and_drops_unjudged(tmp_path):
    qs = read_beir(_beir(tmp_path))
    assert [q.qid for q in qs.questions] == ["q1", "q2"]
    assert qs.questions[0].qrels == {"d1": 2}
    assert qs.questions[1].answers == ("cooperation mechanism", "a mechanism")
    assert "1 queries without judgements" in qs.notes[0]


@pytest.mark.parametrize("qrels,msg", [
    (None, "has no qrels/test.tsv"),
    ("query-id\tcorpus-id\tscore\nq1 d1 1\n", "line 2: expected query-id, corpus-id, score"),
    ("q1\td1\thigh\n", "line 1: score 'high' is not a whole number"),
    ("q9\td1\t1\n", "judges queries missing from queries.jsonl: q9"),
])
def test_bad_beir_folders_raise_bad_input(tmp_path, qrels, msg):
    with pytest.raises(BadInput, match=msg):
        read_beir(_beir(tmp_path, qrels))


def test_unknown_doc_ids_are_reported_and_a_set_for_another_index_is_refused():
    qs = [Question("a", "x", qrels={"football": 1, "ghost": 1}), Question("b", "y", qrels={"space": 1})]
    assert unknown_doc_ids(qs, {"football", "space"}) == {"a": ["ghost"]}
    with pytest.raises(BadInput, match="none of the 2 doc ids"):
        unknown_doc_ids([Question("a", "x", qrels={"g1": 1, "g2": 1})], {"football"})


# ---- evaluation on an index ------------------------------------------------------------------


def _questions():
    return [
        Question("cup", "Which team won the cup final?", ("local football team",), {"football": 1}, 1),
        Question("mars", "How long did the probe journey to Mars take?", ("seven months",), {"space": 1}, 2),
        Question("energy", "decarbonization consultations member states", (), {"energy": 1}, 3),
        Question("tea", "price of tea in China", (), {}, 4),
        Question("orbit", "engine burn minutes", ("27 minutes",), {}, 5),
    ]


def test_evaluate_config_uses_batches_and_scores_every_kind_of_question(built_index, fake_embedder):
    fake_embedder.batches.clear()
    r = evaluate_config(built_index, _questions(), "dense", k=10, batch_size=2, single_sample=0)
    sizes = [len(b) for b in fake_embedder.batches]
    assert sizes[:4] == [1, 2, 2, 1]  # untimed warm-up, then batches of 2
    m = r.metrics
    assert (m["questions"], m["with_doc_ids"], m["with_answers"], m["expect_nothing"]) == (5, 3, 3, 1)
    assert m["ndcg@10"] == pytest.approx(1.0) and m["answer_hit@10"] == pytest.approx(1.0)
    rows = {row["id"]: row for row in r.per_question}
    assert rows["tea"]["kind"] == "nothing" and rows["tea"]["top_hit"]["doc_id"]
    assert rows["cup"]["first_relevant_doc_rank"] == 1 and rows["orbit"]["first_relevant_doc_rank"] is None
    assert rows["orbit"]["kind"] == "answers" and rows["orbit"]["first_answer_rank"] >= 1
    assert all(row["latency_ms"] > 0 for row in r.per_question)
    assert set(r.latency_ms) >= {"p50", "p95", "p99", "method"}


def test_worst_questions_lists_misses_first_and_leaves_out_perfect_ones(built_index):
    qs = _questions() + [Question("miss", "cup final goal", (), {"space": 1}, 6)]
    r = evaluate_config(built_index, qs, "bm25", k=1, single_sample=0)
    worst = worst_questions(r, 10)
    assert worst[0]["id"] == "miss"
    assert "cup" not in [w["id"] for w in worst] and "tea" not in [w["id"] for w in worst]


def test_single_question_latency_is_sampled(built_index):
    r = evaluate_config(built_index, _questions(), "bm25", k=3, single_sample=3)
    assert r.latency_ms["single_n"] == 3 and r.latency_ms["single_p50"] > 0


def test_evaluate_set_warns_of_unknown_ids_and_unfindable_answers(built_index):
    qs = _questions() + [Question("x", "cup", ("no such words anywhere",), {"football": 1, "ghost": 1}, 9)]
    run = evaluate_set(built_index, qs, ["bm25"], k=5, single_sample=0)
    text = "\n".join(run.meta["warnings"])
    assert "question x (line 9): doc ids not in the index: ghost" in text
    assert "question x (line 9): no indexed passage contains any of its answers" in text
    assert "1 questions have no answers and no doc ids" in run.meta["notes"][0]


# ---- command line ----------------------------------------------------------------------------


@pytest.fixture
def qfile(tmp_path):
    return _jsonl(tmp_path / "set.jsonl", [
        {"id": "cup", "question": "Which team won the cup final?", "answers": ["late goal"], "doc_ids": ["football"]},
        {"id": "mars", "question": "probe orbit Mars", "answers": ["seven months"], "doc_ids": ["space"]},
        {"id": "ghosty", "question": "energy ministers", "doc_ids": ["energy", "ghost"]},
        {"id": "none", "question": "price of tea in China"},
    ])


def test_eval_cli_writes_json_csv_report_and_run_file(built_index, qfile, tmp_path, capsys):
    from qa.search.pipeline import CONFIGS

    out = tmp_path / "out"
    out.mkdir()
    code = main(["eval", str(qfile), "--index", str(built_index.folder), "-k", "20",
                 "--json", str(out / "r.json"), "--csv", str(out / "r.csv"),
                 "--report", str(out / "r.md"), "--run-file", str(out / "r.trec")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    table = captured.out.splitlines()
    assert [ln.split()[0] for ln in table[3:-1]] == list(CONFIGS)
    assert table[-1].startswith("abstention (threshold ") and "of 1 that should find nothing" in table[-1]
    assert "ghost" in captured.err and "warning:" in captured.err
    data = json.loads((out / "r.json").read_text())
    assert list(data["configs"]) == list(CONFIGS)
    dense = data["configs"]["dense"]
    assert {"ndcg@10", "recall@100", "mrr@10", "map@100", "answer_hit@1"} <= set(dense["metrics"])
    assert {"p50", "p95", "p99"} <= set(dense["latency_ms"])
    assert [r["id"] for r in dense["per_question"]] == ["cup", "mars", "ghosty", "none"]
    assert dense["per_question"][2]["unknown_doc_ids"] == ["ghost"]
    rows = list(csv.DictReader(open(out / "r.csv")))
    assert len(rows) == 4 * len(CONFIGS) and rows[0]["config"] == CONFIGS[0]
    report = (out / "r.md").read_text()
    assert "| config |" in report and "r-recall.png" in report and "should find nothing" in report
    assert (out / "r-recall.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the run file, scored by pytrec_eval, reproduces the printed metrics
    import pytrec_eval

    assert sorted(p.name for p in out.glob("*.trec")) == sorted(f"r.{c}.trec" for c in CONFIGS)
    run: dict = {}
    for line in (out / "r.dense.trec").read_text().splitlines():
        qid, _, doc, rank, score, name = line.split()
        assert name == "dense"
        run.setdefault(qid, {})[doc] = float(score)
    qrels = {"cup": {"football": 1}, "mars": {"space": 1}, "ghosty": {"energy": 1, "ghost": 1}}
    res = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"}).evaluate(run)
    expected = sum(v["ndcg_cut_10"] for v in res.values()) / 3
    assert dense["metrics"]["ndcg@10"] == pytest.approx(expected, abs=1e-9)


def test_eval_cli_accepts_csv_and_a_config_subset(built_index, tmp_path, capsys):
    f = tmp_path / "set.csv"
    f.write_text("question,answers,doc_ids\nWhich team won the cup final?,late goal,football\n")
    assert main(["eval", str(f), "--index", str(built_index.folder), "--config", "bm25", "dense",
                 "--json", str(tmp_path / "o.json")]) == 0
    data = json.loads((tmp_path / "o.json").read_text())
    assert list(data["configs"]) == ["bm25", "dense"]
    assert data["configs"]["bm25"]["metrics"]["recall@1"] == 1.0
    assert main(["eval", str(f), "--index", str(built_index.folder), "--config", "bm25",
                 "--run-file", str(tmp_path / "one.trec")]) == 0
    assert (tmp_path / "one.trec").read_text().split()[:4] == ["2", "Q0", "football", "1"]


@pytest.mark.parametrize("extra,msg", [
    (["--config", "nonsense"], "unknown configuration 'nonsense'"),
    (["-k", "0"], "k must be at least 1"),
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--json", "/no/such/folder/o.json"], "folder /no/such/folder does not exist"),
])
def test_eval_cli_bad_options_exit_2_with_one_line(built_index, qfile, capsys, extra, msg):
    assert main(["eval", str(qfile), "--index", str(built_index.folder)] + extra) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1


def test_eval_cli_malformed_set_exits_2_naming_the_line(built_index, tmp_path, capsys):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"question": "fine"}\n{oops}\n')
    assert main(["eval", str(f), "--index", str(built_index.folder)]) == 2
    assert "bad.jsonl: line 2: malformed JSON" in capsys.readouterr().err


def test_beir_corpus_is_indexed_once_and_reused(tmp_path, fake_embedder):
    folder = _beir(tmp_path)
    qset = read_source(folder)
    ix, first = beir_index(qset, tmp_path / "cache", fake_embedder)
    assert not first.up_to_date and first.embedded > 0 and sorted(ix.articles) == ["d1", "d2", "d3"]
    assert "1 empty corpus records not indexed: d4" in qset.notes
    embedded = fake_embedder.embedded
    ix2, second = beir_index(read_source(folder), tmp_path / "cache", fake_embedder)
    assert second.up_to_date and fake_embedder.embedded == embedded and ix2.folder == ix.folder
    with open(folder / "corpus.jsonl", "a") as fh:  # other content -> another cache folder
        fh.write(json.dumps({"_id": "d5", "title": "", "text": "New text."}) + "\n")
    ix3, third = beir_index(read_source(folder), tmp_path / "cache", fake_embedder)
    assert ix3.folder != ix.folder and not third.up_to_date


def test_eval_cli_on_beir_folder_reports_reuse(tmp_path, capsys, monkeypatch):
    import functools

    import qa.embedders

    # `qa eval` has no --backend: its corpus index is embedded by the default backend, here the fake
    monkeypatch.setattr(qa.embedders, "get_embedder", functools.partial(qa.embedders.get_embedder, backend="hash"))
    folder = _beir(tmp_path)
    argv = ["eval", str(folder), "--cache", str(tmp_path / "c"), "--config", "bm25",
            "--json", str(tmp_path / "o.json")]
    assert main(argv) == 0
    assert "embedded" in capsys.readouterr().err
    assert main(argv) == 0
    assert "(reused;" in capsys.readouterr().err
    m = json.loads((tmp_path / "o.json").read_text())["configs"]["bm25"]["metrics"]
    assert m["with_doc_ids"] == 2 and m["with_answers"] == 1 and m["ndcg@10"] == pytest.approx(1.0)
    # evaluation never highlights, so its corpus index embeds no sentences for it
    [cached] = [p for p in (tmp_path / "c").iterdir() if (p / "manifest.json").exists()]
    assert not (cached / "sentences").exists()
    assert json.loads((cached / "manifest.json").read_text())["model"]["backend"] == "hash"
    assert json.loads((cached / "manifest.json").read_text())["chunking"]["sentence_vectors"] is False


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_BENCH / "time").is_dir(), reason="../shared/bench not present")
def test_time_collection_with_fake_embedder(tmp_path, fake_embedder):
    qset = read_source(SHARED_BENCH / "time")
    assert len(qset.questions) == 79
    ix, _ = beir_index(qset, tmp_path / "cache", fake_embedder)
    run = evaluate_set(ix, qset.questions[:20], ["bm25"], k=100, single_sample=0)
    m = run.results["bm25"].metrics
    assert run.meta["warnings"] == [] and m["with_doc_ids"] == 20
    assert 0.3 < m["ndcg@10"] <= 1.0  # BM25 on TIME is well above chance (published ~0.6-0.7)


def test_beir_cache_folder_changes_with_chunking_and_model(tmp_path, fake_embedder):
    from qa.settings import Settings
    from tests.support.fake_embedder import HashEmbedder
    from qa.evaluation.questions import cache_folder

    corpus = _beir(tmp_path) / "corpus.jsonl"
    base = cache_folder(corpus, tmp_path, Settings(), fake_embedder)
    assert base.name.startswith("mini-") and base == cache_folder(corpus, tmp_path, Settings(), HashEmbedder())
    assert cache_folder(corpus, tmp_path, Settings(target_tokens=60), fake_embedder) != base
    assert cache_folder(corpus, tmp_path, Settings(), HashEmbedder(dim=32)) != base


def test_timed_questions_are_embedded_afresh_for_every_configuration(built_index, fake_embedder):
    qs = _questions()
    evaluate_config(built_index, qs, "dense", k=5, single_sample=0)
    fake_embedder.batches.clear()
    evaluate_config(built_index, qs, "hybrid", k=5, batch_size=2, single_sample=2)
    embedded = [t for b in fake_embedder.batches for t in b]
    assert all(embedded.count(q.text) >= 1 for q in qs)  # none answered from remembered vectors
    assert len(embedded) >= len(qs) + 2


def test_report_names_only_the_targets_a_question_has(built_index, tmp_path):
    from qa.evaluation.report import write_report

    qs = [Question("d", "cup final goal", (), {"space": 1}, 1), Question("a", "cup final", ("no such words",), {}, 2)]
    run = evaluate_set(built_index, qs, ["bm25"], k=2, single_sample=0)
    write_report(tmp_path / "r.md", run.results, run.meta)
    text = (tmp_path / "r.md").read_text()
    d_part = text.split("### d:")[1].split("###")[0]
    a_part = text.split("### a:")[1]
    assert "first relevant document at rank -" in d_part and "answering" not in d_part
    assert "first answering passage at rank -" in a_part and "relevant document" not in a_part.split("\n")[1]


def test_evaluate_set_reports_cumulative_progress_per_configuration(built_index):
    calls = []
    evaluate_set(built_index, _questions(), ["bm25", "dense"], k=3, batch_size=2, single_sample=0,
                 progress=lambda done, total, config: calls.append((done, total, config)))
    n = len(_questions())
    assert list(dict.fromkeys(c for _, _, c in calls)) == ["bm25", "dense"]  # one after the other
    assert [d for d, _, c in calls if c == "bm25"][-1] == n and calls[-1] == (2 * n, 2 * n, "dense")
    assert [d for d, _, _ in calls] == sorted(d for d, _, _ in calls)


def test_outputs_are_safe_for_spreadsheets_markdown_and_trec(built_index, tmp_path, capsys):
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_text(json.dumps({"id": "q 1", "question": "=HYPERLINK(\"http://x\") <script>alert(1)</script> cup?",
                                   "answers": ["zebra"], "doc_ids": ["football"]}) + "\n")  # imperfect: reported
    out = tmp_path / "o"
    out.mkdir()
    assert main(["eval", str(hostile), "--index", str(built_index.folder), "--config", "dense",
                 "--csv", str(out / "r.csv"), "--report", str(out / "r.md"),
                 "--run-file", str(out / "r.trec")]) == 0
    capsys.readouterr()
    row = next(csv.DictReader(open(out / "r.csv")))
    assert row["question"].startswith("'=HYPERLINK")  # shown as text, not run as a formula
    report = (out / "r.md").read_text()
    assert "<script>" not in report and "&lt;script&gt;" in report
    lines = (out / "r.trec").read_text().splitlines()
    assert lines and all(len(line.split()) == 6 for line in lines) and lines[0].startswith("q%201 Q0 ")


def test_question_sets_with_bare_cr_long_fields_and_line_separators_are_read(tmp_path):
    long_answer = "a late goal " + "really " * 30_000  # ~210,000 characters (a question that long is refused)
    f = tmp_path / "set.csv"
    f.write_bytes(f'question,answers\r"Who won the cup?",late goal\r"Which team won the final?","{long_answer}"\r'.encode())
    questions = read_question_file(f).questions
    assert [q.text[:7] for q in questions] == ["Who won", "Which t"] and len(questions[1].answers[0]) > 200_000
    j = tmp_path / "set.jsonl"
    j.write_text(json.dumps({"question": "Cup\u2028final\u0085winner?", "answers": ["goal"]},
                            ensure_ascii=False) + "\n", encoding="utf-8")
    assert len(read_question_file(j).questions) == 1


def test_evaluate_set_reports_what_qa_ask_would_flag(built_index):
    from qa.answer.ask import ask
    from qa.evaluation.report import abstention_line

    # the fake embedder's cosines are not MiniLM's: judge against the bare background
    built_index.settings = built_index.settings.with_(abstain_margin=0.0)
    qs = [Question("cup", "football team won the cup final", ("late goal",), {"football": 1}, 1),
          Question("zebra", "zebra quantum lasagna", (), {}, 2),
          Question("wc", "Who won the 2031 Zanzibar Cup?", (), {}, 3)]
    run = evaluate_set(built_index, qs, ["bm25", "dense"], k=2, single_sample=0)
    said = [not ask(built_index, q.text, k=2).answerable for q in qs]
    ab = run.meta["abstention"]
    assert ab["answerable"] == 1 and ab["should_find_nothing"] == 2
    assert ab["answerable_flagged"] == float(said[0])
    assert ab["should_find_nothing_flagged"] == pytest.approx(sum(said[1:]) / 2)
    assert said[:2] == [False, True]  # one verdict each way; the report matches `qa ask` on each
    for r in run.results.values():  # the same verdict in every configuration's rows
        assert [row["answerable"] for row in r.per_question] == [not s for s in said]
    line = abstention_line(ab)
    assert "flags 0.0% of 1 answerable questions" in line
    assert f"{sum(said[1:]) / 2:.0%} of 2 that should find nothing" in line
