"""Discord's side of roles that follow tiers: one member-role call per change, through discord.py.

discord.py's HTTP client paces the calls: it keeps each route's rate-limit bucket and, on a 429,
sleeps out Retry-After and sends again, so a long reconciliation slows down instead of failing.
"""

from __future__ import annotations

import asyncio

import discord

from bot.services.roles import MemberGone, RoleForbidden
from bot.settings import DiscordSettings
from community.roles import RoleChange, RoleKind

READY_WAIT = 120.0
# Discord's JSON error codes for a member or role that no longer exists.
_UNKNOWN_MEMBER, _UNKNOWN_USER, _UNKNOWN_ROLE = 10007, 10013, 10011


def role_ids(settings: DiscordSettings) -> dict[RoleKind, str]:
    """The roles the config asks Pulse to keep in step (none when unset)."""
    ids = {RoleKind.ACTIVE: settings.active_role_id, RoleKind.HERO: settings.hero_role_id}
    return {kind: role for kind, role in ids.items() if role}


class DiscordRoles:
    """The role gateway for Discord; run_discord sets the live client."""

    platform = "discord"

    def __init__(self, settings: DiscordSettings, client: discord.Client | None = None) -> None:
        self.settings = settings
        self.client = client

    async def ready(self) -> None:
        """Wait until the client is connected (a reconciliation at start waits for login)."""
        client = self.client
        if client is None:
            raise RuntimeError("Discord is not connected")
        await asyncio.wait_for(client.wait_until_ready(), READY_WAIT)

    def _http(self):
        if self.client is None:
            raise RuntimeError("Discord is not connected")
        return self.client.http

    async def change(self, space: str, change: RoleChange) -> None:
        """Add or remove one role of one member, with the reason in the guild's audit log."""
        http = self._http()
        call = http.add_role if change.add else http.remove_role
        reason = f"Pulse: {change.reason}"[:512]
        try:
            await call(space, change.platform_id, change.role_id, reason=reason)
        except discord.Forbidden as exc:
            raise RoleForbidden(exc.text or "Missing Permissions") from None
        except discord.NotFound as exc:
            if exc.code == _UNKNOWN_ROLE:
                raise RoleForbidden(f"role {change.role_id} is not in this server") from None
            if exc.code in (_UNKNOWN_MEMBER, _UNKNOWN_USER) or not change.platform_id:
                raise MemberGone(change.platform_id) from None
            raise

    async def dm(self, space: str, platform_id: str, text: str) -> None:
        """Send one member a direct message."""
        client = self.client
        if client is None:
            raise RuntimeError("Discord is not connected")
        user = client.get_user(int(platform_id)) or await client.fetch_user(int(platform_id))
        await user.send(text[:2000], allowed_mentions=discord.AllowedMentions.none())

    async def tell_staff(self, space: str, text: str) -> None:
        """Post TEXT to the configured staff channel, when there is one."""
        channel_id = self.settings.staff_channel_id
        client = self.client
        if not channel_id or client is None:
            return
        channel = client.get_channel(int(channel_id)) or await client.fetch_channel(int(channel_id))
        await channel.send(text[:2000], allowed_mentions=discord.AllowedMentions.none())
