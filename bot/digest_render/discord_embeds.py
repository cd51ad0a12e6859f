"""A laid-out digest drawn as a Discord embed, within Discord's embed limits."""

from __future__ import annotations

import re

from bot.digest_render.layout import CHART_FILENAME, DigestDoc, clip, fit_list
from community.digest import Audience

# Discord: https://discord.com/developers/docs/resources/message#embed-object-embed-limits
EMBED_TOTAL = 6000
EMBED_FIELDS = 25
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER = 2048

COMMUNITY_COLOR = 0x5865F2
STAFF_COLOR = 0x2B2D31


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
    title = clip(doc.title, EMBED_TITLE)
    description = clip(doc.description, EMBED_DESCRIPTION)
    footer = clip(doc.footer, EMBED_FOOTER)
    sections = list(doc.sections[:EMBED_FIELDS])
    names = [clip(s.title, EMBED_FIELD_NAME) for s in sections]
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
