"""RSS 2.0 and Atom feed files: one article per item (issue 16, item 3)."""

import pytest

from qa.ingest.feeds import FEED_EXTS
from qa.ingest.reader import ingest

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>TASS English</title>
  <link>https://tass.com</link>
  <description>News</description>
  <item>
    <title>Russia proposes energy talks</title>
    <link>https://tass.com/economy/1</link>
    <guid isPermaLink="false">tass-1001</guid>
    <pubDate>Fri, 11 Jun 2021 01:30:00 +0300</pubDate>
    <author>desk@tass.com (Ivan Petrov)</author>
    <description><![CDATA[<p>MOSCOW, June 11. Russia proposed consultations on the <b>decarbonization</b>
      of the economy.</p><p>The envoy said this at a briefing &amp; took questions.</p>
      <script>alert(1)</script><p>A cooperation<br/>mechanism will be created.</p>]]></description>
  </item>
  <item>
    <title>Penguins counted by drones</title>
    <link>https://tass.com/science/2</link>
    <pubDate>Sat, 12 Jun 2021 10:00:00 GMT</pubDate>
    <dc:creator>Anna Ivanova</dc:creator>
    <description>Scientists counted penguins at the station with drones.</description>
  </item>
  <item>
    <title>Link only</title>
    <link>https://tass.com/3</link>
  </item>
</channel>
</rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Climate Wire</title>
  <id>urn:uuid:feed</id>
  <updated>2021-06-12T09:30:00Z</updated>
  <entry>
    <title>Carbon market plan</title>
    <id>urn:uuid:1111</id>
    <link href="https://wire.example/carbon"/>
    <updated>2021-06-12T08:00:00Z</updated>
    <published>2021-06-10T23:30:00-05:00</published>
    <author><name>Jo Smith</name></author>
    <summary>Short summary only.</summary>
    <content type="html">&lt;p&gt;The carbon market plan was published.&lt;/p&gt;&lt;p&gt;Trading starts next year.&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>Updated only</title>
    <id>urn:uuid:2222</id>
    <updated>2021-06-09T12:00:00Z</updated>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>An entry with an XHTML body.</p></div></content>
  </entry>
