"""The server's tools for LLM agents: `ask` and `article` over the Model Context Protocol
(streamable HTTP at /mcp, on the same port and behind the same access check as the UI and the API).

`ask` answers with the `qa ask --json` object (cited passages, each with its citation line) and
`article` with an article's text and citation fields: the same functions the JSON API calls, so
an agent, a program and a person see the same answer. Built on the `mcp` SDK's `MCPServer`,
stateless with JSON responses (no session to keep; each call stands alone).
"""

from __future__ import annotations

from typing import Any, Callable

from starlette.routing import Route

MCP_PATH = "/mcp"

INSTRUCTIONS = (
    "Search a collection of news articles. Call `ask` with a question to get the best passages, each "
    "with its article's title, source, date and a ready citation (`citation`); quote passages with "
    "their citation. `answerable: false` means the collection probably does not answer the question. "
    "Call `article` with a hit's `doc_id` to read the whole article."
)


def build_mcp(service, ask: Callable, article: Callable[[str], dict], host: str = "127.0.0.1"):
    """The MCP server with the `ask` and `article` tools and the Starlette routes that serve it.

    Args:
        service: the shared `qa.ui.service.Service` (its configurations name the choices).
        ask: answers one question like `Service.ask` (returns an `Answer`).
        article: doc_id -> the article as the API returns it (raises for an unknown id).
        host: where the server listens; on loopback the SDK also checks Host and Origin headers
            (DNS rebinding protection).

    Returns:
        (MCPServer, routes): mount the routes on the app before the UI's catch-all mount, and run
        `server.session_manager.run()` in the app's lifespan.
    """
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

    from qa import __version__
    from qa.errors import QAError
    from qa.search.pipeline import CONFIGS

    server = MCPServer(name="qa", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")
    read_only = ToolAnnotations(readOnlyHint=True, openWorldHint=False)

    @server.tool(name="ask", title="Ask the news archive", annotations=read_only, description=(
        "Answer a question from the indexed news articles: the k best passages, each with doc_id, title, "
        "source, date, the passage text, the answering sentence's offsets (highlight), the words the "
        "reading model points at as the answer (answer: offsets and text, a pointer to check, not a verified "
        "answer) and a citation line. "
        f"config is one of {', '.join(CONFIGS)} (default: the server's); source filters by source name "
        "(substring); since/until are ISO dates (YYYY-MM-DD)."))
    def ask_tool(question: str, k: int = 5, config: str | None = None, source: str | None = None,
                 since: str | None = None, until: str | None = None) -> dict[str, Any]:
        try:
            return ask(question, k=k, config=config or None, source=source or None, since=since or None,
                       until=until or None, group=None).to_dict()
        except QAError as e:  # the agent reads why and can fix its call
            raise ToolError(str(e)) from None

    @server.tool(name="article", title="Read one article", annotations=read_only, description=(
        "The whole article with this doc_id (from an `ask` hit): title, source, date, url, language, "
        "body, and the character offsets of its passages in the body."))
    def article_tool(doc_id: str) -> dict[str, Any]:
        try:
            return article(doc_id)
        except QAError as e:
            raise ToolError(str(e)) from None
        except LookupError as e:
            raise ToolError(str(e.args[0]) if e.args else f"no article {doc_id!r}") from None

    app = server.streamable_http_app(streamable_http_path=MCP_PATH, stateless_http=True, json_response=True,
                                     host=host)
    return server, [Route(r.path, _NoEventStream(r.endpoint)) if isinstance(r, Route) else r for r in app.routes]


class _NoEventStream:
    """The MCP endpoint, with GET answered 405 (as the protocol allows): a stateless server sends
    nothing unasked, so a GET stream would only hold a connection open. (A class, not a function:
    Starlette runs a function endpoint as a request handler, an object as an ASGI app.)"""

    def __init__(self, endpoint):
        self.endpoint = endpoint

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "GET":
            from qa.api.errors import error_response

            response = error_response(405, "this MCP endpoint is stateless and offers no event stream; "
                                           "POST JSON-RPC messages to it", headers={"Allow": "POST, DELETE"})
            return await response(scope, receive, send)
        return await self.endpoint(scope, receive, send)
