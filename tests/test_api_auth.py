"""Access to the one server (issue 24, item 3): `--auth` (basic) and `--token-file` (bearer)
cover every route of the UI, the API and the MCP tools, read off the live app so a route a new Gradio (or a
new qa route) adds is checked too; no CORS unless `--cors ORIGIN`."""

from __future__ import annotations

import base64
import os
import re

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
httpx = pytest.importorskip("httpx")

from qa.errors import BadInput  # noqa: E402
from tests.support.api_server import running, wait_ready  # noqa: E402

TOKEN = "tok-" + "x" * 28
BASIC = "Basic " + base64.b64encode(b"user:secret").decode()
FILL = {"api_name": "ask", "path_or_url": "/etc/hostname", "path": "index.html", "doc_id": "energy",
        "url_path": "http://127.0.0.1/"}


def _serve(built_index, tmp_path, **options):
    from qa.api.access import Access
    from qa.api.server import build_server

    return build_server(str(built_index.folder), index=built_index, upload_dir=str(tmp_path / "uploads"),
                        access=Access(users=(("user", "secret"),), tokens=(TOKEN,)), **options)


@pytest.fixture
def guarded(built_index, tmp_path):
    """(base URL, app) of the full server (uploads on) behind user:secret and one token."""
    app = _serve(built_index, tmp_path)
    with running(app) as base:
        with httpx.Client(base_url=base, timeout=30, headers={"Authorization": BASIC}) as c:
            wait_ready(c)
        yield base, app


def _routes(app) -> list[tuple[str, str]]:
    """(method, full path) of every HTTP route of the app, through mounts and included routers."""
    from starlette.routing import Mount

    out = []

    def walk(routes, prefix: str):
        for r in routes:
            if hasattr(r, "original_router"):  # Gradio's included /gradio_api routers
                walk(r.original_router.routes, prefix)
            elif isinstance(r, Mount):
                walk(r.routes, prefix + r.path)
            elif hasattr(r, "methods"):  # an ASGI app as endpoint (the MCP route) takes any method
                out.extend((m, prefix + r.path) for m in sorted(r.methods or ("GET", "POST")) if m != "HEAD")
    walk(app.routes, "")
    return sorted(set(out))


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)(?::path)?\}", lambda m: FILL.get(m.group(1), "x"), path)


def test_every_route_of_ui_and_api_refuses_without_a_login_and_admits_with_one(guarded, built_index):
    base, app = guarded
    routes = _routes(app)
    paths = {p for _, p in routes}
    assert {"/api/v1/ask", "/api/v1/articles/{doc_id:path}", "/api/v1/health", "/api/v1/openapi.json",
            "/api/v1/docs", "/mcp", "/", "/config", "/gradio_api/queue/join", "/gradio_api/upload"} <= paths, sorted(paths)
    secrets = [a.title for a in built_index.articles.values()] + ["decarbonization"]
    wrong = {"anonymous": {}, "wrong password": {"Authorization": "Basic " + base64.b64encode(b"user:nope").decode()},
             "wrong token": {"Authorization": "Bearer " + "y" * 32}, "garbage": {"Authorization": "Basic %%%"}}
    with httpx.Client(base_url=base, timeout=10, follow_redirects=False) as client:
        for method, path in routes:
            body = {} if method in ("POST", "PUT", "PATCH") else None
            for who, headers in wrong.items():
                r = client.request(method, _url(path), json=body, headers=headers)
                where = f"{who}: {method} {path} -> {r.status_code}"
                assert r.status_code == 401, where
                assert r.json()["error"] == "unauthorized" and "www-authenticate" in r.headers, where
                assert not any(s in r.text for s in secrets), f"{where} leaks article text"
            if (method, path) == ("DELETE", "/api/v1/articles/{doc_id:path}"):
                continue  # deleting is tested on its own
            for headers in ({"Authorization": BASIC}, {"Authorization": f"Bearer {TOKEN}"}):
                # only the status line is read: event streams stay open once admitted
                with client.stream(method, _url(path), json=body, headers=headers) as r:
                    ours = 'realm="qa"' in r.headers.get("www-authenticate", "")  # (a Gradio route may ask for its own)
                    assert not (r.status_code == 401 and ours), f"{headers['Authorization'][:6]}: {method} {path}"


