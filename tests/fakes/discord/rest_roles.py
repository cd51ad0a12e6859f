"""The fake Discord's guild and roles (list, add, remove), DMs, overwrites, 429s on demand.

Discord's rules for a role change: the bot needs Manage Roles, and the role must sit below the
bot's highest role (403, code 50013, otherwise). A test reads the outcome from the member's
"roles" in `fake.members` and the calls from `fake.calls("add_member_role")`.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .constants import GUILD_MEMBERS, MESSAGE_CONTENT
from .records import RecordedRequest, _ApiError

MANAGE_ROLES = 1 << 28


class _RestRoles:
    """Member listing and member-role endpoints, and injected rate limits."""

    def rate_limit(self, route: str, *retry_after: float) -> None:
        """Answer the next calls to ROUTE with 429, asking to retry after each RETRY_AFTER."""
        self._rate_limits.setdefault(route, []).extend(retry_after)

    def _rate_limited(self, route: str) -> web.Response | None:
        waits = getattr(self, "_rate_limits", {}).get(route)
        if not waits:
            return None
        retry_after = waits.pop(0)
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": False,
        }
        # discord.py takes a 429 without Cloudflare's Via header for a ban and gives up.
        return web.Response(
            body=json.dumps(body).encode(),
            status=429,
            headers={
                "Content-Type": "application/json",
                "Retry-After": str(retry_after),
                "Via": "1.1 google",
                "X-RateLimit-Scope": "user",
            },
        )

    def _top_position(self, guild_id: str, user_id: str) -> int:
        roles = self.roles[guild_id]
        return max(
            (roles[r]["position"] for r in self.members[guild_id][user_id]["roles"]), default=0
        )

    def _check_role(self, guild_id: str, user_id: str, role_id: str) -> list[str]:
        if guild_id not in self.guilds:
            raise _ApiError(404, 10004, "Unknown Guild")
        if role_id not in self.roles[guild_id]:
            raise _ApiError(404, 10011, "Unknown Role")
        if user_id not in self.members[guild_id]:
            raise _ApiError(404, 10007, "Unknown Member")
        bot = self.bot_user["id"]
        if not self.permissions(guild_id, bot) & MANAGE_ROLES or self.roles[guild_id][role_id][
            "position"
        ] >= self._top_position(guild_id, bot):
            raise _ApiError(403, 50013, "Missing Permissions")
        return self.members[guild_id][user_id]["roles"]

    async def _rest_add_member_role(
        self, record: RecordedRequest, guild_id: str, user_id: str, role_id: str
    ) -> Any:
        roles = self._check_role(guild_id, user_id, role_id)
        if role_id not in roles:
            roles.append(role_id)
        return None

    async def _rest_remove_member_role(
        self, record: RecordedRequest, guild_id: str, user_id: str, role_id: str
    ) -> Any:
        roles = self._check_role(guild_id, user_id, role_id)
        if role_id in roles:
            roles.remove(role_id)
        return None

    async def _rest_list_members(self, record: RecordedRequest, guild_id: str) -> Any:
        if guild_id not in self.guilds:
            raise _ApiError(404, 10004, "Unknown Guild")
        after = int(record.query.get("after", "0"))
        limit = min(int(record.query.get("limit", "1")), 1000)
        ids = self.member_ids_after(guild_id, after, limit)
        return [self.member_payload(guild_id, u) for u in ids]

    async def _rest_open_dm(self, record: RecordedRequest) -> Any:
        recipient = str((record.json or {}).get("recipient_id", ""))
        if recipient not in self.users:
            raise _ApiError(400, 50035, "Invalid Form Body")
        return self.dm_channel(recipient)

    async def _rest_get_guild(self, record: RecordedRequest, guild_id: str) -> Any:
        if guild_id not in self.guilds:
            raise _ApiError(404, 10004, "Unknown Guild")
        return {**self.guilds[guild_id], "roles": list(self.roles[guild_id].values())}

    def overwrite(
        self, channel_id: str, target_id: str, *, allow: int = 0, deny: int = 0, member=False
    ) -> None:
        """Set a channel's permission overwrite for a role (or a member), as Edit Channel does."""
        overwrites = self.channels[channel_id]["permission_overwrites"]
        overwrites[:] = [o for o in overwrites if o["id"] != target_id]
        overwrites.append(
            {"id": target_id, "type": 1 if member else 0, "allow": str(allow), "deny": str(deny)}
        )

    async def _rest_get_roles(self, record: RecordedRequest, guild_id: str) -> Any:
        if guild_id not in self.guilds:
            raise _ApiError(404, 10004, "Unknown Guild")
        return list(self.roles[guild_id].values())

    def _intent_flags(self) -> int:
        """The application flags saying which privileged intents the portal switched on."""
        flags = 0
        if self.enabled_privileged_intents & GUILD_MEMBERS:
            flags |= 1 << 15  # GATEWAY_GUILD_MEMBERS_LIMITED: an unverified bot's switch
        if self.enabled_privileged_intents & MESSAGE_CONTENT:
            flags |= 1 << 19  # GATEWAY_MESSAGE_CONTENT_LIMITED
        return flags
