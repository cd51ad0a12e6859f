"""The Slack app: log what members do, answer slash commands and buttons, catch up on misses.

A slack-bolt AsyncApp receives events over Socket Mode or signed HTTP requests. Bolt acknowledges
events before the listeners run; listeners only build ActivityEvents and put them on the ingest
queue, so the database is touched by the writer task and by commands, never on Slack's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import PlatformSetupError
from bot.commands.service import CommandService
from bot.platforms import StaffMarks
from bot.settings import SlackSettings
from bot.slack._catch_up import _CatchUp
from bot.slack._commands import _Commands
from bot.slack._listeners import _Listeners
from bot.slack._people import _People
from bot.slack.logs import withhold_request_bodies
from bot.tasks import Background, Stopped, unless_stopped
from community.clock import Clock
from community.events import Platform
from community.mapping import RecentMap, ThreadTracker
from community.slack_map import (
    SlackMapper,
    SlackUser,
)
from storage.uow import UnitOfWork
from storage.writer.queue import IngestWriter

log = logging.getLogger(__name__)

DRAIN_TIMEOUT = 10.0  # seconds: at shutdown, queued events get this long to reach the writer
HISTORY_PAGE = 200


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


class PulseSlack(_People, _Listeners, _Commands, _CatchUp):
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
            accept=self.service.policies.accept,
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
    roles=None,
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
    if roles is not None:
        roles.client = client
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
