"""The web UI's backend: one loaded `Index` shared by all requests, warmed up in the background,
plus safe handling of uploaded files and of web pages added by URL.

`Service(...)` is cheap: nothing is read or loaded until `start_warmup()` (a background thread)
or the first request needs the index. `status()` says where loading stands, for the page.
"""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import numpy as np

from qa.answer.batching import AskBatcher
from qa.settings import DEFAULT_INDEX_DIR
from qa.errors import BadInput, IndexNotFound, ModelCorrupt, QAError
from qa.storage.folder import IndexFolder

DEFAULT_UPLOAD_DIR = "data/uploads"
LIBRARY_ROWS = 1000  # the Library tab lists this many articles, newest first
UPLOAD_EXTS = (".txt", ".md", ".html", ".htm", ".jsonl", ".csv", ".pdf", ".docx", ".rss", ".atom", ".xml")
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str, allowed: tuple[str, ...] = UPLOAD_EXTS) -> str:
    """A file name that stays inside the upload folder: last path part only, plain characters.

    Raises:
        BadInput: the type is not in `allowed`, or nothing usable remains of the name.
    """
    base = re.split(r"[\\/]", str(name))[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = "." + ext.lower() if ext else ""
    if ext not in allowed:
        raise BadInput(f"file type {ext or '(none)'!r} is not accepted; upload one of {', '.join(allowed)}")
    stem = _UNSAFE.sub("_", stem).strip("._-")[:100]
    if not stem:
        raise BadInput("the file name has no usable characters; rename it, e.g. article.txt")
    return stem + ext


class Service:
    """Thread-safe holder of the index behind the UI.

    Args:
        index_dir: the index folder (built on the first upload when it does not exist yet).
        index: an already loaded `Index` (tests pass one built with the fake embedder).
        upload_dir: where accepted uploads are kept (they are the articles' source files).
        max_upload_bytes: per-file size limit.
    """

    def __init__(self, index_dir: str | Path = DEFAULT_INDEX_DIR, index=None,
                 upload_dir: str | Path = DEFAULT_UPLOAD_DIR, max_upload_bytes: int = MAX_UPLOAD_BYTES,
                 read_only: bool = False, public_pages_only: bool = False):
        self.index_dir = Path(index_dir)
        # a server reachable from other machines fetches only public pages ("Add pages")
        self.public_pages_only = public_pages_only
        self.read_only = read_only  # a read-only server refuses every write, whatever calls it
        self.upload_dir = Path(upload_dir)
        self.max_upload_bytes = max_upload_bytes
        self._index = index
        self._lock = threading.RLock()  # loading (brief); searches lock inside Index
        self._write_lock = threading.Lock()  # one writer at a time; questions go on meanwhile
        self._status = "Index loaded; the model loads on the first question." if index else "Starting…"
        self._ready = False
        self._warm: threading.Thread | None = None
        # every question (UI, API, MCP) goes through one batcher: one search for those asked together
        self.batcher = AskBatcher(self.index)

    # ---- loading --------------------------------------------------------------------------

    def start_warmup(self) -> None:
        """Load the index and the model in a background thread (once); never blocks the caller."""
        with self._lock:
            if self._warm is None:
                self._warm = threading.Thread(target=self._warmup, name="qa-warmup", daemon=True)
                self._warm.start()

    def _warmup(self) -> None:
        try:
            ix = self.index()
            self._status = f"Loading the embedding model… ({len(ix.articles)} articles indexed)"
            ix.embedder.embed_batch(["warm-up"])
            self._warm_reader(ix)
            self._ready = True
            self._status = self._ready_status()
        except IndexNotFound:
            self._status = (f"No index at {self.index_dir} yet: upload articles in the Library tab "
                            f"or run `qa index`.")
        except ModelCorrupt as e:  # the index is fine; the default configuration cannot read
            self._status = (f"Reading model damaged: {e}. Questions fail in configurations that read "
                            f"(the default); QA_CONFIG=hybrid-rerank answers without it.")
        except QAError as e:
            self._status = f"Index problem: {e}"
        except Exception as e:  # the page must still come up and say why
            self._status = f"Model failed to load ({type(e).__name__}: {e})"

    @staticmethod
    def _warm_reader(ix) -> None:
        """Load the default configuration's reading model, if it has one, so the first question
        does not wait for it (a damaged model file is reported in the status line now)."""
        from qa.search.pipeline import PIPELINES
        from qa.search.rerank import get_reranker

        config = ix.settings.config
        if config in PIPELINES:
            reranker = get_reranker(PIPELINES.get(config).reranker)
            if hasattr(reranker, "reader"):
                reranker.reader().warm()

    def _ready_status(self) -> str:
        ix = self._index
        if ix is None:
            return "Ready"
        line = f"Ready · {len(ix.articles):,} articles · {len(ix.passages):,} passages"
        waiting = ix.still_embedding()["articles"]
        if waiting:  # a build committed in steps: qa index is still embedding
            line += f" · {waiting:,} still being embedded (found by keywords only)"
        return line

    @property
    def warming(self) -> bool:
        """True while the background warm-up (index and model loading) is still running."""
        return self._warm is not None and self._warm.is_alive()

    def status(self) -> str:
        """One line for the page: loading, ready (with counts, and how many articles a build
        still running has left to embed), or what is wrong."""
        return self._ready_status() if self._ready else self._status

    def refresh(self) -> None:
        """Pick up a newer build of the folder if there is one (a stat; a reload when it changed),
        so the status follows a build that commits in steps between questions."""
        if self._index is not None:
            self._index.refresh()

    @property
    def building(self) -> bool:
        """True while the loaded index is a build still embedding (qa.storage.steps)."""
        return self._index is not None and bool(self._index.still_embedding()["passages"])

    @property
    def ready(self) -> bool:
        return self._ready

    def index(self):
        """The loaded index, loading it now if needed; reloaded when the folder changed on disk.

        Raises:
            IndexNotFound: no index yet (the message says how to make one).
        """
        with self._lock:
            if self._index is None:
                from qa.index import Index

                self._status = f"Loading the index from {self.index_dir}…"
                try:
                    self._index = Index.load(self.index_dir)
                except IndexNotFound:
                    raise IndexNotFound(f"no index at {self.index_dir} yet: upload articles in the "
                                        f"Library tab or run `qa index`") from None
                self._status = self._ready_status() if self._ready else "Index loaded; loading the model…"
            else:
                self._index.refresh()  # a failed reload keeps the loaded build answering
            return self._index

    def current(self):
        """The loaded index, or None while none is loaded (never loads one: for health checks)."""
        return self._index

    def has_index(self) -> bool:
        return self._index is not None or IndexFolder(self.index_dir).exists()

    # ---- questions ------------------------------------------------------------------------

    def submit(self, question: str, k: int | None = None, config: str | None = None,
               source: str | None = None, since: str | None = None, until: str | None = None,
               **options):
        """Queue a question with the questions asked at the same time (`qa.answer.batching`); the
        returned Future holds its `Answer`, the one `qa.answer.ask.ask` gives for it alone.

        Raises:
            BadInput: a blank or huge question or a bad k (before anything queues).
            Busy: too many questions are waiting (ask again shortly).
        """
        future = self.batcher.submit(question, k=k, config=config, source=source, since=since,
                                     until=until, **options)
        future.add_done_callback(lambda _: self._answered())
        return future

    def ask(self, question: str, k: int | None = None, config: str | None = None,
            source: str | None = None, since: str | None = None, until: str | None = None, **options):
        """`submit` and wait: the `Answer` for one question (the web UI and the MCP tools call this).

        Raises:
            Busy: the queue is full, or no answer came within the batcher's timeout.
        """
        answer = self.batcher.ask(question, k=k, config=config, source=source, since=since, until=until,
                                  **options)
        self._answered()
        return answer

    def _answered(self) -> None:
        if not self._ready and self._index is not None and getattr(self._index.embedder, "loaded", True):
            self._ready, self._status = True, self._ready_status()

    def article(self, doc_id: str):
        """The article with this id.

        Raises:
            BadInput: no such article (it may have been deleted).
        """
        art = self.index().articles.get(str(doc_id))
        if art is None:
            raise BadInput(f"no article {doc_id!r} in the index (deleted?); ask again to refresh")
        return art

    def sources(self) -> list[str]:
        if self._index is None:
            return []
        return [s for s in self._index.articles.source_values if s]

    def library(self, limit: int = LIBRARY_ROWS) -> tuple[dict, dict]:
        """(articles by doc_id, passages per doc_id) of the `limit` newest articles of the
        current index (by date, then doc_id); empty without one. Only those articles are read,
        so the page stays fast on an archive of hundreds of thousands."""
        if not self.has_index():
            return {}, {}
        snap = self.index().snapshot  # articles and passage rows of one build, not across a reload
        arts, passage_article = snap.articles, snap.passage_article
        # distinct dates are sorted, so date codes order articles as their dates do
        newest = np.lexsort((arts.id_ranks(), arts.date_codes))[::-1][:limit]
        counts = np.bincount(passage_article, minlength=len(arts))
        chosen = [arts.at(int(r)) for r in newest]
        return ({a.doc_id: a for a in chosen}, {a.doc_id: int(counts[r]) for a, r in zip(chosen, newest)})

    # ---- uploads and deletes --------------------------------------------------------------

    def _check_writable(self) -> None:
        if self.read_only:
            raise BadInput("this server is read-only: uploads, deletes and evaluation are switched off")

    def save_uploads(self, paths: list[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
        """Copy uploaded temp files into the upload folder under safe names.

        Returns:
            (saved paths, [(file name, reason)] for each rejected file).
        """
        self._check_writable()
        saved, rejected = [], []
        root = self.upload_dir.resolve()
        for p in map(Path, paths):
            name = p.name
            try:
                target = root / safe_filename(name)
                if target.resolve().parent != root:  # belt and braces: safe_filename already did it
                    raise BadInput("the file name points outside the upload folder")
                size = p.stat().st_size
                if size > self.max_upload_bytes:
                    raise BadInput(f"file is {size / 2**20:.1f} MiB; the limit is "
                                   f"{self.max_upload_bytes / 2**20:.0f} MiB")
                if size == 0:
                    raise BadInput("empty file")
                root.mkdir(parents=True, exist_ok=True)
                try:
                    with open(p, "rb") as src, open(target, "xb") as dst:  # never over an earlier upload
                        shutil.copyfileobj(src, dst)
                except FileExistsError:
                    raise BadInput(f"a file named {target.name} was uploaded before and is kept; rename "
                                   "this one, or delete the old article first") from None
                saved.append(target)
            except BadInput as e:
                rejected.append((name, str(e)))
            except OSError as e:
                rejected.append((name, f"cannot read the upload: {e.strerror or e}"))
        return saved, rejected

    def save_pages(self, text: str, fetched=None) -> tuple[list[Path], list[tuple[str, str]]]:
        """Fetch the web pages listed in `text` (one URL a line; blank lines and # comments
        ignored) and keep each in the upload folder as `<doc_id>.html`, starting with the URL it
        came from, so a rebuild from the data folder keeps the page and its citation.

        A page saved before (the same URL) is refreshed; any other file of that name is kept.
        Nothing is indexed here (see `add`), and the network is used without holding any lock.

        Args:
            text: the URLs.
            fetched: called with (done, total) as pages are fetched.

        Returns:
            (saved paths, [(URL or line, reason)] for each page not saved).
        """
        from qa.ingest import web
        from qa.ingest.reader import parse_html

        self._check_writable()
        saved, rejected, urls = [], [], []
        for line in (ln.strip() for ln in (text or "").splitlines()):
            if not line or line.startswith("#"):
                continue
            if web.is_url(line):
                urls.append(line)
            else:
                rejected.append((line, "not a URL; write it in full, starting with https://"))
        root = self.upload_dir.resolve()
        for n, url in enumerate(urls, 1):
            try:
                page = web.fetch_page(url, public_only=self.public_pages_only)
                web.page_article(page, parse_html)  # a page with no article is refused, not saved
                target = root / safe_filename(web.url_doc_id(url) + ".html")
                data = web.saved_page(page).encode("utf-8")
                if len(data) > self.max_upload_bytes:
                    raise BadInput(f"page is {len(data) / 2**20:.1f} MiB; the limit is "
                                   f"{self.max_upload_bytes / 2**20:.0f} MiB")
                if target.exists() and not web.saved_page_url(target.read_text("utf-8", errors="replace")):
                    raise BadInput(f"a file named {target.name} is in the upload folder and is kept")
                root.mkdir(parents=True, exist_ok=True)
                part = target.with_name(f".{target.name}.part")  # hidden: ingest skips it
                part.write_bytes(data)
                part.replace(target)  # whole or not at all; refreshes a page saved before
                saved.append(target)
            except BadInput as e:
                rejected.append((url, str(e)))
            except OSError as e:
                rejected.append((url, f"cannot save the page: {e.strerror or e}"))
            if fetched:
                fetched(n, len(urls))
        return saved, rejected

    def add(self, paths: list[Path], progress=None):
        """Ingest and index `paths` (building the index if there is none yet).

        Returns:
            The `IngestReport` (articles added, problems per file).
        """
        from qa.ingest.reader import ingest

        self._check_writable()
        with self._write_lock:  # the build runs beside the loaded index, which keeps answering
            if not self.has_index():
                from qa.index import Index

                report = ingest(list(paths))
                if report.articles:
                    built = Index.build(list(paths), self.index_dir, progress=progress)
                    with self._lock:
                        self._index = built
                        self._status = self._ready_status()
                return report
            report = self.index().add(list(paths), progress=progress, replace_existing=False)
            indexed = {a.path for a in report.articles}
            for f in paths:  # an upload none of whose articles went in would come back on a rebuild
                if str(f) not in indexed and Path(f).resolve().parent == self.upload_dir.resolve():
                    Path(f).unlink(missing_ok=True)
            if self._ready:
                self._status = self._ready_status()
            return report

    def delete(self, doc_ids: list[str]) -> int:
        """Remove articles by id; returns how many were removed.

        An uploaded file that no longer holds any indexed article is removed too, so the
        article does not come back when the index is rebuilt from the data folders.
        """
        self._check_writable()
        with self._write_lock:
            ix = self.index()
            paths = {ix.articles[d].path for d in doc_ids if d in ix.articles and ix.articles[d].path}
            n = ix.delete(list(doc_ids))
            still_used = {a.path for a in ix.articles.values()}
            root = self.upload_dir.resolve()
            for p in paths - still_used:
                f = Path(p).resolve()
                if f.parent == root and f.is_file():
                    f.unlink()
            if self._ready:
                self._status = self._ready_status()
            return n
