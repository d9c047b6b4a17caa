"""`qa serve`: the web UI at /, the JSON API at /api/v1/ and MCP tools at /mcp on one port (as
`python app.py`)."""

from __future__ import annotations

import argparse

from qa.api import server


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the `serve` sub-command to the `qa` parser."""
    p = subparsers.add_parser("serve", help="serve the web UI, the JSON API (/api/v1/) and MCP tools (/mcp)",
                              description="Serve the web UI at /, the JSON API at /api/v1/ (docs at "
                                          "/api/v1/docs) and the MCP tools ask and article at /mcp, on one port.")
    server.add_arguments(p)
    p.set_defaults(func=cmd_serve)
    return p


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve until interrupted. Returns 0."""
    return server.serve(args)
