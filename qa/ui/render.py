"""Hits and articles -> HTML for the web UI. Pure functions: no Gradio, no server.

Article text is untrusted. Every piece of document text (title, source, body, ids, urls) goes
through `esc()` before it reaches markup, so `<script>`, `<img onerror=...>` and Markdown come out
as visible text. Only `http(s)` urls become links. Nothing here builds markup from unescaped
document text; the tests feed every field an injection payload to keep it that way. No markup
carries an event-handler attribute: the buttons hold their data in escaped `data-` attributes and
one listener on the results (qa.ui.app) acts on them, so no document text is ever inside JavaScript.
"""

from __future__ import annotations

import html
from typing import Any, Iterable, Sequence

from qa.types import Article, Hit

# Scoped to each gr.HTML component (css_template). Gradio's theme variables keep light and dark
# modes readable; no `${` or `{{` here, since Gradio evaluates this string as a template.
CSS = """
.qa-results, .qa-article { font-size: 15px; line-height: 1.5; color: var(--body-text-color); }
.qa-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 12px 14px;
  margin: 0 0 12px 0; background: var(--block-background-fill); overflow-wrap: anywhere; }
.qa-card-head { margin: 0 0 2px 0; }
.qa-label { font-weight: 700; color: var(--color-accent); white-space: nowrap; margin-right: 6px; }
.qa-title { font-weight: 600; font-size: 16px; }
.qa-meta, .qa-scores, .qa-also, .qa-latency { font-size: 13px; color: var(--body-text-color-subdued); }
.qa-meta span + span::before, .qa-scores span + span::before { content: " · "; }
.qa-passage { margin: 8px 0; padding: 0 0 0 10px; border-left: 3px solid var(--border-color-primary);
  white-space: pre-wrap; }
mark.qa-answer, mark.qa-cited { background: #fff3b0; color: #1a1a1a; padding: 0 1px; border-radius: 2px; }
mark.qa-cited { background: #ffe9a8; }
mark.qa-cited strong.qa-answer-in { background: #ffd54f; font-weight: inherit; }
mark.qa-answer strong.qa-answer-words { font-weight: 700; text-decoration: underline dotted; }
.qa-card-foot { display: flex; justify-content: space-between; align-items: center; gap: 8px;
  flex-wrap: wrap; margin-top: 6px; }
button.qa-open { cursor: pointer; border: 1px solid var(--button-secondary-border-color);
  background: var(--button-secondary-background-fill); color: var(--button-secondary-text-color);
  border-radius: 6px; padding: 4px 10px; font-size: 14px; }
button.qa-open:hover { background: var(--button-secondary-background-fill-hover); }
.qa-buttons { display: flex; gap: 6px; }
button.qa-copy { cursor: pointer; border: 1px solid var(--button-secondary-border-color);
  background: transparent; color: var(--button-secondary-text-color); border-radius: 6px;
  padding: 4px 10px; font-size: 14px; }
.qa-msg { padding: 10px 12px; border-radius: 8px; border: 1px solid var(--border-color-primary); }
.qa-msg-error { border-color: #d9534f; }
.qa-article h2 { margin: 0 0 6px 0; font-size: 20px; }
.qa-article dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 10px 0;
  font-size: 13px; }
.qa-article dt { color: var(--body-text-color-subdued); }
.qa-article dd { margin: 0; overflow-wrap: anywhere; }
.qa-body { white-space: pre-wrap; overflow-wrap: anywhere; }
"""

EMPTY_ARTICLE = ("<div class='qa-article qa-article-empty'><p class='qa-msg'>Open an article from a "
                 "result card to read it here, with the cited passage highlighted.</p></div>")


