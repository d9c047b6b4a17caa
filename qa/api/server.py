"""The one server behind `qa serve` and `python app.py`: the web UI at `/`, the JSON API at
`/api/v1/` and the MCP tools at `/mcp` on one FastAPI app and one port, behind one access check.

`build_server(...)` assembles the app (cheap: no index read, no model loaded; the warm-up starts
with the server); `serve(args)` runs it with uvicorn; `add_arguments(parser)` declares the flags
both entries take (each falls back to a QA_* environment variable). Heavy imports (FastAPI,
Gradio, uvicorn) happen inside the functions, so `qa ask` does not pay for them.
"""

from __future__ import annotations

import argparse
import os
import sys

from qa.settings import DEFAULT_INDEX_DIR

API_PATH = "/api/v1"
MAX_URL_BYTES = 1024 * 1024  # a GET question is refused by qa (with a JSON 400), not by the HTTP parser
MAX_FILES_BODY = 16  # one upload request carries at most this many files of the per-file limit


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The server's flags (also read from QA_INDEX, QA_HOST, QA_PORT, QA_AUTH, QA_TOKEN_FILE,
    QA_CORS, QA_UPLOADS, QA_READ_ONLY)."""
    from qa.ui.service import DEFAULT_UPLOAD_DIR

    env = os.environ.get
    p.add_argument("--index", default=env("QA_INDEX", DEFAULT_INDEX_DIR), help="index folder (QA_INDEX)")
    p.add_argument("--host", default=env("QA_HOST", "127.0.0.1"), help="address to listen on (QA_HOST)")
    # a string default goes through `type` only when `serve` is parsed: a bad QA_PORT breaks no other command
    p.add_argument("--port", type=_port, default=env("QA_PORT", "7860"), help="port (QA_PORT)")
    p.add_argument("--auth", default=env("QA_AUTH"), metavar="USER:PASS",
                   help="require HTTP basic auth on every route, UI and API (QA_AUTH)")
    p.add_argument("--token-file", default=env("QA_TOKEN_FILE"), metavar="FILE",
                   help="accept `Authorization: Bearer TOKEN` for the tokens in FILE, one a line (QA_TOKEN_FILE)")
    p.add_argument("--cors", action="append", default=[o for o in env("QA_CORS", "").split(",") if o],
                   metavar="ORIGIN", help="let web pages from ORIGIN call the API (repeatable; QA_CORS, "
                                          "comma-separated); none by default")
    p.add_argument("--uploads", default=env("QA_UPLOADS", DEFAULT_UPLOAD_DIR),
                   help="folder for uploaded articles (QA_UPLOADS)")
    p.add_argument("--read-only", action="store_true",
                   default=env("QA_READ_ONLY", "").lower() in ("1", "true", "yes"),
                   help="questions and articles only: no upload, delete or evaluation, in the UI and "
                        "the API (QA_READ_ONLY=1)")
    p.add_argument("--internal-pages", action="store_true",
                   default=env("QA_INTERNAL_PAGES", "").lower() in ("1", "true", "yes"),
                   help="let \"Add pages\" fetch loopback and private-network addresses although the "
                        "server listens beyond this machine (QA_INTERNAL_PAGES=1; on 127.0.0.1 they "
                        "are always allowed)")


def build_server(index_dir: str = DEFAULT_INDEX_DIR, index=None, upload_dir: str | None = None,
                 max_upload_bytes: int | None = None, read_only: bool = False, access=None,
                 cors: list[str] | tuple[str, ...] = (), host: str = "127.0.0.1", port: int = 7860,
                 internal_pages: bool | None = None):
    """The web UI, the JSON API and the MCP tools on one FastAPI app.

    Args:
        index_dir: the index folder (loaded in the background when the server starts).
        index: an already loaded `qa.Index` to serve instead (tests use the fake embedder).
        upload_dir: where uploaded article files are kept (default data/uploads).
        max_upload_bytes: per-file upload limit (default 10 MiB).
        read_only: no uploads, deletes or evaluation (the routes and controls are absent).
        access: a `qa.api.access.Access` (logins and tokens); None or empty: open.
        cors: origins allowed to call the server from a browser page; none by default.
        host, port: where it will listen (Gradio builds its URLs from them).
        internal_pages: whether "Add pages" (UI and API) may fetch loopback and private-network
            addresses; None: only when `host` is a loopback address (a server other machines can
            reach must not fetch this machine's or its network's internal pages for them).

    Returns:
        The FastAPI app; `app.state.qa_service` is the shared `Service`.
    """
    import contextlib

    import gradio as gr
    from fastapi import FastAPI
    from fastapi.responses import RedirectResponse

    from qa.api.access import Access, AccessMiddleware, BodyLimitMiddleware
    from qa.api.mcp_tools import build_mcp
    from qa.api.routes import article_record, build_api
    from qa.ui.app import QUEUE_MAX, build_demo, listens_locally
    from qa.ui.service import DEFAULT_UPLOAD_DIR, MAX_UPLOAD_BYTES

    max_upload_bytes = max_upload_bytes or MAX_UPLOAD_BYTES
    if internal_pages is None:
        internal_pages = listens_locally(host)
    demo = build_demo(index_dir, index=index, upload_dir=upload_dir or DEFAULT_UPLOAD_DIR,
                      max_upload_bytes=max_upload_bytes, read_only=read_only,
                      public_pages_only=not internal_pages)
    service = demo.qa_service

    agents, agent_routes = build_mcp(service, ask=service.ask, article=lambda d: article_record(service, d),
                                     host=host)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        service.start_warmup()  # the port is open at once; the index and model load meanwhile
        async with agents.session_manager.run():
            yield

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    upload_limit = MAX_FILES_BODY * max_upload_bytes + 1024 * 1024
    app.mount(API_PATH, build_api(service, upload_limit=upload_limit))
    app.router.routes.extend(agent_routes)  # /mcp, before the UI's mount at / takes every other path
    app.add_api_route(API_PATH, lambda: RedirectResponse(API_PATH + "/docs"), include_in_schema=False)
    demo.queue(default_concurrency_limit=2, max_size=QUEUE_MAX)
    gr.mount_gradio_app(app, demo, path="/", server_name=host, server_port=port,
                        max_file_size=max_upload_bytes, show_error=False)
    app.add_middleware(BodyLimitMiddleware, upload_limit=upload_limit)
    app.add_middleware(AccessMiddleware, access=access or Access())
    if cors:  # outermost: a browser's preflight carries no credentials
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cors), allow_credentials=True,
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["Authorization", "Content-Type"])
    app.state.qa_service = service
    app.state.demo = demo
    return app


def uvicorn_config(app, host: str, port: int):
    """How uvicorn runs the app (also used by the tests, which serve it in a thread)."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", http="h11",
                          h11_max_incomplete_event_size=MAX_URL_BYTES, timeout_graceful_shutdown=5)


