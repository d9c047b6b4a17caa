"""The web UI in a real browser: headless Debian Chromium driven by Playwright, real model.

Screenshots of the results page (desktop 1280x800 and phone width) and the article view are
saved under test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
QUESTION = "What did Russia propose on decarbonization?"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
XSS_ARTICLE = (
    "Title: Penguin report <script>alert(1)</script>\n"
    "Source: Evil <img src=x onerror=alert(1)> Times\n"
    "Date: 2021-06-12\n\n"
    "Emperor penguins <script>alert(1)</script> marched to the glacier.\n"
    "The glacier colony grew <img src=x onerror=alert(1)> to ten thousand birds.\n"
    "Markdown **bold** [link](javascript:alert(1)) and <b>html</b> and ${alert(1)} stay text "
    "<img src=x onerror=\"window.__pwned=1\">.\n")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"no browser: {CHROMIUM} is missing (install it with `apt-get install chromium` "
                              "or run .ci/browser.sh)"),
]


@pytest.fixture(scope="module")
def demo_index(tmp_path_factory, real_embedder):
    """(index, folder) of the real demo index (data/articles, real model)."""
    from qa import Index

    tmp = tmp_path_factory.mktemp("ui-browser")
    return Index.build([ROOT / "data" / "articles"], tmp / "index", embedder=real_embedder), tmp


@pytest.fixture(scope="module")
def server(demo_index):
    """The app as `make run` and `qa serve` serve it (UI, JSON API and MCP on one port,
    `qa.api.server`) over the real demo index, on a free loopback port."""
    from qa.api.server import build_server
    from tests.support.api_server import running

    index, tmp = demo_index
    app = build_server(str(tmp / "index"), index=index, upload_dir=str(tmp / "uploads"))
    with running(app) as base:
        yield base + "/", tmp


@pytest.fixture
def page(server, tmp_path):
    """A fresh Chromium profile at 1280x800 that cannot reach anything but the app; records dialogs."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 800})
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(server[0])
                      else route.abort())
        pg = context.pages[0] if context.pages else context.new_page()
        pg.dialogs = []
        pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
        pg.set_default_timeout(120_000)
        pg.goto(server[0])
        pg.wait_for_selector("#qa-question textarea")
        try:
            yield pg
        finally:
            context.close()


def ask(pg, question: str) -> None:
    box = pg.locator("#qa-question textarea")
    box.fill(question)
    box.press("Enter")


def shot(pg, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / name), full_page=True)


def in_viewport(pg, selector: str) -> bool:
    return pg.eval_on_selector(selector, """el => { const r = el.getBoundingClientRect();
        return r.height > 0 && r.top >= 0 && r.top < window.innerHeight; }""")


def test_question_enter_gives_cited_cards_and_article_view(page):
    ask(page, QUESTION)
    first = page.locator("#qa-results .qa-card").first
    first.wait_for()
    assert first.get_attribute("data-doc-id") == "003_73730ed10e7a2f7e"
    assert "consultations" in first.inner_text()
    assert first.locator("mark.qa-answer").count() == 1 and "[1]" in first.inner_text()
    assert "passages in" in page.locator("#qa-latency").inner_text()
    shot(page, "ui-results-1280x800.png")

    first.locator("button.qa-open").click()
    page.wait_for_selector("#qa-article .qa-article-title")
    article = page.locator("#qa-article")
    assert "Khakimov" in article.locator(".qa-article-title").inner_text()
    assert "The Frontier Post" in article.inner_text()
    cited = page.locator("#qa-cited")
    assert "consultations" in cited.inner_text()
    page.wait_for_function("() => { const r = document.querySelector('#qa-cited').getBoundingClientRect();"
                           " return r.top >= 0 && r.top < window.innerHeight; }")
    assert in_viewport(page, "#qa-cited")
    shot(page, "ui-article-1280x800.png")

    page.set_viewport_size({"width": 390, "height": 844})
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "ui-results-390x844.png")
    card_box = first.bounding_box()
    assert card_box is not None and card_box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 400  # no sideways scrolling
    assert page.dialogs == []


def test_blank_question_shows_a_friendly_message(page):
    ask(page, "   ")
    msg = page.locator("#qa-results .qa-msg")
    msg.wait_for()
    assert "Type a question first" in msg.inner_text()


