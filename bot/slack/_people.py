"""The Slack app's users and staff: who is a bot, who is staff (read from a user group)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from slack_sdk.errors import SlackApiError

from community.slack_map import (
    SlackUser,
    user_of,
)

log = logging.getLogger(__name__)

STAFF_REFRESH = 600.0  # seconds: a user group's members are read again at most this often


class _People:
    """Users and staff of the workspace. A part of PulseSlack (bot.slack.adapter)."""

    async def know(self, user_ids: Iterable[object]) -> None:
        """Make sure the users cache holds these users (name, bot or not), via users.info."""
        for user in {u for u in user_ids if isinstance(u, str) and u}:
            if self.users.get(user) is not None:
                continue
            try:
                info = await self.client.users_info(user=user)
                self.users[user] = user_of(info["user"])
            except SlackApiError as exc:
                log.info("users.info %s: %s", user, exc.response.get("error"))
                self.users[user] = SlackUser(None)

    def _is_bot(self, user: object) -> bool:
        known = self.users.get(user) if isinstance(user, str) else None
        return known is not None and known.is_bot

    async def refresh_staff(self, *, force: bool = False) -> None:
        """Read the staff user group again (when one is configured) and mark staff in storage."""
        group = self.settings.staff_usergroup_id
        if not force and time.monotonic() - self._staff_read < STAFF_REFRESH:
            return
        self._staff_read = time.monotonic()
        staff = set(self.settings.staff_user_ids)
        if group:
            try:
                page = await self.client.usergroups_users_list(usergroup=group)
                staff.update(page.get("users", []))
            except SlackApiError as exc:
                log.error(
                    "cannot read the members of user group %s (%s); staff are the ids in "
                    "slack.staff_user_ids only until it works",
                    group,
                    exc.response.get("error"),
                )
        elif not staff:
            log.warning("slack.staff_user_ids and staff_usergroup_id are empty: nobody is staff")
        self.staff = frozenset(staff)
        await self._sync_staff()

    async def _sync_staff(self) -> None:
        await self.staff_marks.mark(self.team_id, self.staff)

    async def is_staff(self, user: str) -> bool:
        """Whether USER is staff, reading the user group again when that is due."""
        if self.settings.staff_usergroup_id:
            await self.refresh_staff()
        return user in self.staff
