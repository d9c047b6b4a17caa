"""Questions asked together are answered as one batch, each exactly as alone; a bounded queue
says busy at once (issue 24, item 5). The index's search is gated so batches form on cue."""

from __future__ import annotations

import os
import threading

import pytest

from qa.answer.ask import ask
from qa.answer.batching import AskBatcher, Busy
from qa.errors import BadInput

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

QUESTIONS = ["decarbonization consultations", "cup final late goal", "probe Mars orbit engine burn",
             "energy ministers met", "fans celebrated in the streets"]


@pytest.fixture
def gated(built_index, monkeypatch):
    """(index, sizes, entered, gate): each search_batch records its batch size, says it entered,
    and waits for `gate` (set it to let searches run)."""
    real = built_index.search_batch
    sizes, entered, gate = [], threading.Event(), threading.Event()

    def search_batch(questions, **kw):
        sizes.append(len(questions))
        entered.set()
        assert gate.wait(10), "the test never opened the gate"
        return real(questions, **kw)

    monkeypatch.setattr(built_index, "search_batch", search_batch)
    return built_index, sizes, entered, gate


def _same(a, b) -> bool:
    return {**a.to_dict(), "latency_ms": 0} == {**b.to_dict(), "latency_ms": 0}


def test_questions_asked_together_are_one_search_each_answered_as_alone(gated, built_index):
    index, sizes, entered, gate = gated
    batcher = AskBatcher(lambda: index, window_ms=1)
    first = batcher.submit("which team won", k=2)
    assert entered.wait(5)  # the worker is inside the first search; the others queue meanwhile
    futures = [batcher.submit(q, k=2) for q in QUESTIONS]
    assert batcher.waiting == len(QUESTIONS)
    gate.set()
    answers = [f.result(10) for f in futures]
    first.result(10)
    assert sizes == [1, len(QUESTIONS)] and batcher.batches == 2
    for q, got in zip(QUESTIONS, answers):
        assert _same(got, ask(index, q, k=2)), q


def test_questions_with_other_options_are_not_mixed_into_a_batch(gated):
    index, sizes, entered, gate = gated
    batcher = AskBatcher(lambda: index, window_ms=1)
    blocker = batcher.submit("which team won")
    assert entered.wait(5)
    one = [batcher.submit(q, k=1) for q in QUESTIONS[:3]]
    bm25 = [batcher.submit(q, k=3, config="bm25") for q in QUESTIONS[:2]]
    gate.set()
    assert all(len(f.result(10).hits) == 1 for f in one)
    assert all(f.result(10).config == "bm25" and f.result(10).k == 3 for f in bm25)
    blocker.result(10)
    assert sorted(sizes) == [1, 2, 3]


def test_a_full_queue_is_refused_at_once_with_429(gated):
    index, sizes, entered, gate = gated
    batcher = AskBatcher(lambda: index, window_ms=1, max_waiting=2)
    running = batcher.submit("which team won")
    assert entered.wait(5)
    queued = [batcher.submit(q) for q in QUESTIONS[:2]]
    with pytest.raises(Busy, match="busy: 2 questions are waiting") as full:
        batcher.submit(QUESTIONS[2])
    assert full.value.status == 429 and full.value.retry_after >= 1
    gate.set()
    assert running.result(10).hits and all(f.result(10).hits for f in queued)


def test_a_question_not_answered_in_time_is_given_up_with_503(gated):
    index, sizes, entered, gate = gated
    batcher = AskBatcher(lambda: index, window_ms=1, timeout_s=0.2)
    running = batcher.submit("which team won")
    assert entered.wait(5)
    with pytest.raises(Busy, match="no answer within") as slow:
        batcher.ask(QUESTIONS[0])
    assert slow.value.status == 503
    gate.set()
    running.result(10)
    assert sizes == [1]  # the question given up was never searched


def test_a_bad_question_is_refused_before_it_queues_and_fails_no_batch_mate(gated):
    index, sizes, entered, gate = gated
    gate.set()
    batcher = AskBatcher(lambda: index, window_ms=5)
    good = batcher.submit(QUESTIONS[0])
    for bad, words in (("   ", "question is empty"), ("x" * 5000, "limit is 4000")):
        with pytest.raises(BadInput, match=words):
            batcher.submit(bad)
    with pytest.raises(BadInput, match="k must be at least 1"):
        batcher.submit(QUESTIONS[1], k=0)
    assert good.result(10).hits
    with pytest.raises(BadInput, match="unknown configuration"):  # shared by the whole batch: its error
        batcher.ask(QUESTIONS[1], config="nope")


