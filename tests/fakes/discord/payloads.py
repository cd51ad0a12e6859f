"""Payloads the fake Discord sends, shaped like Discord's documented examples."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .constants import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    GUILD_MEMBERS,
    MESSAGE_DEFAULT,
    MESSAGE_REPLY,
    PUBLIC_THREAD,
)
from .records import FakeDiscordError, iso, snowflake_time


class _Payloads:
    """Builds gateway and REST payloads from the model."""

    def _channel(self, channel_id: str) -> dict[str, Any]:
        try:
            return self.channels[str(channel_id)]
        except KeyError:
            raise FakeDiscordError(f"no channel {channel_id} in the fake") from None

    def _guild_of(self, channel_id: str) -> str | None:
        return self._channel(channel_id).get("guild_id")

    def member_payload(self, guild_id: str, user_id: str, *, with_user: bool = True) -> dict:
        """A guild member object, with its user unless with_user is False."""
        stored = self.members.get(guild_id, {}).get(user_id)
        stored = stored or self._crowd_member(guild_id, user_id)
        if stored is None:
            raise FakeDiscordError(f"user {user_id} is not a member of guild {guild_id}")
        member = dict(stored)
        if with_user:
            member["user"] = self.user_payload(user_id)
        return member

    def permissions(self, guild_id: str, user_id: str) -> int:
        """A member's guild-level permissions (roles OR'ed; owner and admins get all)."""
        guild = self.guilds[guild_id]
        if guild["owner_id"] == user_id:
            return ALL_PERMISSIONS
        roles = self.roles[guild_id]
        value = int(roles[guild_id]["permissions"])
        for role_id in self.members[guild_id][user_id]["roles"]:
            value |= int(roles[role_id]["permissions"])
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def guild_create_payload(
        self, guild_id: str, intents: int, large_threshold: int = 250
    ) -> dict[str, Any]:
        """The GUILD_CREATE a session with these intents receives for a guild.

        A guild over LARGE_THRESHOLD members (the session's IDENTIFY says; or announced large)
        comes `large`, with only the bot's own member: the client must ask for the rest."""
        guild = dict(self.guilds[guild_id])
        guild["roles"] = list(self.roles[guild_id].values())
        member_count = self.member_count(guild_id)
        large = guild_id in self.large_guilds or member_count > large_threshold
        member_ids = list(self.members[guild_id])
        if not intents & GUILD_MEMBERS or large:
            # Without the members intent Discord sends only the bot's own member.
            member_ids = [uid for uid in member_ids if uid == self.bot_user["id"]]
        channels, threads = [], []
        for channel in self.channels.values():
            if channel.get("guild_id") != guild_id:
                continue
            if channel["type"] == PUBLIC_THREAD:
                if not channel["thread_metadata"]["archived"]:
                    threads.append(channel)
            else:
                # GUILD_CREATE's channels carry no guild_id.
                channels.append({k: v for k, v in channel.items() if k != "guild_id"})
        guild.update(
            {
                "joined_at": self.members[guild_id][self.bot_user["id"]]["joined_at"],
                "large": large,
                "unavailable": False,
                "member_count": member_count,
                "voice_states": [],
                "members": [self.member_payload(guild_id, uid) for uid in member_ids],
                "channels": channels,
                "threads": threads,
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
                "embedded_activities": [],
                "lazy": True,
            }
        )
        return guild

    def _mention_payloads(self, guild_id: str | None, user_ids: tuple[str, ...]) -> list[dict]:
        mentions = []
        for uid in user_ids:
            user = dict(self.users[uid])
            if guild_id and uid in self.members.get(guild_id, {}):
                user["member"] = self.member_payload(guild_id, uid, with_user=False)
            mentions.append(user)
        return mentions

    def build_message(
        self,
        channel_id: str,
        author_id: str,
        content: str = "",
        *,
        at: datetime | None = None,
        message_id: str | None = None,
        type: int = MESSAGE_DEFAULT,  # Discord's field name
        reply_to: dict[str, Any] | None = None,
        mentions: tuple[str, ...] = (),
        embeds: list[dict[str, Any]] | None = None,
        components: list[dict[str, Any]] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        flags: int = 0,
        webhook_id: str | None = None,
    ) -> dict[str, Any]:
        """A message object as Discord sends it (keys as in the documented message example)."""
        channel = self._channel(channel_id)
        guild_id = channel.get("guild_id")
        message_id = message_id or self.new_id(at)
        mention_ids = tuple(mentions)
        if reply_to is not None and reply_to["author"]["id"] not in mention_ids:
            # A reply pings (and so mentions) the replied-to author by default.
            mention_ids = (*mention_ids, reply_to["author"]["id"])
        message: dict[str, Any] = {
            "id": message_id,
            "channel_id": channel_id,
            "author": self.users[author_id],
            "content": content,
            "timestamp": iso(snowflake_time(message_id)),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": self._mention_payloads(guild_id, mention_ids),
            "mention_roles": [],
            "attachments": attachments or [],
            "embeds": embeds or [],
            "reactions": [],
            "pinned": False,
            "type": type,
            "flags": flags,
            "components": components or [],
        }
        if webhook_id is not None:
            message["webhook_id"] = webhook_id
        if reply_to is not None:
            message["type"] = MESSAGE_REPLY if type == MESSAGE_DEFAULT else type
            message["message_reference"] = {
                "type": 0,
                "message_id": reply_to["id"],
                "channel_id": reply_to["channel_id"],
                "guild_id": guild_id,
            }
            message["referenced_message"] = self._stored_shape(reply_to)
        return message

    @staticmethod
    def _stored_shape(message: dict[str, Any]) -> dict[str, Any]:
        # How a message looks over REST and nested in other payloads: no guild_id or member.
        return {k: v for k, v in message.items() if k not in ("guild_id", "member")}

    def _gateway_message(self, message: dict[str, Any]) -> dict[str, Any]:
        payload = dict(message)
        guild_id = self._channel(message["channel_id"]).get("guild_id")
        if guild_id:
            payload["guild_id"] = guild_id
            author_id = message["author"]["id"]
            if "webhook_id" not in message and author_id in self.members[guild_id]:
                payload["member"] = self.member_payload(guild_id, author_id, with_user=False)
        return payload

    def _store(self, message: dict[str, Any], *, visible: bool = True) -> dict[str, Any]:
        stored = self._stored_shape(message)
        self.messages[stored["id"]] = stored
        if visible:
            ids = self.history.setdefault(stored["channel_id"], [])
            ids.append(stored["id"])
            ids.sort(key=int)
            channel = self.channels[stored["channel_id"]]
            if ids[-1] == stored["id"] and "last_message_id" in channel:
                channel["last_message_id"] = stored["id"]
            if channel["type"] == PUBLIC_THREAD:
                channel["message_count"] += 1
                channel["total_message_sent"] += 1
                channel["last_message_id"] = ids[-1]
        self._notify()
        return stored