def esc(value: Any) -> str:
    """HTML-escape any value (quotes too, so it is also safe inside attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def safe_url(url: str) -> str | None:
    """The url if it is http(s), else None: `javascript:` and friends never become links."""
    u = (url or "").strip()
    return u if u.lower().startswith(("http://", "https://")) else None


def marked(text: str, outer: tuple[int, int] | None = None, inner: tuple[int, int] | None = None,
           outer_tag: str = "mark class='qa-cited' id='qa-cited'",
           inner_tag: str = "strong class='qa-answer-in'") -> str:
    """Escaped `text` with up to two nested highlighted spans (offsets into `text`).

    `inner` is clipped into `outer` so the tags always nest; an empty or out-of-range span is
    ignored.
    """
    n = len(text)

    def clip(span, lo, hi):
        if span is None:
            return None
        s, e = max(lo, min(span[0], hi)), max(lo, min(span[1], hi))
        return (s, e) if e > s else None

    outer = clip(outer, 0, n)
    inner = clip(inner, *(outer or (0, n)))
    opens: dict[int, list[str]] = {}
    closes: dict[int, list[str]] = {}
    for span, tag in ((outer, outer_tag), (inner, inner_tag)):
        if span:
            opens.setdefault(span[0], []).append(f"<{tag}>")
            closes.setdefault(span[1], []).insert(0, f"</{tag.split()[0]}>")
    cuts = sorted({0, n, *opens, *closes})
    out: list[str] = []
    for a, b in zip(cuts, cuts[1:] + [None]):
        out.extend(closes.get(a, []))
        out.extend(opens.get(a, []))
        if b is not None:
            out.append(esc(text[a:b]))
    return "".join(out)


def _meta_spans(*values: str) -> str:
    return "".join(f"<span>{esc(v)}</span>" for v in values if v)


def _num(x: float) -> str:
    return f"{x:.4f}" if abs(x) < 100 else f"{x:.1f}"


def render_card(hit: Hit, show_scores: bool = True) -> str:
    """One result card: `[n]`, title, source, date (or the date as written when it has no year),
    page, the passage with its answer sentence marked (and in it, in bold, the words the reading
    model points at), scores, other reports of the same story,
    a "Copy citation" button (the citation in its `data-citation`) and an "Open article" button."""
    a, p = hit.article, hit.passage
    hl = None
    if hit.highlight is not None:
        hl = (hit.highlight[0] - p.char_start, hit.highlight[1] - p.char_start)
    words = None  # the words the reading model points at, in bold inside the marked sentence
    if hit.answer is not None and hl is not None:
        words = (hit.answer[0] - p.char_start, hit.answer[1] - p.char_start)
    passage = marked(p.text, outer=hl, inner=words, outer_tag="mark class='qa-answer'",
                     inner_tag="strong class='qa-answer-words'")
    scores = ""
    if show_scores:
        parts = [f"score {_num(hit.score)}"] + [f"{k} {_num(v)}" for k, v in hit.scores.items()]
        scores = f"<div class='qa-scores'>{_meta_spans(*parts)}</div>"
    also = ""
    if hit.also_reported_by:
        names = ", ".join(f"{esc(o.get('source') or o.get('doc_id', ''))} "
                          f"<small>({esc(o.get('doc_id', ''))})</small>" for o in hit.also_reported_by)
        also = f"<div class='qa-also'>Also reported by: {names}</div>"
    if hit.more_in_article:
        n = hit.more_in_article
        also += (f"<div class='qa-more'>+{n} more matching passage{'s' if n > 1 else ''} "
                 f"in this article</div>")
    hs, he = hit.highlight if hit.highlight is not None else (-1, -1)
    page = f"p. {hit.page}" if hit.page is not None else ""
    meta = _meta_spans(a.source or "unknown source", a.date or a.date_text or "undated", page, p.doc_id)
    return (
        f"<article class='qa-card' data-rank='{hit.rank}' data-doc-id='{esc(p.doc_id)}'>"
        f"<div class='qa-card-head'><span class='qa-label'>[{hit.rank}]</span>"
        f"<span class='qa-title'>{esc(a.title or '(untitled)')}</span></div>"
        f"<div class='qa-meta'>{meta}"
        f"<span>chars {p.char_start}\u2013{p.char_end}</span></div>"
        f"<blockquote class='qa-passage'>{passage}</blockquote>"
        f"{also}<div class='qa-card-foot'>{scores}<span class='qa-buttons'>"
        f"<button class='qa-copy' type='button' data-copy='1' data-citation='{esc(hit.citation)}' "
        f"title='Copy the citation to paste elsewhere'>Copy citation</button>"
        f"<button class='qa-open' type='button' data-open='1' data-doc='{esc(p.doc_id)}' "
        f"data-start='{p.char_start}' data-end='{p.char_end}' data-hs='{hs}' data-he='{he}'>"
        f"Open article [{hit.rank}]</button></span></div></article>")


def render_results(hits: Iterable[Hit], show_scores: bool = True) -> str:
    """All cards, best first; a friendly line when there is none."""
    cards = [render_card(h, show_scores) for h in hits]
    if not cards:
        return render_message("No passage matched. Try other words or fewer filters.")
    return "<div class='qa-results'>" + "".join(cards) + "</div>"


def render_message(text: str, error: bool = False) -> str:
    """An escaped information or error box."""
    kind = "qa-msg qa-msg-error" if error else "qa-msg"
    return f"<div class='qa-results'><p class='{kind}' role='status'>{esc(text)}</p></div>"


def abstention_notice(confidence: float, threshold: float, unseen: Sequence[str] = ()) -> str:
    """The box shown above the cards when nothing in the collection seems to answer."""
    never = f" No article mentions {', '.join(unseen)}." if unseen else ""
    return render_message(f"Nothing in this collection seems to answer that question (best match "
                          f"{confidence:.2f}, an answer needs {threshold:.2f}).{never} The closest "
                          "passages follow, but treat them as weak evidence.")


def latency_line(n_hits: int, latency_ms: float, config: str, filters: dict[str, str] | None = None) -> str:
    """`5 passages in 42 ms · hybrid · source=TASS` (plain text for a Markdown/Textbox)."""
    bits = [f"{n_hits} passage{'s' if n_hits != 1 else ''} in {latency_ms:.0f} ms", f"config {config}"]
    bits += [f"{k}={v}" for k, v in (filters or {}).items() if v]
    return " · ".join(bits)


def render_article(article: Article, cited: tuple[int, int] | None = None,
                   answer: tuple[int, int] | None = None) -> str:
    """The full article: metadata, then the body with the cited passage (and its answer sentence)
    highlighted. `cited`/`answer` are body offsets; the cited span carries id `qa-cited` so the
    page can scroll it into view."""
    a = article
    rows = [("Source", a.source), ("Date", a.date or a.date_text), ("Dateline", a.dateline),
            ("Byline", a.byline), ("Language", a.language), ("Document", a.doc_id)]
    meta = "".join(f"<dt>{k}</dt><dd>{esc(v)}</dd>" for k, v in rows if v)
    url = safe_url(a.url)
    if url:
        meta += (f"<dt>URL</dt><dd><a href='{esc(url)}' target='_blank' rel='noopener noreferrer nofollow'>"
                 f"{esc(url)}</a></dd>")
    elif a.url:
        meta += f"<dt>URL</dt><dd>{esc(a.url)}</dd>"
    if cited is not None:
        meta += f"<dt>Cited</dt><dd>chars {cited[0]}\u2013{cited[1]}</dd>"
    body = marked(a.body, outer=cited, inner=answer)
    return (f"<div class='qa-article' data-doc-id='{esc(a.doc_id)}'>"
            f"<h2 class='qa-article-title'>{esc(a.title or '(untitled)')}</h2><dl>{meta}</dl>"
            f"<div class='qa-body'>{body}</div></div>")


def library_rows(articles: dict[str, Article], passages_per_doc: dict[str, int]) -> list[list[Any]]:
    """Rows of the library table: title, source, date, passages, doc_id (newest first)."""
    arts = sorted(articles.values(), key=lambda a: (a.date or "", a.doc_id), reverse=True)
    return [[a.title, a.source, a.date, passages_per_doc.get(a.doc_id, 0), a.doc_id] for a in arts]


LIBRARY_HEADERS = ["title", "source", "date", "passages", "doc_id"]
