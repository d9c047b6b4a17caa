"""Bad input found by a probe sweep: each case gives one clear error naming the value and the fix
(or is read), never a traceback."""

import json

import pytest

from qa import Index, IndexCorrupt
from qa.cli.main import main
from tests.support.fake_embedder import HashEmbedder


def _edit_manifest(folder, edit):
    f = folder / "manifest.json"
    m = json.loads(f.read_text())
    edited = edit(m)  # a replacement manifest, or None when `m` was changed in place
    f.write_text(json.dumps(m if edited is None else edited))


@pytest.mark.parametrize("edit, named", [
    (lambda m: [], "holds a JSON list, not an object"),
    (lambda m: m.update(model="x"), "'model' = \"x\", not an object"),
    (lambda m: m.update(model=None), "'model' = null"),
    (lambda m: m.update(files=[]), "'files' = \\[\\]"),
    (lambda m: m["files"].update({"vectors.npy": "x"}), "file entry 'vectors.npy'"),
    (lambda m: m.update(chunking=None), "'chunking' = null"),
    (lambda m: m["chunking"].update(bogus=1), "unknown chunking keys bogus"),
    (lambda m: m.update(bm25=None), "'bm25' = null"),
    (lambda m: m.update(store="faiss"), "'store' = \"faiss\""),
    (lambda m: m.update(pending=5), "'pending' = 5"),
    (lambda m: m.update(sources="abc"), "'sources' = \"abc\", not a list"),
])
def test_load_of_a_hand_edited_manifest_raises_index_corrupt_naming_the_field(built_index, edit, named):
    _edit_manifest(built_index.folder, edit)
    with pytest.raises(IndexCorrupt, match=f"manifest.json.*{named}.*--rebuild"):
        Index.load(built_index.folder, embedder=HashEmbedder())