</feed>
"""


def _by_title(report):
    return {a.title: a for a in report.articles}


def test_rss_items_become_articles_with_metadata(tmp_path):
    f = tmp_path / "tass.rss"
    f.write_text(RSS, encoding="utf-8")
    report = ingest([f])
    arts = _by_title(report)
    assert set(arts) == {"Russia proposes energy talks", "Penguins counted by drones"}
    a = arts["Russia proposes energy talks"]
    assert (a.url, a.source, a.byline) == ("https://tass.com/economy/1", "TASS English", "Ivan Petrov")
    assert a.date == "2021-06-11"  # the publisher's day (01:30 Moscow time), not the UTC one
    assert a.body.split("\n\n") == [
        "MOSCOW, June 11. Russia proposed consultations on the decarbonization of the economy.",
        "The envoy said this at a briefing & took questions.", "A cooperation", "mechanism will be created."]
    assert "alert" not in a.body and "<" not in a.body
    b = arts["Penguins counted by drones"]
    assert (b.byline, b.date, b.body) == ("Anna Ivanova", "2021-06-12", "Scientists counted penguins at the station with drones.")
    # the item without text is reported by its position
    assert report.problems == [(f"{f}:item 3", "the item has no text (no content, summary or description)")]


def test_atom_entries_use_content_over_summary_and_published_over_updated(tmp_path):
    f = tmp_path / "wire.atom"
    f.write_text(ATOM, encoding="utf-8")
    report = ingest([f])
    assert report.problems == []
    arts = _by_title(report)
    a = arts["Carbon market plan"]
    assert a.body == "The carbon market plan was published.\n\nTrading starts next year."
    assert (a.date, a.source, a.byline, a.url) == ("2021-06-10", "Climate Wire", "Jo Smith", "https://wire.example/carbon")
    b = arts["Updated only"]
    assert (b.date, b.body, b.url) == ("2021-06-09", "An entry with an XHTML body.", "")


def test_item_ids_come_from_guid_or_link_and_survive_a_changed_feed(tmp_path):
    f = tmp_path / "tass.rss"
    f.write_text(RSS, encoding="utf-8")
    first = {a.title: a.doc_id for a in ingest([f]).articles}
    assert all(i.startswith("tass-") for i in first.values()) and len(set(first.values())) == 2
    # a new item on top moves every position; the ids stay
    newer = RSS.replace("<item>", "<item><title>Breaking</title><guid>tass-2000</guid>"
                                  "<description>New text here.</description></item>\n  <item>", 1)
    f.write_text(newer, encoding="utf-8")
    again = {a.title: a.doc_id for a in ingest([f]).articles}
    assert {k: again[k] for k in first} == first and again["Breaking"] not in first.values()


def test_item_without_guid_or_link_gets_an_id_from_its_text(tmp_path):
    rss = RSS.replace("<link>https://tass.com/science/2</link>", "")
    f = tmp_path / "f.rss"
    f.write_text(rss, encoding="utf-8")
    ids = [a.doc_id for a in ingest([f]).articles]
    f.write_text(rss.replace("<item>", "<item><title>X</title><guid>x</guid><description>New.</description></item><item>", 1))
    assert set(ids) <= {a.doc_id for a in ingest([f]).articles}


def test_xml_file_that_is_a_feed_is_read_and_one_that_is_not_is_reported(tmp_path):
    (tmp_path / "feed.xml").write_text(ATOM, encoding="utf-8")
    (tmp_path / "sitemap.xml").write_text('<?xml version="1.0"?><urlset><url><loc>https://x</loc></url></urlset>')
    report = ingest([tmp_path])
    assert len(report.articles) == 2
    (where, why), = report.problems
    assert where.endswith("sitemap.xml")
    assert why.startswith("not an RSS or Atom feed (root element <urlset>)")


@pytest.mark.parametrize("text,reason", [
    ("<rss version='2.0'><channel><title>Empty</title></channel></rss>", "the feed has no items"),
    ("just some words, no XML", "not an RSS or Atom feed"),
    ("<html><body><p>A web page.</p></body></html>", "not an RSS or Atom feed (root element <html>)"),
])
def test_feed_files_without_items_are_reported(tmp_path, text, reason):
    f = tmp_path / "bad.rss"
    f.write_text(text)
    report = ingest([f])
    assert report.articles == []
    (where, why), = report.problems
    assert where == str(f) and why.startswith(reason)


def test_feed_broken_after_some_items_keeps_them_and_says_so(tmp_path):
    f = tmp_path / "cut.rss"
    f.write_text(RSS[: RSS.index("<item>", RSS.index("Penguins") - 200) + 40], encoding="utf-8")
    report = ingest([f])
    assert [a.title for a in report.articles] == ["Russia proposes energy talks"]
    assert any(where == str(f) and "not well-formed" in why for where, why in report.problems)


def test_feed_in_a_legacy_encoding_is_decoded_by_its_declaration(tmp_path):
    rss = ('<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel><title>ТАСС</title>'
           '<item><title>Россия предложила сотрудничество</title><guid>r1</guid>'
           '<description>Россия предложила партнерам сотрудничество в области декарбонизации.</description>'
           '</item></channel></rss>')
    f = tmp_path / "ru.rss"
    f.write_bytes(rss.encode("cp1251"))
    art, = ingest([f]).articles
    assert (art.source, art.title) == ("ТАСС", "Россия предложила сотрудничество")


def test_feed_extensions_are_supported():
    assert FEED_EXTS == {".rss", ".atom", ".xml"}


def test_a_feed_with_a_nul_in_its_encoding_declaration_is_reported_not_a_traceback(tmp_path):
    # found by test_mangled_pdf_docx_and_feeds_never_crash: feedparser raised ValueError here
    from qa.ingest.reader import ingest

    f = tmp_path / "broken.rss"
    f.write_bytes(b'<?xml version="1.0" encoding="ut\x00f-8"?><rss version="2.0"><channel><title>T</title>'
                  b"<item><title>A</title><description>Body text here.</description></item></channel></rss>")
    report = ingest([f])
    assert report.articles == [] and report.problems
    assert report.problems[0][0] == str(f) and "feed" in report.problems[0][1]
