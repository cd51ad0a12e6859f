"""One digest drawn for every destination at once: what the scheduler and adapters post."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.digest_render.discord_embeds import discord_embeds
from bot.digest_render.layout import CHART_FILENAME, community_doc, staff_doc
from bot.digest_render.slack_blocks import slack_blocks
from bot.digest_render.terminal import plain_text
from community.digest import CommunityDigest, StaffDigest


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    """One digest in every form an adapter may need; each one fits its platform's limits."""

    audience: str
    text: str
    discord_embeds: list[dict] = field(default_factory=list)
    slack_blocks: list[dict] = field(default_factory=list)
    chart_filename: str | None = None


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
