"""Who may call the server and how much they may send: HTTP basic auth (`--auth`) and bearer
tokens (`--token-file`) on every route of the UI and the API, and the request body limits of
the API. Both are plain ASGI middleware wrapped around the whole app, so a route added later
(by qa or by a new Gradio) is covered without being listed anywhere.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path

from starlette.exceptions import HTTPException

from qa.errors import BadInput

API_PREFIX = "/api/v1"
MAX_JSON_BODY = 1024 * 1024  # a question is at most 4,000 characters; a page list a few KB


@dataclass(frozen=True)
class Access:
    """The credentials a server accepts; empty means open to whoever can reach it.

    Attributes:
        users: (user, password) pairs for HTTP basic auth.
        tokens: bearer tokens.
    """

    users: tuple[tuple[str, str], ...] = ()
    tokens: tuple[str, ...] = field(default=(), repr=False)

    @property
    def open(self) -> bool:
        return not (self.users or self.tokens)

    def allows(self, authorization: str | None) -> bool:
        """True when the Authorization header carries an accepted login or token (compared in
        constant time, so timing tells nothing about how much of a secret was right)."""
        if self.open:
            return True
        scheme, _, value = (authorization or "").strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            return any(hmac.compare_digest(value.encode(), t.encode()) for t in self.tokens)
        if scheme.lower() == "basic" and value and self.users:
            try:
                user, sep, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return bool(sep) and any(
                hmac.compare_digest(user.encode(), u.encode()) & hmac.compare_digest(password.encode(), p.encode())
                for u, p in self.users)
        return False


def parse_auth(value: str | None) -> tuple[tuple[str, str], ...]:
    """`user:password` -> ((user, password),); None or "" -> ().

    Raises:
        BadInput: not of the form user:password.
    """
    if not value:
        return ()
    user, sep, password = value.partition(":")
    if not (sep and user and password):
        raise BadInput(f"--auth must look like user:password, got {value!r}")
    return ((user, password),)


def read_tokens(path: str | Path | None) -> tuple[str, ...]:
    """The bearer tokens of a file, one a line (blank lines and # comments ignored).

    Raises:
        BadInput: the file cannot be read, holds no token, or a token has spaces or is shorter
            than 16 characters (too easy to guess).
    """
    if not path:
        return ()
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"cannot read --token-file {path}: {getattr(e, 'strerror', None) or e}") from None
    tokens = [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
    if not tokens:
        raise BadInput(f"--token-file {path} holds no token; write one per line")
    for n, t in enumerate(tokens, 1):
        if len(t) < 16 or any(c.isspace() for c in t):
            raise BadInput(f"--token-file {path}: token {n} is shorter than 16 characters or has "
                           f"spaces; make one with `python -c 'import secrets; print(secrets.token_urlsafe())'`")
    return tuple(tokens)


async def _send_json(send, status: int, body: dict, headers: list[tuple[bytes, bytes]] = ()) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": data})


class AccessMiddleware:
    """401 with a JSON error (and `WWW-Authenticate`, so a browser asks for the login) for any
    request without an accepted login or token; everything else passes through unchanged."""

    def __init__(self, app, access: Access):
        self.app, self.access = app, access

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or self.access.open:
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or ())
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if self.access.allows(auth):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        how = " or ".join(w for w, on in (("HTTP basic auth (user:password)", self.access.users),
                                          ("a bearer token (Authorization: Bearer TOKEN)", self.access.tokens)) if on)
        challenge = b'Basic realm="qa", charset="UTF-8"' if self.access.users else b'Bearer realm="qa"'
        await _send_json(send, 401, {"error": "unauthorized",
                                     "detail": f"this server needs a login: {how}" if not auth else
                                     "the login or token was not accepted"},
                         [(b"www-authenticate", challenge)])


class BodyTooLarge(HTTPException):
    """A request body went past its route's limit while it was being read (an HTTPException,
    so FastAPI's body parsing passes it on as it is: 413)."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request body is over the limit of {limit:,} bytes")
        self.limit = limit


class BodyLimitMiddleware:
    """Refuse API request bodies over their limit: at once from Content-Length (413), or while a
    body without one is read (BodyTooLarge, answered 413 by the API's handlers).

    Args:
        app: the ASGI app.
        upload_limit: the limit of the upload route (several files); other API routes take
            MAX_JSON_BODY.
        upload_path: the path of the upload route.
    """

    def __init__(self, app, upload_limit: int, upload_path: str = API_PREFIX + "/articles"):
        self.app, self.upload_limit, self.upload_path = app, upload_limit, upload_path

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(API_PREFIX + "/"):
            return await self.app(scope, receive, send)
        limit = self.upload_limit if path.rstrip("/") == self.upload_path else MAX_JSON_BODY
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return await _send_json(send, 413, {"error": "payload_too_large",
                                                "detail": f"the request body is {length.decode()} bytes; the "
                                                          f"limit of {path} is {limit:,} bytes"})
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)
