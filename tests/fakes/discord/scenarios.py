"""What a test makes happen on the fake Discord: messages, threads, reactions, joins."""

from __future__ import annotations

from typing import Any

from .constants import DM, GUILD_FORUM, HAS_THREAD, MESSAGE_THREAD_CREATED, MESSAGE_USER_JOIN
from .records import FakeDiscordError


class _Scenarios:
    """Things members do, stored and dispatched over the gateway."""

    async def send_message(
        self,
        channel_id: str,
        author_id: str,
        content: str = "",
        *,
        dispatch: bool = True,
        **fields: Any,
    ) -> dict[str, Any]:
        """A member posts a message: store it in history and (unless dispatch=False) send
        MESSAGE_CREATE. Pass at= for an earlier moment; dispatch=False models a message the bot
        missed while it was down. Returns the stored message."""
        message = self.build_message(channel_id, author_id, content, **fields)
        stored = self._store(message)
        if dispatch:
            await self.dispatch("MESSAGE_CREATE", self._gateway_message(stored))
        return stored

    async def reply(
        self, to: dict[str, Any], author_id: str, content: str = "", **fields: Any
    ) -> dict[str, Any]:
        """A member replies to a message (type 19 with message_reference and referenced_message)."""
        return await self.send_message(to["channel_id"], author_id, content, reply_to=to, **fields)

    async def webhook_message(self, channel_id: str, content: str, **fields: Any) -> dict:
        """A message posted by a (non-interaction) webhook."""
        # One webhook per channel; its messages carry the webhook's id as author id.
        webhook_id = self._webhooks.get(channel_id)
        if webhook_id is None:
            user = self.add_user("Captain Hook", bot=True)
            user["discriminator"] = "0000"
            webhook_id = self._webhooks[channel_id] = user["id"]
        return await self.send_message(
            channel_id, webhook_id, content, webhook_id=webhook_id, **fields
        )

    async def system_message(
        self,
        channel_id: str,
        author_id: str,
        type: int = MESSAGE_USER_JOIN,  # Discord's field name
        **fields: Any,
    ) -> dict[str, Any]:
        """A system message (default type 7, a member joined) in a channel."""
        return await self.send_message(channel_id, author_id, "", type=type, **fields)

    def dm_channel(self, user_id: str) -> dict[str, Any]:
        """The DM channel between the bot and a user (created on first use)."""
        for channel in self.channels.values():
            if channel["type"] == DM and channel["recipients"][0]["id"] == user_id:
                return channel
        return self._add_channel(
            {
                "id": self.new_id(),
                "type": DM,
                "last_message_id": None,
                "flags": 0,
                "recipients": [self.users[user_id]],
            }
        )

    async def direct_message(self, user_id: str, content: str, **fields: Any) -> dict:
        """A user DMs the bot."""
        return await self.send_message(self.dm_channel(user_id)["id"], user_id, content, **fields)

    async def start_thread(
        self,
        parent_id: str,
        owner_id: str,
        name: str,
        *,
        from_message: dict[str, Any] | None = None,
        content: str | None = None,
        applied_tags: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """A member starts a thread, or a post when parent_id is a forum.

        In a forum the post's first message has the thread's id and content is required. In a text
        channel the thread hangs off from_message (same id) or, without one, Discord posts a
        THREAD_CREATED system message in the parent. Sends THREAD_CREATE with newly_created and,
        when content is given, the first MESSAGE_CREATE inside the thread. Returns the thread."""
        parent = self._channel(parent_id)
        is_forum = parent["type"] == GUILD_FORUM
        if is_forum and not content:
            raise FakeDiscordError("a forum post needs content (its first message)")
        thread_id = from_message["id"] if from_message else self.new_id()
        thread = self.add_thread(
            parent_id, owner_id, name, thread_id=thread_id, applied_tags=applied_tags
        )
        payload = dict(thread)
        payload["newly_created"] = True
        payload["member"] = {
            "id": thread_id,
            "user_id": owner_id,
            "join_timestamp": thread["thread_metadata"]["create_timestamp"],
            "flags": 1,
        }
        await self.dispatch("THREAD_CREATE", payload)
        if from_message is not None:
            stored = self.messages[from_message["id"]]
            stored["flags"] |= HAS_THREAD
            stored["thread"] = thread
        elif not is_forum:
            notice = self.build_message(parent_id, owner_id, name, type=MESSAGE_THREAD_CREATED)
            notice["message_reference"] = {
                "type": 0,
                "channel_id": thread_id,
                "guild_id": thread["guild_id"],
            }
            await self.dispatch("MESSAGE_CREATE", self._gateway_message(self._store(notice)))
        if content:
            # A forum post's starter message shares the thread's id.
            await self.send_message(
                thread_id, owner_id, content, message_id=thread_id if is_forum else None
            )
        return self.channels[thread_id]

    async def forum_post(
        self,
        forum_id: str,
        author_id: str,
        title: str,
        content: str,
        *,
        tags: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """A member opens a forum post (a thread whose first message has the thread's id)."""
        return await self.start_thread(
            forum_id, author_id, title, content=content, applied_tags=tags
        )

    @staticmethod
    def _emoji(emoji: str | dict[str, Any]) -> dict[str, Any]:
        if isinstance(emoji, dict):
            return emoji
        return {"id": None, "name": emoji}

    async def add_reaction(
        self, message: dict[str, Any], user_id: str, emoji: str | dict[str, Any] = "👍"
    ) -> dict[str, Any]:
        """A member reacts to a message (MESSAGE_REACTION_ADD, the raw event)."""
        stored = self.messages[message["id"]]
        emoji_payload = self._emoji(emoji)
        reaction = next((r for r in stored["reactions"] if r["emoji"] == emoji_payload), None)
        if reaction is None:
            reaction = {
                "count": 0,
                "count_details": {"burst": 0, "normal": 0},
                "me": False,
                "me_burst": False,
                "emoji": emoji_payload,
                "burst_colors": [],
            }
            stored["reactions"].append(reaction)
        reaction["count"] += 1
        reaction["count_details"]["normal"] += 1
        guild_id = self._guild_of(stored["channel_id"])
        event: dict[str, Any] = {
            "user_id": user_id,
            "channel_id": stored["channel_id"],
            "message_id": stored["id"],
            "emoji": emoji_payload,
            "message_author_id": stored["author"]["id"],
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }
        if guild_id:
            event["guild_id"] = guild_id
            event["member"] = self.member_payload(guild_id, user_id)
        await self.dispatch("MESSAGE_REACTION_ADD", event)
        return event

    async def remove_reaction(
        self, message: dict[str, Any], user_id: str, emoji: str | dict[str, Any] = "👍"
    ) -> dict[str, Any]:
        """A member takes a reaction back (MESSAGE_REACTION_REMOVE: no member, no author id)."""
        stored = self.messages[message["id"]]
        emoji_payload = self._emoji(emoji)
        for reaction in stored["reactions"]:
            if reaction["emoji"] == emoji_payload:
                reaction["count"] -= 1
                reaction["count_details"]["normal"] -= 1
        stored["reactions"] = [r for r in stored["reactions"] if r["count"] > 0]
        event: dict[str, Any] = {
            "user_id": user_id,
            "channel_id": stored["channel_id"],
            "message_id": stored["id"],
            "emoji": emoji_payload,
            "burst": False,
            "type": 0,
        }
        guild_id = self._guild_of(stored["channel_id"])
        if guild_id:
            event["guild_id"] = guild_id
        await self.dispatch("MESSAGE_REACTION_REMOVE", event)
        return event

    async def member_join(
        self, username: str, *, guild_id: str | None = None, bot: bool = False
    ) -> dict[str, Any]:
        """A new user joins the guild (GUILD_MEMBER_ADD); returns the user."""
        guild_id = guild_id or self._default_guild()
        user = self.add_user(username, bot=bot)
        self.add_member(guild_id, user["id"])
        payload = self.member_payload(guild_id, user["id"])
        payload["guild_id"] = guild_id
        await self.dispatch("GUILD_MEMBER_ADD", payload)
        return user

    async def member_leave(self, user_id: str, *, guild_id: str | None = None) -> None:
        """A member leaves the guild (GUILD_MEMBER_REMOVE)."""
        guild_id = guild_id or self._default_guild()
        if self.members[guild_id].pop(user_id, None) is None:
            raise FakeDiscordError(f"user {user_id} is not a member of guild {guild_id}")
        payload = {"guild_id": guild_id, "user": self.users[user_id]}
        await self.dispatch("GUILD_MEMBER_REMOVE", payload)

    def _default_guild(self) -> str:
        if len(self.guilds) != 1:
            raise FakeDiscordError("more than one guild: pass guild_id")
        return next(iter(self.guilds))
