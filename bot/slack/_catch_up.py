"""What the Slack app reads at start-up that it missed while Pulse was down."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError

from bot.services.catch_up import catch_up_from, threads_replied_to
from bot.tasks import log_failure
from community import ids
from community.events import ActivityEvent, ActivityKind, Platform

log = logging.getLogger(__name__)


def _ts(moment: datetime) -> str:
    return f"{moment.timestamp():.6f}"


class _CatchUp:
    """Catch-up on history missed while Pulse was down. A part of PulseSlack (bot.slack.adapter)."""

    async def _catch_up(self, channels: list[str]) -> None:
        try:
            oldest = await self._catch_up_from()
            count = 0
            for channel in channels:
                count += await self._catch_up_channel(channel, oldest)
            await self.writer.flush()
            log.info("caught up %d message(s) in %d Slack channel(s)", count, len(channels))
            await self._sync_staff()  # members first seen during catch-up
        except Exception as exc:
            log_failure(log, exc, "Slack catch-up stopped early; live logging continues")
        finally:
            self.caught_up.set()

    async def _catch_up_from(self) -> datetime:
        return await catch_up_from(
            self.uow, Platform.SLACK, self.team_id, self.clock.now(), self.settings.catch_up_days
        )

    async def _catch_up_channel(self, channel: str, oldest: datetime) -> int:
        # The whole window is read, not only what came after OLDEST: an older message is where
        # a reply to it since OLDEST shows (latest_reply), and who reacted to it since.
        window = self.clock.now() - timedelta(days=self.settings.catch_up_days)
        history = self._paged(
            self.client.conversations_history,
            "messages",
            channel=channel,
            oldest=_ts(min(window, oldest)),
        )
        try:
            messages = [msg async for msg in history]
        except SlackApiError as exc:
            log.info("cannot read the history of %s (%s); skipped", channel, exc)
            return 0
        messages.sort(key=lambda m: float(m.get("ts", 0)))
        threads = {
            m["ts"]
            for m in messages
            if m.get("reply_count") and float(m.get("latest_reply", 0)) > oldest.timestamp()
        }
        threads.update(await self._recent_threads(channel, window))
        count = 0
        for msg in messages:
            events = await self._events_of_message(msg, channel)
            if float(msg.get("ts", 0)) < oldest.timestamp():
                # Stored before OLDEST already; only its reactions may be new.
                events = [e for e in events if e.kind is ActivityKind.REACTION_GIVEN]
            count += await self._put_all(events)
        for thread_ts in sorted(threads, key=float):
            count += await self._catch_up_thread(channel, thread_ts, oldest)
        return count

    async def _catch_up_thread(self, channel: str, thread_ts: str, oldest: datetime) -> int:
        count = 0
        replies = self._paged(
            self.client.conversations_replies,
            "messages",
            channel=channel,
            ts=thread_ts,
            oldest=_ts(oldest),
        )
        try:
            async for msg in replies:
                if msg.get("ts") == thread_ts:
                    continue  # the starter came with the channel's history, or before it
                count += await self._put_all(await self._events_of_message(msg, channel))
        except SlackApiError as exc:
            log.info("cannot read thread %s in %s (%s); skipped", thread_ts, channel, exc)
        return count

    async def _recent_threads(self, channel: str, since: datetime) -> set[str]:
        """Threads Pulse saw replies in since SINCE: more may have come while it was down."""
        prefix = ids.slack_message(channel, "")
        return await threads_replied_to(self.uow, Platform.SLACK, self.team_id, prefix, since)

    async def _put_all(self, events: list[ActivityEvent]) -> int:
        for event in events:
            await self._put(event)
        return sum(1 for e in events if e.kind is not ActivityKind.REACTION_GIVEN)
