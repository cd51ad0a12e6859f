"""Posting the weekly digests to Discord channels for the scheduler."""

from __future__ import annotations

import asyncio
import io

import discord

from bot.digest_render.rendered import RenderedDigest
from bot.scheduler import DigestSkipped, audience_channel
from bot.settings import DiscordSettings
from community.digest import SpaceRef
from community.events import Platform

READY_WAIT = 60.0  # a digest due at start waits this long for the gateway to come up


class DiscordPoster:
    """The scheduler's DigestPoster for Discord; run_discord sets the live client."""

    def __init__(self, settings: DiscordSettings) -> None:
        self.settings = settings
        self.client: discord.Client | None = None

    async def post_digest(
        self, space: SpaceRef, audience: str, rendered: RenderedDigest, chart_png: bytes | None
    ) -> str | None:
        """Post RENDERED to the staff or community channel the config names for this guild."""
        if space.platform != Platform.DISCORD.value:
            raise DigestSkipped(f"{space.platform} spaces are not posted to Discord")
        channel_id = audience_channel(self.settings, "discord", audience)
        client = self.client
        if client is None:
            raise RuntimeError("Discord is not connected")
        await asyncio.wait_for(client.wait_until_ready(), READY_WAIT)
        channel = client.get_channel(int(channel_id)) or await client.fetch_channel(int(channel_id))
        if getattr(getattr(channel, "guild", None), "id", None) != int(space.platform_id):
            raise DigestSkipped(f"channel {channel_id} is not in {space.name or space.platform_id}")
        kwargs: dict = {
            "embeds": [discord.Embed.from_dict(e) for e in rendered.discord_embeds[:10]]
        }
        if chart_png and rendered.chart_filename:
            kwargs["file"] = discord.File(io.BytesIO(chart_png), filename=rendered.chart_filename)
        message = await channel.send(**kwargs)
        return f"#{channel.name} ({message.id})"
