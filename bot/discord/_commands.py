"""Discord's side of slash commands and buttons: answer in time, through the command layer."""

from __future__ import annotations

import asyncio
import logging

import discord

from bot.commands.replies import Reply
from bot.commands.service import Invocation
from bot.discord import render
from bot.platforms import ANSWER_WITHIN
from community.events import Platform

log = logging.getLogger(__name__)


class _Commands:
    """Slash commands and buttons. A part of PulseClient (bot.discord.client)."""

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Answer slash commands and button presses through the command layer."""
        if interaction.type is discord.InteractionType.application_command:
            await self._answer(interaction, self._command(interaction), update=False)
        elif interaction.type is discord.InteractionType.component:
            custom_id = str((interaction.data or {}).get("custom_id", ""))
            if custom_id.startswith("pulse:"):
                paging = custom_id.startswith("pulse:page:")
                await self._answer(interaction, self._press(interaction, custom_id), paging)

    def _invocation(self, interaction: discord.Interaction) -> Invocation | None:
        if interaction.guild_id is None:
            return None
        return Invocation(
            Platform.DISCORD,
            str(interaction.guild_id),
            str(interaction.user.id),
            self.is_staff(interaction.user),
        )

    async def _command(self, interaction: discord.Interaction) -> Reply:
        inv = self._invocation(interaction)
        if inv is None:
            return _outside_server()
        data = interaction.data or {}
        options = {o["name"]: o.get("value") for o in data.get("options", [])}
        return await self.service.run(inv, str(data.get("name", "")), options)

    async def _press(self, interaction: discord.Interaction, custom_id: str) -> Reply:
        inv = self._invocation(interaction)
        if inv is None:
            return _outside_server()
        return await self.service.press(inv, custom_id)

    async def _answer(self, interaction: discord.Interaction, work, update: bool) -> None:
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=ANSWER_WITHIN)
        if not done:
            # Slow database: acknowledge now (Discord's 3-second rule), answer when ready.
            if update:
                await interaction.response.defer()
            else:
                await interaction.response.defer(ephemeral=True, thinking=True)
        reply = await task
        kwargs = {"embeds": render.embeds(reply)}
        panel = render.view(reply)
        if panel is not None:
            kwargs["view"] = panel
        elif update:
            kwargs["view"] = None
        file = render.attachment(reply)
        try:
            if interaction.response.is_done():
                if update:
                    await interaction.edit_original_response(**kwargs)
                else:
                    if file is not None:
                        kwargs["file"] = file
                    await interaction.followup.send(ephemeral=not reply.public, **kwargs)
            elif update:
                await interaction.response.edit_message(**kwargs)
            else:
                if file is not None:
                    kwargs["file"] = file
                await interaction.response.send_message(ephemeral=not reply.public, **kwargs)
            for more in reply.followups:
                extra = {"embeds": render.embeds(more)}
                file = render.attachment(more)
                if file is not None:
                    extra["file"] = file
                await interaction.followup.send(ephemeral=not more.public, **extra)
        except discord.HTTPException as exc:
            log.error("could not answer %s: %s", interaction.id, exc)


def _outside_server() -> Reply:
    from bot.commands.replies import error

    return error("Pulse's commands work inside a server, not in direct messages.")