def test_cli_on_a_manifest_that_is_a_list_exits_2_and_index_rebuilds_it(corpus_dir, tmp_path, capsys):
    ix = tmp_path / "ix"
    assert main(["index", str(corpus_dir), "--index", str(ix), "--backend", "hash"]) == 0
    (ix / "manifest.json").write_text("[]")
    capsys.readouterr()
    assert main(["ask", "energy talks", "--index", str(ix)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not an object" in err and "Traceback" not in err
    assert main(["index", str(corpus_dir), "--index", str(ix), "--backend", "hash"]) == 0
    assert main(["ask", "energy talks", "--index", str(ix)]) == 0


@pytest.mark.parametrize("flag, value, msg", [
    ("--target-tokens", "0", "--target-tokens must be at least 1 word piece, got 0"),
    ("--target-tokens", "-5", "--target-tokens must be at least 1 word piece, got -5"),
    ("--target-tokens", "100000000", "--target-tokens 100000000 is more than the model reads: "),
    ("--overlap", "-1", "--overlap must be 0 (no sentence shared) or more sentences, got -1"),
    ("--commit-every", "nan", "--commit-every must be 0 (one commit at the end) or more seconds, got nan"),
])
def test_index_with_a_nonsense_chunking_or_step_value_exits_2_and_writes_nothing(corpus_dir, tmp_path, capsys,
                                                                                flag, value, msg):
    ix = tmp_path / "ix"
    assert main(["index", str(corpus_dir), "--index", str(ix), "--backend", "hash", flag, value]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {msg}") and err.count("\n") == 1
    assert not ix.exists()


def test_index_of_a_pipe_names_it_as_not_a_regular_file(tmp_path, capsys):
    import os

    fifo = tmp_path / "story.txt"
    os.mkfifo(fifo)
    assert main(["index", str(fifo), "--index", str(tmp_path / "ix"), "--backend", "hash"]) == 2
    err = capsys.readouterr().err
    assert "not a regular file or folder (a pipe, device or socket)" in err and "no such file" not in err


@pytest.mark.parametrize("name, text, msg", [
    ("long.jsonl", json.dumps({"id": "q1", "question": "a" * 100_000}) + "\n",
     "line 1: 'question' cannot be asked: question is 100000 characters long; the limit is 4000"),
    ("ctrl.jsonl", json.dumps({"id": "q1", "question": "\u0000\u0001"}) + "\n",
     "line 1: 'question' cannot be asked: question is empty"),
    ("blank.jsonl", json.dumps({"id": "q1", "question": "energy", "answers": [""]}) + "\n",
     "line 1: 'answers' holds only empty strings"),
    ("pipe.csv", "question,answers\nenergy,|\n", "line 2: 'answers' holds only empty strings"),
])
def test_eval_set_with_an_unaskable_question_or_blank_answers_exits_2_naming_the_line(cli_index, tmp_path,
                                                                                  capsys, name, text, msg):
    qs = tmp_path / name
    qs.write_text(text)
    assert main(["eval", str(qs), "--index", str(cli_index), "--config", "bm25"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {qs}: {msg}") and "Traceback" not in err


@pytest.mark.parametrize("argv, msg", [
    (["--report", "{tmp}"], "--report {tmp} is a folder; give a file name in it, e.g. {tmp}/report.md"),
    (["--json", "{tmp}"], "--json {tmp} is a folder; give a file name in it, e.g. {tmp}/eval.json"),
    (["--single-sample", "-1"], "--single-sample must be 0 (none timed one at a time) or more questions, got -1"),
    (["--k", "0"], "k must be at least 1, got 0"),
])
def test_eval_with_a_folder_for_an_output_or_a_negative_count_exits_2_before_running(cli_index, tmp_path,
                                                                                    capsys, argv, msg):
    qs = tmp_path / "q.jsonl"
    qs.write_text(json.dumps({"question": "energy talks", "doc_ids": ["energy"]}) + "\n")
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert main(["eval", str(qs), "--index", str(cli_index), "--config", "bm25", *argv]) == 2
    assert capsys.readouterr().err == f"error: {msg.format(tmp=tmp_path)}\n"


def test_ask_takes_k_spelt_with_two_dashes(cli_index, capsys):
    assert main(["ask", "energy talks", "--index", str(cli_index), "--k", "0"]) == 2
    assert capsys.readouterr().err == "error: k must be at least 1, got 0\n"
    assert main(["ask", "energy talks", "--index", str(cli_index), "--k", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["k"] == 2


# ---- the JSON API -------------------------------------------------------------------------------

@pytest.fixture
def api(built_index, tmp_path):
    """An httpx client on the running server (uploads on, fake embedder), once its index is ready."""
    httpx = pytest.importorskip("httpx")
    from tests.support.api_server import running, wait_ready
    from tests.test_api import _serve

    with running(_serve(built_index, tmp_path)) as base, httpx.Client(base_url=base, timeout=30) as client:
        wait_ready(client)
        yield client


def test_deeply_nested_or_non_utf8_json_bodies_are_a_400_naming_the_fix(api):
    from tests.test_api import _is_error

    headers = {"Content-Type": "application/json"}
    deep = b"[" * 100_000 + b"]" * 100_000
    _is_error(api.post("/api/v1/ask", content=deep, headers=headers), 400, "nested too deeply")
    _is_error(api.post("/api/v1/pages", content=b'{"urls": ' + deep + b"}", headers=headers), 400,
              "nested too deeply")
    _is_error(api.post("/api/v1/ask", content='{"q": "énergie"}'.encode("latin-1"), headers=headers), 400,
              "not UTF-8", "byte 0xe9 at offset 7", "send JSON encoded as UTF-8")
    assert api.get("/api/v1/health").status_code == 200  # and the server goes on


@pytest.mark.parametrize("filename, kept", [
    ("a" * 300 + ".txt", "a" * 100 + ".txt"),  # over the file system's 255-byte name limit
    ("é" * 200 + ".txt", None),  # 400 bytes of UTF-8; nothing usable in the kept name
    ("..", None),  # would name the temporary folder itself
])
def test_upload_with_an_overlong_or_dot_dot_name_is_answered_never_a_500(api, tmp_path, filename, kept):
    from tests.test_api import _is_error

    r = api.post("/api/v1/articles", files={"files": (filename, b"Harbour news\n\nShips came in at dawn.\n")})
    if kept is None:
        _is_error(r, 400, "nothing was indexed")
    else:
        assert r.status_code == 200, r.text
        assert (tmp_path / "uploads" / kept).exists()


def test_get_ask_with_an_unknown_query_parameter_is_a_400_like_an_unknown_post_field(api):
    from tests.test_api import _is_error

    _is_error(api.get("/api/v1/ask", params={"q": "energy", "kk": "3"}), 400,
              "kk: unknown query parameter", "q, k, config", "'3'")
    r = api.get("/api/v1/ask", params={"q": "energy", "k": 1, "group": "true", "config": "bm25"})
    assert r.status_code == 200 and r.json()["k"] == 1, r.text


# ---- the Python API -----------------------------------------------------------------------------

def test_build_add_and_delete_refuse_one_string_instead_of_a_list(built_index, corpus_dir, tmp_path):
    from qa import BadInput

    with pytest.raises(BadInput, match=r"paths must be a list of files or folders, got the single str '/'; pass \['/'\]"):
        Index.build("/", tmp_path / "other", embedder=HashEmbedder())  # would read the whole disk
    with pytest.raises(BadInput, match="got the single PosixPath"):
        built_index.add(corpus_dir / "energy.txt")
    before = len(built_index.articles)
    with pytest.raises(BadInput, match=r"doc_ids must be a list of article ids, got the single str 'energy'"):
        built_index.delete("energy")
    assert len(built_index.articles) == before and not (tmp_path / "other").exists()


def test_search_with_a_source_that_is_not_a_string_raises_bad_input(built_index):
    from qa import BadInput

    with pytest.raises(BadInput, match="source must be a string .*got 5"):
        built_index.search("energy talks", source=5)


def test_build_of_a_folder_without_a_supported_file_names_the_types_qa_reads(tmp_path):
    from qa import BadInput

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.bin").write_bytes(b"\x00\x01")
    with pytest.raises(BadInput, match=r"no supported files; qa reads .*\.jsonl, .*\.pdf, .*\.txt"):
        Index.build([tmp_path / "in"], tmp_path / "ix", embedder=HashEmbedder())


# ---- qa serve ------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, env, shown", [
    (["--port", "99999"], {}, "'99999'"), (["--port", "0"], {}, "'0'"), ([], {"QA_PORT": "abc"}, "'abc'"),
])
def test_serve_with_a_port_out_of_range_exits_2_naming_it(tmp_path, capsys, monkeypatch, argv, env, shown):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", "--index", str(tmp_path / "ix"), *argv]) == 2
    err = capsys.readouterr().err
    assert f"--port: must be a port number from 1 to 65535 (--port or QA_PORT), got {shown}" in err
    assert "Traceback" not in err


def test_a_bad_qa_port_breaks_no_other_command(cli_index, capsys, monkeypatch):
    monkeypatch.setenv("QA_PORT", "abc")
    assert main(["ask", "energy talks", "--index", str(cli_index), "-k", "1"]) == 0


def test_a_file_whose_name_is_not_utf8_is_skipped_with_the_fix_and_the_rest_indexed(tmp_path, capsys):
    import os

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.txt").write_text("Harbour news\n\nShips came in at dawn after the storm.\n")
    latin1 = os.path.join(os.fsencode(folder), b"caf\xe9 news.txt")  # a name from an old archive
    with open(latin1, "wb") as f:
        f.write(b"Cafe news\n\nThe cafe opened its doors on Monday morning.\n")
    ix = tmp_path / "ix"
    assert main(["index", str(folder), "--index", str(ix), "--backend", "hash", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["articles"] == 1
    (skipped,) = summary["skipped"]
    assert skipped["path"].endswith("caf\ufffd news.txt") and "not UTF-8" in skipped["reason"]
    assert "rename it" in skipped["reason"]


# ---- after the sweep: reversed date range, undecodable question, Index.load of a non-path ----

def test_since_after_until_names_the_swap():
    from qa.errors import BadInput
    from qa.storage.selection import Filter

    with pytest.raises(BadInput, match=r"since date 2021-06-12 is after the until date 2021-06-01.*since 2021-06-01, until 2021-06-12"):
        Filter.of(since="2021-06-12", until="2021-06-01")
    assert Filter.of(since="2021-06-01", until="2021-06-01").since == "2021-06-01"  # one day is fine
    # worded for every caller (CLI flags, API fields, Python arguments), not as CLI flags only
    with pytest.raises(BadInput, match=r"the until date must be an ISO date like 2021-06-11 .*--until in the CLI, until in the API.*'June 5'"):
        Filter.of(until="June 5")


def test_a_question_of_undecodable_bytes_only_is_refused_but_one_with_some_is_asked():
    from qa.errors import BadInput
    from qa.search.filters import clean_question

    raw = b"\xff\xfe\xfa".decode("utf-8", errors="replace")
    with pytest.raises(BadInput, match="undecodable bytes"):
        clean_question(raw + " " + raw)
    assert clean_question("Caf\ufffd prices?") == "Caf\ufffd prices?"


@pytest.mark.parametrize("folder", [None, 5, "", "   "])
def test_index_load_of_something_not_a_path_is_bad_input(folder):
    from qa.errors import BadInput

    with pytest.raises(BadInput, match="Index.load needs the index folder as a path"):
        Index.load(folder)
