"""The Gradio app through `gradio_client`, served on a free loopback port (fake embedder)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

gradio_client = pytest.importorskip("gradio_client")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(built_index, tmp_path):
    """(client, demo) for the app over the fake-embedder index; the server closes afterwards."""
    import app

    demo = app.build_demo(str(built_index.folder), index=built_index, upload_dir=str(tmp_path / "uploads"),
                          max_upload_bytes=4096)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)
        yield client, demo
    finally:
        demo.close()


def test_build_demo_reads_no_index_and_loads_no_model(tmp_path):
    import app

    demo = app.build_demo(str(tmp_path / "missing-index"))
    service = demo.qa_service
    assert service._index is None and service._warm is None
    assert "Starting" in service.status()


def test_ask_endpoint_returns_the_qa_ask_json_object(served, built_index, capsys):
    import json

    from qa.cli.main import main

    client, _ = served
    got = client.predict("decarbonization consultations", 2, api_name="/ask")
    assert main(["ask", "decarbonization consultations", "-k", "2", "--index", str(built_index.folder),
                 "--json"]) == 0
    want = json.loads(capsys.readouterr().out)
    assert set(got) == {"question", "k", "config", "latency_ms", "answerable", "confidence", "threshold",
                        "unseen_terms", "reading", "pending", "hits"}
    assert got["pending"] == {"articles": 0, "passages": 0, "articles_total": 3}  # a complete index
    got.pop("latency_ms"), want.pop("latency_ms")
    assert got == want
    assert got["hits"][0]["doc_id"] == "energy" and got["hits"][0]["highlight"]["char_start"] >= 0


def test_ask_endpoint_with_filters_and_config(served):
    client, _ = served
    got = client.predict("cup final goal", 3, "bm25", "Daily Ball", "", "", api_name="/ask")
    assert got["config"] == "bm25" and [h["doc_id"] for h in got["hits"]] == ["football"]


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_ask_endpoint_blank_question_is_a_clear_error(served, question):
    client, _ = served
    with pytest.raises(Exception, match="question is empty"):
        client.predict(question, api_name="/ask")


@pytest.mark.parametrize("question", ["", "   "])
def test_ask_ui_blank_question_shows_a_friendly_message(served, question):
    client, _ = served
    cards, latency, *_ = client.predict(question, 5, "hybrid", "", "", "", True, api_name="/ask_ui")
    assert "Type a question first" in cards and "Traceback" not in cards and latency == ""


def test_ask_ui_bad_date_shows_the_message_not_a_traceback(served):
    client, _ = served
    cards, *_ = client.predict("decarbonization", 5, "hybrid", "", "June", "", True, api_name="/ask_ui")
    assert "qa-msg-error" in cards and "ISO date" in cards


def test_ask_ui_renders_cards_and_latency(served):
    client, _ = served
    cards, latency, *_ = client.predict("decarbonization consultations", 2, "hybrid", "", "", "", True,
                                    api_name="/ask_ui")
    assert cards.count("class='qa-card'") == 2 and "<mark class='qa-answer'>" in cards
    assert "[1]" in cards and "data-doc='energy'" in cards
    assert "2 passages in" in latency and "hybrid" in latency


def test_upload_indexes_at_once_and_rejects_with_reasons(served, tmp_path):
    client, demo = served
    good = tmp_path / "penguins.txt"
    good.write_text("Penguins march inland\n\nEmperor penguins walked ninety kilometres to their "
                    "breeding grounds, the researchers said.\n", encoding="utf-8")
    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ\x00\x00")
    big = tmp_path / "big.txt"
    big.write_text("Big\n\n" + "word " * 2000, encoding="utf-8")
    msg, table, *_ = client.predict([gradio_client.handle_file(str(p)) for p in (good, bad, big)],
                                    api_name="/upload")
    assert "Indexed 1 article(s): penguins" in msg
    assert "tool.exe: rejected" in msg and "not accepted" in msg
    assert "big.txt: rejected" in msg and "limit" in msg
    assert "penguins" in [row[4] for row in table["data"]]
    assert (tmp_path / "uploads" / "penguins.txt").exists()
    assert not (tmp_path / "uploads" / "tool.exe").exists()
    got = client.predict("emperor penguins breeding", 1, api_name="/ask")
    assert got["hits"][0]["doc_id"] == "penguins"


def test_upload_of_a_file_with_no_article_says_why(served, tmp_path):
    client, _ = served
    empty_body = tmp_path / "title-only.md"
    empty_body.write_text("# Just a title\n", encoding="utf-8")
    msg, *_ = client.predict([gradio_client.handle_file(str(empty_body))], api_name="/upload")
    assert "skipped" in msg and "no article text" in msg


def test_delete_removes_the_article_from_search_and_library(served):
    client, _ = served
    msg, table, *_ = client.predict("football", api_name="/delete")
    assert "Deleted football" in msg
    assert "football" not in [row[4] for row in table["data"]]
    got = client.predict("cup final goal", 3, api_name="/ask")
    assert "football" not in [h["doc_id"] for h in got["hits"]]


def test_article_endpoint_returns_the_full_article(served):
    client, _ = served
    art = client.predict("energy", api_name="/article")
    assert art["title"] == "Russia proposes energy talks" and "decarbonization" in art["body"]
    with pytest.raises(Exception, match="no article"):
        client.predict("nope", api_name="/article")


def test_save_uploads_keeps_files_inside_the_upload_folder(built_index, tmp_path):
    from qa.ui.service import Service

    src = tmp_path / "..evil name!.txt"
    src.write_text("Title\n\nBody text.\n", encoding="utf-8")
    service = Service(built_index.folder, index=built_index, upload_dir=tmp_path / "up")
    saved, rejected = service.save_uploads([src])
    assert rejected == [] and saved == [(tmp_path / "up" / "evil_name.txt").resolve()]


def test_evaluate_endpoint_gives_metrics_worst_first_rows_plot_and_files(served, tmp_path):
    import json

    client, _ = served
    qset = tmp_path / "questions.jsonl"
    qset.write_text("\n".join(json.dumps(r) for r in [
        {"id": "q1", "question": "decarbonization consultations", "answers": ["consultations"], "doc_ids": ["energy"]},
        {"id": "q2", "question": "penguin colony size", "answers": ["penguins"], "doc_ids": ["space"]},
        {"id": "q3", "question": "cup final goal", "answers": ["late goal"], "doc_ids": ["football"]},
    ]) + "\n", encoding="utf-8")
    msg, metrics, plot, per_q, files = client.predict(
        gradio_client.handle_file(str(qset)), ["hybrid", "bm25"], 10, api_name="/evaluate")
    assert "3 questions" in msg
    assert [row[0] for row in metrics["data"]] == ["hybrid", "bm25"]
    assert "recall@5" in metrics["headers"] and "answer_hit@1" in metrics["headers"]
    rows = [r for r in per_q["data"] if r[0] == "bm25"]
    assert rows[0][1] == "q2" and len(rows) == 3  # worst first, and the perfect ones still listed
    assert plot and plot.endswith(".png")
    names = sorted(Path(f).name for f in files)
    assert names == ["report-recall.png", "report.md", "results.csv", "results.json"]
    data = json.loads(Path([f for f in files if f.endswith(".json")][0]).read_text())
    assert set(data["configs"]) == {"hybrid", "bm25"}


def test_evaluate_endpoint_reports_a_malformed_set_by_line(served, tmp_path):
    client, _ = served
    qset = tmp_path / "broken.jsonl"
    qset.write_text('{"question": "ok"}\n{not json\n', encoding="utf-8")
    msg, *_ = client.predict(gradio_client.handle_file(str(qset)), ["hybrid"], 10, api_name="/evaluate")
    assert "qa-msg-error" in msg and "line 2" in msg and "broken.jsonl" in msg and "/tmp" not in msg


def test_deleting_an_uploaded_article_removes_its_upload_file(served, tmp_path):
    client, _ = served
    f = tmp_path / "gone.txt"
    f.write_text("Short story\n\nA body about gone things.\n", encoding="utf-8")
    client.predict([gradio_client.handle_file(str(f))], api_name="/upload")
    assert (tmp_path / "uploads" / "gone.txt").exists()
    msg, *_ = client.predict("gone", api_name="/delete")
    assert "Deleted gone" in msg and not (tmp_path / "uploads" / "gone.txt").exists()


def test_ask_ui_says_when_nothing_answers(served):
    client, demo = served
    index = demo.qa_service._index
    index.settings = index.settings.with_(abstain_margin=0.0)  # fake embedder: bare background
    cards, *_ = client.predict("zebra quantum lasagna", 2, "hybrid", "", "", "", True, api_name="/ask_ui")
    assert "Nothing in this collection seems to answer" in cards and cards.count("class='qa-card'") == 2
    cards, *_ = client.predict("football team won the cup final", 2, "hybrid", "", "", "", True, api_name="/ask_ui")
    assert "Nothing in this collection" not in cards


def test_library_lists_only_the_newest_articles_with_their_passage_counts(tmp_path):
    from qa import Index
    from tests.support.fake_embedder import HashEmbedder
    from qa.ui.service import Service

    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(json.dumps({"id": f"d{i}", "title": f"T{i}", "date": f"2020-01-{10 + i}",
                                            "text": "One sentence about the harbour. " * (1 + i)})
                                for i in range(6)) + "\n")
    ix = Index.build([corpus], tmp_path / "ix", embedder=HashEmbedder())
    service = Service(ix.folder, index=ix, upload_dir=tmp_path / "up")
    articles, counts = service.library(limit=2)
    assert list(articles) == ["d5", "d4"]
    want = {d: sum(p.doc_id == d for p in ix.passages) for d in ("d5", "d4")}
    assert counts == want and all(c > 0 for c in counts.values())
    assert len(service.library()[0]) == 6


def test_ask_ui_offers_the_shown_results_as_markdown_csv_and_json(served):
    import csv

    client, _ = served
    cards, _, *files = client.predict("decarbonization consultations", 2, "hybrid", "", "", "", True,
                                      api_name="/ask_ui")
    assert all(f["visible"] is True for f in files)  # the buttons show, each with its file
    md, csv_file, json_file = (f["value"] for f in files)
    assert "Copy citation" in cards and "data-citation=" in cards
    assert Path(md).suffix == ".md" and Path(csv_file).suffix == ".csv" and Path(json_file).suffix == ".json"
    data = json.loads(Path(json_file).read_text(encoding="utf-8"))
    assert data["question"] == "decarbonization consultations" and len(data["hits"]) == 2
    assert data["hits"][0]["citation"].startswith("\u201cRussia proposes energy talks\u201d, TASS, Moscow")
    rows = list(csv.DictReader(Path(csv_file).read_text(encoding="utf-8-sig").splitlines()))
    assert [r["doc_id"] for r in rows] == [h["doc_id"] for h in data["hits"]]
    assert rows[0]["citation"] == data["hits"][0]["citation"]
    text = Path(md).read_text(encoding="utf-8")
    assert text.startswith("# decarbonization consultations") and data["hits"][0]["citation"] in text


def test_ask_ui_offers_no_download_for_a_blank_question(served):
    client, _ = served
    _, _, *files = client.predict("  ", 5, "hybrid", "", "", "", True, api_name="/ask_ui")
    assert len(files) == 3 and all(f.get("value") is None and f["visible"] is False for f in files)
