"""A local web site for the URL tests: a `ThreadingHTTPServer` on 127.0.0.1 (port 0) serving an
article, redirects, errors, other content types, oversized, empty and slow pages.

Use the `site` fixture (import it into the test module); it is the base URL, with `site.pages`
(path -> (status, content type, body), changeable during a test) and `site.requests`.
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

ARTICLE = """<!DOCTYPE html>
<html><head><title>Probe reaches Mars orbit | Space Daily</title>
<meta property="og:title" content="Probe reaches Mars orbit">
<meta property="og:site_name" content="Space Daily">
<meta name="date" content="2021-06-11">
</head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Probe reaches Mars orbit</h1>
<p>The space agency said its probe entered orbit around Mars after a journey of seven months
through the inner solar system, a first for the young programme.</p>
<p>Engineers confirmed that the main engine burn lasted twenty-seven minutes and that every
instrument on board is healthy and ready for the science phase of the mission.</p>
<p>The first images of the red planet are expected next week, the agency added in a statement
published on its website on Friday evening.</p>
</article><footer>Copyright Space Daily</footer></body></html>"""

NO_SITE = ARTICLE.replace('<meta property="og:site_name" content="Space Daily">', "").replace(
    " | Space Daily", "").replace("Probe reaches Mars orbit", "Penguins march inland").replace(
    "space agency said its probe entered orbit around Mars",
    "researchers said emperor penguins walked inland")

NO_TEXT = ("<html><head><title>News app</title></head><body><div id='root'></div>"  # built by JavaScript
           "<script src='/app.js'></script></body></html>")


class Handler(BaseHTTPRequestHandler):
    """Routes of the test site; `server.pages` maps a path to (status, content type, body)."""

    def do_GET(self):  # noqa: N802 (the http.server name)
        self.server.requests.append((self.path, self.headers.get("User-Agent", "")))
        if self.path == "/slow":
            time.sleep(2)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/redirect") or "/article")
            self.end_headers()
            return
        if self.path == "/to-ftp":
            self.send_response(301)
            self.send_header("Location", "ftp://127.0.0.1/file.html")
            self.end_headers()
            return
        status, ctype, body = self.server.pages.get(self.path, (404, "text/html", b"<p>not here</p>"))
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        if self.path != "/big-stream":  # HTTP/1.0 without a length: the body ends at close
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (size cap, timeout)

    def log_message(self, *args):
        pass


@pytest.fixture
def site(monkeypatch):
    """Base URL of a local test site; `site.pages` can be changed during a test."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.requests = []
    server.pages = {
        "/article": (200, "text/html; charset=utf-8", ARTICLE),
        "/no-site": (200, "text/html", NO_SITE),
        "/broken": (500, "text/html", "<p>oops</p>"),
        "/report.pdf": (200, "application/pdf", b"%PDF-1.4 binary"),
        "/photo": (200, "image/png", b"\x89PNG\r\n\x1a\n"),
        "/big": (200, "text/html", "<p>" + "word " * 2000 + "</p>"),
        "/big-stream": (200, "text/html", "<p>" + "word " * 2000 + "</p>"),
        "/menu": (200, "text/html", NO_TEXT),
        "/slow": (200, "text/html", ARTICLE),
        "/cp1251": (200, "text/html; charset=windows-1251",
                    ARTICLE.replace("Probe reaches Mars orbit",
                                    "Зонд вышел на орбиту Марса").encode("cp1251")),
    }
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    class Site(str):
        pages = server.pages
        requests = server.requests

    try:
        yield Site(base)
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A loopback port nothing listens on (a connection to it is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
