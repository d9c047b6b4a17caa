"""A short version of bench/load_test.py: concurrent clients on loopback, zero errors."""

import os
import sys

import pytest

from tests.conftest import ROOT

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
sys.path.insert(0, str(ROOT / "bench"))


@pytest.mark.slow
def test_concurrent_ask_clients_get_answers_without_errors(built_index, tmp_path):
    import app
    from load_test import free_port, run_load

    demo = app.build_demo(str(built_index.folder), index=built_index, upload_dir=str(tmp_path / "up"))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        result = run_load(f"http://127.0.0.1:{port}/", clients=4, seconds=4, max_requests=200)
    finally:
        demo.close()
    assert result["errors"] == 0, result["error_samples"]
    assert result["requests"] >= 4


@pytest.mark.slow
def test_questions_keep_being_answered_while_an_upload_indexes(built_index, tmp_path, monkeypatch):
    import json

    import app
    from load_test import free_port, run_load
    from qa.ui.app import QUEUE_MAX

    monkeypatch.setenv("QA_HASH_DELAY", "0.3")  # each embedding batch of the upload takes a while
    upload = tmp_path / "incoming" / "wire.jsonl"
    upload.parent.mkdir()
    with open(upload, "w", encoding="utf-8") as f:
        for n in range(600):
            f.write(json.dumps({"id": f"wire-{n}", "title": f"Wire story {n}",
                                "text": f"Story {n} reports that the harbour reopened after repairs."}) + "\n")
    demo = app.build_demo(str(built_index.folder), index=built_index, upload_dir=str(tmp_path / "up"))
    demo.queue(default_concurrency_limit=2, max_size=QUEUE_MAX)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        result = run_load(f"http://127.0.0.1:{port}/", clients=3, seconds=6, max_requests=10_000,
                          upload=upload, upload_after=0.5)
    finally:
        demo.close()
    assert result["errors"] == 0, result["error_samples"]
    up = result["upload"]
    assert up.get("error") is None and up["seconds"] >= 0.6, up
    assert up["questions_during"] >= 3, up  # questions were answered while the upload indexed
    assert "wire-599" in built_index.articles


@pytest.mark.slow
def test_concurrent_json_api_clients_get_answers_without_errors_during_an_upload(built_index, tmp_path):
    from load_test import run_load
    from qa.api.server import build_server
    from tests.support.api_server import running

    upload = tmp_path / "incoming" / "harbour.txt"
    upload.parent.mkdir()
    upload.write_text("Harbour news\n\nThe harbour reopened after repairs to the northern pier.\n")
    app = build_server(str(built_index.folder), index=built_index, upload_dir=str(tmp_path / "up"))
    with running(app) as base:
        result = run_load(base, clients=4, seconds=3, max_requests=2000, upload=upload, upload_after=0.5,
                          api=True)
    assert result["errors"] == 0, result["error_samples"]
    assert result["requests"] >= 4 and result["upload"].get("error") is None, result
    assert "harbour" in built_index.articles
