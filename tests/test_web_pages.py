"""Web pages by URL: fetched from a local HTTP server on 127.0.0.1, extracted, cited by their
final URL, every failure reported per URL (qa.ingest.web, `qa index URL`, `--urls FILE`)."""

from __future__ import annotations

import json
import socket
import time

import pytest

from qa.cli.main import main
from qa.errors import BadInput
from qa.ingest import web
from qa.ingest.reader import ingest
from tests.support.web_site import NO_SITE, closed_port, site  # noqa: F401 (site is a fixture)


def problems(report) -> dict[str, str]:
    return dict(report.problems)


# ---- ingest([urls]) ---------------------------------------------------------------------------

def test_ingest_url_extracts_title_date_site_body_and_cites_the_url(site):
    report = ingest([f"{site}/article"])
    assert report.problems == [] and report.pages_read == 1 and report.files_read == 0
    (art,) = report.articles
    assert art.title == "Probe reaches Mars orbit" and art.date == "2021-06-11"
    assert art.source == "Space Daily" and art.url == f"{site}/article"
    assert "twenty-seven minutes" in art.body and "Home" not in art.body and "Copyright" not in art.body
    assert art.doc_id == web.url_doc_id(f"{site}/article") and art.doc_id.startswith("127.0.0.1-")


def test_ingest_url_without_a_site_name_uses_the_host_as_source(site):
    (art,) = ingest([f"{site}/no-site"]).articles
    assert art.source == "127.0.0.1" and art.title == "Penguins march inland"


def test_redirect_is_followed_and_the_final_url_is_cited_with_a_stable_id(site):
    (art,) = ingest([f"{site}/redirect/article"]).articles
    assert art.url == f"{site}/article"  # the page's address after the redirect
    assert art.doc_id == web.url_doc_id(f"{site}/redirect/article")  # from what was asked for


def test_doc_id_comes_from_the_normalised_url_not_fetch_order(site):
    a = ingest([f"{site}/article", f"{site}/no-site"]).articles
    b = ingest([f"{site}/no-site", f"{site.upper().replace('HTTP', 'http')}/article#top"]).articles
    assert {x.doc_id for x in a} == {x.doc_id for x in b} and len({x.doc_id for x in a}) == 2
    assert web.url_doc_id("HTTP://WWW.Example.com:80") == web.url_doc_id("http://www.example.com/")
    assert web.url_doc_id("https://example.com/a?x=1") != web.url_doc_id("https://example.com/a?x=2")
    assert web.url_doc_id("https://www.example.com/a").startswith("example.com-")


def test_cyrillic_page_decoded_with_the_charset_the_server_names(site):
    (art,) = ingest([f"{site}/cp1251"]).articles
    assert art.title == "Зонд вышел на орбиту Марса"


@pytest.mark.parametrize("path, reason", [
    ("/missing", "HTTP 404 Not Found: no page at this address"),
    ("/broken", "HTTP 500 Internal Server Error: the site failed"),
    ("/report.pdf", "not an HTML page: the server sent application/pdf"),
    ("/photo", "not an HTML page: the server sent image/png"),
    ("/menu", "no main text found in the HTML page (a page built by JavaScript"),
    ("/to-ftp", "redirected to a ftp: URL"),
])
def test_failing_url_is_reported_with_its_reason_and_the_run_goes_on(site, path, reason):
    report = ingest([f"{site}{path}", f"{site}/article"])
    assert [a.title for a in report.articles] == ["Probe reaches Mars orbit"]
    assert reason in problems(report)[f"{site}{path}"]


@pytest.mark.parametrize("path", ["/big", "/big-stream"])
def test_page_over_the_size_cap_is_refused(site, monkeypatch, path):
    monkeypatch.setattr(web, "MAX_PAGE_BYTES", 4096)
    report = ingest([f"{site}{path}"])
    assert report.articles == [] and "page too large" in problems(report)[f"{site}{path}"]


def test_slow_page_times_out_with_the_timeout_named(site, monkeypatch):
    monkeypatch.setattr(web, "FETCH_TIMEOUT", 0.3)
    t0 = time.perf_counter()
    report = ingest([f"{site}/slow", f"{site}/article"])
    assert time.perf_counter() - t0 < 1.8  # did not wait for the 2 s page
    assert "timed out after 0.3 s" in problems(report)[f"{site}/slow"]
    assert len(report.articles) == 1


