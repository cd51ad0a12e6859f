"""A digest laid out as neutral sections, and the list fitting every destination shares.

A section has a title, lines, and how many lines there are in all; fit_list joins as many items
as fit in a limit, then "and N more".
"""

from __future__ import annotations

from dataclasses import dataclass

from community.digest import Audience, CommunityDigest, StaffDigest
from community.outcomes import health_lines
from community.tiers import Tier

CHART_FILENAME = "pulse-weekly-active.png"
TREND_MARK = {"rising": "↑", "steady": "→", "falling": "↓"}


@dataclass(frozen=True, slots=True)
class Section:
    """A titled list. TOTAL says how many items exist when LINES holds only the first ones."""

    title: str
    lines: tuple[str, ...] = ()
    empty: str = "none this week"
    inline: bool = False  # items run on one line, comma-separated (names)
    total: int | None = None

    @property
    def count(self) -> int:
        """How many items the list has in all."""
        return max(self.total or 0, len(self.lines))


@dataclass(frozen=True, slots=True)
class DigestDoc:
    """A digest laid out for rendering."""

    audience: str
    title: str
    description: str
    sections: tuple[Section, ...]
    footer: str
    chart: bool = False


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else ("±0" if n == 0 else str(n))


def _in(channel: str | None) -> str:
    return f" in #{channel}" if channel else ""


def community_doc(digest: CommunityDigest) -> DigestDoc:
    """Lay out the community digest: welcome, thanks, heroes, where the conversation was."""
    d = digest
    description = f"{d.period.label}."
    if d.questions_answered:
        description += (
            f" Members answered {d.questions_answered} "
            f"question{'s' if d.questions_answered != 1 else ''} for each other."
        )
    sections = [
        Section(
            "Welcome to our new members",
            tuple(m.name for m in d.new_members),
            empty="no new members this week",
            inline=True,
        ),
        Section(
            "Thank you for helping",
            tuple(f"{s.member.name}: {s.summary()}" for s in d.shout_outs),
            empty="every answer counts: help someone this week!",
        ),
    ]
    if d.new_heroes:
        sections.append(
            Section("Our newest community heroes", tuple(m.name for m in d.new_heroes), inline=True)
        )
    sections.append(
        Section(
            "Busiest channels",
            tuple(
                f"#{c.name}: {c.posts} posts from {c.members} members" for c in d.busiest_channels
            ),
            empty="a quiet week",
        )
    )
    if d.busiest_threads:
        sections.append(
            Section(
                "Busiest threads",
                tuple(
                    f"{t.starter.name}'s thread{_in(t.channel)}: {t.replies} replies"
                    for t in d.busiest_threads
                ),
            )
        )
    return DigestDoc(
        audience=Audience.COMMUNITY,
        title=f"This week in {d.space_name}",
        description=description,
        sections=tuple(sections),
        footer="Pulse keeps no message text. /privacy shows what it keeps about you.",
    )


def staff_doc(digest: StaffDigest) -> DigestDoc:
    """Lay out the staff digest: movement, people to reach out to, outcomes, goals."""
    d = digest
    tiers = tuple(
        f"{tier}: {d.tiers_now.get(tier, 0)} ({_signed(d.tier_change(tier))} from last week)"
        for tier in (Tier.HERO, Tier.ACTIVE, Tier.PASSIVE)
    )
    sections = [
        Section("Members per tier", tiers),
        Section(
            "Conversions",
            tuple(f"{m.member.name}: {m.label} ({m.at:%b %d})" for m in d.conversions),
            empty="no one moved up this week",
        ),
        Section(
            "Demotions",
            tuple(f"{m.member.name}: {m.label} ({m.at:%b %d})" for m in d.demotions),
            empty="no one moved down this week",
        ),
        Section(
            "At risk of a lower tier",
            tuple(f"{r.member.name}: {r.summary}" for r in d.at_risk),
            empty="nobody is at risk",
        ),
        Section(
            "Reach out to (went quiet)",
            tuple(f"{q.member.name}: {q.summary}" for q in d.quiet),
            empty="nobody went quiet",
            total=d.quiet_total,
        ),
        Section(
            "Hero candidates",
            tuple(
                f"{c.member.name}: {c.share_of_hero_bar:.0%} of the hero bar, "
                f"{TREND_MARK[c.trend.value]} {c.trend.value}"
                for c in d.hero_candidates
            ),
            empty="no candidates yet",
        ),
        Section(
            "Unanswered questions",
            tuple(
                f"{q.member.name}{_in(q.channel)}, asked {q.asked_at:%b %d %H:%M} UTC"
                for q in d.unanswered
            ),
            empty="every question got a reply",
            total=d.unanswered_total,
        ),
    ]
    outreach = []
    if d.outreach_week is not None:
        outreach.append(f"This week: {d.outreach_week.summary()}")
    if d.outreach_quarter is not None:
        outreach.append(f"Last 90 days: {d.outreach_quarter.summary()}")
    sections.append(Section("Outreach", tuple(outreach), empty="no outreach recorded"))
    if d.health is not None:
        sections.append(Section("Help health", health_lines(d.health)))
    if d.goals:
        sections.append(Section("Goals", tuple(g.summary() for g in d.goals)))
    chart = d.weekly_active is not None
    return DigestDoc(
        audience=Audience.STAFF,
        title=f"Staff digest: {d.space_name}",
        description=f"{d.period.label}. For staff only.",
        sections=tuple(sections),
        footer="Weekly active members per tier: see the chart." if chart else "Pulse staff digest.",
        chart=chart,
    )


def fit_list(section: Section, limit: int, max_lines: int | None = None, escape=str) -> str:
    """The section's items joined, as many as fit in LIMIT characters, then 'and N more'."""
    if not section.lines:
        return escape(section.empty)[:limit]
    sep = ", " if section.inline else "\n"
    items = [escape(line) for line in section.lines]
    total = section.count
    shown: list[str] = []
    length = 0
    for i, item in enumerate(items):
        if max_lines is not None and i >= max_lines:
            break
        rest = total - i - 1
        tail = len(sep) + len(_more(rest, section.inline)) if rest else 0
        cost = (len(sep) if shown else 0) + len(item)
        if length + cost + tail > limit:
            break
        shown.append(item)
        length += cost
    if not shown:
        # Not even one item fits whole: cut the first one so the list still says something.
        room = limit - len(_more(total - 1, section.inline)) - len(sep) - 1
        if room < 1:
            return _more(total, section.inline).strip()[:limit]
        shown = [items[0][:room] + "…"]
    rest = total - len(shown)
    text = sep.join(shown)
    if rest:
        text += sep + _more(rest, section.inline)
    return text


def _more(n: int, inline: bool) -> str:
    return f"and {n} more" if inline else f"… and {n} more"


def clip(text: str, limit: int) -> str:
    """TEXT cut to LIMIT characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
