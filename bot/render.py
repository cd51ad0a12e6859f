"""Terminal rendering of the read side: rich tables for people, JSON for scripts."""

from __future__ import annotations

from rich.table import Table

from community.views import Candidate, MemberProfile, QuietEntry, TierRow

TREND_MARK = {"rising": "↑ rising", "steady": "→ steady", "falling": "↓ falling"}


def tier_counts_table(counts: dict[str, int], title: str = "Members per tier") -> Table:
    """Members per tier."""
    table = Table(title=title, title_justify="left")
    table.add_column("tier")
    table.add_column("members", justify="right")
    for tier in ("hero", "active", "passive"):
        table.add_row(tier, str(counts.get(tier, 0)))
    table.add_row("[bold]total[/]", f"[bold]{sum(counts.values())}[/]")
    return table


def tier_rows_table(rows: list[TierRow], title: str) -> Table:
    """Members of one tier with their reasons."""
    table = Table(title=title, title_justify="left")
    table.add_column("member")
    table.add_column("score", justify="right")
    table.add_column("why")
    for row in rows:
        table.add_row(row.member.name, f"{row.score:.0f}", row.reasons)
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
            row.member.name,
            f"{row.share_of_hero_bar:.0%}",
            TREND_MARK[row.trend.value],
            row.reasons,
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
        table.add_row(row.member.name, f"{row.context.last_seen:%Y-%m-%d}", row.summary)
    return table


def profile_table(profile: MemberProfile) -> Table:
    """One member's record."""
    table = Table(
        title=f"{profile.member.name} ({profile.member.platform_id})",
        show_header=False,
        title_justify="left",
    )
    table.add_column("field", style="bold")
    table.add_column("value")
    role = "staff" if profile.is_staff else "bot" if profile.is_bot else "member"
    table.add_row("role", role + (", recognized hero" if profile.recognized_hero else ""))
    table.add_row("tier", profile.reasons or "not classified yet")
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
    if profile.open_flag:
        table.add_row("quiet", profile.open_flag.summary)
    return table