def test_uploaded_article_with_script_payloads_displays_as_text(page, server, tmp_path):
    evil = tmp_path / "evil_penguins.txt"
    evil.write_text(XSS_ARTICLE, encoding="utf-8")
    page.get_by_role("tab", name="Library").click()
    page.locator("#qa-upload input[type=file]").set_input_files(str(evil))
    page.wait_for_selector("#qa-upload-msg >> text=Indexed 1 article(s)")
    library = page.locator("#qa-library")
    library.get_by_text("Penguin report <script>alert(1)</script>").first.wait_for()
    shot(page, "ui-library-1280x800.png")

    page.get_by_role("tab", name="Ask").click()
    ask(page, "emperor penguins glacier colony")
    card = page.locator("#qa-results .qa-card[data-doc-id='evil_penguins']").first
    card.wait_for()
    text = card.inner_text()
    assert "<script>alert(1)</script>" in text and "<img src=x onerror=alert(1)>" in text
    card.locator("button.qa-open").click()
    page.wait_for_selector("#qa-article .qa-article-title >> text=Penguin report")
    body = page.locator("#qa-article .qa-body").inner_text()
    assert "**bold** [link](javascript:alert(1))" in body and "<b>html</b>" in body and "${alert(1)}" in body
    shot(page, "ui-xss-article-1280x800.png")

    page.wait_for_timeout(500)  # give any injected handler (img onerror) its chance to fire
    assert page.dialogs == []
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src='x']").count() == 0 and page.locator("#qa-article script, #qa-results script").count() == 0


def test_evaluate_tab_runs_a_question_set(page, tmp_path):
    qset = tmp_path / "questions.jsonl"
    qset.write_text(
        '{"id": "d1", "question": "What did Russia propose on decarbonization?", '
        '"answers": ["consultations"], "doc_ids": ["003_73730ed10e7a2f7e"]}\n'
        '{"id": "d2", "question": "Which anniversary is being marked?", '
        '"answers": ["20th anniversary"], "doc_ids": ["000_61bf0e62819f0a3a"]}\n', encoding="utf-8")
    page.get_by_role("tab", name="Evaluate").click()
    page.locator("#qa-eval-file input[type=file]").set_input_files(str(qset))
    page.locator("#qa-eval-run").click()
    # the finished run's note ("2 questions, k = 5, ..."), not a progress line such as "8/12 questions"
    page.wait_for_selector("#qa-eval-msg >> text=/\\b2 questions, k = \\d+/")
    assert "hybrid" in page.locator("#qa-eval-metrics").inner_text()
    page.locator("#qa-eval-plot img").wait_for()
    page.locator("#qa-eval-questions").scroll_into_view_if_needed()
    page.locator("#qa-eval-questions >> text=Which anniversary is being marked?").first.wait_for(timeout=10_000)
    files = page.locator("#qa-eval-files").inner_text().replace("\n", "")
    assert "results.json" in files and "report.md" in files and "results.csv" in files
    shot(page, "ui-evaluate-1280x800.png")


def test_copy_citation_button_puts_the_citation_on_the_clipboard(page, server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server[0].rstrip("/"))
    ask(page, QUESTION)
    first = page.locator("#qa-results .qa-card").first
    first.wait_for()
    button = first.locator("button.qa-copy")
    want = button.get_attribute("data-citation")
    assert want and want.startswith("\u201c")
    button.click()
    page.wait_for_function("() => document.querySelector('#qa-results button.qa-copy').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == want
    assert page.locator("#qa-article .qa-article-title").count() == 0  # copying does not open the article
    assert page.dialogs == []


def test_the_page_works_behind_basic_auth_and_refuses_without_it(demo_index, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    from qa.api.access import Access
    from qa.api.server import build_server
    from tests.support.api_server import running

    index, tmp = demo_index
    app = build_server(str(tmp / "index"), index=index, upload_dir=str(tmp / "uploads-auth"),
                       access=Access(users=(("user", "secret"),)))
    with running(app) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            anon = browser.new_context()
            assert anon.request.get(base + "/").status == 401
            with pytest.raises(sync_api.Error, match="AUTH"):  # a browser without the login gets no page
                anon.new_page().goto(base + "/")
            pg = browser.new_context(http_credentials={"username": "user", "password": "secret"}).new_page()
            pg.set_default_timeout(120_000)
            pg.goto(base + "/")
            ask(pg, QUESTION)  # the page's own requests (config, queue, event stream) carry the login
            first = pg.locator("#qa-results .qa-card").first
            first.wait_for()
            assert first.get_attribute("data-doc-id") == "003_73730ed10e7a2f7e"
        finally:
            browser.close()
