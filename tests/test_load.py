"""A short version of bench/load_test.py: concurrent clients on loopback, zero errors."""

import os
import sys

import pytest

from tests.conftest import ROOT

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
sys.path.insert(0, str(ROOT / "bench"))


@pytest.mark.slow
def test_concurrent_ask_clients_get_answers_without_errors(built_index, tmp_path):
    import app
    from load_test import free_port, run_load

    demo = app.build_demo(str(built_index.folder), index=built_index, upload_dir=str(tmp_path / "up"))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        result = run_load(f"http://127.0.0.1:{port}/", clients=4, seconds=4, max_requests=200)
    finally:
        demo.close()
    assert result["errors"] == 0, result["error_samples"]
    assert result["requests"] >= 4
