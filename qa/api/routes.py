"""The JSON API under /api/v1: questions, articles, health, and (unless read-only) uploads,
pages by URL and deletes, on the web UI's `Service` with the UI's rules.

`build_api(service)` returns a FastAPI app to mount at /api/v1; it serves its own OpenAPI
description (`/openapi.json`) and docs page (`/docs`), and answers every error as
`{"error", "detail"}` (qa.api.errors). `ask` answers exactly the object `qa ask --json` prints
(`Answer.to_dict`).
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StrictBool, StrictInt
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from qa.answer.batching import Busy
from qa.api.docs_page import docs_html
from qa.api.errors import ApiError, install_handlers

MAX_FILES = 16  # files in one upload request
MAX_PAGES = 20  # URLs in one pages request
COPY_CHUNK = 1024 * 1024
ASK_PARAMS = ("q", "k", "config", "source", "since", "until", "group")
MAX_NAME_BYTES = 200  # an uploaded file's name as written to the temporary folder


class AskRequest(BaseModel):
    """A question and the options of `qa ask` (the body of POST /ask; GET takes the same fields
    as query parameters)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    q: str = Field(validation_alias=AliasChoices("q", "question"),
                   description="the question (also accepted as `question`)")
    # strict: JSON `true`, `"3"` or `2.5` for k (or `"yes"` for group) is a 400, not read as 1 / 3 / on
    k: StrictInt | None = Field(None, description="passages to return, 1-1000 (default 5)")
    config: str | None = Field(None, description="retrieval configuration (default: the server's)")
    source: str | None = Field(None, description="only articles whose source contains this")
    since: str | None = Field(None, description="only articles dated on or after (YYYY-MM-DD)")
    until: str | None = Field(None, description="only articles dated on or before (YYYY-MM-DD)")
    group: StrictBool | None = Field(None, description="fold passages of other articles reporting the same "
                                                 "story into `also_reported_by` (default off, as `qa ask`)")


class PagesRequest(BaseModel):
    """Web pages to fetch, keep in the upload folder and index (the UI's "Add pages")."""

    model_config = ConfigDict(extra="forbid")
    urls: list[str] = Field(min_length=1, max_length=MAX_PAGES, description="http(s) URLs, one page each")


def _json_body(model) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


