"""The web UI's entry: `python app.py [--index DIR] [--host H] [--port P] [--auth USER:PASS]`.

The page itself is `qa.ui.app` (layout and wiring) over `qa.ui.service` (the shared index).
"""

from qa.ui.app import build_demo, main

__all__ = ["build_demo", "main"]

if __name__ == "__main__":
    main()
