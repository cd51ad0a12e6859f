"""The Slack app: log what members do, answer slash commands and buttons, catch up on misses.

A slack-bolt AsyncApp receives events over Socket Mode or signed HTTP requests. Bolt acknowledges
events before the listeners run; listeners only build ActivityEvents and put them on the ingest
queue, so the database is touched by the writer task and by commands, never on Slack's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import PlatformSetupError
from bot.commands.replies import Reply
from bot.commands.service import CommandService, Invocation
from bot.commands.spec import COMMANDS
from bot.platforms import ANSWER_WITHIN, StaffMarks
from bot.services.catch_up import catch_up_from, join_stored_near, threads_replied_to
from bot.settings import SlackSettings
from bot.slack import render
from bot.slack.logs import withhold_request_bodies
from bot.tasks import Background, Stopped, log_failure, unless_stopped
from community import ids
from community.clock import Clock
from community.events import ActivityEvent, ActivityKind, Platform
from community.mapping import MappingError, RecentMap, ThreadTracker
from community.slack_map import (
    SlackMapper,
    SlackUser,
    reaction_event,
    team_join_event,
    user_of,
)
from storage.uow import UnitOfWork
from storage.writer.queue import IngestWriter

log = logging.getLogger(__name__)

# A team_join and the channel_join in #general that Slack posts with it are one join: two join
# records of a member this close together are the same join, whichever is seen first.
SAME_JOIN = timedelta(minutes=10)
DRAIN_TIMEOUT = 10.0  # seconds: at shutdown, queued events get this long to reach the writer
STAFF_REFRESH = 600.0  # seconds: a user group's members are read again at most this often
HISTORY_PAGE = 200
_DM_TYPES = frozenset({"im", "mpim"})


class SlackSetupError(PlatformSetupError):
    """Slack refused Pulse's credentials or settings, for a reason the operator must fix."""


@dataclass(frozen=True, slots=True)
class SlackSecrets:
    """The credentials read from the environment variables the config names."""

    bot_token: str
    app_token: str | None = None
    signing_secret: str | None = None


