"""The Discord client's gateway listeners: events become ActivityEvents on the writer's queue."""

from __future__ import annotations

import discord

from bot.discord import mapping


class _Listeners:
    """Gateway events that log what members do. A part of PulseClient (bot.discord.client)."""

    def _message_event(self, message: discord.Message):
        return mapping.message_event(
            message,
            help_channels=self.help_channels,
            bot_user_id=self.user.id,
            threads=self.threads,
            roots=self.roots,
            bots=self.bots,
        )

    async def on_message(self, message: discord.Message) -> None:
        """Log a message, reply or forum post."""
        if message.author.bot:
            self.bots.add(message.author.id)
        if self._wanted(message.guild):
            await self._log(self._message_event(message), message.author)

    async def on_thread_create(self, thread: discord.Thread) -> None:
        """Log a thread started in a text channel."""
        if self._wanted(thread.guild):
            event = mapping.thread_event(thread, help_channels=self.help_channels, bots=self.bots)
            await self._log(event)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        """Log a reaction, cached message or not."""
        await self._reaction(payload)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        """Log a reaction taken back."""
        await self._reaction(payload)

    async def _reaction(self, payload: discord.RawReactionActionEvent) -> None:
        guild = self.get_guild(payload.guild_id) if payload.guild_id else None
        if not self._wanted(guild):
            return
        actor = (
            payload.member or guild.get_member(payload.user_id) or self.get_user(payload.user_id)
        )
        is_bot = actor.bot if actor is not None else payload.user_id in self.bots
        if is_bot:
            self.bots.add(payload.user_id)
        await self._log(
            mapping.reaction_event(
                payload, guild, actor_is_bot=is_bot, at=self.clock.now(), accept=self.accept
            ),
            payload.member,
        )

    async def on_member_join(self, member: discord.Member) -> None:
        """Log a member joining."""
        if member.bot:
            self.bots.add(member.id)
        if self._wanted(member.guild):
            await self._log(mapping.join_event(member), member)

    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        """Log a member leaving."""
        guild = self.get_guild(payload.guild_id)
        if self._wanted(guild):
            await self._log(mapping.leave_event(payload, guild, self.clock.now()))
            self._saw(str(guild.id), str(payload.user.id), False)  # staff no more, if they were
