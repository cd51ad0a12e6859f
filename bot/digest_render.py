"""The digests rendered for people: Discord embeds, Slack Block Kit, plain text and rich.

A digest is first laid out as neutral sections (title, lines, how many lines there are in all);
each renderer then fits the sections into its platform's limits, cutting long lists with
"and N more" rather than letting a post fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from community.digest import Audience, CommunityDigest, StaffDigest
from community.tiers import Tier

CHART_FILENAME = "pulse-weekly-active.png"

# Discord: https://discord.com/developers/docs/resources/message#embed-object-embed-limits
EMBED_TOTAL = 6000
EMBED_FIELDS = 25
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER = 2048
# Slack: https://api.slack.com/reference/block-kit/blocks
SLACK_BLOCKS = 50
SLACK_TEXT = 3000
SLACK_HEADER = 150
# The terminal shows this many lines of a list before "and N more".
TEXT_LINES = 25

COMMUNITY_COLOR = 0x5865F2
STAFF_COLOR = 0x2B2D31
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


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    """One digest in every form an adapter may need; each one fits its platform's limits."""

    audience: str
    text: str
    discord_embeds: list[dict] = field(default_factory=list)
    slack_blocks: list[dict] = field(default_factory=list)
    chart_filename: str | None = None


# --- layout --------------------------------------------------------------------------------


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


# --- fitting lists into limits ---------------------------------------------------------------


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


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- Discord ---------------------------------------------------------------------------------


# What reads as a mention in Discord: @everyone, @here, <@id>, <@!id>, <@&role>, <#channel>.
_DISCORD_MENTION = re.compile(r"@(everyone|here)|<(@[!&]?|#)(\d+)>")
# Direction overrides, embeddings and isolates: one a name leaves open reverses or reorders the
# rest of the line it is shown in (other names, figures), so names lose them. The bidi
# algorithm still lays out right-to-left scripts without them.
_BIDI_CONTROL = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def discord_escape(text: str) -> str:
    """Escape Discord markdown and mentions so a member's name cannot format, ping or reorder.

    Mentions are suppressed on every post anyway (allowed_mentions); a zero-width space after
    the "@" or "<" also stops "@everyone" reading as a ping.
    """
    text = _BIDI_CONTROL.sub("", text)
    text = _DISCORD_MENTION.sub(lambda m: m.group(0)[0] + "\u200b" + m.group(0)[1:], text)
    for char in ("\\", "*", "_", "~", "`", "|", ">", "#", "[", "]", "(", ")"):
        text = text.replace(char, "\\" + char)
    return text


def discord_embeds(doc: DigestDoc) -> list[dict]:
    """One embed within Discord's limits (6,000 characters, 25 fields, 1,024 per value)."""
    title = _clip(doc.title, EMBED_TITLE)
    description = _clip(doc.description, EMBED_DESCRIPTION)
    footer = _clip(doc.footer, EMBED_FOOTER)
    sections = list(doc.sections[:EMBED_FIELDS])
    names = [_clip(s.title, EMBED_FIELD_NAME) for s in sections]
    budget = EMBED_TOTAL - len(title) - len(description) - len(footer) - sum(map(len, names))
    wanted = [len(fit_list(s, EMBED_FIELD_VALUE, escape=discord_escape)) for s in sections]
    caps = _share(wanted, budget)
    fields = [
        {
            "name": name,
            "value": fit_list(section, cap, escape=discord_escape) or "-",
            "inline": False,
        }
        for name, section, cap in zip(names, sections, caps, strict=True)
    ]
    embed = {
        "title": title,
        "description": description,
        "color": COMMUNITY_COLOR if doc.audience == Audience.COMMUNITY else STAFF_COLOR,
        "fields": fields,
        "footer": {"text": footer},
    }
    if doc.chart:
        embed["image"] = {"url": f"attachment://{CHART_FILENAME}"}
    return [embed]


