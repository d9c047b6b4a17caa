"""The whole server (web UI + JSON API, `qa.api.server.build_server`) run by uvicorn in a thread
on a free loopback port, for tests that talk to it with a real HTTP client."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(app, timeout: float = 30.0):
    """Serve `app` on 127.0.0.1 until the block ends; yields the base URL (no trailing slash)."""
    import uvicorn

    from qa.api.server import uvicorn_config

    port = free_port()
    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, name="qa-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


def wait_ready(client, timeout: float = 30.0) -> dict:
    """Poll /api/v1/health until the index and model are loaded; returns its body."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.get("/api/v1/health")
        if r.status_code == 200 or time.monotonic() > deadline:
            return r.json()
        time.sleep(0.05)
