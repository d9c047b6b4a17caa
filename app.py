"""The web UI's entry: `python app.py [--index DIR] [--host H] [--port P] [--auth USER:PASS] ...`,
the same server as `qa serve` (the UI at /, the JSON API at /api/v1/; `qa.api.server`).

The page itself is `qa.ui.app` (layout and wiring) over `qa.ui.service` (the shared index).
"""

from qa.api.server import main
from qa.ui.app import build_demo

__all__ = ["build_demo", "main"]

if __name__ == "__main__":
    main()
