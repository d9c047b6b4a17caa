"""Exposure under control (issue 15, item 6): read-only servers, a warning beyond loopback."""

from __future__ import annotations

import pytest

from qa.errors import BadInput


def _api_names(demo) -> set[str]:
    return {fn.api_name for fn in demo.fns.values() if fn.api_name}


def test_read_only_demo_has_no_write_or_evaluate_endpoints(built_index, tmp_path):
    from qa.ui.app import build_demo

    full = _api_names(build_demo(str(built_index.folder), index=built_index, upload_dir=str(tmp_path / "u")))
    ro = _api_names(build_demo(str(built_index.folder), index=built_index, upload_dir=str(tmp_path / "u"),
                               read_only=True))
    assert {"upload", "delete", "evaluate"} <= full
    assert not {"upload", "delete", "evaluate"} & ro and {"ask", "article", "library"} <= ro


def test_read_only_service_refuses_every_write(built_index, tmp_path):
    from qa.ui.service import Service

    f = tmp_path / "a.txt"
    f.write_text("Title\n\nBody text here.\n")
    service = Service(built_index.folder, index=built_index, upload_dir=tmp_path / "up", read_only=True)
    for call in (lambda: service.save_uploads([f]), lambda: service.add([f]),
                 lambda: service.delete(["energy"])):
        with pytest.raises(BadInput, match="read-only"):
            call()
    assert "energy" in built_index.articles and not (tmp_path / "up").exists()


@pytest.mark.parametrize("host, auth, warned", [("127.0.0.1", None, False), ("localhost", None, False),
                                                ("0.0.0.0", None, True), ("0.0.0.0", "u:p", False),
                                                ("192.0.2.7", None, True)])
def test_listening_beyond_loopback_without_auth_warns(host, auth, warned):
    from qa.ui.app import exposure_warning

    msg = exposure_warning(host, auth, read_only=False)
    assert (msg is not None) == warned
    if warned:
        assert host in msg and "--auth" in msg and "--read-only" in msg


def test_ui_evaluation_bounds_questions_times_k_and_keeps_few_result_folders(built_index, tmp_path, monkeypatch):
    import json
    import tempfile

    from qa.ui import evaluate_tab

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    qs = tmp_path / "q.jsonl"
    qs.write_text("\n".join(json.dumps({"question": f"cup final {i}", "answers": ["cup"]})
                            for i in range(300)) + "\n")
    with pytest.raises(BadInput, match="at most 200 here"):
        evaluate_tab.run_evaluation(built_index, qs, ["bm25"], k=500)
    with pytest.raises(BadInput, match="passages to rank; the limit here is 50,000"):
        evaluate_tab.run_evaluation(built_index, qs, ["bm25", "dense"], k=100)
    small = tmp_path / "small.jsonl"
    small.write_text(json.dumps({"question": "cup final", "answers": ["cup"]}) + "\n")
    for _ in range(5):
        evaluate_tab.run_evaluation(built_index, small, ["bm25"], k=5)
    assert len(list(tmp_path.glob("qa-eval-*"))) == evaluate_tab.KEEP_RUNS