def test_refused_connection_is_reported(site):
    url = f"http://127.0.0.1:{closed_port()}/article"
    report = ingest([url, f"{site}/article"])
    assert "connection refused" in problems(report)[url] and len(report.articles) == 1


@pytest.mark.parametrize("error, reason", [
    (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "host not found (DNS"),
    (OSError(101, "Network is unreachable"), "cannot connect (Network is unreachable); are you offline?"),
])
def test_unknown_host_or_no_network_is_named(monkeypatch, error, reason):
    def no_network(*args, **kwargs):
        raise error

    monkeypatch.setattr(socket, "getaddrinfo", no_network)  # no real lookup leaves the machine
    report = ingest(["https://no-such-host.invalid/page"])
    assert reason in problems(report)["https://no-such-host.invalid/page"]


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/article.html", "file:///etc/passwd",
                                 "javascript:alert(1)", "mailto:desk@example.com"])
def test_other_schemes_are_refused_with_a_message(url, site):
    report = ingest([url])
    assert report.articles == [] and "only http:// and https://" in problems(report)[url]
    assert site.requests == []


def test_urls_and_paths_mix_and_the_user_agent_names_qa(site, corpus_dir):
    report = ingest([corpus_dir, f"{site}/article"])
    assert report.files_read == 3 and report.pages_read == 1 and len(report.articles) == 4
    assert site.requests[0][1].startswith("qa/")


def test_loopback_is_fetched_directly_even_with_a_proxy_set(site, monkeypatch):
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed_port()}")  # a proxy that is down
    assert len(ingest([f"{site}/article"]).articles) == 1


def test_other_hosts_use_the_environments_proxy(monkeypatch):
    import urllib.request

    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    handlers = [h for h in web._opener("news.example.com").handlers
                if isinstance(h, urllib.request.ProxyHandler)]
    assert handlers and handlers[0].proxies.get("https") == "http://proxy.example:3128"


def test_saved_page_keeps_its_url_when_read_back_as_a_file(site, tmp_path):
    page = web.fetch_page(f"{site}/no-site")
    f = tmp_path / f"{web.url_doc_id(page.requested)}.html"
    f.write_text(web.saved_page(page), encoding="utf-8")
    (fetched,) = ingest([page.requested]).articles
    (read,) = ingest([f]).articles
    assert read.url == fetched.url == f"{site}/no-site" and read.source == "127.0.0.1"
    assert (read.doc_id, read.content_hash) == (fetched.doc_id, fetched.content_hash)


def test_only_an_http_saved_from_comment_gives_a_file_its_url():
    assert web.saved_page_url("<!-- saved from url=(0023)https://example.com/a -->\n<html>") == \
        "https://example.com/a"
    assert web.saved_page_url("<!-- saved from url=(0014)about:internet -->\n<html>") == ""
    assert web.saved_page_url("<html><!-- saved from url=(0023)https://example.com/a -->") == ""


def test_url_list_skips_comments_and_blank_lines_and_names_a_bad_line():
    text = "# pages for the desk\n\nhttps://a.example/1\n  http://b.example/2  \n"
    assert web.read_url_list(text) == ["https://a.example/1", "http://b.example/2"]
    with pytest.raises(BadInput, match=r"urls.txt:2: 'b.example/2' is not a URL"):
        web.read_url_list("https://a.example/1\nb.example/2\n", "urls.txt")
    with pytest.raises(BadInput, match="no URLs"):
        web.read_url_list("# nothing\n\n", "urls.txt")


# ---- the CLI ----------------------------------------------------------------------------------

