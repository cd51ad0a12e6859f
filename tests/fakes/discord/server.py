"""FakeDiscord itself: its state, lifecycle, waiting and assertions, and the pytest fixture."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web

from bot.clock import SystemClock
from community.clock import Clock

from ..waiting import Waiting
from .constants import API_PREFIX, PRIVILEGED_INTENTS
from .crowd import _Crowds
from .gateway import _Gateway
from .interactions import _Interactions
from .payloads import _Payloads
from .records import (
    FakeDiscordError,
    FakeInteraction,
    GatewayConnection,
    InteractionResponse,
    RecordedRequest,
    World,
    _Session,
)
from .rest import _Rest
from .rest_interactions import _RestInteractions
from .rest_roles import _RestRoles
from .scenarios import _Scenarios
from .state import _State


class FakeDiscord(
    Waiting,
    _State,
    _Payloads,
    _Scenarios,
    _Crowds,
    _Interactions,
    _Gateway,
    _Rest,
    _RestInteractions,
    _RestRoles,
):
    """An in-memory Discord: REST under /api/v10 and a gateway websocket, on 127.0.0.1."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        clock: Clock | None = None,
        heartbeat_interval_ms: int = 41_250,
        enabled_privileged_intents: int = PRIVILEGED_INTENTS,
        echo_bot_messages: bool = True,
    ) -> None:
        self.token = token
        # Message timestamps and snowflakes come from this clock (community.clock.FixedClock works).
        self.clock = clock or SystemClock()
        self.heartbeat_interval_ms = heartbeat_interval_ms
        # The intents switched on in the developer portal: asking for others closes with 4014,
        # and without MESSAGE_CONTENT message text arrives empty.
        self.enabled_privileged_intents = enabled_privileged_intents
        # Real Discord sends the bot a MESSAGE_CREATE for each message it posts itself.
        self.echo_bot_messages = echo_bot_messages
        # Fail the test at teardown when the client called an endpoint the fake does not know.
        self.strict = True
        # What never answers (see stall): REST route names, and "hello" for the gateway's HELLO.
        self.stalled: set[str] = set()
        self._rate_limits: dict[str, list[float]] = {}
        self._release = asyncio.Event()

        self.users: dict[str, dict[str, Any]] = {}
        self.guilds: dict[str, dict[str, Any]] = {}
        self.roles: dict[str, dict[str, dict[str, Any]]] = {}
        self.members: dict[str, dict[str, dict[str, Any]]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.history: dict[str, list[str]] = {}
        self.commands: dict[str | None, list[dict[str, Any]]] = {}
        self.files: dict[str, bytes] = {}
        self.crowds: dict = {}  # guild id -> Crowd (tests/fakes/discord/crowd.py)
        self.large_guilds: set[str] = set()
        # What GET /gateway/bot recommends; IDENTIFY's shard [id, count] decides who gets what.
        self.recommended_shards = 1
        # Frames kept per session for RESUME; a benchmark's long stream bounds it.
        self.replay_frames: int | None = None

        self.requests: list[RecordedRequest] = []
        self.unknown_requests: list[RecordedRequest] = []
        self.interactions: dict[str, FakeInteraction] = {}
        self.interaction_responses: list[InteractionResponse] = []
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, _Session] = {}
        self.identifies = 0
        self.resumes = 0
        self.filtered_events: list[tuple[str, str, dict[str, Any]]] = []
        self.member_requests: list[tuple[str, dict[str, Any]]] = []  # op 8: (session id, data)

        self._per_ms: dict[int, itertools.count[int]] = {}
        self._webhooks: dict[str, str] = {}
        self._changed = asyncio.Event()
        self._client_tasks: list[asyncio.Task] = []
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.world: World | None = None

        self.application_id = self.new_id()
        self.bot_user = self.add_user("Pulse", bot=True, user_id=self.application_id)

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """What discord.http.Route.BASE must be set to."""
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """What DiscordWebSocket.DEFAULT_GATEWAY must be set to."""
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def resume_gateway_url(self) -> str:
        """The resume_gateway_url READY hands out (a distinct path, so tests can tell)."""
        return f"ws://127.0.0.1:{self.port}/resume"

    async def start(self) -> None:
        """Listen on 127.0.0.1 on an ephemeral port."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("GET", "/", self._gateway)
        app.router.add_route("GET", "/resume", self._gateway)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        app.router.add_route("*", "/{tail:.*}", self._outside_api)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        """Close every websocket and stop listening."""
        self._release.set()
        for connection in list(self.connections):
            if not connection.ws.closed:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.ws.close(code=1001), 2.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @contextlib.contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py's REST base and default gateway at this fake, restoring them after."""
        import discord.gateway
        import discord.http
        import yarl

        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.base_url
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    @contextlib.asynccontextmanager
    async def running(
        self,
        client: Any,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - bounds both start-up and shutdown
    ) -> AsyncIterator[asyncio.Task]:
        """Start a discord.py client against the fake, wait for on_ready, close it after."""
        task = asyncio.create_task(client.start(self.token), name="discord-client")
        self._client_tasks.append(task)
        try:
            await self.wait_for(
                lambda: client.is_ready() or task.done(),
                timeout=timeout,
                what="the client to become ready",
            )
            if task.done():
                task.result()  # surfaces the exception that ended the client
                raise FakeDiscordError("the client stopped before it became ready")
            yield task
        finally:
            await client.close()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout)

    def _raise_if_a_client_died(self) -> None:
        # A KeyError in a discord.py gateway parser ends client.start(): fail now, not at timeout.
        for task in self._client_tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise FakeDiscordError("the discord.py client stopped") from task.exception()

    def assert_no_unexpected_requests(self) -> None:
        """Fail if the client called an endpoint the fake does not implement."""
        if self.unknown_requests:
            listed = ", ".join(f"{r.method} {r.path}" for r in self.unknown_requests)
            raise FakeDiscordError(f"the client called endpoints the fake does not know: {listed}")

    # ------------------------------------------------------------------ waiting

    def _check_while_waiting(self) -> None:
        self._raise_if_a_client_died()

    def _timed_out(self, message: str) -> Exception:
        recent = ", ".join(repr(r) for r in self.requests[-5:]) or "none"
        return FakeDiscordError(f"{message}; last requests: {recent}")

    async def wait_for_response(
        self,
        interaction: FakeInteraction,
        *,
        kind: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - passed on to wait_for
    ) -> InteractionResponse:
        """Wait for the bot's next (or first of a kind) response to an interaction."""

        def found() -> InteractionResponse | None:
            return next((r for r in interaction.responses if kind in (None, r.kind)), None)

        return await self.wait_for(found, timeout=timeout, what=f"a {kind or 'any'} response")

    # ------------------------------------------------------------------ assertions

    def calls(self, route: str) -> list[RecordedRequest]:
        """The recorded REST calls to a route name (see _ROUTES), e.g. calls("post_message")."""
        return [r for r in self.requests if r.route == route]

    def posted_messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Visible messages the bot itself posted in a channel (REST posts and interaction
        replies), oldest first; ephemeral replies are in interaction_responses instead."""
        bot_id = self.bot_user["id"]
        return [
            self.messages[i]
            for i in self.history.get(channel_id, [])
            if self.messages[i]["author"]["id"] == bot_id
        ]


@contextlib.asynccontextmanager
async def started_fake(**options: Any) -> AsyncIterator[FakeDiscord]:
    """A started FakeDiscord with the default community, discord.py patched to use it."""
    fake = FakeDiscord(**options)
    fake.seed_community()
    await fake.start()
    try:
        with fake.patch_discord():
            yield fake
    finally:
        await fake.close()


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started fake Discord with the default community (fake.world); discord.py points at it
    for this test only. Fails at teardown if the client called an endpoint the fake lacks."""
    async with started_fake() as fake:
        yield fake
        if fake.strict:
            fake.assert_no_unexpected_requests()
