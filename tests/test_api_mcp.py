"""The MCP tools `ask` and `article` on the same server and port (issue 24, item 4): listed and
called with the `mcp` client package over streamable HTTP, behind the server's access check."""

from __future__ import annotations

import base64
import json
import os

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
anyio = pytest.importorskip("anyio")
pytest.importorskip("mcp")

from tests.support.api_server import running  # noqa: E402

QUESTION = "decarbonization consultations"
BASIC = "Basic " + base64.b64encode(b"user:secret").decode()


@pytest.fixture
def base(built_index, tmp_path):
    """Base URL of the full server behind user:secret."""
    from qa.api.access import Access
    from qa.api.server import build_server

    app = build_server(str(built_index.folder), index=built_index, upload_dir=str(tmp_path / "uploads"),
                       access=Access(users=(("user", "secret"),)))
    with running(app) as url:
        yield url


async def _session(url: str, headers: dict, calls: list[tuple[str, dict]]):
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with Client(streamable_http_client(url + "/mcp", http_client=http)) as client:
            tools = await client.list_tools()
            return tools, [await client.call_tool(name, args) for name, args in calls]


def _text(result) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def test_mcp_lists_ask_and_article_and_ask_answers_the_qa_ask_json_object(base, built_index, capsys):
    from qa.cli.main import main

    assert main(["ask", QUESTION, "-k", "2", "--index", str(built_index.folder), "--json"]) == 0
    want = json.loads(capsys.readouterr().out)
    tools, (asked, read) = anyio.run(_session, base, {"Authorization": BASIC},
                                     [("ask", {"question": QUESTION, "k": 2}), ("article", {"doc_id": "energy"})])
    by_name = {t.name: t for t in tools.tools}
    assert set(by_name) == {"ask", "article"}
    assert {"question", "k", "config", "source", "since", "until"} <= set(by_name["ask"].input_schema["properties"])
    assert by_name["ask"].input_schema["required"] == ["question"] and "citation" in by_name["ask"].description
    assert not asked.is_error
    got = asked.structured_content
    assert {**got, "latency_ms": 0} == {**want, "latency_ms": 0}
    assert got["hits"][0]["citation"] in _text(asked)  # the text form carries the citations too
    art = read.structured_content
    assert art["doc_id"] == "energy" and art["source"] == "TASS" and "path" not in art
    assert all(art["body"][p["char_start"]:p["char_end"]] for p in art["passages"])


def test_mcp_tool_errors_say_what_is_wrong(base):
    _, (blank, deep, missing) = anyio.run(_session, base, {"Authorization": BASIC}, [
        ("ask", {"question": "   "}), ("ask", {"question": "cup", "k": 10**6}), ("article", {"doc_id": "nope"})])
    assert blank.is_error and "question is empty" in _text(blank)
    assert deep.is_error and "k must be at most 1000" in _text(deep)
    assert missing.is_error and "no article 'nope'" in _text(missing)


def test_mcp_needs_the_servers_login_and_holds_no_get_stream(base):
    import httpx

    r = httpx.post(base + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    stream = httpx.get(base + "/mcp", headers={"Authorization": BASIC, "Accept": "text/event-stream"}, timeout=10)
    assert stream.status_code == 405 and "stateless" in stream.json()["detail"]  # no stream held open
    with pytest.raises(Exception):
        anyio.run(_session, base, {}, [])