async def read_json(request: Request, model: type[BaseModel]) -> BaseModel:
    """The request's JSON body validated as `model`.

    Raises:
        ApiError: 415 when the body is not declared JSON, 400 when it is empty or malformed
            (naming the line and column) or a field is wrong (pydantic's ValidationError, answered
            400 naming the field).
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise ApiError(415, f"send a JSON body with Content-Type: application/json (got {ctype or 'none'!r})")
    raw = await request.body()
    if not raw.strip():
        raise ApiError(400, "the request body is empty; send a JSON object such as {\"q\": \"...\"}")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ApiError(400, f"malformed JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except UnicodeDecodeError as e:
        raise ApiError(400, f"the body is not UTF-8 text (byte 0x{e.object[e.start:e.start + 1].hex()} at offset {e.start}); "
                            f"send JSON encoded as UTF-8") from None
    except RecursionError:  # [[[[...]]]] deeper than the parser's stack: refused, not a 500
        raise ApiError(400, "the JSON is nested too deeply; send a flat object such as {\"q\": \"...\"}") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"the body must be a JSON object, got {type(data).__name__}")
    return model.model_validate(data)


def _public(article) -> dict:
    d = article.to_dict()
    d.pop("path", None)  # a server path: private
    d["pages"] = list(d.get("pages") or ())
    return d


def build_api(service, upload_limit: int | None = None) -> FastAPI:
    """The /api/v1 app over `service` (a `qa.ui.service.Service`).

    Args:
        service: the shared index; its `read_only` leaves the write routes out. Questions go
            through its batcher (`service.submit`), awaited without holding a thread.
        upload_limit: the largest upload request body, named in the docs (the server's
            BodyLimitMiddleware enforces it).

    Returns:
        The FastAPI app; mount it at /api/v1.
    """
    from qa import __version__

    api = FastAPI(title="qa", version=__version__, docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                  description="Cited passages from news articles. Every error is "
                              "`{\"error\": CODE, \"detail\": MESSAGE}`.")
    api.state.read_only = service.read_only
    install_handlers(api)

    async def answer(req: AskRequest) -> JSONResponse:
        future = service.submit(req.q, k=req.k, config=req.config or None, source=req.source or None,
                                since=req.since or None, until=req.until or None, group=req.group)
        timeout = service.batcher.timeout_s
        try:
            got = await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except asyncio.TimeoutError:
            raise Busy(f"no answer within {timeout:.0f} s: the server is overloaded or still loading; "
                       "ask again shortly", status=503, retry_after=5) from None
        return JSONResponse(got.to_dict())

    @api.get("/ask", summary="Answer a question (the `qa ask --json` object)")
    async def ask_get(request: Request, q: str = Query(..., description="the question"), k: int | None = None,
                      config: str | None = None, source: str | None = None, since: str | None = None,
                      until: str | None = None, group: bool | None = None) -> JSONResponse:
        unknown = [p for p in request.query_params if p not in ASK_PARAMS]
        if unknown:  # as POST refuses an unknown field: a typo (kk=3) is not silently ignored
            raise ApiError(400, f"{unknown[0]}: unknown query parameter; use {', '.join(ASK_PARAMS)} "
                                f"(got {request.query_params[unknown[0]]!r})")
        return await answer(AskRequest(q=q, k=k, config=config, source=source, since=since, until=until,
                                       group=group))

    @api.post("/ask", summary="Answer a question sent as a JSON body (same fields as GET)",
              openapi_extra=_json_body(AskRequest))
    async def ask_post(request: Request) -> JSONResponse:
        return await answer(await read_json(request, AskRequest))

    @api.get("/articles", summary="The newest articles (title, source, date, passages)")
    async def articles(limit: int = Query(100, ge=1, le=1000)) -> JSONResponse:
        arts, counts = await run_in_threadpool(service.library, limit)
        rows = [{"doc_id": a.doc_id, "title": a.title, "source": a.source, "date": a.date,
                 "date_text": a.date_text, "url": a.url, "passages": counts.get(a.doc_id, 0)}
                for a in arts.values()]
        return JSONResponse({"articles": rows, "total": len(service.current().articles) if service.current() else 0})

    @api.get("/articles/{doc_id:path}", summary="One article: its text, citation fields and passages")
    async def article(doc_id: str) -> JSONResponse:
        try:
            return JSONResponse(await run_in_threadpool(article_record, service, doc_id))
        except KeyError as e:
            raise ApiError(404, e.args[0]) from None

    @api.get("/health", summary="Ready or loading; counts, model, index format, version")
    async def health() -> JSONResponse:
        await run_in_threadpool(service.refresh)  # a build committing in steps: its latest step
        body, ready = _health(service, __version__)
        if ready:
            return JSONResponse(body)
        return JSONResponse({"error": "unavailable", "detail": service.status(), **body}, status_code=503,
                            headers={"Retry-After": "2"})

    @api.head("/health", include_in_schema=False)  # uptime monitors probe with HEAD (405 reads as down)
    async def health_head() -> JSONResponse:
        return await health()

    @api.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(docs_html(api.openapi(), read_only=service.read_only))

    if not service.read_only:
        _add_write_routes(api, service, upload_limit)
    return api


def article_record(service, doc_id: str) -> dict:
    """The article as the API and the MCP `article` tool return it: its fields (not its server
    path) and the offsets of its passages in the body.

    Raises:
        KeyError: no such article (its message says so).
    """
    snap = service.index().snapshot  # one build: the article and its passage rows agree
    try:
        row = snap.articles.row_of(doc_id)
    except KeyError:
        raise KeyError(f"no article {doc_id!r} in the index (deleted?); article ids are the "
                       f"`doc_id` of ask hits and of /api/v1/articles") from None
    art = snap.articles.at(row)
    rows = np.flatnonzero(np.asarray(snap.passage_article) == row)
    passages = [snap.passages[int(r)] for r in rows]
    return {**_public(art), "passages": [
        {"passage_id": p.passage_id, "char_start": p.char_start, "char_end": p.char_end,
         **({"page": art.page_at(p.char_start)} if art.pages else {})} for p in passages]}


def _health(service, version: str) -> tuple[dict, bool]:
    ix = service.current()
    ready = service.ready and ix is not None
    status = "ready" if ready else "loading" if service.warming or ix is not None else \
        "no_index" if not service.has_index() else "unavailable"
    body = {"status": status, "version": version, "read_only": service.read_only,
            "queue": {"waiting": service.batcher.waiting, "limit": service.batcher.max_waiting}}
    if ix is not None:
        manifest = ix.manifest
        body.update(articles=len(ix.articles), passages=len(ix.passages),
                    model=manifest.get("model", {}).get("id"), backend=manifest.get("model", {}).get("backend"),
                    index_format=manifest.get("format_version"), created=manifest.get("created"),
                    pending=ix.still_embedding())
    return body, ready


def _add_write_routes(api: FastAPI, service, upload_limit: int | None) -> None:
    """POST /articles (upload files), POST /pages (web pages by URL), DELETE /articles/{doc_id}."""
    limit_mib = service.max_upload_bytes / 2**20
    body_mib = f", {upload_limit / 2**20:.0f} MiB in all" if upload_limit else ""

    @api.post("/articles", summary=f"Upload article files (multipart `files`, {limit_mib:.0f} MiB each, "
                                   f"at most {MAX_FILES}{body_mib}) and index them",
              openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                  "type": "object", "required": ["files"],
                  "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}})
    async def upload(request: Request) -> JSONResponse:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "multipart/form-data":
            raise ApiError(415, "send the files as multipart/form-data, one `files` part each "
                                f"(curl -F files=@story.txt ...); got {ctype or 'no Content-Type'!r}")
        async with request.form(max_files=MAX_FILES, max_fields=MAX_FILES) as form:
            parts = [v for key, v in form.multi_items() if key == "files" and isinstance(v, UploadFile)]
            if not parts:
                raise ApiError(400, "no `files` part in the form; send each file as `files` "
                                    "(curl -F files=@story.txt ...)")
            with tempfile.TemporaryDirectory(prefix="qa-api-upload-") as tmp:
                paths, too_big = [], set()
                for i, part in enumerate(parts):
                    name = _temp_name(part.filename)
                    path = Path(tmp) / str(i) / name
                    path.parent.mkdir()
                    if await _copy(part, path, service.max_upload_bytes) > service.max_upload_bytes:
                        too_big.add(name)
                    paths.append(path)
                saved, rejected = await run_in_threadpool(service.save_uploads, paths)
        body = await run_in_threadpool(_index_saved, service, saved)
        skipped = body["rejected"]  # files saved but not readable as articles
        body["rejected"] = [{"file": n, "reason": r} for n, r in rejected] + skipped
        if body["indexed"]:
            return JSONResponse(body)
        only_size = rejected and not skipped and {n for n, _ in rejected} <= too_big
        status = 413 if only_size else 400
        raise ApiError(status, "nothing was indexed: " + "; ".join(f"{r['file']}: {r['reason']}"
                                                                   for r in body["rejected"]),
                       "nothing_indexed" if status == 400 else None, extra=body)

    @api.post("/pages", summary=f"Fetch web pages by URL (at most {MAX_PAGES}), keep and index them",
              openapi_extra=_json_body(PagesRequest))
    async def pages(request: Request) -> JSONResponse:
        req = await read_json(request, PagesRequest)
        bad = [u for u in req.urls if not u.strip() or any(c.isspace() for c in u.strip())]
        if bad:
            raise ApiError(400, f"urls: {bad[0]!r} is not one URL; give each page's address without spaces")
        saved, rejected = await run_in_threadpool(service.save_pages, "\n".join(u.strip() for u in req.urls))
        body = await run_in_threadpool(_index_saved, service, saved)
        body["rejected"] = [{"url": u, "reason": r} for u, r in rejected] + body["rejected"]
        if body["indexed"]:
            return JSONResponse(body)
        raise ApiError(400, "nothing was indexed: " + "; ".join(f"{r.get('url') or r.get('file')}: {r['reason']}"
                                                                for r in body["rejected"]),
                       "nothing_indexed", extra=body)

    @api.delete("/articles/{doc_id:path}", summary="Delete an article (and its uploaded file)")
    async def delete(doc_id: str) -> JSONResponse:
        ix = await run_in_threadpool(service.index)
        if doc_id not in ix.articles:
            raise ApiError(404, f"no article {doc_id!r} in the index (deleted already?)")
        n = await run_in_threadpool(service.delete, [doc_id])
        return JSONResponse({"deleted": [doc_id] if n else [], "articles": len(service.index().articles)})


def _temp_name(filename: str | None) -> str:
    """The client's file name, made fit to write as it is reported back: its last path part,
    no NUL, at most ~200 bytes (file systems refuse names over 255; the upload folder keeps the
    first 100 characters of the stem anyway)."""
    name = re.split(r"[\\/]", (filename or "").replace("\0", ""))[-1]
    if name in ("", ".", ".."):  # ".." would name the temporary folder itself
        name = "upload"
    if len(name.encode()) > MAX_NAME_BYTES:
        stem, dot, ext = name.rpartition(".")
        ext = dot + ext if dot and len(ext.encode()) <= 16 else ""
        stem = (stem if ext else name).encode()[:MAX_NAME_BYTES].decode(errors="ignore")
        name = stem + ext
    return name


async def _copy(part: UploadFile, path: Path, limit: int) -> int:
    """Write an uploaded part to `path`, stopping one chunk past `limit`; returns the bytes read."""
    size = 0
    with open(path, "wb") as out:
        while chunk := await part.read(COPY_CHUNK):
            size += len(chunk)
            out.write(chunk)
            if size > limit:
                break
    return size


def _index_saved(service, saved: list[Path]) -> dict:
    """Index the saved files: {"indexed": [...], "rejected": [{file, reason}] of files ingest skipped}."""
    if not saved:
        return {"indexed": [], "rejected": []}
    report = service.add(saved)
    return {"indexed": [{"doc_id": a.doc_id, "title": a.title, "source": a.source, "date": a.date,
                         "url": a.url} for a in report.articles],
            "rejected": [{"file": Path(p.split(":")[0]).name, "reason": r} for p, r in report.problems]}
