"""The `qa` command (`qa index | ask | eval | serve`, also `python -m qa`): builds the parser from the
sub-command modules, runs the chosen one and turns errors into exit codes.

Bad input prints one line on stderr and exits with code 2.
"""

from __future__ import annotations

import argparse
import sys

from qa import __version__
from qa.cli import ask_cmd, eval_cmd, index_cmd, serve_cmd
from qa.cli.common import EXIT_BAD_INPUT
from qa.errors import QAError

COMMANDS = (index_cmd, ask_cmd, eval_cmd, serve_cmd)  # each adds its sub-command with add_parser(subparsers)


def build_parser() -> argparse.ArgumentParser:
    """The `qa` parser: --version and one sub-command per module in COMMANDS."""
    p = argparse.ArgumentParser(prog="qa", description="Cited passage retrieval over news articles.")
    p.add_argument("--version", action="version", version=f"qa {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run `qa` with `argv` (default sys.argv[1:]).

    Returns:
        The exit code: 0 on success (and for --help/--version), 2 for bad input (argparse's usage
        errors and every `QAError`, printed as one line on stderr), 130 when interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse already printed a one-line usage error (or help/version)
        return EXIT_BAD_INPUT if e.code not in (0, None) else 0
    try:
        return args.func(args)
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
