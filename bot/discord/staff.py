"""Who holds a staff role in each guild, known without discord.py's member cache.

Pulse keeps no guild's member list (see docs/platforms.md, "Large servers"): staff are learned
from a paged REST pass over the members at start, and from the members events carry (a message's
author, a reaction's member, a join, a GUILD_MEMBER_UPDATE). What an event says while a pass is
under way wins over the page, which may have been read before the change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import discord

# The most members one REST page lists (Discord's limit for List Guild Members).
MEMBER_PAGE = 1000


class StaffRoster:
    """The staff ids of each guild, and which guilds have been read in full."""

    def __init__(self, staff_roles: Iterable[str]) -> None:
        self.staff_roles = frozenset(staff_roles)
        self.staff: dict[str, set[str]] = {}
        self.complete: set[str] = set()
        self._live: dict[str, dict[str, bool]] = {}  # guild -> what events said during a pass

    def holds_staff_role(self, role_ids: Iterable[object]) -> bool:
        """Whether any of ROLE_IDS (ints or strings) is a configured staff role."""
        return any(str(role) in self.staff_roles for role in role_ids)

    def observe(self, guild: str, member: str, is_staff: bool) -> bool:
        """An event showed MEMBER of GUILD with or without a staff role; whether that is news."""
        live = self._live.get(guild)
        if live is not None:
            live[member] = is_staff
        staff = self.staff.setdefault(guild, set())
        if is_staff == (member in staff):
            return False
        if is_staff:
            staff.add(member)
        else:
            staff.discard(member)
        return True

    def begin(self, guild: str) -> None:
        """A pass over GUILD's members starts: events seen from now on override its pages."""
        self._live[guild] = {}

    def finish(self, guild: str, found: Iterable[str]) -> None:
        """The pass over GUILD found FOUND as staff; the roster is complete from now on."""
        staff = set(found)
        for member, is_staff in self._live.pop(guild, {}).items():
            if is_staff:
                staff.add(member)
            else:
                staff.discard(member)
        self.staff[guild] = staff
        self.complete.add(guild)

    def abandon(self, guild: str) -> None:
        """The pass over GUILD stopped early; what it read is not the whole truth."""
        self._live.pop(guild, None)

    def of(self, guild: str) -> list[str]:
        """GUILD's staff ids as known now."""
        return sorted(self.staff.get(guild, ()))


async def read_members(
    client: discord.Client,
    roster: StaffRoster,
    guild: discord.Guild,
    after: datetime,
    bots: set[int] | None = None,
) -> list[discord.Member]:
    """One paged REST pass over GUILD's members: who joined since AFTER; staff and bots noted.

    The staff go into ROSTER, the bots into BOTS.

    A page at a time, so a server of any size costs one page of memory; the members are not
    kept. Discord's rate limits pace the pages (discord.py waits them out).
    """
    space = str(guild.id)
    roster.begin(space)
    found: list[str] = []
    joined: list[discord.Member] = []
    last = None
    try:
        while True:
            page = await client.http.get_members(guild.id, MEMBER_PAGE, last)
            for raw in page:
                user = raw["user"]
                if roster.holds_staff_role(raw.get("roles") or ()):
                    found.append(user["id"])
                if bots is not None and user.get("bot"):
                    bots.add(int(user["id"]))
                when = discord.utils.parse_time(raw.get("joined_at"))
                if when is not None and when >= after:
                    state = client._connection  # what discord.py builds its own Members on
                    joined.append(discord.Member(data=raw, guild=guild, state=state))
            if len(page) < MEMBER_PAGE:
                break
            last = max(int(raw["user"]["id"]) for raw in page)
    except BaseException:
        roster.abandon(space)
        raise
    roster.finish(space, found)
    return joined