def test_a_token_and_a_login_both_reach_the_api_and_the_ui(guarded):
    from gradio_client import Client

    base, _ = guarded
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.get("/api/v1/ask", params={"q": "cup final"}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.json()["hits"][0]["doc_id"] == "football", r.text
        assert client.get("/api/v1/health", auth=("user", "secret")).json()["status"] == "ready"
        assert client.get("/", auth=("user", "secret")).status_code == 200
    got = Client(base + "/", headers={"Authorization": BASIC}, verbose=False).predict("cup final", 1, api_name="/ask")
    assert got["hits"][0]["doc_id"] == "football"


def test_no_cors_headers_unless_an_origin_is_allowed(built_index, tmp_path, guarded):
    base, _ = guarded
    evil = {"Origin": "http://evil.example", "Authorization": BASIC}
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.get("/api/v1/health", headers=evil)
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
        pre = client.options("/api/v1/ask", headers={"Origin": "http://evil.example",
                                                     "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in pre.headers
    with running(_serve(built_index, tmp_path, cors=["http://app.example"])) as base2, \
            httpx.Client(base_url=base2, timeout=30) as client:
        pre = client.options("/api/v1/ask", headers={"Origin": "http://app.example",
                                                     "Access-Control-Request-Method": "POST",
                                                     "Access-Control-Request-Headers": "authorization,content-type"})
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "http://app.example"
        r = client.get("/api/v1/health", headers={"Origin": "http://app.example", "Authorization": BASIC})
        assert r.headers["access-control-allow-origin"] == "http://app.example"
        other = client.get("/api/v1/health", headers={"Origin": "http://evil.example", "Authorization": BASIC})
        assert "access-control-allow-origin" not in other.headers
        assert client.get("/api/v1/health", headers={"Origin": "http://app.example"}).status_code == 401


def test_token_file_reads_one_token_a_line_and_refuses_weak_ones(tmp_path):
    from qa.api.access import parse_auth, read_tokens

    f = tmp_path / "tokens"
    f.write_text(f"# programs\n{TOKEN}\n\n  {'z' * 20}  \n")
    assert read_tokens(f) == (TOKEN, "z" * 20)
    for text, words in (("short\n", "shorter than 16"), ("# none\n\n", "holds no token"),
                        ("a" * 20 + " b\n", "spaces")):
        f.write_text(text)
        with pytest.raises(BadInput, match=words):
            read_tokens(f)
    with pytest.raises(BadInput, match="cannot read"):
        read_tokens(tmp_path / "missing")
    assert parse_auth("u:p:q") == (("u", "p:q"),) and parse_auth(None) == ()
    with pytest.raises(BadInput, match="user:password"):
        parse_auth("nopassword")


def test_qa_serve_refuses_a_bad_auth_or_token_file_with_exit_code_2(tmp_path, capsys, monkeypatch):
    import uvicorn

    from qa.cli.main import main

    monkeypatch.setattr(uvicorn.Server, "run", lambda self: pytest.fail("must not start"))
    assert main(["serve", "--index", str(tmp_path / "ix"), "--auth", "nopassword"]) == 2
    assert "user:password" in capsys.readouterr().err
    assert main(["serve", "--index", str(tmp_path / "ix"), "--token-file", str(tmp_path / "none")]) == 2
    assert "cannot read --token-file" in capsys.readouterr().err


def test_qa_serve_and_app_py_serve_the_same_app_and_warn_beyond_loopback(tmp_path, capsys, monkeypatch):
    import uvicorn

    import app as app_py
    from qa.cli.main import main

    served = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: served.append(self.config))
    assert main(["serve", "--index", str(tmp_path / "ix"), "--host", "0.0.0.0", "--port", "7999",
                 "--uploads", str(tmp_path / "up"), "--read-only"]) == 0
    err = capsys.readouterr().err
    assert "warning: listening on 0.0.0.0 without --auth or --token-file" in err and "/api/v1/" in err
    with pytest.raises(SystemExit) as done:
        app_py.main(["--index", str(tmp_path / "ix"), "--auth", "u:p", "--uploads", str(tmp_path / "up")])
    assert done.value.code == 0 and "warning" not in capsys.readouterr().err
    for config in served:
        paths = {getattr(r, "path", "") for r in config.app.routes}
        assert {"/api/v1", ""} <= paths
    assert served[0].host == "0.0.0.0" and served[0].port == 7999
