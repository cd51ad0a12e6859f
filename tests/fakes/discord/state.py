"""The fake Discord's model: ids, users, guilds, roles, members, channels, the seeded world."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from .constants import (
    ALL_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    DISCORD_EPOCH_MS,
    GUILD_CATEGORY,
    GUILD_FORUM,
    GUILD_TEXT,
    PUBLIC_THREAD,
)
from .records import World, guild_member, iso, snowflake_time, user_object


class _State:
    """Ids and the in-memory model of users, guilds and channels."""

    def now(self) -> datetime:
        """The fake's current time."""
        return self.clock.now()

    def new_id(self, at: datetime | None = None) -> str:
        """A fresh snowflake for the given moment (default now), unique and time-ordered."""
        moment = at or self.now()
        ms = int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS
        counter = self._per_ms.setdefault(ms, itertools.count())
        return str((ms << 22) | next(counter))

    def add_user(
        self,
        username: str,
        *,
        bot: bool = False,
        system: bool = False,
        global_name: str | None = None,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        """Add a user (a Discord account) and return its payload."""
        user = user_object(
            user_id or self.new_id(),
            username,
            global_name if global_name is not None else username.title(),
            bot=bot,
            system=system,
        )
        self.users[user["id"]] = user
        return user

    def add_guild(
        self, name: str, *, owner_id: str | None = None, guild_id: str | None = None
    ) -> dict[str, Any]:
        """Add a guild with its @everyone role and the bot as a member (GUILD_ID picks its
        id, and so its shard: (id >> 22) % shard count)."""
        guild_id = guild_id or self.new_id()
        # Keys as in the documented guild example (docs/resources/guild, "Example Guild").
        guild = {
            "id": guild_id,
            "name": name,
            "icon": None,
            "icon_hash": None,
            "description": None,
            "splash": None,
            "discovery_splash": None,
            "features": ["COMMUNITY"],
            "emojis": [],
            "stickers": [],
            "banner": None,
            "owner_id": owner_id or self.bot_user["id"],
            "application_id": None,
            "region": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "system_channel_id": None,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 1,
            "roles": [],
            "default_message_notifications": 1,
            "mfa_level": 0,
            "explicit_content_filter": 2,
            "max_presences": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "system_channel_flags": 0,
            "preferred_locale": "en-US",
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "nsfw_level": 0,
            "hub_type": None,
            "incidents_data": None,
        }
        self.guilds[guild_id] = guild
        self.roles[guild_id] = {}
        self.members[guild_id] = {}
        everyone = DEFAULT_EVERYONE_PERMISSIONS
        self.add_role(guild_id, "@everyone", permissions=everyone, role_id=guild_id)
        bot_role = self.add_role(guild_id, "Pulse", permissions=ALL_PERMISSIONS, managed=True)
        self.add_member(guild_id, self.bot_user["id"], roles=[bot_role["id"]])
        return guild

    def add_role(
        self,
        guild_id: str,
        name: str,
        *,
        permissions: int = 0,
        managed: bool = False,
        role_id: str | None = None,
    ) -> dict[str, Any]:
        """Add a role to a guild."""
        role = {
            "id": role_id or self.new_id(),
            "name": name,
            "description": None,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": len(self.roles[guild_id]),
            "permissions": str(permissions),
            "managed": managed,
            "mentionable": False,
            "flags": 0,
        }
        self.roles[guild_id][role["id"]] = role
        return role

    def add_member(
        self,
        guild_id: str,
        user_id: str,
        *,
        roles: list[str] | tuple[str, ...] = (),
        nick: str | None = None,
        joined_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Make a user a member of a guild (no event: use member_join for GUILD_MEMBER_ADD)."""
        member = guild_member(nick=nick, roles=list(roles), joined_at=iso(joined_at or self.now()))
        self.members[guild_id][user_id] = member
        return member

    def _add_channel(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.channels[payload["id"]] = payload
        self.history.setdefault(payload["id"], [])
        return payload

    def _position(self, guild_id: str) -> int:
        return sum(1 for c in self.channels.values() if c.get("guild_id") == guild_id)

    def add_category(self, guild_id: str, name: str) -> dict[str, Any]:
        """Add a category channel."""
        return self._add_channel(
            {
                "id": self.new_id(),
                "type": GUILD_CATEGORY,
                "guild_id": guild_id,
                "name": name,
                "position": self._position(guild_id),
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "flags": 0,
            }
        )

    def add_text_channel(
        self, guild_id: str, name: str, *, topic: str | None = None, parent_id: str | None = None
    ) -> dict[str, Any]:
        """Add a text channel (keys as in the documented guild text channel example)."""
        return self._add_channel(
            {
                "id": self.new_id(),
                "type": GUILD_TEXT,
                "guild_id": guild_id,
                "name": name,
                "position": self._position(guild_id),
                "permission_overwrites": [],
                "rate_limit_per_user": 0,
                "nsfw": False,
                "topic": topic,
                "last_message_id": None,
                "parent_id": parent_id,
                "default_auto_archive_duration": 1440,
                "default_thread_rate_limit_per_user": 0,
                "flags": 0,
                "icon_emoji": None,
                "theme_color": None,
            }
        )

    def add_forum_channel(
        self,
        guild_id: str,
        name: str,
        *,
        tags: tuple[str, ...] = (),
        parent_id: str | None = None,
    ) -> dict[str, Any]:
        """Add a forum channel with the given post tags."""
        return self._add_channel(
            {
                "id": self.new_id(),
                "type": GUILD_FORUM,
                "guild_id": guild_id,
                "name": name,
                "position": self._position(guild_id),
                "permission_overwrites": [],
                "rate_limit_per_user": 0,
                "nsfw": False,
                "topic": None,
                "last_message_id": None,
                "parent_id": parent_id,
                "default_auto_archive_duration": 4320,
                "default_thread_rate_limit_per_user": 0,
                "available_tags": [
                    {
                        "id": self.new_id(),
                        "name": tag,
                        "moderated": False,
                        "emoji_id": None,
                        "emoji_name": None,
                    }
                    for tag in tags
                ],
                "default_reaction_emoji": None,
                "default_sort_order": None,
                "default_forum_layout": 0,
                "template": "",
                "flags": 0,
            }
        )

    def add_thread(
        self,
        parent_id: str,
        owner_id: str,
        name: str,
        *,
        thread_id: str | None = None,
        archived: bool = False,
        applied_tags: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Add a public thread (no event: use start_thread for THREAD_CREATE)."""
        parent = self._channel(parent_id)
        thread_id = thread_id or self.new_id()
        created = snowflake_time(thread_id)
        thread = {
            "id": thread_id,
            "type": PUBLIC_THREAD,
            "guild_id": parent["guild_id"],
            "parent_id": parent_id,
            "owner_id": owner_id,
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "thread_metadata": {
                "archived": archived,
                "auto_archive_duration": parent.get("default_auto_archive_duration", 1440),
                "archive_timestamp": iso(created),
                "locked": False,
                "create_timestamp": iso(created),
            },
            "total_message_sent": 0,
            "flags": 0,
        }
        if parent["type"] == GUILD_FORUM:
            thread["applied_tags"] = list(applied_tags)
        return self._add_channel(thread)

    def seed_community(self) -> World:
        """Build the default community the fixture starts with and return its ids."""
        carol = self.add_user("carol")
        guild = self.add_guild("Pulse Community", owner_id=carol["id"])
        gid = guild["id"]
        staff_role = self.add_role(gid, "DevRel", permissions=DEFAULT_EVERYONE_PERMISSIONS)
        category = self.add_category(gid, "Community")
        general = self.add_text_channel(gid, "general", topic="Say hi", parent_id=category["id"])
        help_channel = self.add_text_channel(gid, "help", parent_id=category["id"])
        staff = self.add_text_channel(gid, "devrel-staff")
        forum = self.add_forum_channel(gid, "questions", tags=("bug", "how-to"))
        alice = self.add_user("alice")
        bob = self.add_user("bob")
        other_bot = self.add_user("helperbot", bot=True)
        long_ago = self.now() - timedelta(days=400)
        for user in (alice, bob, other_bot):
            self.add_member(gid, user["id"], joined_at=long_ago)
        self.add_member(gid, carol["id"], roles=[staff_role["id"]], joined_at=long_ago)
        self.world = World(
            guild=gid,
            everyone_role=gid,
            staff_role=staff_role["id"],
            category=category["id"],
            general=general["id"],
            help=help_channel["id"],
            staff=staff["id"],
            forum=forum["id"],
            forum_tag=forum["available_tags"][0]["id"],
            bot=self.bot_user["id"],
            alice=alice["id"],
            bob=bob["id"],
            carol=carol["id"],
            other_bot=other_bot["id"],
        )
        return self.world