def _share(wanted: list[int], budget: int) -> list[int]:
    """Split BUDGET characters among lists wanting WANTED: small ones whole, big ones equally."""
    caps = [0] * len(wanted)
    left = max(budget, 0)
    order = sorted(range(len(wanted)), key=lambda i: wanted[i])
    for n, i in enumerate(order):
        fair = left // (len(order) - n)
        caps[i] = max(min(wanted[i], fair), 1)
        left -= caps[i]
    return caps


def embed_length(embed: dict) -> int:
    """The characters Discord counts toward an embed's 6,000 limit."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len(embed.get("footer", {}).get("text", ""))
    total += len(embed.get("author", {}).get("name", ""))
    for f in embed.get("fields", []):
        total += len(f["name"]) + len(f["value"])
    return total


# --- Slack -----------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control (mentions, links)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_blocks(doc: DigestDoc) -> list[dict]:
    """Block Kit blocks within Slack's limits (50 blocks, 3,000 characters per text)."""
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(doc.title, SLACK_HEADER)}},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": _clip(slack_escape(doc.description), SLACK_TEXT)}
            ],
        },
    ]
    footer = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": _clip(slack_escape(doc.footer), SLACK_TEXT)}],
    }
    room = SLACK_BLOCKS - len(blocks) - 1
    sections = list(doc.sections)
    if len(sections) > room:
        sections = sections[:room]
        footer["elements"].insert(0, {"type": "mrkdwn", "text": "More in `/digest preview`."})
    for section in sections:
        blocks.append(_rich_section(section))
    blocks.append(footer)
    return blocks


def _rich_section(section: Section) -> dict:
    """A titled list as a rich_text block: its text is shown as written, never parsed as mrkdwn.

    Slack's mrkdwn has no escape for * _ ~ and backticks, so names that must not format (or
    link, or mention) go in rich_text, whose styles are explicit.
    """
    title = _clip(section.title, SLACK_HEADER)
    body = fit_list(section, SLACK_TEXT - len(title) - 1)
    return {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "text", "text": title + "\n", "style": {"bold": True}},
                    {"type": "text", "text": body},
                ],
            }
        ],
    }


def slack_block_text(block: dict) -> str:
    """The text a Block Kit block shows (tests and the plain-text fallback read it)."""
    if block.get("type") == "rich_text":
        return "".join(
            element.get("text", "")
            for part in block["elements"]
            for element in part.get("elements", [])
        )
    if "text" in block:
        return block["text"]["text"]
    return " ".join(element.get("text", "") for element in block.get("elements", []))


# --- terminal ----------------------------------------------------------------------------------


def plain_text(doc: DigestDoc, max_lines: int = TEXT_LINES) -> str:
    """The digest as plain text (the CLI preview, logs, Slack's notification fallback)."""
    out = [doc.title, doc.description, ""]
    for section in doc.sections:
        out.append(section.title)
        body = fit_list(section, 100_000, max_lines=max_lines)
        out.extend(f"  {line}" for line in body.splitlines())
        out.append("")
    out.append(doc.footer)
    return "\n".join(out)


def rich_digest(doc: DigestDoc, max_lines: int = TEXT_LINES):
    """The digest as a rich panel for the terminal (names shown literally, never as markup)."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    from bot.render import shown

    parts = [shown(doc.description, "dim"), Text("")]
    for section in doc.sections:
        parts.append(shown(section.title, "bold"))
        body = fit_list(section, 100_000, max_lines=max_lines)
        parts.append(shown("\n".join(f"  {line}" for line in body.splitlines()), multiline=True))
    parts.append(Text(""))
    parts.append(shown(doc.footer, "dim"))
    style = "cyan" if doc.audience == Audience.COMMUNITY else "magenta"
    return Panel(Group(*parts), title=shown(doc.title, "bold"), border_style=style)


def render(digest: CommunityDigest | StaffDigest) -> RenderedDigest:
    """Every rendering of one digest."""
    doc = community_doc(digest) if isinstance(digest, CommunityDigest) else staff_doc(digest)
    return RenderedDigest(
        audience=doc.audience,
        text=plain_text(doc),
        discord_embeds=discord_embeds(doc),
        slack_blocks=slack_blocks(doc),
        chart_filename=CHART_FILENAME if doc.chart else None,
    )
