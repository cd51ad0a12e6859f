"""The Slack app's event listeners: events become ActivityEvents on the writer's queue."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta

from bot.commands.spec import COMMANDS
from bot.services.catch_up import join_stored_near
from bot.tasks import log_failure
from community.events import ActivityEvent, ActivityKind, Platform
from community.mapping import MappingError
from community.slack_map import (
    reaction_event,
    team_join_event,
    user_of,
)

log = logging.getLogger(__name__)

# A team_join and the channel_join in #general that Slack posts with it are one join: two join
# records of a member this close together are the same join, whichever is seen first.
SAME_JOIN = timedelta(minutes=10)
_DM_TYPES = frozenset({"im", "mpim"})


class _Listeners:
    """Bolt listeners that log what members do. A part of PulseSlack (bot.slack.adapter)."""

    def _register(self) -> None:
        app = self.app
        for event_type in self._loggers():
            app.event(event_type)(self.on_event)
        app.event("member_joined_channel")(self.on_member_joined_channel)
        app.event("subteam_members_changed")(self.on_subteam_members_changed)
        for spec in COMMANDS:
            app.command(f"/{spec.name}")(self.on_command)
        app.action(re.compile(r"^pulse:"))(self.on_action)

    async def _put(self, activity: ActivityEvent) -> None:
        if activity.kind is ActivityKind.MEMBER_JOINED and not await self._is_new_join(activity):
            return
        await self.writer.put(activity)
        member = activity.member_id
        self.staff_marks.seen(self.team_id, member, member in self.staff, lambda: self.staff)

    async def _events_of_message(self, msg: dict, channel: str) -> list[ActivityEvent]:
        await self.know([msg.get("user"), msg.get("parent_user_id")])
        try:
            return self.mapper.events(msg, channel)
        except MappingError as exc:
            log.warning("skipped a message in %s: %s", channel, exc)
            return []

    def _loggers(self) -> dict:
        return {
            "message": self._log_message,
            "reaction_added": self._log_reaction,
            "reaction_removed": self._log_reaction,
            "team_join": self._log_team_join,
            "user_change": self._log_user_change,
        }

    async def on_event(self, event: dict, body: dict) -> None:
        """Queue an event for the task that logs events in arrival order."""
        await self.inbox.put((event, body))

    async def _log_events(self) -> None:
        loggers = self._loggers()
        while True:
            event, body = await self.inbox.get()
            try:
                await loggers[event.get("type")](event, body)
            except Exception as exc:
                log_failure(log, exc, "could not log a Slack %s event", event.get("type"))
            finally:
                self.inbox.task_done()

    async def _log_message(self, event: dict, body: dict) -> None:
        """Log a message, thread reply, broadcast or join; edits and bots are skipped."""
        channel = event.get("channel")
        if not channel or event.get("channel_type") in _DM_TYPES or self.mapper is None:
            return
        if event.get("bot_id") and event.get("subtype") != "channel_join":
            return  # an app or integration posting, even under a user's id
        for activity in await self._events_of_message(event, channel):
            await self._put(activity)

    async def _log_reaction(self, event: dict, body: dict) -> None:
        """Log a reaction given (or taken back), and received by the message's author."""
        await self.know([event.get("user"), event.get("item_user")])
        activity = reaction_event(
            event,
            self.team_id,
            reactor_is_bot=self._is_bot(event.get("user")),
            author_is_bot=self._is_bot(event.get("item_user")),
            space_name=self.team_name,
            accept=self.mapper.accept,
        )
        if activity is not None:
            await self._put(activity)

    async def on_member_joined_channel(self, event: dict) -> None:
        """When Pulse itself is invited to a channel, read that channel's recent history.

        Members joining a channel are logged from the channel_join message Slack posts beside
        this event (the one exports and history hold too), and joining the workspace from
        team_join, so this event adds no activity of its own.
        """
        if event.get("user") == self.bot_user_id and event.get("channel"):
            self.background.spawn(self._catch_up([event["channel"]]), "slack-channel-catch-up")

    async def _log_team_join(self, event: dict, body: dict) -> None:
        """Log a member joining the workspace."""
        profile = event.get("user")
        if isinstance(profile, dict) and profile.get("id"):
            self.users[profile["id"]] = user_of(profile)
        at = datetime.fromtimestamp(body.get("event_time") or time.time(), UTC)
        activity = team_join_event(event, self.team_id, at, space_name=self.team_name)
        if activity is not None:
            await self._put(activity)

    async def _is_new_join(self, activity: ActivityEvent) -> bool:
        """Whether ACTIVITY is a join not yet recorded (as a team_join or a #general join).

        Decided from the database, so a restart (or catch-up reading the channel_join of a
        team_join logged live) stores one join; the joins this process has queued and the writer
        may not have stored yet are checked first.
        """
        # Live events and catch-up both get here: one at a time, or both would find nothing.
        async with self._join_lock:
            queued = self.joins_queued.get(activity.member_id)
            if queued is not None and abs(queued - activity.occurred_at) <= SAME_JOIN:
                return False
            try:
                stored = await join_stored_near(
                    self.uow,
                    Platform.SLACK,
                    self.team_id,
                    activity.member_id,
                    activity.occurred_at,
                    SAME_JOIN,
                )
            except Exception as exc:
                # The writer keeps events through an outage; a join must not be lost to the
                # check. At worst it is stored twice.
                log.warning("cannot check earlier joins (%s); logging the join", exc)
                stored = False
            if not stored:
                self.joins_queued[activity.member_id] = activity.occurred_at
            return not stored

    async def _log_user_change(self, event: dict, body: dict) -> None:
        """Keep cached display names current."""
        profile = event.get("user")
        if isinstance(profile, dict) and profile.get("id"):
            self.users[profile["id"]] = user_of(profile)

    async def on_subteam_members_changed(self, event: dict) -> None:
        """Re-read staff when the staff user group changes."""
        if event.get("subteam_id") == self.settings.staff_usergroup_id:
            await self.refresh_staff(force=True)
