"""The web UI page: layout and wiring (`build_demo`); `qa.api.server` serves it beside the JSON API.

`build_demo(...)` lays out the page and wires it to a `qa.ui.service.Service`; it reads no index
and loads no model, so the page is up at once and the model warms up in the background. The
HTML of cards and articles comes from `qa.ui.render` (every piece of document text escaped).
Serving happens in `qa.api.server` (`qa serve`, `python app.py`).

API endpoints for `gradio_client`: `ask` (the `qa ask --json` object), `article`, `upload`,
`add_pages` (web pages by URL), `delete`, `library`, `evaluate`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import deque

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from qa.settings import DEFAULT_INDEX_DIR, Settings  # noqa: E402
from qa.errors import BadInput, QAError  # noqa: E402
from qa.ui import render  # noqa: E402
from qa.ui.evaluate_tab import build_evaluate_tab  # noqa: E402
from qa.ui.service import DEFAULT_UPLOAD_DIR, MAX_UPLOAD_BYTES, UPLOAD_EXTS, Service  # noqa: E402

EXAMPLES = [
    "What did Russia propose on decarbonization?",
    "What does the SCO want for Afghanistan?",
    "Which documentary is Russia involved in?",
]

# Clicks on a card's "Open article" button become one `open` event carrying the citation; a
# "Copy citation" button copies its data-citation (read as data, never run: see qa.ui.render).
# The clipboard API needs a secure context (https or localhost); elsewhere a selected textarea
# is copied. Bound once per element: Gradio may run this again when the component re-renders.
OPEN_JS = """
function qaCopy(text, button) {
  const done = function () { button.textContent = 'Copied'; setTimeout(function () {
    button.textContent = 'Copy citation'; }, 1500); };
  const fallback = function () {
    const t = document.createElement('textarea');
    t.value = text; t.setAttribute('readonly', ''); t.style.position = 'fixed'; t.style.opacity = '0';
    document.body.appendChild(t); t.select();
    try { document.execCommand('copy'); done(); } finally { document.body.removeChild(t); }
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, fallback);
  } else {
    fallback();
  }
}
if (!element.dataset.qaBound) {
  element.dataset.qaBound = '1';
  element.addEventListener('click', function (e) {
    const c = e.target.closest('button[data-copy]');
    if (c) { qaCopy(c.dataset.citation || '', c); return; }
    const b = e.target.closest('button[data-open]');
    if (!b) return;
    trigger('open', {doc_id: b.dataset.doc, char_start: Number(b.dataset.start),
                     char_end: Number(b.dataset.end), hl_start: Number(b.dataset.hs),
                     hl_end: Number(b.dataset.he)});
  });
}
"""

# After an article is shown, bring its cited passage into view.
SCROLL_JS = """
watch('value', function () {
  const m = element.querySelector('#qa-cited');
  if (m) m.scrollIntoView({block: 'center'});
});
"""


EXPORTS_KEPT = 32  # answers whose download files stay on disk (Gradio serves its own copy)


def export_files(answer, kept: deque) -> list[str]:
    """Write `answer` as Markdown, CSV and JSON into a new temporary folder; the oldest folders
    beyond EXPORTS_KEPT are removed. Returns the three paths in that order."""
    from qa.answer.export import write_exports

    folder = tempfile.mkdtemp(prefix="qa-answer-")
    kept.append(folder)
    while len(kept) > EXPORTS_KEPT:
        shutil.rmtree(kept.popleft(), ignore_errors=True)
    paths = write_exports(answer, folder)
    return [str(paths["markdown"]), str(paths["csv"]), str(paths["json"])]


def _status_html(text: str) -> str:
    return f"<div class='qa-status' id='qa-status-line'>{render.esc(text)}</div>"


def build_demo(index_dir: str = DEFAULT_INDEX_DIR, index=None, upload_dir: str = DEFAULT_UPLOAD_DIR,
               max_upload_bytes: int = MAX_UPLOAD_BYTES, read_only: bool = False,
               public_pages_only: bool = False) -> gr.Blocks:
    """The web UI. Cheap: no index read, no model loaded here.

    Args:
        index_dir: the index folder (loaded in the background, or on the first request).
        index: an already loaded `qa.Index` to serve instead (tests use the fake embedder).
        upload_dir: where uploaded article files are stored.
        max_upload_bytes: per-file upload limit.
        read_only: serve questions and articles only: no upload, delete or evaluation (neither
            the controls nor their API endpoints exist).
        public_pages_only: "Add pages" refuses loopback and private-network addresses.

    Returns:
        The `gr.Blocks`; its `qa_service` attribute is the `Service` behind it.
    """
    from qa.search.pipeline import PIPELINES

    service = Service(index_dir, index=index, upload_dir=upload_dir, max_upload_bytes=max_upload_bytes,
                      read_only=read_only, public_pages_only=public_pages_only)
    configs = list(PIPELINES.names())
    default_config = Settings().config
    if default_config not in configs:  # a bad QA_CONFIG: questions that name none say so
        default_config = configs[0]

    def sources_update():
        return gr.update(choices=[""] + service.sources())

    # ---- handlers -------------------------------------------------------------------------

    exports: deque = deque()
    no_files = [gr.update(value=None, visible=False)] * 3

    def on_ask(question, k, config, source, since, until, group):
        if not (question or "").strip():
            return render.render_message("Type a question first, for example: " + EXAMPLES[0]), "", *no_files
        try:
            answer = service.ask(question, k=int(k), config=config, source=source, since=since,
                                 until=until, group=bool(group))
        except QAError as e:
            return render.render_message(str(e), error=True), "", *no_files
        filters = {"source": source, "since": since, "until": until}
        line = render.latency_line(len(answer.hits), answer.latency_ms, answer.config, filters)
        notice = "" if answer.answerable else render.abstention_notice(
            answer.confidence, answer.threshold, answer.unseen_terms)
        if answer.pending_notice():  # answered from a build still embedding
            notice = render.render_message(answer.pending_notice()) + notice
        files = [gr.update(value=f, visible=True) for f in export_files(answer, exports)] \
            if answer.hits else no_files
        return notice + render.render_results(answer.hits), line, *files

    def on_open(evt: gr.EventData):
        data = evt._data or {}
        try:
            art = service.article(data.get("doc_id", ""))
        except QAError as e:
            return render.render_message(str(e), error=True)
        cited = (int(data.get("char_start", 0)), int(data.get("char_end", 0)))
        hl = (int(data.get("hl_start", -1)), int(data.get("hl_end", -1)))
        return render.render_article(art, cited=cited, answer=hl if hl[0] >= 0 else None)

    def api_ask(question: str, k: int = 5, config: str = "", source: str = "", since: str = "",
                until: str = "") -> dict:
        """The `qa ask --json` object for one question."""
        try:
            return service.ask(question, k=int(k), config=config or None, source=source, since=since,
                               until=until).to_dict()
        except QAError as e:
            raise gr.Error(str(e)) from None

    def api_article(doc_id: str) -> dict:
        """One indexed article (doc_id, title, body, source, date, url, dateline, byline)."""
        try:
            art = service.article(doc_id).to_dict()
            art.pop("path", None)  # a server path: private, and gradio_client would try to download it
            return art
        except QAError as e:
            raise gr.Error(str(e)) from None

    def library_outputs():
        articles, counts = service.library()
        rows = render.library_rows(articles, counts)
        choices = [(f"{r[0] or '(untitled)'} — {r[4]}", r[4]) for r in rows]
        return rows, gr.update(choices=choices, value=None)

    def on_library():
        try:
            return library_outputs()
        except QAError:
            return [], gr.update(choices=[], value=None)

    def on_upload(files, progress=gr.Progress()):
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        if not paths:
            return (render.render_message("Choose one or more files to upload."), *on_library(),
                    _status_html(service.status()), None, sources_update())
        saved, rejected = service.save_uploads(paths)
        lines: list[tuple[str, bool]] = [(f"{n}: rejected — {r}", True) for n, r in rejected]
        if saved:
            progress(0, desc="Reading files")

            def step(done, total):
                progress((done, total), desc="Indexing", unit="passages")

            try:
                report = service.add(saved, progress=step)
                lines += [(f"{p}: skipped — {r}", True) for p, r in report.problems]
                lines.insert(0, (f"Indexed {len(report.articles)} article(s): "
                                 + ", ".join(a.doc_id for a in report.articles), False))
            except QAError as e:
                lines.append((f"Indexing failed: {e}", True))
        msg = "".join(f"<p class='qa-msg{' qa-msg-error' if bad else ''}'>{render.esc(t)}</p>"
                      for t, bad in lines)
        return (f"<div class='qa-results'>{msg}</div>", *on_library(), _status_html(service.status()),
                None, sources_update())

    def on_add_pages(text, progress=gr.Progress()):
        if not (text or "").strip():
            return (render.render_message("Paste one or more web page URLs, one per line."), *on_library(),
                    _status_html(service.status()), text, sources_update())
        progress(0, desc="Fetching pages")
        saved, rejected = service.save_pages(
            text, fetched=lambda done, total: progress((done, total), desc="Fetching pages", unit="pages"))
        lines: list[tuple[str, bool]] = [(f"{u}: not added — {r}", True) for u, r in rejected]
        if saved:
            try:
                report = service.add(saved, progress=lambda done, total: progress(
                    (done, total), desc="Indexing", unit="passages"))
                lines += [(f"{p}: skipped — {r}", True) for p, r in report.problems]
                names = ", ".join(f"{a.title or a.doc_id} ({a.url})" for a in report.articles)
                lines.insert(0, (f"Indexed {len(report.articles)} page(s): {names}", False))
            except QAError as e:
                lines.append((f"Indexing failed: {e}", True))
        msg = "".join(f"<p class='qa-msg{' qa-msg-error' if bad else ''}'>{render.esc(t)}</p>"
                      for t, bad in lines)
        retry = "\n".join(u for u, _ in rejected)  # what failed stays in the box, to fix or retry
        return (f"<div class='qa-results'>{msg}</div>", *on_library(), _status_html(service.status()),
                retry, sources_update())

    def on_delete(doc_id):
        if not doc_id:
            return render.render_message("Pick an article to delete first."), *on_library(), \
                _status_html(service.status()), sources_update()
        try:
            n = service.delete([doc_id])
            msg = render.render_message(f"Deleted {doc_id}." if n else f"{doc_id} was not in the index.")
        except QAError as e:
            msg = render.render_message(str(e), error=True)
        return msg, *on_library(), _status_html(service.status()), sources_update()

    def on_row_select(evt: gr.SelectData):
        row = evt.row_value or []
        return gr.update(value=row[4]) if len(row) > 4 else gr.update()

    def on_tick():
        service.refresh()  # a build committing in steps: the status follows each step
        active = service.warming or service.building
        return _status_html(service.status()), gr.Timer(active=active), sources_update()

    # ---- layout ---------------------------------------------------------------------------

    with gr.Blocks(title="qa — cited passages from news", analytics_enabled=False) as demo:
        demo.qa_service = service
        with gr.Row(equal_height=True):
            gr.Markdown("### qa — cited passages from news articles")
            status = gr.HTML(_status_html(service.status()), elem_id="qa-status")
        timer = gr.Timer(1.0)
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                with gr.Row(equal_height=True):
                    question = gr.Textbox(label="Question", placeholder=EXAMPLES[0], lines=1, max_lines=4,
                                          scale=6, autofocus=True, elem_id="qa-question")
                    ask_btn = gr.Button("Ask", variant="primary", scale=1, min_width=90, elem_id="qa-ask")
                with gr.Row():
                    k = gr.Slider(1, 20, value=5, step=1, label="Top-k passages", min_width=160)
                    config = gr.Dropdown(configs, value=default_config, label="Configuration", min_width=140)
                    source = gr.Dropdown([""] + service.sources(), value="", label="Source",
                                         allow_custom_value=True, min_width=140)
                    since = gr.Textbox(label="Since", placeholder="YYYY-MM-DD", min_width=120)
                    until = gr.Textbox(label="Until", placeholder="YYYY-MM-DD", min_width=120)
                    group = gr.Checkbox(value=True, label="Group same story",
                                        min_width=120)
                gr.Examples([[q] for q in EXAMPLES], inputs=[question], label="Examples")
                latency = gr.Markdown(elem_id="qa-latency")
                with gr.Row():
                    downloads = [gr.DownloadButton(f"Download {name}", visible=False, size="sm",
                                                   elem_id=f"qa-download-{name.lower()}", min_width=120)
                                 for name in ("Markdown", "CSV", "JSON")]
                with gr.Row():
                    with gr.Column(scale=3, min_width=300):
                        results = gr.HTML("", css_template=render.CSS, js_on_load=OPEN_JS,
                                          elem_id="qa-results")
                    with gr.Column(scale=2, min_width=300):
                        article = gr.HTML(render.EMPTY_ARTICLE, css_template=render.CSS,
                                          js_on_load=SCROLL_JS, max_height=760, elem_id="qa-article")
            with gr.Tab("Library", id="library"):
                gr.Markdown("The indexed articles (read-only server)." if read_only else
                            f"Upload articles ({', '.join(UPLOAD_EXTS)}; up to "
                            f"{max_upload_bytes // 2**20} MiB each) or add web pages by URL. They are "
                            f"indexed at once and searchable without a restart.")
                files = gr.File(label="Upload articles", file_count="multiple", elem_id="qa-upload",
                                visible=not read_only)
                with gr.Row(equal_height=True, visible=not read_only):
                    page_urls = gr.Textbox(label="Web pages (one URL per line)", lines=2, max_lines=12,
                                           scale=4, placeholder="https://example.com/news/article",
                                           elem_id="qa-urls")
                    add_pages_btn = gr.Button("Add pages", scale=1, min_width=120, elem_id="qa-add-pages")
                upload_msg = gr.HTML("", css_template=render.CSS, elem_id="qa-upload-msg")
                with gr.Row(equal_height=True, visible=not read_only):
                    to_delete = gr.Dropdown([], label="Article to delete (or click a table row)", scale=4,
                                            allow_custom_value=True)
                    delete_btn = gr.Button("Delete article", variant="stop", scale=1, min_width=120)
                table = gr.Dataframe(headers=render.LIBRARY_HEADERS,
                                     datatype=["str", "str", "str", "number", "str"],
                                     interactive=False, wrap=True, elem_id="qa-library",
                                     column_widths=["38%", "20%", "13%", "9%", "20%"])
            if not read_only:
                with gr.Tab("Evaluate", id="evaluate"):
                    build_evaluate_tab(service, configs)

        # ---- wiring -----------------------------------------------------------------------

        ask_inputs = [question, k, config, source, since, until, group]
        gr.on([question.submit, ask_btn.click], on_ask, ask_inputs, [results, latency, *downloads],
              api_name="ask_ui",
              api_visibility="undocumented", show_progress="minimal")
        results.open(on_open, None, [article], api_visibility="private", show_progress="hidden")
        gr.api(api_ask, api_name="ask")
        gr.api(api_article, api_name="article")
        if not read_only:
            files.upload(on_upload, [files], [upload_msg, table, to_delete, status, files, source],
                         api_name="upload")
            add_pages_btn.click(on_add_pages, [page_urls], [upload_msg, table, to_delete, status, page_urls,
                                                            source], api_name="add_pages")
            delete_btn.click(on_delete, [to_delete], [upload_msg, table, to_delete, status, source],
                             api_name="delete")
            table.select(on_row_select, None, [to_delete], api_visibility="private")
        timer.tick(on_tick, None, [status, timer, source], api_visibility="private", show_progress="hidden")
        demo.load(service.start_warmup, None, None, api_visibility="private")
        demo.load(on_library, None, [table, to_delete], api_name="library")
    return demo


QUEUE_MAX = 64  # questions waiting beyond this are answered "busy" at once instead of piling up
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def listens_locally(host: str) -> bool:
    """Whether `host` (the --host given) is a loopback address: only this machine can connect."""
    return host in LOOPBACK or host.startswith("127.")


def exposure_warning(host: str, auth: str | None, read_only: bool) -> str | None:
    """The warning to print when the server is reachable beyond this machine without a login
    (`auth`: the --auth or --token-file given, if any)."""
    if listens_locally(host) or auth:
        return None
    what = "ask questions and read every article" if read_only else \
        "ask questions, read every article, upload files and delete articles"
    return (f"warning: listening on {host} without --auth or --token-file: anyone who can reach this "
            f"machine can {what}, in the page and through the JSON API. Add --auth USER:PASSWORD (or "
            f"QA_AUTH) or --token-file FILE{'' if read_only else ', and --read-only'}.")
