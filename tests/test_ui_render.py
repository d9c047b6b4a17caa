"""qa.ui.render: every piece of document text is escaped; highlights mark the right characters."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from qa.types import Article, Hit, Passage
from qa.ui import render
from qa.ui.service import safe_filename

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\"><svg onload=alert(1)>",
    "'><a href='javascript:alert(1)'>x</a>",
    "[click](javascript:alert(1)) **bold** <b>b</b>",
    "${alert(1)} {{constructor}} `tick`",
]
ALLOWED_TAGS = {"div", "article", "span", "blockquote", "mark", "strong", "button", "small", "p",
                "h2", "dl", "dt", "dd", "a"}


class TagCollector(HTMLParser):
    """Every start tag and attribute a browser would build from the markup."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(markup: str) -> TagCollector:
    c = TagCollector()
    c.feed(markup)
    c.close()
    return c


def evil_article(payload: str, url: str = "") -> Article:
    body = f"Intro {payload} sentence one. The answer is {payload} here. Tail {payload}."
    return Article(doc_id=f"doc{payload}", title=f"Title {payload}", body=body, source=f"Src {payload}",
                   date="2021-06-11", url=url or f"https://example.com/{payload}", dateline=f"LINE {payload}",
                   byline=f"By {payload}")


def evil_hit(payload: str) -> Hit:
    a = evil_article(payload)
    start = a.body.index("The answer")
    end = len(a.body)
    p = Passage(passage_id=f"p{payload}", doc_id=a.doc_id, text=a.body[start:end], char_start=start, char_end=end)
    hl_end = a.body.index("here.") + len("here.")
    return Hit(rank=1, score=0.5, passage=p, article=a, scores={"dense": 0.4, f"x{payload}": 1.0},
               highlight=(start, hl_end),
               also_reported_by=({"doc_id": f"other{payload}", "source": f"Other {payload}",
                                  "char_start": 0, "char_end": 5},))


def assert_inert(markup: str, payload: str) -> None:
    doc = parse(markup)
    for tag, attrs in doc.tags:
        assert tag in ALLOWED_TAGS, f"unexpected <{tag}> built from document text"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler attribute {name!r}"
            if name in ("href", "src", "action", "formaction"):
                assert (value or "").lower().startswith(("http://", "https://")), f"{name}={value!r}"
    # the payload survives as visible text
    assert payload in "".join(doc.text)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_card_escapes_every_field(payload):
    markup = render.render_card(evil_hit(payload))
    assert_inert(markup, payload)
    assert "<script" not in markup and "<img" not in markup


