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
