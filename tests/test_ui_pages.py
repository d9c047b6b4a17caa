"""The Library tab's "Add pages": web pages fetched from a local server on 127.0.0.1, saved under
the upload folder with their URL, indexed at once, failures reported per URL, questions answered
meanwhile."""

from __future__ import annotations

import threading
import time

import pytest

from qa.ingest import web
from qa.ui.service import Service
from tests.support.web_site import NO_SITE, site  # noqa: F401 (site is a fixture)
from tests.test_ui_app import gradio_client, served  # noqa: F401 (served is a fixture)


@pytest.fixture
def service(built_index, tmp_path):
    return Service(built_index.folder, index=built_index, upload_dir=tmp_path / "up")


def test_add_pages_saves_each_page_with_its_url_and_reports_each_failure(service, site, built_index):
    text = f"# today's reading\n{site}/article\n\n{site}/missing\n{site}/report.pdf\nexample.com/nope\n"
    saved, rejected = service.save_pages(text)
    assert [p.name for p in saved] == [web.url_doc_id(f"{site}/article") + ".html"]
    why = dict(rejected)
    assert "HTTP 404" in why[f"{site}/missing"] and "application/pdf" in why[f"{site}/report.pdf"]
    assert "not a URL" in why["example.com/nope"]
    assert saved[0].read_text("utf-8").startswith("<!-- saved from url=(") and len(saved) == 1
    report = service.add(saved)
    (art,) = report.articles
    assert art.url == f"{site}/article" and art.source == "Space Daily" and art.doc_id in built_index.articles
    hit = service.ask("instrument healthy ready for the science phase", k=1).hits[0]
    assert hit.doc_id == art.doc_id and hit.article.url == f"{site}/article"


def test_a_rebuild_from_the_upload_folder_keeps_the_page_and_its_url(service, site, tmp_path, fake_embedder):
    from qa import Index

    saved, _ = service.save_pages(f"{site}/no-site")
    (fetched,) = service.add(saved).articles
    rebuilt = Index.build([tmp_path / "up"], tmp_path / "ix2", embedder=fake_embedder)
    again = rebuilt.articles[fetched.doc_id]
    assert again.url == f"{site}/no-site" and again.source == "127.0.0.1"
    assert again.content_hash == fetched.content_hash


def test_adding_a_page_again_refreshes_it_and_embeds_only_what_changed(service, site, fake_embedder):
    saved, _ = service.save_pages(f"{site}/no-site")
    service.add(saved)
    before = fake_embedder.embedded
    saved_again, rejected = service.save_pages(f"{site}/no-site")
    assert rejected == [] and saved_again == saved
    service.add(saved_again)
    assert fake_embedder.embedded == before  # unchanged page: nothing embedded
    site.pages["/no-site"] = (200, "text/html", NO_SITE.replace("walked inland", "swam ashore"))
    service.add(service.save_pages(f"{site}/no-site")[0])
    assert 0 < fake_embedder.embedded - before
    assert "swam ashore" in service.article(web.url_doc_id(f"{site}/no-site")).body


def test_add_pages_never_overwrites_a_file_it_did_not_save(service, site, tmp_path):
    mine = tmp_path / "up" / (web.url_doc_id(f"{site}/article") + ".html")
    mine.parent.mkdir(parents=True)
    mine.write_text("<html><body><p>My own notes.</p></body></html>", encoding="utf-8")
    saved, rejected = service.save_pages(f"{site}/article")
    assert saved == [] and "is kept" in rejected[0][1]
    assert mine.read_text(encoding="utf-8") == "<html><body><p>My own notes.</p></body></html>"


def test_a_page_with_no_article_is_reported_and_not_saved(service, site, tmp_path):
    saved, rejected = service.save_pages(f"{site}/menu")
    assert saved == [] and "no main text found" in rejected[0][1]
    assert not (tmp_path / "up").exists() or not list((tmp_path / "up").iterdir())


def test_read_only_service_refuses_to_add_pages(built_index, tmp_path, site):
    from qa.errors import BadInput

    service = Service(built_index.folder, index=built_index, upload_dir=tmp_path / "up", read_only=True)
    with pytest.raises(BadInput, match="read-only"):
        service.save_pages(f"{site}/article")
    assert site.requests == []


def test_a_public_only_service_refuses_internal_pages_and_fetches_nothing(built_index, tmp_path, site):
    service = Service(built_index.folder, index=built_index, upload_dir=tmp_path / "up", public_pages_only=True)
    saved, rejected = service.save_pages(f"{site}/article")
    assert saved == [] and "resolves to 127.0.0.1" in dict(rejected)[f"{site}/article"]
    assert site.requests == []


@pytest.mark.parametrize("host, internal, public_only", [
    ("127.0.0.1", None, False), ("localhost", None, False), ("0.0.0.0", None, True),
    ("192.168.1.20", None, True), ("0.0.0.0", True, False)])
def test_the_server_fetches_internal_pages_only_when_it_listens_locally_or_is_told(
        built_index, tmp_path, host, internal, public_only):
    from qa.api.server import build_server

    app = build_server(str(built_index.folder), index=built_index, upload_dir=str(tmp_path / "up"),
                       host=host, internal_pages=internal)
    assert app.state.qa_service.public_pages_only is public_only


def test_questions_are_answered_while_a_slow_page_is_fetched(service, site, monkeypatch):
    monkeypatch.setattr(web, "FETCH_TIMEOUT", 10)
    fetcher = threading.Thread(target=service.save_pages, args=(f"{site}/slow",))
    fetcher.start()
    deadline = time.monotonic() + 5
    while not any(p == "/slow" for p, _ in site.requests) and time.monotonic() < deadline:
        time.sleep(0.02)
    answer = service.ask("football team won the cup final", k=1)  # the page is still on its way
    assert fetcher.is_alive() and answer.hits[0].doc_id == "football"
    fetcher.join(10)


def test_add_pages_endpoint_indexes_and_keeps_failed_urls_in_the_box(site, served):
    client, _ = served
    msg, table, _, _, box, _ = client.predict(f"{site}/article\n{site}/broken\n", api_name="/add_pages")
    assert "Indexed 1 page(s): Probe reaches Mars orbit" in msg
    assert f"{site}/broken: not added" in msg and "HTTP 500" in msg
    assert box == f"{site}/broken"
    assert web.url_doc_id(f"{site}/article") in [row[4] for row in table["data"]]
    got = client.predict("instrument healthy ready for the science phase", 1, api_name="/ask")
    assert got["hits"][0]["url"] == f"{site}/article"
