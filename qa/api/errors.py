"""The API's one error shape, `{"error": CODE, "detail": MESSAGE}`, and the handlers that turn
every failure into it (never an HTML page or a traceback).

Status codes say who has to act: 400 the request is wrong (the detail names the field and the
fix), 401 a login is missing, 404 no such article or route, 413 the body is too large, 415 the
body is not JSON, 429 too many questions waiting (retry), 503 the index is not there or not
loaded yet (retry).
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.answer.batching import Busy
from qa.errors import BadInput, IndexCorrupt, IndexLocked, IndexNotFound, ModelMismatch, QAError

# The `error` code of each status the API answers with.
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
         429: "too_many_requests", 500: "internal_error", 503: "unavailable"}


class ApiError(Exception):
    """An error answered as `{"error", "detail"}` with `status` (and `headers`, e.g. Retry-After).

    Args:
        status: the HTTP status.
        detail: what went wrong and how to fix it.
        error: the short code; by default the one of `status` in CODES.
        headers: extra response headers.
        extra: more fields of the body (e.g. the files an upload rejected).
    """

    def __init__(self, status: int, detail: str, error: str | None = None,
                 headers: dict[str, str] | None = None, extra: dict | None = None):
        super().__init__(detail)
        self.status, self.detail = status, detail
        self.error = error or CODES.get(status, "error")
        self.headers, self.extra = headers or {}, extra or {}


def error_body(status: int, detail: str, error: str | None = None) -> dict:
    """The JSON body of an error."""
    return {"error": error or CODES.get(status, "error"), "detail": detail}


def error_response(status: int, detail: str, error: str | None = None,
                   headers: dict[str, str] | None = None, extra: dict | None = None) -> JSONResponse:
    """An error as a JSONResponse."""
    return JSONResponse({**error_body(status, detail, error), **(extra or {})}, status_code=status,
                        headers=headers)


def from_qa_error(e: QAError) -> ApiError:
    """The API error of a qa error: bad input is the caller's (400); every other qa error (an
    index missing, locked, damaged or of another model, a full disk, a damaged model file) is the
    server's (503)."""
    if isinstance(e, BadInput):
        return ApiError(400, str(e))
    if isinstance(e, Busy):
        return ApiError(e.status, str(e), "busy", {"Retry-After": str(e.retry_after)})
    if isinstance(e, IndexNotFound):
        return ApiError(503, str(e), "no_index", {"Retry-After": "10"})
    if isinstance(e, IndexLocked):
        return ApiError(503, str(e), "index_busy", {"Retry-After": "2"})
    if isinstance(e, (IndexCorrupt, ModelMismatch)):
        return ApiError(503, str(e), "index_unusable")
    return ApiError(503, str(e))


def describe_validation(errors: list[dict]) -> str:
    """One line naming every bad field: `k: Input should be a valid integer (got 'x')`."""
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        where = ".".join(loc) or "request"
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            msg = "unknown field; the fields are listed at /api/v1/docs"
        elif err.get("type") == "missing":
            msg = "required"
        got = err.get("input")
        shown = "" if err.get("type") == "missing" or isinstance(got, (dict, list)) else \
            f" (got {json.dumps(got, ensure_ascii=False, default=str)[:80]})"
        parts.append(f"{where}: {msg}{shown}")
    return "; ".join(parts) or "invalid request"


def install_handlers(app: FastAPI) -> None:
    """Answer every error raised in `app` with the JSON error shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, e: ApiError):
        return error_response(e.status, e.detail, e.error, e.headers, e.extra)

    @app.exception_handler(QAError)
    async def _qa_error(request: Request, e: QAError):
        err = from_qa_error(e)
        return error_response(err.status, err.detail, err.error, err.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError):
        return error_response(400, describe_validation(list(e.errors())))

    @app.exception_handler(ValidationError)
    async def _invalid_model(request: Request, e: ValidationError):
        return error_response(400, describe_validation(list(e.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException):
        detail = e.detail if isinstance(e.detail, str) else json.dumps(e.detail, default=str)
        if e.status_code == 404 and detail == "Not Found":
            detail = f"no route {request.url.path}; the routes are listed at /api/v1/docs"
        if e.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}; see /api/v1/docs"
        return error_response(e.status_code, detail, headers=getattr(e, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, e: Exception):  # logged here, never sent to the client
        logging.getLogger("qa.api").exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, f"unexpected {type(e).__name__}; the server log has the details")