def client_for(settings: SlackSettings, token: str) -> AsyncWebClient:
    """The Web API client: Slack's API or the configured base URL, retrying 429s and resets."""
    base = settings.api_base_url.rstrip("/") + "/"  # slack_sdk joins method names onto it
    return AsyncWebClient(
        token=token,
        base_url=base,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


def _ts(moment: datetime) -> str:
    return f"{moment.timestamp():.6f}"


class PulseSlack:
    """The Slack side of Pulse for one workspace: Bolt listeners, users, staff and catch-up."""

    def __init__(
        self,
        settings: SlackSettings,
        client: AsyncWebClient,
        writer: IngestWriter,
        service: CommandService,
        uow: UnitOfWork,
        *,
        signing_secret: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.writer = writer
        self.service = service
        self.uow = uow
        self.clock = clock or service.clock
        self.help_channels = frozenset(settings.help_channel_ids)
        self.users: RecentMap = RecentMap(50_000)
        self.threads = ThreadTracker()
        self.team_id = ""
        self.team_name: str | None = None
        self.bot_user_id = ""
        self.general: str | None = None
        self.mapper: SlackMapper | None = None
        self.staff: frozenset[str] = frozenset(settings.staff_user_ids)
        self.staff_marks = StaffMarks(uow, writer, Platform.SLACK)
        # Joins queued by this process, by member, until the writer has surely stored them;
        # whether a member already joined is otherwise read from the database (see _is_new_join).
        self.joins_queued: RecentMap = RecentMap(10_000)
        self._join_lock = asyncio.Lock()
        self._staff_read = 0.0
        self.background = Background()
        self.caught_up = asyncio.Event()
        # Bolt runs each listener as its own task, and a users.info lookup can hold one back:
        # events are logged by one task in arrival order, so a thread's replies are seen in
        # the order they were written (who answered whom, thank-yous).
        self.inbox: asyncio.Queue = asyncio.Queue(maxsize=10_000)
        withhold_request_bodies()
        self.app = AsyncApp(
            client=client,
            signing_secret=signing_secret or "",
            # Socket Mode envelopes arrive over an authenticated websocket and carry no signature.
            request_verification_enabled=settings.mode == "http",
            # Whatever Slack sends and Pulse does not listen for is acknowledged and dropped.
            raise_error_for_unhandled_request=False,
        )
        self._register()

    # --- start-up ------------------------------------------------------------------------------

    async def connect(self) -> list[dict]:
        """Check the token, learn the workspace and its channels, read staff; return channels."""
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            raise SlackSetupError(
                f"Slack refused the bot token ({exc.response.get('error')}): check the variable "
                "slack.bot_token_env names"
            ) from exc
        self.team_id = auth["team_id"]
        self.team_name = auth.get("team")
        self.bot_user_id = auth.get("user_id") or ""
        if self.bot_user_id:
            self.users[self.bot_user_id] = SlackUser("Pulse", is_bot=True)
        channels = await self._channels()
        self.general = next((c["id"] for c in channels if c.get("is_general")), None)
        self.mapper = SlackMapper(
            self.team_id,
            self.users,
            help_channels=self.help_channels,
            # A join counts as joining the community only in the channel everyone is in.
            join_channels={self.general} if self.general else (),
            space_name=self.team_name,
            threads=self.threads,
            accept=self.service.settings.tiers.accept_keys(),
        )
        await self.refresh_staff(force=True)
        log.info(
            "connected to Slack workspace %s (%s); Pulse is in %d channel(s)",
            self.team_name,
            self.team_id,
            len(channels),
        )
        return channels

    async def _channels(self) -> list[dict]:
        return [
            channel
            async for channel in self._paged(
                self.client.users_conversations,
                "channels",
                types="public_channel,private_channel",
                exclude_archived=True,
            )
        ]

    async def _paged(self, method, key: str, **params) -> AsyncIterator[dict]:
        """Every item under KEY across the cursor pages of a Web API list METHOD."""
        cursor = None
        while True:
            page = await method(**params, limit=HISTORY_PAGE, cursor=cursor)
            for item in page.get(key, []):
                yield item
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return

    def start(self, channels: list[dict]) -> None:
        """Start logging queued events, and read what was missed while Pulse was down."""
        self.background.spawn(self._log_events(), "slack-log")
        self.caught_up.clear()
        self.background.spawn(self._catch_up([c["id"] for c in channels]), "slack-catch-up")

    async def close(self) -> None:
        """Log what is queued, then stop background work before the client goes away."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.inbox.join(), DRAIN_TIMEOUT)
        await self.staff_marks.close()
        await self.background.cancel()

    # --- users and staff ---------------------------------------------------------------------

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

    # --- listeners ---------------------------------------------------------------------------

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

    # --- commands and buttons ------------------------------------------------------------

    async def _invocation(self, user: str) -> Invocation:
        return Invocation(Platform.SLACK, self.team_id, user, await self.is_staff(user))

    async def on_command(self, ack, body: dict, respond) -> None:
        """Answer a slash command through the shared command layer."""
        user = body.get("user_id", "")
        name = str(body.get("command", "")).lstrip("/")
        work = self._run_command(user, name, str(body.get("text") or ""))
        await self._answer(ack, respond, work, user, inline=True, replace=False)

    async def _run_command(self, user: str, name: str, text: str) -> Reply:
        return await self.service.run_text(await self._invocation(user), name, text)

    async def on_action(self, ack, body: dict, respond) -> None:
        """Handle a press on one of Pulse's buttons."""
        user = (body.get("user") or {}).get("id", "")
        actions = body.get("actions") or [{}]
        action_id = str(actions[0].get("action_id", ""))
        work = self._press(user, action_id)
        paging = action_id.startswith("pulse:page:")
        await self._answer(ack, respond, work, user, inline=False, replace=paging)

    async def _press(self, user: str, action_id: str) -> Reply:
        return await self.service.press(await self._invocation(user), action_id)

    async def _answer(self, ack, respond, work, user: str, *, inline: bool, replace: bool) -> None:
        task = asyncio.ensure_future(work)
        if inline:
            done, _ = await asyncio.wait({task}, timeout=ANSWER_WITHIN)
            if done:
                # Answered in the acknowledgement itself: one round trip, nothing to follow up.
                reply = task.result()
                await ack(**render.message(reply))
                await self._more(reply, respond, user)
                return
        await ack()
        reply = await task
        try:
            await respond(**render.message(reply), replace_original=replace)
            await self._more(reply, respond, user)
        except Exception as exc:  # the response URL expired (30 minutes) or was refused
            log.error("could not answer %s: %s", user, exc)

    async def _more(self, reply: Reply, respond, user: str) -> None:
        for more in reply.followups:
            await respond(**render.message(more), replace_original=False)
        if reply.attachment is not None:
            await respond(**render.message(await self._send_file(user, reply.attachment)))

    async def _send_file(self, user: str, attachment: tuple[str, bytes]) -> Reply:
        # Slack has no ephemeral files: a private file goes to the member's DM with Pulse.
        name, content = attachment
        try:
            dm = await self.client.conversations_open(users=user)
            await self.client.files_upload_v2(
                channel=dm["channel"]["id"], content=content, filename=name, title=name
            )
        except SlackApiError as exc:
            return Reply(
                title="The chart could not be sent",
                text=f"Slack said {exc.response.get('error')}. Pulse needs the files:write and "
                "im:write scopes (see `pulse slack-manifest`).",
            )
        return Reply(title="Chart sent", text="The chart is in your direct messages with Pulse.")

    # --- catch-up ------------------------------------------------------------------------

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
        history = self._paged(
            self.client.conversations_history, "messages", channel=channel, oldest=_ts(oldest)
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
        threads.update(await self._recent_threads(channel, oldest))
        count = 0
        for msg in messages:
            count += await self._put_all(await self._events_of_message(msg, channel))
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

    async def _recent_threads(self, channel: str, oldest: datetime) -> set[str]:
        """Threads Pulse saw replies in lately: replies may have come while it was down."""
        since = self.clock.now() - timedelta(days=self.settings.catch_up_days)
        prefix = ids.slack_message(channel, "")
        return await threads_replied_to(self.uow, Platform.SLACK, self.team_id, prefix, since)

    async def _put_all(self, events: list[ActivityEvent]) -> int:
        for event in events:
            await self._put(event)
        return sum(1 for e in events if e.kind is not ActivityKind.REACTION_GIVEN)


# --- running ---------------------------------------------------------------------------------


async def serve_http(app: AsyncApp, settings: SlackSettings):
    """Serve Bolt's Events API, commands and interactivity on host:port/path; return a runner."""
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

    async def handle(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post(settings.path, handle)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise SlackSetupError(
            f"cannot listen on {settings.host}:{settings.port} (slack.host, slack.port): {exc}"
        ) from exc
    return runner


async def _check_app_token(settings: SlackSettings, app_token: str | None) -> None:
    try:
        await client_for(settings, app_token or "").apps_connections_open(app_token=app_token or "")
    except SlackApiError as exc:
        raise SlackSetupError(
            f"Slack refused the app-level token ({exc.response.get('error')}): check the "
            "variable slack.app_token_env names; it starts with xapp- and needs the "
            "connections:write scope"
        ) from exc


async def run_slack(
    settings: SlackSettings,
    secrets: SlackSecrets,
    writer: IngestWriter,
    service: CommandService,
    uow: UnitOfWork,
    stop: asyncio.Event,
    poster=None,
    *,
    clock: Clock | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Run the Slack app until STOP is set, in Socket Mode or serving HTTP as configured."""
    client = client_for(settings, secrets.bot_token)
    pulse = PulseSlack(
        settings,
        client,
        writer,
        service,
        uow,
        signing_secret=secrets.signing_secret,
        clock=clock,
    )
    try:
        # A Web API or socket that never answers must not hold a stop: each step yields to it.
        channels = await unless_stopped(pulse.connect(), stop, "slack-connect")
    except Stopped:
        return
    if poster is not None:
        poster.slack = pulse  # digests go out through the live app
    handler = runner = None
    try:
        if settings.mode == "socket":
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            # The handler retries a refused token forever in the background: check it first.
            await unless_stopped(_check_app_token(settings, secrets.app_token), stop)
            handler = AsyncSocketModeHandler(pulse.app, secrets.app_token)
            await unless_stopped(handler.connect_async(), stop, "slack-socket")
            log.info("Slack Socket Mode connected")
        else:
            runner = await serve_http(pulse.app, settings)
            log.info(
                "serving Slack requests on http://%s:%d%s",
                settings.host,
                settings.port,
                settings.path,
            )
        pulse.start(channels)
        if ready is not None:
            ready.set()
        await stop.wait()
    except Stopped:
        pass
    finally:
        await pulse.close()
        if handler is not None:
            await handler.close_async()
        if runner is not None:
            await runner.cleanup()