def test_qa_index_url_then_again_embeds_nothing(site, tmp_path, capsys):
    ix = str(tmp_path / "ix")
    argv = ["index", f"{site}/article", f"{site}/missing", "--index", ix, "--backend", "hash", "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["pages"] == 1 and first["articles"] == 1 and first["embedded"] > 0
    assert first["skipped"] == [{"path": f"{site}/missing",
                                 "reason": "HTTP 404 Not Found: no page at this address; check the URL"}]
    assert main(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["embedded"] == 0 and again["up_to_date"]
    assert main(["ask", "engine burn minutes", "--index", ix, "--json"]) == 0
    hit = json.loads(capsys.readouterr().out)["hits"][0]
    assert hit["url"] == f"{site}/article" and hit["source"] == "Space Daily"


def test_qa_index_urls_file_with_changed_page_reembeds_only_that_article(site, tmp_path, capsys):
    urls = tmp_path / "urls.txt"
    urls.write_text(f"# desk reading list\n{site}/article\n\n{site}/no-site\n", encoding="utf-8")
    ix = str(tmp_path / "ix")
    argv = ["index", "--urls", str(urls), "--index", ix, "--backend", "hash", "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["articles"] == 2 and first["pages"] == 2 and first["files"] == 0
    site.pages["/no-site"] = (200, "text/html", NO_SITE.replace("walked inland", "swam ashore"))
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["changed"] == 1 and second["added"] == 0 and second["removed"] == 0
    assert 0 < second["embedded"] < first["embedded"]


def test_qa_index_human_summary_counts_files_and_web_pages(site, corpus_dir, tmp_path, capsys):
    assert main(["index", str(corpus_dir), f"{site}/article", "--index", str(tmp_path / "ix"),
                 "--backend", "hash"]) == 0
    out = capsys.readouterr().out
    assert "4 articles" in out and "passages from 3 files and 1 web pages" in out


def test_qa_index_urls_file_missing_or_bad_exits_2(tmp_path, capsys):
    assert main(["index", "--urls", str(tmp_path / "nope.txt"), "--index", str(tmp_path / "ix")]) == 2
    assert "cannot read the URL list" in capsys.readouterr().err
    bad = tmp_path / "urls.txt"
    bad.write_text("www.example.com/page\n", encoding="utf-8")
    assert main(["index", "--urls", str(bad), "--index", str(tmp_path / "ix")]) == 2
    assert "urls.txt:1: 'www.example.com/page' is not a URL" in capsys.readouterr().err


def test_qa_index_only_failing_urls_exits_2_naming_them(site, tmp_path, capsys):
    assert main(["index", f"{site}/missing", "--index", str(tmp_path / "ix"), "--backend", "hash"]) == 2
    assert "HTTP 404" in capsys.readouterr().err


def test_qa_index_with_no_path_fetches_the_recorded_pages_again(site, tmp_path, capsys):
    ix = str(tmp_path / "ix")
    assert main(["index", f"{site}/article", "--index", ix, "--backend", "hash", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["sources"] == [f"{site}/article"]
    site.pages["/article"] = (200, "text/html", site.pages["/article"][2].replace("engine", "motor"))
    assert main(["index", "--index", ix, "--backend", "hash", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["sources"] == [f"{site}/article"] and again["pages"] == 1
    assert again["changed"] == 1 and again["articles"] == 1


# ---- a server reachable from other machines fetches public pages only ---------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.1.2.3", "192.168.0.7", "172.16.5.4",
                                  "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fd00::1"])
def test_internal_addresses_are_recognised(host):
    assert web.internal_address(host) is not None


@pytest.mark.parametrize("host", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_are_not_internal(host):
    assert web.internal_address(host) is None


def test_public_only_fetch_refuses_an_internal_host_before_connecting(site):
    with pytest.raises(BadInput, match=r"the page's host 127\.0\.0\.1 resolves to 127\.0\.0\.1.*--internal-pages"):
        web.fetch_page(f"{site}/article", public_only=True)
    assert site.requests == []
    assert web.fetch_page(f"{site}/article").html  # the same page for a local user's own fetch


def test_public_only_fetch_refuses_a_redirect_to_an_internal_host(site, monkeypatch):
    # the first host passes as public; the redirect's target (the same test server) does not
    answers = iter([None, "10.0.0.5"])
    monkeypatch.setattr(web, "internal_address", lambda host: next(answers))
    with pytest.raises(BadInput, match=r"redirected to 127\.0\.0\.1 resolves to 10\.0\.0\.5"):
        web.fetch_page(f"{site}/redirect/article", public_only=True)
