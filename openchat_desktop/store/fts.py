"""Full-text search helpers: what a person types becomes a query that cannot be a syntax error."""

from __future__ import annotations

import html

# Snippet markers: control characters that chat text practically never holds, swapped for
# <mark> only after the snippet has been HTML-escaped.
MARK_OPEN = "\x02"
MARK_CLOSE = "\x03"


def match_expression(query: str) -> str | None:
    """Quote every word as an FTS5 phrase (all must match); a trailing * keeps prefix search."""
    terms = []
    for word in query.split():
        prefix = word.endswith("*")
        word = word.rstrip("*")
        if not any(ch.isalnum() for ch in word):
            continue  # only punctuation: the tokenizer would drop it anyway
        phrase = '"' + word.replace('"', '""') + '"'
        terms.append(phrase + "*" if prefix else phrase)
    return " ".join(terms) or None


def snippet_html(raw: str) -> str:
    """Escape an FTS5 snippet for the page, keeping only our <mark> tags as markup."""
    return html.escape(raw).replace(MARK_OPEN, "<mark>").replace(MARK_CLOSE, "</mark>")
