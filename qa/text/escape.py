"""Text made safe for where it is written: a spreadsheet cell (CSV) and a line of Markdown.

Article text, questions and ids are untrusted: a CSV cell starting like a formula would run in a
spreadsheet, and HTML in a Markdown line would run in renderers that pass HTML through. Shared
by the evaluation reports and the exports of answers.
"""

from __future__ import annotations

import html


def csv_cell(value):
    """A CSV value a spreadsheet shows as text: a string starting like a formula (= + - @, tab,
    carriage return) gets a leading apostrophe; numbers stay numbers."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def md_cell(text: str) -> str:
    """Text for one line of Markdown: one line, HTML escaped (a question or passage holding
    <script> is shown, not run, by renderers that pass HTML through), pipes escaped."""
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")


def md_code(text: str) -> str:
    """An id as a Markdown code span (backticks inside it become apostrophes)."""
    return "`" + " ".join(str(text).split()).replace("`", "'") + "`"
