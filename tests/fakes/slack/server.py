"""FakeSlack itself: its state, lifecycle, waiting and checks, and the pytest fixture."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.clock import SystemClock
from community.clock import Clock

from ..waiting import Waiting
from .constants import ACK_DEADLINE, API_PREFIX, DEFAULT_BOT_SCOPES
from .events_api import _EventsApi
from .interactivity import _Interactivity
from .records import (
    ApiCall,
    Delivery,
    FakeSlackError,
    PostedMessage,
    ResponsePost,
    SocketConnection,
    Upload,
    World,
    _json_response,
)
from .scenarios import _Scenarios
from .socket_mode import _SocketMode
from .state import _State
from .web_api import _WebApi
from .web_api_chat import _WebApiChat


class FakeSlack(
    Waiting, _State, _Scenarios, _Interactivity, _EventsApi, _SocketMode, _WebApi, _WebApiChat
):
    """An in-memory Slack workspace with its Web API, Events API and Socket Mode on 127.0.0.1."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        echo_bot_messages: bool = True,
        scopes: tuple[str, ...] | list[str] | None = None,
        ack_timeout: float = ACK_DEADLINE,
        connect_timeout: float = 5.0,
        team_id: str = "T0PULSE",
        team_name: str = "Pulse Community",
        team_domain: str = "pulse-community",
    ) -> None:
        # Message timestamps come from this clock (community.clock.FixedClock works).
        self.clock = clock or SystemClock()
        # Real Slack sends the app a message event for each message it posts itself.
        self.echo_bot_messages = echo_bot_messages
        # The bot token's scopes: a method needing another answers missing_scope, and events
        # needing another are not sent (see METHOD_SCOPES, EVENT_SCOPES).
        self.scopes = tuple(DEFAULT_BOT_SCOPES if scopes is None else scopes)
        # Free workspaces have no user groups: usergroups.users.update answers
        # plan_upgrade_required there.
        self.plan_has_usergroups = True
        # How long the app has to acknowledge a delivery (Slack: 3 s), and how long a delivery
        # waits for an app to connect (Socket Mode) or listen (HTTP).
        self.ack_timeout = ack_timeout
        self.connect_timeout = connect_timeout
        # Fail the test at teardown on unknown Web API methods and on deliveries the app did
        # not acknowledge (set False when a test expects them).
        self.strict = True
        # What never answers (see stall): Web API methods, and "socket" for Socket Mode links.
        self.stalled: set[str] = set()
        self.socket_attempts = 0
        self._release = asyncio.Event()

        self.team_id = team_id
        self.app_id = "A0PULSE"
        self.team: dict[str, Any] = {
            "id": team_id,
            "name": team_name,
            "url": f"https://{team_domain}.slack.com/",
            "domain": team_domain,
            "email_domain": "",
            "icon": {
                "image_default": True,
                "image_34": "https://a.slack-edge.com/80588/img/avatars-teams/ava_0001-34.png",
                "image_44": "https://a.slack-edge.com/80588/img/avatars-teams/ava_0001-44.png",
                "image_68": "https://a.slack-edge.com/80588/img/avatars-teams/ava_0001-68.png",
                "image_88": "https://a.slack-edge.com/80588/img/avatars-teams/ava_0001-88.png",
                "image_102": "https://a.slack-edge.com/80588/img/avatars-teams/ava_0001-102.png",
                "image_132": "https://a.slack-edge.com/80588/img/avatars-teams/ava_0001-132.png",
            },
            "avatar_base_url": "https://ca.slack-edge.com/",
            "is_verified": False,
            "lob_sales_home_enabled": False,
        }
        number = secrets.randbelow(10**12)
        self.bot_token = f"xoxb-{number}-{number + 1}-{secrets.token_urlsafe(18)}"
        self.app_token = f"xapp-1-{self.app_id}-{number + 2}-{secrets.token_hex(32)}"
        self.signing_secret = secrets.token_hex(16)
        # The deprecated verification token Slack still puts in every payload.
        self.verification_token = secrets.token_urlsafe(18)[:24]

        self.users: dict[str, dict[str, Any]] = {}
        self.bots: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.members: dict[str, list[str]] = {}
        self.usergroups: dict[str, dict[str, Any]] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.history: dict[str, list[str]] = {}
        self.threads: dict[tuple[str, str], list[str]] = {}
        self.ephemerals: dict[str, dict[str, Any]] = {}
        self.ims: dict[str, str] = {}  # user id -> the DM channel conversations.open made

        self.calls: list[ApiCall] = []
        self.unknown_calls: list[ApiCall] = []
        self.unknown_paths: list[str] = []
        self.posted: list[PostedMessage] = []
        self.uploads: list[Upload] = []
        self.responses: list[ResponsePost] = []
        self.deliveries: list[Delivery] = []
        self.last_delivery: Delivery | None = None
        self.undelivered: list[tuple[dict[str, Any], str]] = []
        self.connections: list[SocketConnection] = []
        self.stray_frames: list[dict[str, Any]] = []

        self._used_ts: set[int] = set()
        self._last_now = 0
        self._ids: dict[str, itertools.count[int]] = {}
        self._rate_limits: dict[str, list[int]] = {}
        self._tickets: set[str] = set()
        self._response_urls: dict[str, list[Any]] = {}
        self._pending_acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._http_target: tuple[str, str] | None = None
        self._transport_seen = False
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port: int | None = None
        self.world: World | None = None

        self.bot_id = "B0PULSE"
        self.bot_user = self.add_user(
            "pulse",
            is_bot=True,
            real_name="Pulse",
            user_id="U0PULSE",
            bot_id=self.bot_id,
            app_id=self.app_id,
        )

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT, where everything the fake serves lives."""
        if self.port is None:
            raise FakeSlackError("the fake is not started: await fake.start() first")
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The Web API base for AsyncWebClient(base_url=...), with its trailing slash."""
        return self.base_url + API_PREFIX

    async def start(self) -> None:
        """Listen on 127.0.0.1 on an ephemeral port."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", API_PREFIX + "{method}", self._api)
        app.router.add_route("POST", "/upload/v1/{file_id}", self._upload)
        app.router.add_route("POST", "/commands/{team}/{id}/{secret}", self._response_url)
        app.router.add_route("POST", "/actions/{team}/{id}/{secret}", self._response_url)
        app.router.add_route("GET", "/link/", self._socket)
        app.router.add_route("*", "/{tail:.*}", self._unknown_path)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        """Cancel pending deliveries, close every websocket and stop listening."""
        self._release.set()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        for connection in self.connections:
            if not connection.ws.closed:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.ws.close(code=1001), 2.0)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def deliver_http(self, url: str | None, signing_secret: str | None = None) -> None:
        """Send later deliveries as signed HTTP POSTs to the app's URL (None: back to Socket
        Mode). signing_secret defaults to fake.signing_secret."""
        if url is None:
            self._http_target = None
            return
        if not url.startswith("http://127.0.0.1:"):
            raise FakeSlackError(f"deliveries go to 127.0.0.1 only, not {url}")
        self._http_target = (url, signing_secret or self.signing_secret)
        self._transport_seen = True

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls to a method with HTTP 429 and Retry-After."""
        self._rate_limits[method] = [times, retry_after]

    # ------------------------------------------------------------------ waiting and checks

    def _timed_out(self, message: str) -> Exception:
        recent = ", ".join(repr(c) for c in self.calls[-6:]) or "none"
        return FakeSlackError(f"{message}; last Web API calls: {recent}")

    async def wait_for_response(
        self,
        delivery: Delivery,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - passed on to wait_for
    ) -> ResponsePost:
        """The first message the app sent for a command or action: its inline ack answer, or
        its first post to the response_url."""
        return await self.wait_for(
            lambda: delivery.responses[0] if delivery.responses else None,
            timeout=timeout,
            what=f"a response to {delivery!r}",
        )

    def calls_to(self, method: str) -> list[ApiCall]:
        """The recorded Web API calls to one method, e.g. calls_to("chat.postMessage")."""
        return [call for call in self.calls if call.method == method]

    def failed_deliveries(self) -> list[Delivery]:
        """Deliveries the app did not acknowledge (non-2xx, or no ack in time)."""
        return [d for d in self.deliveries if d.transport is not None and not d.acked]

    def assert_no_surprises(self) -> None:
        """Fail if the app called unknown methods or paths, or left a delivery unacknowledged."""
        problems = []
        if self.unknown_calls:
            names = ", ".join(sorted({c.method for c in self.unknown_calls}))
            problems.append(f"the app called Web API methods the fake does not know: {names}")
        if self.unknown_paths:
            problems.append(f"the app requested unknown paths: {', '.join(self.unknown_paths)}")
        failed = self.failed_deliveries()
        if failed:
            problems.append(
                "the app did not acknowledge (Slack would retry these): "
                + ", ".join(repr(d) for d in failed)
            )
        if problems:
            raise FakeSlackError("; ".join(problems))

    # ------------------------------------------------------------------ HTTP endpoints

    async def _unknown_path(self, request: web.Request) -> web.Response:
        self.unknown_paths.append(f"{request.method} {request.path}")
        self._notify()
        return _json_response(
            {"ok": False, "error": f"the fake has no route {request.method} {request.path}"}, 404
        )


@contextlib.asynccontextmanager
async def started_fake_slack(**options: Any) -> AsyncIterator[FakeSlack]:
    """A started FakeSlack with the default community (fake.world)."""
    fake = FakeSlack(**options)
    fake.seed_community()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A started fake Slack with the default community (fake.world). Fails at teardown if the
    app called a Web API method the fake lacks or left a delivery unacknowledged."""
    async with started_fake_slack() as fake:
        yield fake
        if fake.strict:
            fake.assert_no_surprises()
