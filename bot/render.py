"""Terminal rendering of the read side: rich tables for people, JSON for scripts."""

from __future__ import annotations

import re

from rich.table import Table
from rich.text import Text

from community.views import AtRiskRow, Candidate, MemberProfile, QuietEntry, TierRow

TREND_MARK = {"rising": "↑ rising", "steady": "→ steady", "falling": "↓ falling"}
# Control characters (ESC, NUL, line breaks...) and bidirectional overrides: in a name or a file
# name they could move the cursor, recolour the terminal, break a table or reorder what is shown.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_BUT_NEWLINE = re.compile(
    r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def shown(value: object, style: str = "", *, multiline: bool = False) -> Text:
    """VALUE as terminal text shown literally: never read as markup, control characters blanked."""
    pattern = _CONTROL_BUT_NEWLINE if multiline else _CONTROL
    return Text(pattern.sub(" ", str(value)), style=style)


def tier_counts_table(counts: dict[str, int], title: str = "Members per tier") -> Table:
    """Members per tier."""
    table = Table(title=title, title_justify="left")
    table.add_column("tier")
    table.add_column("members", justify="right")
    for tier in ("hero", "active", "passive"):
        table.add_row(tier, str(counts.get(tier, 0)))
    table.add_row(shown("total", "bold"), shown(sum(counts.values()), "bold"))
    return table


def tier_rows_table(rows: list[TierRow], title: str) -> Table:
    """Members of one tier with their reasons."""
    table = Table(title=title, title_justify="left")
    table.add_column("member")
    table.add_column("score", justify="right")
    table.add_column("why")
    for row in rows:
        table.add_row(shown(row.member.name), f"{row.score:.0f}", shown(row.reasons))
    return table


def at_risk_table(rows: list[AtRiskRow], title: str) -> Table:
    """Members whose next evaluations would demote them, with what they miss and from when."""
    table = Table(title=title, title_justify="left")
    table.add_column("member", no_wrap=True)
    table.add_column("tier", no_wrap=True)
    table.add_column("earliest", no_wrap=True)
    table.add_column("missing")
    for row in rows:
        table.add_row(
            shown(row.member.name),
            f"{row.tier} → {row.falls_to}",
            f"{row.earliest:%Y-%m-%d}",
            shown("; ".join(row.missing)),
        )
    return table


def candidates_table(rows: list[Candidate], title: str) -> Table:
    """Hero candidates or rising actives."""
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("member", no_wrap=True)
    table.add_column("of hero bar", justify="right")
    table.add_column("trend", no_wrap=True)
    table.add_column("why (tier: figures over the window)")
    for rank, row in enumerate(rows, 1):
        table.add_row(
            str(rank),
            shown(row.member.name),
            f"{row.share_of_hero_bar:.0%}",
            TREND_MARK[row.trend.value],
            shown(row.reasons),
        )
    return table


def quiet_table(
    rows: list[QuietEntry], title: str = "Quiet members: reach out, help first"
) -> Table:
    """Quiet members with the context for a helpful message."""
    table = Table(title=title, title_justify="left")
    table.add_column("member", no_wrap=True)
    table.add_column("last seen", no_wrap=True)
    table.add_column("why they are on this list")
    for row in rows:
        table.add_row(
            shown(row.member.name), f"{row.context.last_seen:%Y-%m-%d}", shown(row.summary)
        )
    return table


def profile_table(profile: MemberProfile) -> Table:
    """One member's record."""
    table = Table(
        title=shown(f"{profile.member.name} ({profile.member.platform_id})"),
        show_header=False,
        title_justify="left",
    )
    table.add_column("field", style="bold")
    table.add_column("value")
    role = "staff" if profile.is_staff else "bot" if profile.is_bot else "member"
    table.add_row("role", role + (", recognized hero" if profile.recognized_hero else ""))
    table.add_row("tier", shown(profile.reasons or "not classified yet"))
    if profile.at_risk:
        table.add_row("at risk", shown(profile.at_risk.summary))
    table.add_row("joined", f"{profile.joined_at:%Y-%m-%d}" if profile.joined_at else "unknown")
    if profile.left_at:
        table.add_row("left", f"{profile.left_at:%Y-%m-%d}")
    if profile.away_until:
        table.add_row("away until", f"{profile.away_until:%Y-%m-%d}")
    table.add_row(
        "last active", f"{profile.last_active:%Y-%m-%d}" if profile.last_active else "never"
    )
    for when, old, new in profile.tier_history:
        table.add_row("tier change", f"{when:%Y-%m-%d}: {old or 'new'} → {new}")
    for when, kind, action, reason in profile.role_history:
        table.add_row("role change", shown(f"{when:%Y-%m-%d}: {kind} role {action} ({reason})"))
    if profile.open_flag:
        table.add_row("quiet", shown(profile.open_flag.summary))
    return table
