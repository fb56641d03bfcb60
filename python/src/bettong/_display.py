"""Plain-text and HTML tables for the SDK's objects (``__repr__`` and Jupyter's ``_repr_html_``)."""
from __future__ import annotations

import html
from typing import Any, Iterable, Mapping, Sequence

_CSS = "text-align:left;vertical-align:top;font-family:monospace"


def text(value: Any) -> str:
    """One cell as text."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(text(v) for v in value) if value else "-"
    return str(value)


def kv_text(title: str, fields: Mapping[str, Any]) -> str:
    """A title line, then one aligned ``key  value`` line per field."""
    width = max((len(k) for k in fields), default=0)
    lines = [title] + [f"  {k.ljust(width)}  {text(v)}" for k, v in fields.items()]
    return "\n".join(lines)


def kv_html(title: str, fields: Mapping[str, Any]) -> str:
    """A two-column HTML table with a caption."""
    rows = "".join(
        f'<tr><th style="{_CSS}">{html.escape(k)}</th><td style="{_CSS}">{html.escape(text(v))}</td></tr>'
        for k, v in fields.items()
    )
    return f'<table><caption style="text-align:left"><b>{html.escape(title)}</b></caption>{rows}</table>'


def table_text(title: str, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """A title line, then an aligned plain-text table."""
    cells = [[text(r.get(c)) for c in columns] for r in rows]
    if not cells:
        return f"{title}: none"
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]

    def fmt(vals: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()

    return "\n".join([title, fmt(list(columns)), fmt(["-" * w for w in widths])] + [fmt(r) for r in cells])


def table_html(title: str, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """An HTML table with a caption and a header row."""
    head = "".join(f'<th style="{_CSS}">{html.escape(c)}</th>' for c in columns)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CSS}">{html.escape(text(r.get(c)))}</td>' for c in columns) + "</tr>"
        for r in rows
    )
    if not body:
        body = f'<tr><td colspan="{len(columns)}" style="{_CSS}">none</td></tr>'
    return f'<table><caption style="text-align:left"><b>{html.escape(title)}</b></caption><tr>{head}</tr>{body}</table>'


def short_sha(sha: str | None) -> str | None:
    """The first 12 hex digits of a sha256, enough to tell versions apart in a table."""
    return None if sha is None else sha[:12]
