import json
import subprocess
import sys

import pytest

from qa.cli.main import main

from tests.conftest import ROOT


def test_index_summary_then_rerun_embeds_nothing(corpus_dir, tmp_path, capsys):
    ix = tmp_path / "ix"
    (corpus_dir / "junk.txt").write_bytes(b"\x00\x00\x01binary")
    assert main(["index", str(corpus_dir), "--index", str(ix), "--backend", "hash", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["articles"] == 3 and first["embedded"] == first["passages"] > 0
    assert first["skipped"][0]["path"].endswith("junk.txt") and "binary" in first["skipped"][0]["reason"]
    assert main(["index", str(corpus_dir), "--index", str(ix), "--backend", "hash"]) == 0
    out = capsys.readouterr().out
    assert "already up to date" in out and "embedded 0 passages" in out


def test_ask_json_contract(cli_index, capsys):
    assert main(["ask", "decarbonization consultations", "--index", str(cli_index), "-k", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["question"] == "decarbonization consultations" and out["k"] == 2
    hit = out["hits"][0]
    for key in ("rank", "score", "doc_id", "passage_id", "title", "source", "date", "char_start",
                "char_end", "text", "highlight", "scores"):
        assert key in hit
    assert hit["doc_id"] == "energy" and hit["source"] == "TASS" and hit["date"] == "2021-06-11"


def test_ask_human_output_has_citation_label(cli_index, capsys):
    assert main(["ask", "Mars probe", "--index", str(cli_index), "-k", "1"]) == 0
    out = capsys.readouterr().out
    assert "[1] Probe reaches Mars orbit" in out and "(space, chars 0\u2013" in out


@pytest.mark.parametrize("argv,msg", [
    (["ask", "   "], "question is empty"),
    (["ask", "cup", "-k", "0"], "k must be at least 1"),
    (["ask", "cup", "--since", "yesterday"], "ISO date"),
    (["ask", "cup", "--source", "Nobody"], "no article matches"),
])
def test_ask_bad_input_exits_2_with_one_line(cli_index, capsys, argv, msg):
    assert main(argv + ["--index", str(cli_index)]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_index_and_path_exit_2(tmp_path, capsys):
    assert main(["ask", "cup", "--index", str(tmp_path / "none")]) == 2
    assert "no index at" in capsys.readouterr().err
    assert main(["index", str(tmp_path / "missing"), "--index", str(tmp_path / "ix"), "--backend", "hash"]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_subprocess_error_has_no_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "qa", "ask", "", "--index", str(tmp_path)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2
    assert r.stderr.startswith("error: question is empty") and "Traceback" not in r.stderr


def test_ask_group_and_answerable_in_json(cli_index, capsys):
    assert main(["ask", "decarbonization consultations", "--index", str(cli_index), "--group", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out["answerable"], bool) and "confidence" in out and "threshold" in out
    assert all("also_reported_by" in h for h in out["hits"])


def test_ask_with_bad_reranker_path_exits_2(cli_index, capsys):
    assert main(["ask", "cup", "--index", str(cli_index), "--reranker", "/no/such/model"]) == 2
    assert "not a CrossEncoder folder" in capsys.readouterr().err


def test_version_prints_the_package_version(capsys):
    import qa

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"qa {qa.__version__}"
