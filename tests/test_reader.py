"""qa's reading model (qa/models/reader): shipped weights checked by sha256, what it reads, and
the reading stage of the hybrid-read configuration."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from qa.errors import ModelCorrupt
from qa.hashing import sha256_file
from qa.search.reader import MODEL_DIR, Reader, encode_pairs, load_tokenizer, pair_text
from qa.search.rerank import FEATURES, ReaderReranker, get_reranker

# Question/passage sets written for this test (not from any training or evaluation set): the
# answering passage first, then passages on the same topic that do not answer.
SETS = [
    ("Who won the regional election in Saxony?",
     [("Saxony votes", "The Christian Democrats won the regional election in Saxony with 31 percent "
       "of the vote, ahead of the far right, the electoral commission said on Monday."),
      ("Saxony votes", "Turnout in Saxony was higher than at the last election, and polling stations "
       "stayed open late in Dresden and Leipzig because of long queues."),
      ("Saxony votes", "The campaign in Saxony was dominated by debates on energy prices, migration "
       "and the future of the coal mines in Lusatia.")]),
    ("How many people were evacuated because of the flood?",
     [("River floods town", "About 4,000 people were evacuated from their homes as the river burst its "
       "banks on Tuesday night, the fire service said."),
      ("River floods town", "The river has flooded the old town three times in the past century, most "
       "recently in 2002, when the water reached the cathedral steps."),
      ("River floods town", "Forecasters expect more rain over the mountains this week, and the "
       "authorities have asked residents to stay away from the embankments.")]),
    ("When will the new bridge open to traffic?",
     [("Bridge works", "Engineers finished testing the steel deck, and the city said the new bridge "
       "will open to traffic in March next year after a final inspection."),
      ("Bridge works", "The old bridge, built in 1931, was closed after inspectors found cracks in its "
       "piers and corrosion in the cables."),
      ("Bridge works", "Local shops have complained that the works cut them off from customers on the "
       "other bank of the river for two years.")]),
    # leaders/presidents: a paraphrase the first (2-layer, 128-wide) reader missed; the MiniLM-based one reads it
    ("Where did the leaders of the two countries meet?",
     [("Summit", "The two presidents met in Geneva on Wednesday for their first face-to-face talks, "
       "officials from both delegations said."),
      ("Summit", "Relations between the two countries have been strained by sanctions, the expulsion "
       "of diplomats and a dispute over cyber attacks."),
      ("Summit", "Analysts said neither side expected a breakthrough, but both wanted to restore "
       "channels of communication between their militaries.")]),
    ("What did the central bank do with interest rates?",
     [("Central bank decision", "The central bank raised its key interest rate by half a percentage "
       "point to 4.5 percent, its fourth increase this year, to fight inflation."),
      ("Central bank decision", "Inflation reached 9 percent in the spring, driven by energy and food "
       "prices, and wages have not kept pace with it."),
      ("Central bank decision", "The bank's governor will testify before parliament next month about "
       "the bank's forecasts and its independence.")]),
]


def test_shipped_reader_files_match_their_recorded_sha256():
    meta = json.loads((MODEL_DIR / "reader.json").read_text())
    for name, digest in meta["files"].items():
        assert sha256_file(MODEL_DIR / name) == digest, name
    names = meta["combination"]["features"]
    assert len(meta["combination"]["weights"]) == len(names) and {"reader", "reader_span"} <= set(names)
    assert set(names) <= set(FEATURES) | {"features", "reader", "reader_span"}
    assert (MODEL_DIR / "model.onnx").stat().st_size <= 25 * 1024 * 1024


def test_damaged_reader_weights_are_refused_at_load(tmp_path):
    folder = tmp_path / "reader"
    shutil.copytree(MODEL_DIR, folder)
    data = bytearray((folder / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelCorrupt, match="sha256"):
        Reader(folder).score("q?", [("t", "some text")])


def test_reader_loads_lazily():
    r = Reader(MODEL_DIR)
    assert not r.loaded
    r.score("Who won?", [("t", "The Greens won.")])
    assert r.loaded


def test_pair_text_puts_the_title_before_the_passage_and_says_where_it_starts():
    text, at = pair_text("  Bridge   works ", "The deck is done.")
    assert text == "Bridge works | The deck is done." and text[at:] == "The deck is done."
    assert pair_text("", "Body.") == ("Body.", 0)


def test_encode_pairs_truncates_only_the_passage():
    tok = load_tokenizer(MODEL_DIR / "tokenizer.json", max_tokens=32)
    enc = encode_pairs(tok, ["who won the cup?", "why?"], ["word " * 200, "short passage"])
    assert enc.input_ids.shape == (2, 32)
    assert enc.attention_mask[1].sum() < 32 and enc.attention_mask[0].sum() == 32
    first = enc.encodings[0]
    assert first.sequence_ids.count(0) == len(tok.encode("who won the cup?").ids) - 2


def test_a_very_long_question_is_clipped_not_an_error():
    rank, span = Reader(MODEL_DIR).score("why " * 1000 + "?", [("t", "A passage."), ("u", "Another one.")])
    assert rank.shape == (2,) and np.isfinite(rank).all() and np.isfinite(span).all()
    tok = load_tokenizer(MODEL_DIR / "tokenizer.json", max_tokens=32)
    enc = encode_pairs(tok, ["why " * 1000], ["a passage of a few words"])
    assert enc.input_ids.shape == (1, 32) and 1 in enc.encodings[0].sequence_ids


@pytest.mark.parametrize("question,passages", SETS, ids=[s.values[0] if hasattr(s, "values") else s[0] for s in SETS])
def test_shipped_reader_puts_the_answering_passage_first(question, passages):
    rank, span = Reader(MODEL_DIR).score(question, passages)
    spec = json.loads((MODEL_DIR / "reader.json").read_text())["combination"]
    w = dict(zip(spec["features"], spec["weights"]))
    reading = w["reader"] * rank + w["reader_span"] * span  # the reading part of the learned combination
    assert int(np.argmax(reading)) == 0, (rank, span)


def test_hybrid_read_reads_with_the_reader_and_hits_carry_its_scores(built_index):
    hits = built_index.search("Who won the cup final?", k=3, config="hybrid-read")
    assert hits[0].doc_id == "football"
    assert {"reader", "reader_span", "rerank"} <= set(hits[0].scores)
    assert hits[0].score == pytest.approx(hits[0].scores["rerank"])
    default = built_index.search("Who won the cup final?", k=3)  # the default reads too
    assert [(h.passage.passage_id, h.score) for h in default] == [(h.passage.passage_id, h.score) for h in hits]
    plain = built_index.search("Who won the cup final?", k=3, config="hybrid-rerank")  # features alone
    assert "reader" not in plain[0].scores and "rerank" in plain[0].scores


def test_qa_config_sets_the_default_configuration(built_index, monkeypatch):
    from qa.errors import BadInput
    from qa.settings import Settings

    assert Settings().config == "hybrid-read"
    monkeypatch.setenv("QA_CONFIG", "hybrid-rerank")
    assert Settings().config == "hybrid-rerank"
    built_index.settings = Settings()
    hits = built_index.search("Who won the cup final?", k=2)
    assert hits and "reader" not in hits[0].scores
    monkeypatch.setenv("QA_CONFIG", "hybrid-reed")
    built_index.settings = Settings()
    with pytest.raises(BadInput, match="'hybrid-reed' \\(QA_CONFIG\\).*hybrid-rerank"):
        built_index.search("Who won the cup final?", k=2)


def test_reader_reranker_reads_only_its_depth_and_puts_unread_rows_below(built_index):
    snap = built_index.snapshot
    rows = np.arange(len(snap.passages))
    q = "When did the probe reach Mars orbit?"
    qv = built_index.embedder.embed_batch([q])[0]
    got = ReaderReranker(read_depth=2).rerank(snap, q, qv, rows)
    read = np.isfinite(got.parts["reader"])
    assert read.sum() == 2 and np.isfinite(got.parts["reader_span"]).sum() == 2
    assert got.scores[read].min() > got.scores[~read].max()


def test_reader_is_a_registered_reranker_and_hybrid_read_uses_it():
    from qa.search.pipeline import PIPELINES

    assert isinstance(get_reranker("reader"), ReaderReranker)
    assert PIPELINES.get("hybrid-read").reranker == "reader"
    assert PIPELINES.get("hybrid-rerank").reranker == "features"


def test_reader_combination_of_the_wrong_length_is_refused(tmp_path):
    from qa.errors import BadInput

    folder = tmp_path / "reader"
    shutil.copytree(MODEL_DIR, folder)
    meta = json.loads((folder / "reader.json").read_text())
    meta["combination"]["weights"] = meta["combination"]["weights"][:-1]
    (folder / "reader.json").write_text(json.dumps(meta))
    with pytest.raises(BadInput, match="retrain"):
        ReaderReranker(folder=str(folder)).combination()
    other = tmp_path / "other"
    shutil.copytree(MODEL_DIR, other)
    meta["combination"] = {"features": ["reader", "nonsense"], "weights": [1.0, 1.0]}
    (other / "reader.json").write_text(json.dumps(meta))
    with pytest.raises(BadInput, match="nonsense"):
        ReaderReranker(folder=str(other)).combination()


def test_reader_reads_english_questions_and_leaves_other_scripts_to_the_features():
    from qa.search.reader import reads

    assert reads("Who won the cup final?") and reads("Кто is Putin?")
    assert not reads("Что предложила Россия по декарбонизации?") and not reads("2021?")


@pytest.mark.parametrize("text", ["Who won the cup final?", "who won the cup final",
                                  "In what year did the probe reach Mars", "Did the probe reach Mars",
                                  "Name the team that won the final.", "the final was won by whom?",
                                  "According to whom was the final fair", "what's the score",
                                  "didn\u2019t the Greens win", "isn't the final on Saturday"])
def test_questions_are_read(text):
    from qa.search.reader import is_question, reads

    assert is_question(text) and reads(text)


@pytest.mark.parametrize("text", ["u.s. policy toward the new regime in south viet nam.",
                                  "A deficiency of vitamin B12 increases blood levels of homocysteine.",
                                  "Super Bowl 2021 location", "alternatives which have been offered",
                                  "", "   ", "2021", "kennedy's visit to berlin"])
def test_topics_claims_and_keywords_are_left_to_the_features(text):
    from qa.search.reader import is_question, reads

    assert not is_question(text) and not reads(text)


def test_a_topic_query_is_ranked_by_the_features_alone_in_hybrid_read(built_index):
    topic = built_index.search("the cup final and who won it", k=2, config="hybrid-read")
    plain = built_index.search("the cup final and who won it", k=2, config="hybrid-rerank")
    assert topic and all("reader" not in h.scores for h in topic)
    assert [(h.passage.passage_id, h.score) for h in topic] == [(h.passage.passage_id, h.score) for h in plain]
    asked = built_index.search("Who won the cup final?", k=2, config="hybrid-read")
    assert "reader" in asked[0].scores


def test_a_russian_question_is_ranked_by_the_features_alone(built_index):
    hits = built_index.search("Что предложила Россия?", k=2, config="hybrid-read")
    assert hits and all("reader" not in h.scores for h in hits)


def _warm_up(service):
    service.start_warmup()
    service._warm.join(timeout=60)
    return service.status()


def test_the_server_warm_up_loads_the_default_reader(built_index, tmp_path, monkeypatch):
    import qa.search.reader as reader_mod
    from qa.search.reader import shared_reader
    from qa.ui.service import Service

    folder = tmp_path / "reader"
    shutil.copytree(MODEL_DIR, folder)
    monkeypatch.setattr(reader_mod, "MODEL_DIR", folder)
    assert not shared_reader(folder).loaded
    status = _warm_up(Service(built_index.folder, index=built_index, upload_dir=tmp_path / "up"))
    assert status.startswith("Ready") and shared_reader(folder).loaded


def test_the_server_warm_up_reports_a_damaged_reader(built_index, tmp_path, monkeypatch):
    import qa.search.reader as reader_mod
    from qa.ui.service import Service

    folder = tmp_path / "damaged"
    shutil.copytree(MODEL_DIR, folder)
    (folder / "tokenizer.json").write_text("{}")
    monkeypatch.setattr(reader_mod, "MODEL_DIR", folder)
    status = _warm_up(Service(built_index.folder, index=built_index, upload_dir=tmp_path / "up"))
    assert status.startswith("Reading model damaged") and "sha256" in status and "QA_CONFIG=hybrid-rerank" in status


def test_no_reader_is_loaded_when_the_default_does_not_read(built_index, tmp_path, monkeypatch):
    import qa.search.reader as reader_mod
    from qa.search.reader import shared_reader
    from qa.settings import Settings
    from qa.ui.service import Service

    folder = tmp_path / "reader"
    shutil.copytree(MODEL_DIR, folder)
    monkeypatch.setattr(reader_mod, "MODEL_DIR", folder)
    monkeypatch.setenv("QA_CONFIG", "hybrid-rerank")
    built_index.settings = Settings()
    assert _warm_up(Service(built_index.folder, index=built_index, upload_dir=tmp_path / "up")).startswith("Ready")
    assert not shared_reader(folder).loaded


class _Encoding:
    def __init__(self, type_ids, offsets):
        self.type_ids, self.offsets = type_ids, offsets


def test_best_answer_stays_in_the_passage_and_within_the_longest_span():
    from qa.search.reader import best_answer

    enc = _Encoding([0, 0, 0, 1, 1, 1, 1, 1], [(0, 0), (0, 3), (0, 0), (0, 3), (4, 9), (10, 12), (13, 20), (0, 0)])
    start = np.array([9, 9, 0, 1, 5, 0, 0, 0], np.float32)  # the question's tokens score highest
    end = np.array([9, 0, 0, 0, 0, 1, 4, 0], np.float32)
    assert best_answer(start, end, enc) == (4, 20)  # tokens 4..6 of the passage
    assert best_answer(start, end, enc, max_tokens=2) == (4, 12)  # at most 2 word pieces
    assert best_answer(start, end, _Encoding([0] * 8, enc.offsets)) is None


def test_shipped_reader_points_at_the_answer_words():
    passages = [("Football", "The Greens won the cup final 2-1 on Saturday. The coach praised the defence."),
                ("Space", "The probe entered orbit around Mars after a journey of seven months.")]
    _, _, answers = Reader(MODEL_DIR).read("Who won the cup final?", passages)
    assert passages[0][1][slice(*answers[0])] == "The Greens"
    _, _, answers = Reader(MODEL_DIR).read("How long was the journey to Mars?", passages)
    assert passages[1][1][slice(*answers[1])] == "seven months"


def test_hits_read_by_the_reader_carry_its_answer_inside_the_highlight(built_index):
    hits = built_index.search("Who won the cup final?", k=2)
    top = hits[0]
    assert top.answer is not None and top.highlight is not None
    assert top.highlight[0] <= top.answer[0] < top.answer[1] <= top.highlight[1]
    d = top.to_dict()
    body = top.passage.text
    assert d["answer"]["text"] == body[top.answer[0] - top.passage.char_start:top.answer[1] - top.passage.char_start]
    assert "won" not in d["answer"]["text"] and d["answer"]["text"]
    assert "answer_start" not in d["scores"] and "reader" in d["scores"]
    plain = built_index.search("Who won the cup final?", k=2, config="hybrid-rerank")
    assert plain[0].answer is None and "answer" not in plain[0].to_dict()


def test_a_model_without_token_outputs_gives_no_answers():
    from qa.search.reader import score_pairs

    class Out:
        def __init__(self, name):
            self.name = name

    class OldSession:  # the first readers' graphs: rank and span only
        def get_outputs(self):
            return [Out("rank"), Out("span")]

        def run(self, names, feed):
            assert names == ["rank", "span"]
            n = len(feed["input_ids"])
            return [np.ones((n, 1), np.float32), np.zeros((n, 1), np.float32)]

    tok = load_tokenizer(MODEL_DIR / "tokenizer.json")
    found = []
    rank, span = score_pairs(OldSession(), tok, "Who?", ["a b", "c d"], answers=found)
    assert found == [None, None] and rank.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("group", [False, True])
def test_every_answer_lies_inside_its_hits_highlight_and_passage(built_index, group):
    questions = ["Who won the cup final?", "How long did the engine burn last?", "What did Russia propose?",
                 "When did the probe reach Mars orbit?"]
    seen = 0
    for hits in built_index.search_batch(questions, k=3, group=group):
        for h in hits:
            if h.answer is None:
                continue
            seen += 1
            p = h.passage
            assert p.char_start <= h.answer[0] < h.answer[1] <= p.char_end
            assert h.highlight[0] <= h.answer[0] < h.answer[1] <= h.highlight[1]
            assert h.to_dict()["answer"]["text"] == p.text[h.answer[0] - p.char_start:h.answer[1] - p.char_start]
    assert seen >= len(questions)
    no_highlight = built_index.search("Who won the cup final?", k=1, highlight=False)[0]
    assert no_highlight.highlight is None and no_highlight.answer is not None


def test_answer_span_skips_unread_rows_and_answers_outside_the_part_shown():
    from qa.search.pipeline import Candidates, answer_span
    from qa.types import Passage

    full = Passage("d:0-40", "d", "x" * 40, 100, 140)
    parts = {"answer_start": np.array([5.0, np.nan], np.float32), "answer_end": np.array([9.0, np.nan], np.float32)}
    cand = Candidates(np.array([0, 1]), np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2), parts)
    assert answer_span(cand, 0, full, full) == (105, 109)
    assert answer_span(cand, 1, full, full) is None  # not read
    shown = Passage("d:120-140", "d", "x" * 20, 120, 140)  # distinct evidence cut the first 20 off
    assert answer_span(cand, 0, full, shown) is None
    assert answer_span(Candidates(np.array([0]), np.zeros(1), np.zeros(1), np.zeros(1)), 0, full, full) is None