def _port(value: str) -> int:
    """--port (or QA_PORT) as a TCP port number, else an argparse error naming the value."""
    try:
        port = int(value)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535 (--port or QA_PORT), "
                                         f"got {value!r}")
    return port


def serve(args: argparse.Namespace) -> int:
    """Serve until interrupted, with the flags of `add_arguments`.

    Raises:
        BadInput: a malformed --auth or an unusable --token-file.
    """
    import uvicorn

    from qa.api.access import Access, parse_auth, read_tokens
    from qa.ui.app import exposure_warning

    access = Access(users=parse_auth(args.auth), tokens=read_tokens(args.token_file))
    warning = exposure_warning(args.host, "login" if not access.open else None, args.read_only)
    if warning:
        print(warning, file=sys.stderr)
    app = build_server(args.index, upload_dir=args.uploads, read_only=args.read_only, access=access,
                       cors=args.cors, host=args.host, port=args.port,
                       internal_pages=True if args.internal_pages else None)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"qa: web UI on http://{shown}:{args.port}/, JSON API on http://{shown}:{args.port}{API_PATH}/ "
          f"(docs at {API_PATH}/docs)", file=sys.stderr)
    uvicorn.Server(uvicorn_config(app, args.host, args.port)).run()
    return 0


def main(argv: list[str] | None = None) -> None:
    """`python app.py [flags]`: the same server as `qa serve`."""
    from qa.errors import QAError

    p = argparse.ArgumentParser(description="Serve the qa web UI and JSON API (same as `qa serve`).")
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        sys.exit(serve(args))
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
