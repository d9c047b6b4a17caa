"""The JSON HTTP API (/api/v1: routes, errors, access, docs page) and the one server that
carries it beside the web UI (`server`: `qa serve`, `python app.py`)."""
