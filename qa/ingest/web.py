"""Web pages by URL -> `Article`s: fetch (timeout, size cap, content type, status), cite, save.

`qa index URL...`, `qa index --urls FILE` and the UI's "Add pages" read pages through here.
A page is fetched with the standard library (urllib: it honours the environment's proxies, but
never for a loopback host), extracted by the reader's HTML parser (trafilatura), and cited by
its final URL after redirects; its source is the site name, else the host. Every failure is a
`BadInput` naming the URL's problem (refused, not found, timed out, HTTP status, not HTML, too
large, no main text), so ingest reports it per URL and goes on.

A page's `doc_id` comes from its normalised URL (host + a short hash), never from fetch order,
so fetching the same URL again gives the same article, and unchanged text is never re-embedded.

A page saved to disk (the UI keeps what it fetched under the data folder) starts with the
comment browsers write when they save a page, `<!-- saved from url=(0023)https://example.com/ -->`;
the reader takes the citation's URL from it, so a rebuild from the data folder keeps the URL.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

from qa.errors import BadInput
from qa.hashing import content_hash
from qa.ingest.decode import decode_bytes
from qa.types import Article

FETCH_TIMEOUT = 20.0  # seconds for the whole page (connect, wait, read); tests patch it small
MAX_PAGE_BYTES = 4 * 1024 * 1024  # as reader.MAX_ARTICLE_BYTES: anything larger is not one article
HTML_TYPES = ("text/html", "application/xhtml+xml")
SCHEMES = ("http", "https")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):")
_URL_SCHEMES = {"file", "ftp", "ftps", "sftp", "javascript", "data", "mailto", "about", "vbscript",
                "ws", "wss", "gopher", "news", "telnet", "ssh", "chrome", "blob"}
_SAVED_FROM = re.compile(r"\A\ufeff?\s*<!--\s*saved from url=\(\d{4}\)(\S+?)\s*-->")

# progress(done, total) while pages are fetched; set by `fetch_progress` (the CLI's bar)
_PROGRESS: contextvars.ContextVar[Callable[[int, int], None] | None] = contextvars.ContextVar(
    "qa_fetch_progress", default=None)


@dataclass(frozen=True)
class Page:
    """A fetched page: the URL asked for, the final URL after redirects, the decoded HTML."""

    requested: str
    url: str
    html: str
    content_type: str


def is_url(value: object) -> bool:
    """True for a string that is a URL (any scheme: `http://x`, `ftp://x`, `javascript:...`)
    rather than a file path (a Windows drive, `C:\\x`, is a path)."""
    if not isinstance(value, str):
        return False
    m = _SCHEME.match(value.strip())
    if not m:
        return False
    rest = value.strip()[m.end():]
    return rest.startswith("//") or m.group(1).lower() in _URL_SCHEMES


def split_urls(paths) -> tuple[list[str], list]:
    """(URLs, everything else) of ingest's inputs, each in its original order."""
    urls = [p.strip() for p in paths if is_url(p)]
    return urls, [p for p in paths if not is_url(p)]


def read_url_list(text: str, where: str = "") -> list[str]:
    """The URLs of a list, one per line; blank lines and `#` comments are ignored.

    Args:
        text: the list (a `--urls` file's contents or the UI's text box).
        where: the file name, for messages.

    Raises:
        BadInput: a line is not a URL (the message names the line), or there is none.
    """
    urls = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not is_url(line):
            raise BadInput(f"{where or 'line'}:{n}: {line[:80]!r} is not a URL; write it in full, "
                           f"e.g. https://{line[:40].lstrip('/')}")
        urls.append(line)
    if not urls:
        raise BadInput(f"no URLs in {where or 'the list'}; write one http:// or https:// URL per line")
    return urls


