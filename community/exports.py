"""CSV exports: the columns of each kind, and how a cell is made safe for a spreadsheet.

The one rule for cells (every export, from the CLI and the dashboard alike): a text cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is one a spreadsheet would
run as a formula (``=HYPERLINK(...)``, ``@SUM(...)``, DDE payloads), so it gets a leading
``'``, which spreadsheets show as text and scripts can strip. Only text that came from people
(names, reasons, ids) is text here; numbers, booleans and dates are written by Pulse and are
never neutralised. Dates and moments are ISO 8601 (UTC).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from community.member_list import MemberRow

EXPORT_KINDS = ("members", "tier-changes", "outreach", "weekly")

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

HEADERS: dict[str, tuple[str, ...]] = {
    "members": (
        "member_id",
        "name",
        "platform",
        "tier",
        "score",
        "last_seen",
        "weeks_active",
        "helped_members",
        "quiet",
        "staff",
        "hero_confirmed",
    ),
    "tier-changes": ("changed_at", "member_id", "name", "from_tier", "to_tier", "score", "reasons"),
    "outreach": ("at", "member_id", "name", "action", "staff_id", "re_engaged_at"),
    "weekly": ("week_start", "passive", "active", "hero"),
}


def neutralise(text: str) -> str:
    """TEXT as a cell no spreadsheet runs as a formula (the rule in this module's docstring)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value) -> str | int | float:
    """One value as written to a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | float):
        return value
    return neutralise(str(value))


def member_cells(row: MemberRow) -> tuple:
    """A member row in the members export's columns."""
    return (
        row.platform_id,
        row.name,
        row.platform,
        row.tier,
        row.score,
        row.last_seen,
        row.weeks_active,
        row.helped_members,
        row.quiet,
        row.staff,
        row.hero_confirmed,
    )


def csv_text(rows: Iterable[Sequence]) -> str:
    """ROWS as CSV text (RFC 4180: quoted where needed, CRLF line ends), cells made safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows([cell(v) for v in row] for row in rows)
    return out.getvalue()
