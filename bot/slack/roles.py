"""Slack's side of roles that follow tiers: user groups set whole with usergroups.users.update.

Slack replaces a group's whole membership in one call, so Pulse makes one call per group that
changed, not one per member; the Web API client retries 429s after Retry-After (client_for).
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.services.roles import RoleForbidden
from bot.settings import SlackSettings
from community.roles import RoleChange, RoleKind

# Errors that no retry fixes: staff must change the plan, a scope or the group id.
_REFUSALS = {
    "plan_upgrade_required": "this workspace's plan has no user groups (Slack offers them on "
    "paid plans)",
    "paid_teams_only": "this workspace's plan has no user groups (Slack offers them on paid plans)",
    "missing_scope": "Pulse lacks the usergroups:write scope: reinstall it with the manifest "
    "from `pulse slack-manifest`",
    "permission_denied": "the workspace lets only admins change user groups",
    "no_such_subteam": "no user group has this id",
}


def usergroup_ids(settings: SlackSettings) -> dict[RoleKind, str]:
    """The user groups the config asks Pulse to keep in step (none when unset)."""
    ids = {RoleKind.ACTIVE: settings.active_usergroup_id, RoleKind.HERO: settings.hero_usergroup_id}
    return {kind: group for kind, group in ids.items() if group}


class SlackUserGroups:
    """The group gateway for Slack; run_slack sets the live Web API client."""

    platform = "slack"

    def __init__(self, settings: SlackSettings, client=None) -> None:
        self.settings = settings
        self.client = client

    async def ready(self) -> None:
        """Slack needs no connection beyond the Web API client run_slack sets."""
        if self.client is None:
            raise RuntimeError("Slack is not connected")

    async def set_members(self, space: str, group_id: str, platform_ids: list[str]) -> None:
        """Make PLATFORM_IDS the whole membership of GROUP_ID."""
        try:
            await self.client.usergroups_users_update(usergroup=group_id, users=platform_ids)
        except SlackApiError as exc:
            error = exc.response.get("error", "")
            if error in _REFUSALS:
                raise RoleForbidden(f"{_REFUSALS[error]} ({error})") from None
            raise

    async def change(self, space: str, change: RoleChange) -> None:
        """Not used: Slack's groups are set whole (set_members)."""
        raise NotImplementedError("Slack user groups are set whole")

    async def dm(self, space: str, platform_id: str, text: str) -> None:
        """Send one member a direct message (conversations.open, then chat.postMessage)."""
        opened = await self.client.conversations_open(users=platform_id)
        await self.client.chat_postMessage(channel=opened["channel"]["id"], text=text)

    async def tell_staff(self, space: str, text: str) -> None:
        """Post TEXT to the configured staff channel, when there is one."""
        channel = self.settings.staff_channel_id
        if channel and self.client is not None:
            await self.client.chat_postMessage(channel=channel, text=text)