@pytest.mark.parametrize("payload", PAYLOADS)
def test_article_view_escapes_every_field(payload):
    a = evil_article(payload)
    start = a.body.index("The answer")
    markup = render.render_article(a, cited=(start, len(a.body)), answer=(start, start + 10))
    assert_inert(markup, payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_messages_escape_text(payload):
    assert_inert(render.render_message(payload, error=True), payload)


def test_javascript_url_is_not_a_link():
    a = evil_article("x", url="javascript:alert(1)")
    markup = render.render_article(a)
    assert "<a " not in markup and "javascript:alert(1)" in markup


def test_http_url_becomes_a_safe_link():
    markup = render.render_article(evil_article("x", url="https://example.com/a?b=1&c=2"))
    (attrs,) = [a for t, a in parse(markup).tags if t == "a"]
    assert attrs["href"] == "https://example.com/a?b=1&c=2" and "noopener" in attrs["rel"]


def test_card_marks_exactly_the_answer_sentence():
    a = Article(doc_id="d", title="T", body="First one. Second & <last> one. Third.")
    p = Passage("d:0", "d", a.body, 0, len(a.body))
    s = a.body.index("Second")
    hit = Hit(rank=3, score=1.0, passage=p, article=a, highlight=(s, s + len("Second & <last> one.")))
    markup = render.render_card(hit)
    marked = re.search(r"<mark class='qa-answer'>(.*?)</mark>", markup).group(1)
    assert marked == "Second &amp; &lt;last&gt; one."
    assert "[3]" in markup and "data-doc='d'" in markup and f"data-hs='{s}'" in markup


def test_card_with_passage_inside_body_offsets_highlight_relative_to_passage():
    body = "Lead sentence here. Russia proposes consultations. More."
    a = Article(doc_id="d", title="T", body=body)
    ps = body.index("Russia")
    p = Passage("d:1", "d", body[ps:], ps, len(body))
    hit = Hit(rank=1, score=1.0, passage=p, article=a, highlight=(ps, ps + len("Russia proposes consultations.")))
    assert "<mark class='qa-answer'>Russia proposes consultations.</mark>" in render.render_card(hit)


def test_card_puts_the_readers_answer_words_in_bold_inside_the_sentence():
    body = "Lead sentence here. Russia proposes <consultations> soon. More."
    a = Article(doc_id="d", title="T", body=body)
    ps = body.index("Russia")
    p = Passage("d:1", "d", body[ps:], ps, len(body))
    w = body.index("<consultations>")
    hit = Hit(rank=1, score=1.0, passage=p, article=a, highlight=(ps, ps + len("Russia proposes <consultations> soon.")),
              answer=(w, w + len("<consultations>")))
    assert ("<mark class='qa-answer'>Russia proposes <strong class='qa-answer-words'>&lt;consultations&gt;"
            "</strong> soon.</mark>") in render.render_card(hit)


def test_card_shows_scores_and_also_reported_by():
    markup = render.render_card(evil_hit("x"))
    assert "score 0.5000" in markup and "dense 0.4000" in markup
    assert "Also reported by" in markup and "Other x" in markup


def test_article_view_nests_answer_inside_cited_passage_with_anchor():
    body = "Alpha beta. Gamma delta. Epsilon."
    a = Article(doc_id="d", title="T", body=body, source="S", date="2021-01-02", dateline="X, Jan 2")
    cited = (body.index("Gamma"), len(body))
    answer = (cited[0], body.index("Epsilon") - 1)
    markup = render.render_article(a, cited=cited, answer=answer)
    assert ("Alpha beta. <mark class='qa-cited' id='qa-cited'><strong class='qa-answer-in'>Gamma delta."
            "</strong> Epsilon.</mark>") in markup
    for meta in ("S", "2021-01-02", "X, Jan 2", "chars 12\u201333"):
        assert meta in markup


def test_marked_clips_inner_span_into_outer_and_ignores_empty_spans():
    assert render.marked("abcdef", (1, 3), (0, 5), "m", "i") == "a<m><i>bc</i></m>def"
    assert render.marked("abc", (2, 2), None) == "abc"
    assert render.marked("a<b", (5, 9), None) == "a&lt;b"


def test_no_hits_gives_a_friendly_message():
    assert "No passage matched" in render.render_results([])


def test_library_rows_newest_first_with_passage_counts():
    arts = {"a": Article("a", "Old", "x", date="2020-01-01"), "b": Article("b", "New", "y", date="2021-01-01")}
    assert render.library_rows(arts, {"a": 2}) == [["New", "", "2021-01-01", 0, "b"], ["Old", "", "2020-01-01", 2, "a"]]


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\win\\evil.md", "evil.md"),
    ("/abs/path/My Article (1).HTML", "My_Article_1.html"),
    ("news.jsonl", "news.jsonl"),
])
def test_safe_filename_keeps_names_inside_the_folder(name, expected):
    assert safe_filename(name) == expected


@pytest.mark.parametrize("name", ["evil.exe", "noext", "../..", ".txt", "a.txt.sh"])
def test_safe_filename_rejects_other_types_and_empty_names(name):
    from qa.errors import BadInput

    with pytest.raises(BadInput):
        safe_filename(name)


def test_cli_output_drops_terminal_control_characters_but_keeps_newlines():
    from qa.answer.cite import format_hits
    from qa.types import Article, Hit, Passage

    body = "Evil \x1b]0;pwned\x07title \x1b[2J cleared \u202eреверс\x9b1m text."
    art = Article("d\x1b[31m1", "T\x1b[1mitle", body, source="S\x07rc")
    hit = Hit(1, 0.5, Passage("p", "d\x1b[31m1", body, 0, len(body)), art)
    out = format_hits("q\x1b[0m?", [hit])
    assert not any(ch in out for ch in "\x1b\x07\x9b\u202e") and "cleared" in out and "\n" in out


def test_the_abstention_warning_names_the_unseen_terms_escaped():
    from qa.ui.render import abstention_notice

    plain = abstention_notice(0.21, 0.38)
    assert "Nothing in this collection seems to answer" in plain and "0.21" in plain and "0.38" in plain
    assert "No article mentions" not in plain
    named = abstention_notice(0.21, 0.38, ["2018", "<b>fifa</b>"])
    assert "No article mentions 2018, &lt;b&gt;fifa&lt;/b&gt;." in named and "<b>" not in named
