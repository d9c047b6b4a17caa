"""Legacy and Unicode encodings decode to the original text (issue 16, item 5).

Detectors need text to work on, so each case is a paragraph of a real-looking article, as a user's
file would hold, and the check is exact equality with the original.
"""

import pytest

from qa.errors import BadInput
from qa.ingest.decode import decode_bytes
from qa.ingest.reader import ingest

RU = ("МОСКВА, 11 июня. /ТАСС/. Россия предложила партнерам по БРИКС наладить сотрудничество в области "
      "декарбонизации экономики. Об этом заявил в пятницу вице-премьер правительства на пленарной сессии "
      "Петербургского международного экономического форума. По его словам, страны объединения могли бы "
      "совместно разработать общие подходы к учету выбросов парниковых газов и к оценке климатических "
      "проектов. «Мы готовы делиться технологиями и опытом, чтобы переход к низкоуглеродной экономике был "
      "справедливым и не тормозил развитие», — отметил он.\n\nРанее министерство экономического развития "
      "сообщило, что в России будет создана национальная система торговли углеродными единицами.")
# KOI8-R has no guillemets or em dash: text saved in it uses ASCII quotes and hyphens
RU_KOI8 = RU.replace("«", '"').replace("»", '"').replace("—", "-")
CS = ("Česká vláda schválila ve středu nový plán na snížení emisí skleníkových plynů. Podle ministra "
      "životního prostředí má země do roku 2030 snížit emise o více než polovinu oproti roku 1990. Plán "
      "počítá s rychlejším útlumem uhelných elektráren, podporou obnovitelných zdrojů a úsporami energie "
      "v budovách. Ekologické organizace však upozorňují, že opatření nejsou dostatečně ambiciózní a že "
      "chybí jasné financování.")
PL = ("Rząd przyjął w środę projekt ustawy o transformacji energetycznej. Według ministra klimatu Polska "
      "zamierza do 2040 roku zmniejszyć udział węgla w produkcji energii elektrycznej poniżej jednej "
      "trzeciej. Źródła odnawialne i energetyka jądrowa mają zastąpić stare elektrownie węglowe. Związki "
      "zawodowe górników zapowiedziały protesty, a samorządy na Śląsku żądają funduszy na przekwalifikowanie.")
FR = ("Le président a annoncé mercredi une réforme de l'éducation. Les élèves étudieront davantage les "
      "sciences, et les enseignants recevront une prime à partir de la rentrée.")


@pytest.mark.parametrize("text,encoding", [
    (RU, "cp1251"), (RU_KOI8, "koi8-r"), (RU, "utf-8"), (RU, "utf-8-sig"),
    (RU, "utf-16"), (RU, "utf-16-le"), (RU, "utf-16-be"),  # "utf-16" writes a BOM, -le/-be none
    (CS, "iso-8859-2"), (PL, "iso-8859-2"), (CS, "cp1250"), (PL, "cp1250"), (FR, "cp1252"),
])
def test_paragraph_of_news_decodes_to_the_original(text, encoding):
    assert decode_bytes(text.encode(encoding)) == text


def test_czech_latin2_is_not_read_as_windows_1250():
    # both decode without error; Windows-1250 would turn "ž" into "ľ" and "š" into "ą"
    out = decode_bytes(CS.encode("iso-8859-2"))
    assert "snížení" in out and "však" in out and "ľ" not in out


def test_russian_windows_1251_file_is_indexed_without_mojibake(tmp_path):
    f = tmp_path / "tass.txt"
    f.write_bytes(("Россия предложила сотрудничество в декарбонизации\n\n" + RU).encode("cp1251"))
    report = ingest([f])
    assert report.problems == []
    art, = report.articles
    assert art.title == "Россия предложила сотрудничество в декарбонизации"
    assert "декарбонизации экономики" in art.body and "Ð" not in art.body


def test_utf16_without_bom_of_binary_shaped_data_is_still_refused():
    # NULs on one side but the other side is control bytes: not text
    with pytest.raises(BadInput, match="binary"):
        decode_bytes(bytes([1, 0, 2, 0, 3, 0, 4, 0]) * 200)


def test_invalid_bom_text_is_refused_not_guessed():
    with pytest.raises(BadInput, match="not valid utf-8"):
        decode_bytes(b"\xef\xbb\xbf" + "текст".encode("cp1251"))