def normalize_url(url: str) -> str:
    """The URL as it identifies a page: scheme and host lower case, no default port, no user
    name or password, no fragment, "/" for an empty path.

    Raises:
        BadInput: the scheme is not http or https, or there is no host.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise BadInput(f"{url[:200]!r} is not a valid URL ({e})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise BadInput(f"{scheme or '(no scheme)'}: URLs are not fetched; only http:// and https:// "
                       "pages are (save other files and index them by path)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise BadInput(f"{url[:200]!r} has no host; write it as https://host/path")
    netloc = f"[{host}]" if ":" in host else host
    if port and port != {"http": 80, "https": 443}[scheme]:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def url_doc_id(url: str) -> str:
    """The `doc_id` of the page at `url`: its host and a hash of the normalised URL
    ("example.com-3f2a9c1b0d7e4a65"); the same for every fetch of the same page."""
    norm = normalize_url(url)
    host = urlsplit(norm).hostname or ""
    return f"{host.removeprefix('www.')}-{content_hash(norm)}"


def host_name(url: str) -> str:
    """The host of `url` without "www." ("" when there is none)."""
    try:
        return (urlsplit(url).hostname or "").rstrip(".").removeprefix("www.")
    except ValueError:
        return ""


# ---- fetching ---------------------------------------------------------------------------------

def _user_agent() -> str:
    try:
        from importlib.metadata import version

        return f"qa/{version('qa')} (news question answering; Python urllib)"
    except Exception:
        return "qa (news question answering; Python urllib)"


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def internal_address(host: str) -> str | None:
    """The first address `host` resolves to that is not on the public internet (loopback, private
    network, link-local, carrier-grade NAT, reserved), or None (also when it does not resolve:
    the fetch then fails with its own reason)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    for info in infos:
        try:
            ip = ipaddress.ip_address(info[4][0].split("%")[0])
        except ValueError:
            continue
        if not ip.is_global:
            return str(ip)
    return None


