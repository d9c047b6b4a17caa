"""`--auth` protects every route that reads or writes anything: the pages' config, the API
(ask, article, upload, delete, evaluate), the queue, file uploads and downloads (issue 15, item 6).

The routes are read off the live app, so a route a new Gradio adds is checked too.
"""

from __future__ import annotations

import json
import os
import re

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
httpx = pytest.importorskip("httpx")
gradio_client = pytest.importorskip("gradio_client")

from tests.test_ui_app import free_port  # noqa: E402

# Routes Gradio serves before a login by design: the login page, static assets and identity
# probes. None may carry article text (checked below).
PUBLIC = {"/", "/login", "/logout", "/favicon.ico", "/theme.css", "/robots.txt", "/manifest.json",
          "/openapi.json", "/gradio_api/theme.css", "/gradio_api/app_id", "/gradio_api/token",
          "/gradio_api/user", "/gradio_api/runs", "/gradio_api/startup-events"}
# Routes that must refuse a visitor without a login outright (401)
MUST_REFUSE = {"/config", "/gradio_api/info", "/gradio_api/openapi.json", "/gradio_api/upload",
               "/gradio_api/queue/join", "/gradio_api/api/{api_name}", "/gradio_api/run/{api_name}",
               "/gradio_api/call/{api_name}", "/gradio_api/call/v2/{api_name}",
               "/gradio_api/file={path_or_url:path}", "/gradio_api/file/{path:path}", "/monitoring"}
STREAMS = ("/heartbeat/", "/queue/data")  # server-sent events: they hold the connection open
FILL = {"api_name": "ask", "path_or_url": "/etc/hostname", "path": "index.html", "url_path": "http://127.0.0.1/"}


@pytest.fixture
def guarded(built_index, tmp_path):
    """(base URL, demo) of the full app (uploads, deletes, evaluation on) behind user:secret."""
    from qa.ui.app import build_demo

    demo = build_demo(str(built_index.folder), index=built_index, upload_dir=str(tmp_path / "uploads"))
    demo.queue(max_size=8)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, auth=("user", "secret"),
                prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}", demo
    finally:
        demo.close()


def _routes(app) -> list[tuple[str, str]]:
    out = []

    def walk(routes):
        for r in routes:
            if hasattr(r, "original_router"):  # an included router (the /gradio_api ones)
                walk(r.original_router.routes)
                continue
            for method in sorted(getattr(r, "methods", None) or ()):
                if method != "HEAD":
                    out.append((method, r.path))
    walk(app.routes)
    return out


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)(?::path)?\}", lambda m: FILL.get(m.group(1), "x"), path)


def test_every_route_refuses_or_reveals_nothing_without_a_login(guarded, built_index):
    base, demo = guarded
    routes = _routes(demo.server_app)
    paths = {p for _, p in routes}
    assert MUST_REFUSE <= paths, f"routes renamed in this Gradio: {sorted(MUST_REFUSE - paths)}"
    secrets = [a.title for a in built_index.articles.values()] + ["decarbonization"]
    with httpx.Client(base_url=base, timeout=10, follow_redirects=False) as anon:
        for method, path in routes:
            if any(s in path for s in STREAMS):
                continue
            r = anon.request(method, _url(path), json={} if method == "POST" else None)
            where = f"{method} {path} -> {r.status_code}"
            if path.rstrip("/") in MUST_REFUSE or path in MUST_REFUSE:
                assert r.status_code == 401, where
            elif path.rstrip("/") not in PUBLIC and path not in PUBLIC:
                assert r.status_code in (401, 403, 404, 405, 422), where
            assert not any(s in r.text for s in secrets), f"{where} leaks article text"


def test_uploads_and_api_calls_are_refused_without_a_login_and_work_with_one(guarded, built_index, tmp_path):
    base, _ = guarded
    f = tmp_path / "harbour.txt"
    f.write_text("Harbour news\n\nThe ships arrived at dawn.\n", encoding="utf-8")
    with httpx.Client(base_url=base, timeout=10) as anon:
        with open(f, "rb") as fh:
            assert anon.post("/gradio_api/upload", files={"files": fh}).status_code == 401
        assert anon.post("/gradio_api/call/ask", json={"data": ["decarbonization", 1]}).status_code == 401
        assert anon.post("/login", data={"username": "user", "password": "wrong"}).status_code >= 400
    with pytest.raises(Exception):
        gradio_client.Client(base + "/", auth=("user", "wrong"), verbose=False)
    client = gradio_client.Client(base + "/", auth=("user", "secret"), verbose=False)
    got = client.predict("decarbonization consultations", 1, api_name="/ask")
    assert got["hits"] and got["hits"][0]["doc_id"] == "energy"
    msg, *_ = client.predict([gradio_client.handle_file(str(f))], api_name="/upload")
    assert "harbour" in built_index.articles, msg
    assert json.dumps(got)  # the logged-in answer is the qa ask JSON object
