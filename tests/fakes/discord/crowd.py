"""Large guilds in the fake Discord: crowds of synthetic members, role updates, the `large` flag.

A crowd is COUNT members with consecutive ids, built on demand instead of stored, so a guild of
500,000 members costs the fake a few bytes: REST pages, member chunks and payloads are computed
from the index. Real members (add_member) and a crowd can share a guild.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .records import FakeDiscordError, guild_member, iso, user_object


@dataclass(frozen=True)
class Crowd:
    """COUNT synthetic members of a guild, ids FIRST .. FIRST + COUNT - 1."""

    first: int
    count: int
    joined_at: str

    def __contains__(self, user_id: object) -> bool:
        try:
            return self.first <= int(str(user_id)) < self.first + self.count
        except ValueError:
            return False

    def ids_after(self, after: int, limit: int) -> range:
        """Up to LIMIT member ids greater than AFTER, in order."""
        start = max(after + 1, self.first)
        return range(start, min(start + limit, self.first + self.count))


class _Crowds:
    """Synthetic members for large-guild tests and benchmarks, and member updates."""

    def add_crowd(self, guild_id: str, count: int) -> Crowd:
        """Give GUILD_ID COUNT more members (no roles, joined a year before now)."""
        if guild_id in self.crowds:
            raise FakeDiscordError(f"guild {guild_id} already has a crowd")
        first = int(self.new_id()) + (1 << 40)  # clear of every id new_id hands out meanwhile
        joined = self.now().replace(year=self.now().year - 1)
        crowd = Crowd(first=first, count=count, joined_at=iso(joined))
        self.crowds[guild_id] = crowd
        return crowd

    def announce_large(self, guild_id: str) -> None:
        """Send GUILD_ID as `large` (only the bot's own member in GUILD_CREATE) at any size."""
        self.large_guilds.add(guild_id)

    def member_count(self, guild_id: str) -> int:
        """How many members GUILD_ID has, crowd included."""
        crowd = self.crowds.get(guild_id)
        return len(self.members[guild_id]) + (crowd.count if crowd else 0)

    def is_member(self, guild_id: str, user_id: str) -> bool:
        """Whether USER_ID is a member (stored or in the crowd) of GUILD_ID."""
        crowd = self.crowds.get(guild_id)
        return user_id in self.members.get(guild_id, {}) or (crowd is not None and user_id in crowd)

    def user_payload(self, user_id: str) -> dict[str, Any]:
        """A stored user, or the user of a crowd member."""
        user = self.users.get(user_id)
        if user is not None:
            return user
        if not any(user_id in c for c in self.crowds.values()):
            raise FakeDiscordError(f"no user {user_id} in the fake")
        return user_object(user_id, f"member{user_id[-7:]}", f"Member {user_id[-7:]}")

    def _crowd_member(self, guild_id: str, user_id: str) -> dict[str, Any] | None:
        crowd = self.crowds.get(guild_id)
        if crowd is None or user_id not in crowd:
            return None
        return guild_member(nick=None, roles=[], joined_at=crowd.joined_at)

    def member_ids_after(self, guild_id: str, after: int, limit: int) -> list[str]:
        """Up to LIMIT member ids of GUILD_ID above AFTER, in id order (how REST pages them)."""
        stored = sorted(int(u) for u in self.members[guild_id] if int(u) > after)[:limit]
        crowd = self.crowds.get(guild_id)
        extra = list(crowd.ids_after(after, limit)) if crowd else []
        return [str(u) for u in sorted(stored + extra)[:limit]]

    async def member_update(
        self, user_id: str, *, roles: list[str], guild_id: str | None = None
    ) -> dict[str, Any]:
        """Set a member's roles and send GUILD_MEMBER_UPDATE, as a moderator's change would."""
        guild_id = guild_id or self._default_guild()
        member = self.members.get(guild_id, {}).get(user_id)
        if member is None:
            raise FakeDiscordError(f"user {user_id} is not a stored member of guild {guild_id}")
        member["roles"] = list(roles)
        payload = {**self.member_payload(guild_id, user_id), "guild_id": guild_id}
        await self.dispatch("GUILD_MEMBER_UPDATE", payload)
        return payload