def _refuse_internal(host: str, what: str) -> None:
    ip = internal_address(host)
    if ip is not None:
        raise BadInput(f"{what} {host} resolves to {ip}, an address inside this machine or its "
                       "network; a server reachable from other machines fetches public pages only "
                       "(start it with --internal-pages to allow these)")


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http and https only (urllib would follow one to ftp:), and, for a
    public-only fetch, never to an internal address."""

    def __init__(self, public_only: bool = False):
        super().__init__()
        self.public_only = public_only

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        scheme = urlsplit(newurl).scheme.lower()
        if scheme and scheme not in SCHEMES:
            raise BadInput(f"redirected to a {scheme}: URL ({newurl[:200]}); only http and https "
                           "are followed")
        if self.public_only:
            _refuse_internal(urlsplit(newurl).hostname or "", "redirected to")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(host: str, public_only: bool = False) -> urllib.request.OpenerDirector:
    # the environment's proxies (http_proxy, https_proxy, no_proxy) serve real fetches; a
    # loopback host is always reached directly
    proxies = urllib.request.ProxyHandler({} if _is_loopback(host) else None)
    return urllib.request.build_opener(proxies, _HttpOnlyRedirects(public_only))


def fetch_page(url: str, timeout: float | None = None, max_bytes: int | None = None,
               public_only: bool = False) -> Page:
    """Download the HTML page at `url`.

    Args:
        url: an http:// or https:// URL.
        timeout: seconds for the whole download (None: FETCH_TIMEOUT).
        max_bytes: the largest page accepted (None: MAX_PAGE_BYTES).
        public_only: refuse a host (or a redirect) that resolves to a loopback, private-network or
            otherwise non-public address (a server reachable from other machines).

    Returns:
        The page, decoded (the charset the server names, else the reader's detection).

    Raises:
        BadInput: the URL is refused or the fetch failed; the message says why.
    """
    timeout = FETCH_TIMEOUT if timeout is None else timeout
    max_bytes = MAX_PAGE_BYTES if max_bytes is None else max_bytes
    norm = normalize_url(url)
    request = urllib.request.Request(norm, headers={
        "User-Agent": _user_agent(), "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
        "Accept-Encoding": "identity"})
    deadline = time.monotonic() + timeout
    host = urlsplit(norm).hostname or ""
    if public_only:
        _refuse_internal(host, "the page's host")
    try:
        with _opener(host, public_only).open(request, timeout=timeout) as resp:
            final = resp.geturl() or norm
            ctype = resp.headers.get_content_type() if resp.headers.get("Content-Type") else ""
            if ctype and ctype not in HTML_TYPES:
                hint = " (PDF files are indexed by path once saved)" if ctype == "application/pdf" else ""
                raise BadInput(f"not an HTML page: the server sent {ctype}{hint}")
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise BadInput(_too_large(int(length), max_bytes))
            data = _read_capped(resp, max_bytes, deadline, timeout)
            charset = resp.headers.get_content_charset()
    except BadInput:
        raise
    except urllib.error.HTTPError as e:
        raise BadInput(f"HTTP {e.code} {e.reason or ''}".rstrip() + _status_hint(e.code)) from None
    except urllib.error.URLError as e:
        raise BadInput(_network_reason(e.reason, timeout)) from None
    except (TimeoutError, socket.timeout):
        raise BadInput(_timed_out(timeout)) from None
    except OSError as e:
        raise BadInput(_network_reason(e, timeout)) from None
    if not ctype and not data.lstrip()[:1] == b"<":
        raise BadInput("not an HTML page: the server named no content type and the data is not markup")
    return Page(requested=url, url=_without_credentials(final), html=_decode(data, charset),
                content_type=ctype or "text/html")


def _read_capped(resp, max_bytes: int, deadline: float, timeout: float) -> bytes:
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline:  # a server that dribbles bytes must not hold the run
            raise BadInput(_timed_out(timeout))
        chunk = resp.read(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise BadInput(_too_large(size, max_bytes, more=True))
        chunks.append(chunk)


def _decode(data: bytes, charset: str | None) -> str:
    if charset:
        try:
            return data.decode(charset, errors="replace")
        except LookupError:  # a charset name Python does not know: detect instead
            pass
    return decode_bytes(data)


def _too_large(size: int, limit: int, more: bool = False) -> str:
    return (f"page too large: {'over ' if more else ''}{size / 2**20:.1f} MiB, the limit for one "
            f"article is {limit / 2**20:.0f} MiB")


def _timed_out(timeout: float) -> str:
    return f"timed out after {timeout:g} s; the site is slow or unreachable, try again later"


def _status_hint(code: int) -> str:
    if code == 404 or code == 410:
        return ": no page at this address; check the URL"
    if code in (401, 403):
        return ": the site refuses access (sign-in or blocking); save the page and index the file"
    if code == 429:
        return ": too many requests; try again later"
    if code >= 500:
        return ": the site failed; try again later"
    return ""


def _network_reason(reason, timeout: float) -> str:
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return _timed_out(timeout)
    if isinstance(reason, socket.gaierror):
        return f"host not found (DNS: {reason.strerror or reason}); check the address or the connection"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused: nothing answers at that address and port"
    if isinstance(reason, ssl.SSLError):
        return f"secure connection failed ({getattr(reason, 'reason', None) or reason})"
    if isinstance(reason, OSError):
        return f"cannot connect ({reason.strerror or reason}); are you offline?"
    return f"cannot fetch ({reason})"


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


# ---- pages -> articles ------------------------------------------------------------------------

def cite_page(article: Article, url: str) -> Article:
    """`article` cited by `url`: its URL, and the host as source when the page names no site
    (the reader's HTML parser falls back to the author, which is the byline, not a source)."""
    source = article.source if article.source and article.source != article.byline else host_name(url)
    return replace(article, url=url, source=source or article.source)


def page_article(page: Page, parse: Callable[..., Article], path: str = "") -> Article:
    """The article of a fetched page, parsed by `parse` (the reader's `parse_html`).

    Raises:
        BadInput: no main text found.
    """
    try:
        article = parse(page.html, url_doc_id(page.requested), path)
    except BadInput as e:
        raise BadInput(f"{e} (a page built by JavaScript has none until a browser runs it; save it "
                       "from the browser and index the file)") from None
    return cite_page(article, page.url)


def saved_page_url(html: str) -> str:
    """The URL in a saved page's leading `<!-- saved from url=(NNNN)URL -->` comment, or ""."""
    m = _SAVED_FROM.match(html[:4096])
    return m.group(1) if m and m.group(1).lower().startswith(("http://", "https://")) else ""


def cite_saved_page(article: Article, html: str) -> Article:
    """`article` read from a saved page file, cited by the URL it was saved from (if it says)."""
    url = saved_page_url(html)
    return cite_page(article, url) if url else article


def saved_page(page: Page) -> str:
    """The page as a file keeps it: the browsers' "saved from url" comment, then the HTML."""
    return f"<!-- saved from url=({len(page.url):04d}){page.url} -->\n{page.html}"


@contextlib.contextmanager
def fetch_progress(callback: Callable[[int, int], None] | None) -> Iterator[None]:
    """Within the block, pages being fetched call `callback(done, total)`."""
    token = _PROGRESS.set(callback)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def read_urls(urls: list[str], report, parse: Callable[..., Article]) -> Iterator[tuple[str, Article]]:
    """(URL, Article) of each page that could be fetched and read; every other URL is added to
    `report.problems` with the reason. `report.pages_read` counts the pages fetched."""
    progress = _PROGRESS.get()
    for n, url in enumerate(urls, 1):
        try:
            page = fetch_page(url)
            report.pages_read += 1
            article = page_article(page, parse)
        except BadInput as e:
            report.problems.append((url, str(e)))
        else:
            yield url, article
        finally:
            if progress:
                progress(n, len(urls))


def read_url_file(path: str | Path) -> list[str]:
    """The URLs of a `--urls` file (see `read_url_list`).

    Raises:
        BadInput: the file cannot be read, has a line that is not a URL, or has no URL.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise BadInput(f"cannot read the URL list {str(path)!r}: {e.strerror or e}") from None
    return read_url_list(decode_bytes(data) if data.strip() else "", str(path))