def test_the_ui_the_api_and_the_mcp_tools_share_the_services_batcher(built_index, tmp_path):
    httpx = pytest.importorskip("httpx")
    from gradio_client import Client

    from qa.api.server import build_server
    from tests.support.api_server import running, wait_ready

    app = build_server(str(built_index.folder), index=built_index, upload_dir=str(tmp_path / "up"))
    batcher = app.state.qa_service.batcher
    with running(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        wait_ready(client)
        before = batcher.batches
        assert client.get("/api/v1/ask", params={"q": QUESTIONS[0]}).status_code == 200
        Client(base + "/", verbose=False).predict(QUESTIONS[1], 1, api_name="/ask")
        assert batcher.batches == before + 2


def test_the_api_answers_429_with_retry_after_when_the_queue_is_full(gated, tmp_path):
    httpx = pytest.importorskip("httpx")
    from qa.api.server import build_server
    from tests.support.api_server import running, wait_ready

    index, sizes, entered, gate = gated
    app = build_server(str(index.folder), index=index, upload_dir=str(tmp_path / "up"))
    service = app.state.qa_service
    service.batcher.max_waiting = 1
    service.start_warmup()
    with running(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        gate.set()
        wait_ready(client)
        gate.clear()
        entered.clear()
        results = {}

        def call(name, q):
            results[name] = client.get("/api/v1/ask", params={"q": q})

        threads = [threading.Thread(target=call, args=("running", QUESTIONS[0]))]
        threads[0].start()
        assert entered.wait(5)
        threads.append(threading.Thread(target=call, args=("queued", QUESTIONS[1])))
        threads[1].start()
        for _ in range(200):
            if service.batcher.waiting:
                break
            threading.Event().wait(0.01)
        r = client.get("/api/v1/ask", params={"q": QUESTIONS[2]})
        assert r.status_code == 429 and r.headers["retry-after"] == "1", r.text
        assert r.json()["error"] == "busy" and "busy" in r.json()["detail"]
        assert client.get("/api/v1/health").json()["queue"] == {"waiting": 1, "limit": 1}
        gate.set()
        for t in threads:
            t.join(10)
        assert results["running"].status_code == 200 and results["queued"].status_code == 200


def test_the_api_answers_503_with_retry_after_when_no_answer_comes_in_time(gated, tmp_path):
    httpx = pytest.importorskip("httpx")
    from qa.api.server import build_server
    from tests.support.api_server import running

    index, sizes, entered, gate = gated
    app = build_server(str(index.folder), index=index, upload_dir=str(tmp_path / "up"))
    app.state.qa_service.batcher.timeout_s = 0.3
    with running(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        r = client.get("/api/v1/ask", params={"q": QUESTIONS[0]})
        gate.set()
        assert r.status_code == 503 and r.headers["retry-after"] == "5", r.text
        assert r.json()["error"] == "busy" and "no answer within" in r.json()["detail"]


@pytest.mark.slow
def test_with_the_int8_model_each_question_of_a_batch_gets_the_answer_it_gets_alone(tmp_path):
    """int8 activations are quantised per batch: a question embedded beside others would move.
    24 demo questions plus one (over FAISS's 20-query BLAS path), every configuration."""
    import json

    from qa import Index, get_embedder
    from qa.answer.ask import ask_batch
    from qa.search.pipeline import CONFIGS
    from tests.conftest import ROOT

    index = Index.build([ROOT / "data" / "articles"], tmp_path / "ix", embedder=get_embedder(backend="onnx-int8"))
    lines = (ROOT / "data" / "questions" / "demo.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines] + ["Who won the 2018 FIFA World Cup?"]
    for config in CONFIGS:
        together = ask_batch(index, questions, k=5, config=config)
        index.forget_questions()
        for q, got in zip(questions, together):
            assert _same(got, ask(index, q, k=5, config=config)), (config, q)
