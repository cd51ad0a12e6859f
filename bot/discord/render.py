"""Replies from the command layer drawn as Discord embeds with buttons, within Discord's limits."""

from __future__ import annotations

import io
from dataclasses import replace

import discord

from bot.commands.replies import Reply, Style, Tone
from bot.digest_render.discord_embeds import discord_escape

# Discord's limits: 25 fields, 256 a field name, 1,024 a field value, 4,096 a description,
# 6,000 in all; 5 rows of 5 buttons, labels of 80 characters.
MAX_FIELDS = 25
_COLOURS = {Tone.INFO: 0x5865F2, Tone.SUCCESS: 0x57F287, Tone.ERROR: 0xED4245}
_STYLES = {
    Style.PRIMARY: discord.ButtonStyle.primary,
    Style.SECONDARY: discord.ButtonStyle.secondary,
    Style.DANGER: discord.ButtonStyle.danger,
}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def embed(reply: Reply) -> discord.Embed:
    """The embed for a reply."""
    # Descriptions and fields render markdown and mentions: names in them are escaped.
    card = discord.Embed(
        title=_cut(discord_escape(reply.title), 256),  # a member's name, in a profile
        description=_cut(discord_escape(reply.text), 4096) or None,
        colour=_COLOURS[reply.tone],
    )
    rows = [*reply.fields, *((e.heading, e.text) for e in reply.entries)]
    for name, value in rows[:MAX_FIELDS]:
        card.add_field(
            name=_cut(discord_escape(name), 256),
            value=_cut(discord_escape(value or "-"), 1024),
            inline=False,
        )
    if reply.footer:
        card.set_footer(text=_cut(reply.footer, 2048))
    while len(card) > 6000 and card.fields:
        card.remove_field(-1)  # a lower entry goes before the message is refused
    return card


def embeds(reply: Reply) -> list[discord.Embed]:
    """The embeds for a reply: its own laid-out ones (digests, already within limits) or one."""
    if reply.discord_embeds:
        return [discord.Embed.from_dict(data) for data in reply.discord_embeds[:10]]
    return [embed(reply)]


def view(reply: Reply) -> discord.ui.View | None:
    """Buttons for a reply: a row per entry, then the reply's own (paging, delete)."""
    # Each entry's buttons carry its heading, so a row of "Dismiss" says whom it dismisses.
    rows = [
        tuple(replace(b, label=f"{b.label}: {entry.heading}") for b in entry.buttons)
        for entry in reply.entries
        if entry.buttons
    ][:4]
    if reply.buttons:
        rows.append(reply.buttons)
    if not rows:
        return None
    panel = discord.ui.View(timeout=None)
    for row_number, row in enumerate(rows[:5]):
        for button in row[:5]:
            panel.add_item(
                discord.ui.Button(
                    label=_cut(button.label, 80),
                    custom_id=button.action_id[:100],
                    style=_STYLES[button.style],
                    row=row_number,
                )
            )
    # Presses are handled statelessly by their custom ids, not by this object, so stop it: a
    # stopped view is not kept in memory and the buttons keep working after a restart.
    panel.stop()
    return panel


def attachment(reply: Reply) -> discord.File | None:
    """A file the reply carries, such as a chart."""
    if reply.attachment is None:
        return None
    name, content = reply.attachment
    return discord.File(io.BytesIO(content), filename=name)
