"""The JSON API (/api/v1) of the one server, through a real HTTP client against uvicorn on a free
loopback port (fake embedder): every route, the `qa ask --json` object, and bad input answered
as a JSON 4xx naming the problem (issue 24)."""

from __future__ import annotations

import http.client
import json
import os

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
httpx = pytest.importorskip("httpx")

from tests.support.api_server import running, wait_ready  # noqa: E402
from tests.support.web_site import site  # noqa: E402,F401 (site is a fixture)

QUESTION = "decarbonization consultations"


def _serve(built_index, tmp_path, **options):
    from qa.api.server import build_server

    return build_server(str(built_index.folder), index=built_index, upload_dir=str(tmp_path / "uploads"),
                        max_upload_bytes=4096, **options)


@pytest.fixture
def api(built_index, tmp_path):
    """An httpx client on the running server (uploads on), once its index is ready."""
    with running(_serve(built_index, tmp_path)) as base, httpx.Client(base_url=base, timeout=30) as client:
        wait_ready(client)
        yield client


def _is_error(r, status: int, *words: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers["content-type"]
    body = r.json()
    assert {"error", "detail"} <= set(body) and isinstance(body["detail"], str), body
    assert "Traceback" not in r.text and "<html" not in r.text.lower()
    for w in words:
        assert w.lower() in body["detail"].lower(), (w, body)
    return body


# ---- questions ---------------------------------------------------------------------------------

def test_get_and_post_ask_answer_exactly_the_qa_ask_json_object(api, built_index, capsys):
    from qa.cli.main import main

    assert main(["ask", QUESTION, "-k", "2", "--index", str(built_index.folder), "--json"]) == 0
    want = json.loads(capsys.readouterr().out)
    got_get = api.get("/api/v1/ask", params={"q": QUESTION, "k": 2}).json()
    got_post = api.post("/api/v1/ask", json={"q": QUESTION, "k": 2}).json()
    got_alias = api.post("/api/v1/ask", json={"question": QUESTION, "k": 2}).json()
    for got in (got_get, got_post, got_alias):
        assert set(got) == set(want)
        assert {**got, "latency_ms": 0} == {**want, "latency_ms": 0}
    assert want["hits"][0]["doc_id"] == "energy"


def test_ask_takes_the_filters_configuration_and_grouping_of_qa_ask(api):
    from qa.search.pipeline import CONFIGS

    for config in CONFIGS:
        r = api.get("/api/v1/ask", params={"q": "cup final", "k": 1, "config": config})
        assert r.status_code == 200 and r.json()["config"] == config, r.text
    body = api.post("/api/v1/ask", json={"q": "energy ministers", "source": "tass", "since": "2021-06-01",
                                         "until": "2021-06-30", "group": True}).json()
    assert [h["doc_id"] for h in body["hits"]] == ["energy"]
    _is_error(api.get("/api/v1/ask", params={"q": "energy", "source": "nobody"}), 400, "no article matches")


@pytest.mark.parametrize("params, words", [
    ({"q": ""}, ["question is empty"]),
    ({"q": "   "}, ["question is empty"]),
    ({}, ["q: required"]),
    ({"q": "x", "k": 0}, ["k must be at least 1"]),
    ({"q": "x", "k": 10**6}, ["k must be at most 1000"]),
    ({"q": "x", "k": "five"}, ["k:", "integer"]),
    ({"q": "x", "since": "yesterday"}, ["since", "yesterday"]),
    ({"q": "x", "until": "2021-13-45"}, ["until", "2021-13-45"]),
    ({"q": "x", "config": "nope"}, ["unknown configuration 'nope'", "choose one of"]),
    ({"q": "x", "group": "maybe"}, ["group:"]),
])
def test_bad_get_questions_are_a_json_400_naming_the_problem(api, params, words):
    _is_error(api.get("/api/v1/ask", params=params), 400, *words)


@pytest.mark.parametrize("body, words", [
    ({"q": "a" * 100_000}, ["100000 characters", "limit is 4000"]),
    ({"q": "x", "k": 0}, ["k must be at least 1"]),
    ({"q": "x", "k": 10**6}, ["k must be at most 1000"]),
    ({"q": "x", "since": "2021-02-30"}, ["2021-02-30"]),
    ({"q": "x", "config": "nope"}, ["unknown configuration"]),
    ({"q": "x", "kk": 3}, ["kk: unknown field"]),
    ({"k": 3}, ["q: required"]),
    ({"q": ["a", "list"]}, ["q:"]),
    ({"q": "x", "k": True}, ["k:", "integer"]),
    ({"q": "x", "k": "3"}, ["k:", "integer"]),
    ({"q": "x", "k": 2.5}, ["k:", "integer"]),
    ({"q": "x", "group": "yes"}, ["group:", "boolean"]),
    ({"q": "x", "group": 1}, ["group:", "boolean"]),
])
def test_bad_post_questions_are_a_json_400_naming_the_problem(api, body, words):
    _is_error(api.post("/api/v1/ask", json=body), 400, *words)


def test_a_100k_character_question_in_the_url_is_a_json_400(api):
    conn = http.client.HTTPConnection(api.base_url.host, api.base_url.port, timeout=30)
    conn.request("GET", "/api/v1/ask?q=" + "a" * 100_000)
    r = conn.getresponse()
    body = json.loads(r.read())
    assert r.status == 400 and "100000 characters" in body["detail"], body


@pytest.mark.parametrize("content, ctype, status, words", [
    (b'{"q": "x",', "application/json", 400, ["malformed JSON at line 1"]),
    (b"", "application/json", 400, ["body is empty"]),
    (b'["q"]', "application/json", 400, ["must be a JSON object"]),
    (b'q=cup+final', "application/x-www-form-urlencoded", 415, ["Content-Type: application/json"]),
    (b'{"q": "cup final"}', "text/plain", 415, ["text/plain"]),
    (b'{"q": "cup final"}', None, 415, ["none"]),
    (b'{"q": "' + b"a" * (2 << 20) + b'"}', "application/json", 413, ["limit", "1,048,576"]),
])
def test_malformed_wrong_type_and_oversize_bodies_are_a_json_4xx(api, content, ctype, status, words):
    headers = {"content-type": ctype} if ctype else {}
    _is_error(api.post("/api/v1/ask", content=content, headers=headers), status, *words)


def test_an_oversize_body_without_a_length_is_cut_off_with_413(api):
    def chunks():
        yield b'{"q": "'
        for _ in range(40):
            yield b"a" * 65536

    r = api.post("/api/v1/ask", content=chunks(), headers={"content-type": "application/json"})
    _is_error(r, 413, "limit")


def test_unknown_routes_and_methods_are_json_not_html(api):
    assert api.get("/api/v1").headers["location"] == "/api/v1/docs"
    _is_error(api.get("/api/v1/nothing-here"), 404, "/api/v1/docs")
    _is_error(api.put("/api/v1/ask", json={"q": "x"}), 405, "PUT")
    _is_error(api.delete("/api/v1/health"), 405, "DELETE")


# ---- articles, health, description --------------------------------------------------------------

def test_article_returns_its_text_citation_fields_and_passage_offsets(api, built_index):
    hit = api.get("/api/v1/ask", params={"q": QUESTION, "k": 1}).json()["hits"][0]
    art = api.get(f"/api/v1/articles/{hit['doc_id']}").json()
    assert {"doc_id", "title", "source", "date", "date_text", "url", "language", "body", "passages"} <= set(art)
    assert "path" not in art and art["source"] == "TASS" and art["date"] == "2021-06-11"
    assert art["body"][hit["char_start"]:hit["char_end"]] == hit["text"]
    for p in art["passages"]:
        assert art["body"][p["char_start"]:p["char_end"]] == built_index.passages[
            [q.passage_id for q in built_index.passages].index(p["passage_id"])].text
    _is_error(api.get("/api/v1/articles/no-such-id"), 404, "no article 'no-such-id'")


def test_articles_lists_the_newest_with_their_passage_counts(api):
    body = api.get("/api/v1/articles", params={"limit": 2}).json()
    assert body["total"] == 3 and len(body["articles"]) == 2
    assert body["articles"][0]["doc_id"] == "energy" and body["articles"][0]["passages"] >= 1
    _is_error(api.get("/api/v1/articles", params={"limit": 0}), 400, "limit")


def test_health_says_ready_with_counts_model_format_and_version(api):
    from qa import __version__
    from qa.settings import FORMAT_VERSION

    body = api.get("/api/v1/health").json()
    assert body["status"] == "ready" and body["articles"] == 3 and body["passages"] >= 3
    assert body["model"] == "hash-test" and body["index_format"] == FORMAT_VERSION
    assert body["version"] == __version__ and body["read_only"] is False
    head = api.head("/api/v1/health")  # uptime monitors probe with HEAD
    assert head.status_code == 200 and head.content == b""


def test_health_is_503_with_retry_after_without_an_index(tmp_path):
    from qa.api.server import build_server

    app = build_server(str(tmp_path / "no-index"), upload_dir=str(tmp_path / "up"))
    with running(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        r = client.get("/api/v1/health")
        body = _is_error(r, 503, "no index")
        assert body["status"] in ("no_index", "loading") and r.headers["retry-after"]
        _is_error(client.get("/api/v1/ask", params={"q": "x"}), 503, "no index")


def test_openapi_describes_every_route_and_the_docs_page_shows_them(api):
    spec = api.get("/api/v1/openapi.json").json()
    assert {"/ask", "/articles", "/articles/{doc_id}", "/health", "/pages"} <= set(spec["paths"])
    assert set(spec["paths"]["/ask"]) == {"get", "post"} and set(spec["paths"]["/articles/{doc_id}"]) == {"get", "delete"}
    page = api.get("/api/v1/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "cdn" not in page.text.lower()  # offline: nothing fetched from elsewhere
    for path in spec["paths"]:
        assert path in page.text
    assert "curl" in page.text


# ---- writes ---------------------------------------------------------------------------------------

def test_upload_indexes_at_once_and_rejects_with_the_uis_reasons(api, tmp_path):
    story = b"Harbour news\n\nThe ships arrived at dawn in the northern harbour.\n"
    r = api.post("/api/v1/articles", files=[("files", ("harbour.txt", story)), ("files", ("tool.exe", b"MZ"))])
    assert r.status_code == 200, r.text
    body = r.json()
    assert [a["doc_id"] for a in body["indexed"]] == ["harbour"]
    assert body["rejected"] == [{"file": "tool.exe", "reason": body["rejected"][0]["reason"]}]
    assert "not accepted" in body["rejected"][0]["reason"]
    assert (tmp_path / "uploads" / "harbour.txt").exists()
    hit = api.get("/api/v1/ask", params={"q": "ships arrived at dawn harbour", "k": 1}).json()["hits"][0]
    assert hit["doc_id"] == "harbour"
    again = _is_error(api.post("/api/v1/articles", files={"files": ("harbour.txt", story)}), 400, "uploaded before")
    assert again["error"] == "nothing_indexed" and again["rejected"][0]["file"] == "harbour.txt"


def test_upload_bad_requests_are_json_4xx(api):
    _is_error(api.post("/api/v1/articles", files={"files": ("big.txt", b"Big\n\n" + b"word " * 2000)}),
              413, "limit is")
    _is_error(api.post("/api/v1/articles", json={"files": "a.txt"}), 415, "multipart/form-data")
    _is_error(api.post("/api/v1/articles", files={"other": ("a.txt", b"A\n\nText.\n")}), 400, "no `files` part")
    many = [("files", (f"f{i}.txt", b"T\n\nText here.\n")) for i in range(17)]
    _is_error(api.post("/api/v1/articles", files=many), 400, "16")
    _is_error(api.post("/api/v1/articles", files={"files": ("empty.txt", b"")}), 400, "empty file")


def test_pages_fetches_keeps_and_indexes_web_pages_with_reasons(api, site, tmp_path):
    r = api.post("/api/v1/pages", json={"urls": [f"{site}/article", f"{site}/missing"]})
    assert r.status_code == 200, r.text
    body = r.json()
    (page,) = body["indexed"]
    assert page["url"] == f"{site}/article" and page["source"] == "Space Daily"
    assert body["rejected"][0]["url"] == f"{site}/missing" and "404" in body["rejected"][0]["reason"]
    assert list((tmp_path / "uploads").glob("*.html"))
    _is_error(api.post("/api/v1/pages", json={"urls": [f"{site}/broken"]}), 400, "nothing was indexed")
    _is_error(api.post("/api/v1/pages", json={"urls": []}), 400, "urls")
    _is_error(api.post("/api/v1/pages", json={"urls": ["a b"]}), 400, "not one URL")


def test_delete_removes_the_article_and_its_uploaded_file(api, tmp_path):
    api.post("/api/v1/articles", files={"files": ("harbour.txt", b"Harbour news\n\nShips at dawn.\n")})
    r = api.delete("/api/v1/articles/harbour")
    assert r.status_code == 200 and r.json()["deleted"] == ["harbour"], r.text
    assert not (tmp_path / "uploads" / "harbour.txt").exists()
    _is_error(api.get("/api/v1/articles/harbour"), 404)
    _is_error(api.delete("/api/v1/articles/harbour"), 404, "no article 'harbour'")


def test_read_only_server_has_no_write_routes(built_index, tmp_path):
    with running(_serve(built_index, tmp_path, read_only=True)) as base, \
            httpx.Client(base_url=base, timeout=30) as client:
        wait_ready(client)
        assert client.get("/api/v1/health").json()["read_only"] is True
        assert set(client.get("/api/v1/openapi.json").json()["paths"]) == {"/ask", "/articles", "/articles/{doc_id}",
                                                                            "/health"}
        for r in (client.post("/api/v1/articles", files={"files": ("a.txt", b"A\n\nText.\n")}),
                  client.post("/api/v1/pages", json={"urls": ["http://127.0.0.1/"]}),
                  client.delete("/api/v1/articles/energy")):
            assert r.status_code in (404, 405) and r.json()["error"], r.text
        assert client.get("/api/v1/ask", params={"q": QUESTION}).status_code == 200
    assert "energy" in built_index.articles and not (tmp_path / "uploads").exists()


def test_the_ui_is_served_at_the_root_of_the_same_port(api):
    from gradio_client import Client

    assert api.get("/").status_code == 200 and "<html" in api.get("/").text.lower()
    got = Client(str(api.base_url) + "/", verbose=False).predict(QUESTION, 1, api_name="/ask")
    assert got["hits"][0]["doc_id"] == "energy"
