"""`qa ask`, the JSON API and the web UI answer from a build still embedding and say how many
articles are left (issue 25, item 2); a running server follows each step."""

from __future__ import annotations

import json
import os
import socket

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
httpx = pytest.importorskip("httpx")

from qa.index import Index  # noqa: E402
from qa.storage.builder import build_index  # noqa: E402
from tests.support.api_server import running, wait_ready  # noqa: E402
from tests.support.fake_embedder import HashEmbedder  # noqa: E402
from tests.support.steps import STEPS, articles, cut_short, step_clock  # noqa: E402

NOTICE = "6 of 12 articles are still being embedded; their passages are found by keywords only."


@pytest.fixture
def half_built(tmp_path, monkeypatch):
    """An index whose build died after embedding 6 of its 12 articles (one passage each)."""
    return cut_short(tmp_path / "ix", monkeypatch, call=4)


def test_qa_ask_json_carries_the_pending_count_and_the_text_says_it(half_built, capsys):
    from qa.cli.main import main

    assert main(["ask", "hurricane crowds", "--index", str(half_built.folder), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["pending"] == {"articles": 6, "passages": 6, "articles_total": 12}
    assert answer["hits"][0]["doc_id"] == "a09"  # a pending article, found by its keywords
    assert {"question", "k", "config", "latency_ms", "answerable", "confidence", "threshold",
            "unseen_terms", "hits"} < set(answer)  # every key it had, and the new one
    assert main(["ask", "hurricane crowds", "--index", str(half_built.folder)]) == 0
    assert capsys.readouterr().out.startswith(NOTICE)


def test_a_complete_index_says_nothing_is_pending(built_index, capsys):
    from qa.cli.main import main

    assert main(["ask", "cup final", "--index", str(built_index.folder)]) == 0
    assert "still being embedded" not in capsys.readouterr().out


def test_the_api_says_what_is_pending_and_follows_each_step(half_built, tmp_path):
    from qa.api.server import build_server

    app = build_server(str(half_built.folder), index=half_built, upload_dir=str(tmp_path / "uploads"))
    with running(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert wait_ready(client)["pending"] == {"articles": 6, "passages": 6, "articles_total": 12}
        assert client.get("/api/v1/ask", params={"q": "hurricane crowds"}).json()["pending"]["articles"] == 6
        seen = []

        def on_step(waiting, total):  # the server, asked between two steps, answers from the latest
            seen.append((waiting, client.get("/api/v1/ask", params={"q": "museum"}).json()["pending"]["articles"]))

        build_index(articles(), half_built.folder, HashEmbedder(), STEPS, on_step=on_step, clock=step_clock())
        assert seen == [(6, 6), (4, 4), (2, 2)]
        assert client.get("/api/v1/health").json()["pending"]["articles"] == 0
        assert client.get("/api/v1/ask", params={"q": "museum"}).json()["pending"]["articles"] == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_web_ui_shows_the_notice_above_the_answers_and_in_its_status(half_built, tmp_path):
    gradio_client = pytest.importorskip("gradio_client")
    import app

    demo = app.build_demo(str(half_built.folder), index=half_built, upload_dir=str(tmp_path / "uploads"))
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)
        cards, *_ = client.predict("hurricane crowds", 2, "hybrid-rerank", "", "", "", True, api_name="/ask_ui")
        assert NOTICE in cards and cards.index(NOTICE) < cards.index("class='qa-card'")
        assert "data-doc='a09'" in cards
        assert client.predict("museum", 2, api_name="/ask")["pending"]["articles"] == 6
        assert "6 still being embedded (found by keywords only)" in demo.qa_service.status()
        assert demo.qa_service.building
        build_index(articles(), half_built.folder, HashEmbedder(), STEPS, clock=step_clock())
        demo.qa_service.refresh()  # what the page's timer does every second
        assert "still being embedded" not in demo.qa_service.status() and not demo.qa_service.building
    finally:
        demo.close()
