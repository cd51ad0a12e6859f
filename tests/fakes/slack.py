"""A local fake Slack (Web API, Events API over HTTP, Socket Mode) on 127.0.0.1.

The real slack_sdk ``AsyncWebClient`` and a real slack_bolt ``AsyncApp`` talk to it unmodified.
See tests/fakes/README.md for how adapter tests use it. In short::

    async def test_something(fake_slack):
        fake, w = fake_slack, fake_slack.world     # started and seeded
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        ...                                         # start the app (Socket Mode or HTTP)
        await fake.post_message(w.help, w.alice, "How do I deploy?")
        await fake.wait_for(lambda: ..., what="the question to be logged")

Payloads follow Slack's own samples (../shared/payloads/slack/): an event_callback envelope with
team_id, api_app_id, event_id, event_time and authorizations around each event; slash commands
with Slack's form fields; block_actions with container, channel, response_url and actions.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest
from aiohttp import WSMsgType, web

from bot.clock import SystemClock
from community.clock import Clock

API_PREFIX = "/api/"
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
# Slack's deadline for acknowledging an event, command or interaction.
ACK_DEADLINE = 3.0
# Slack rejects a request signed more than five minutes away from its own clock.
SIGNATURE_MAX_AGE = 5 * 60
# A response_url takes at most five posts (within 30 minutes).
RESPONSE_URL_USES = 5

# Every scope a method accepts (any one suffices); the fake's channels are all public, so the
# first one is what Slack reports as "needed".
_CONVERSATION_READ = ("channels:read", "groups:read", "im:read", "mpim:read")
_CONVERSATION_HISTORY = ("channels:history", "groups:history", "im:history", "mpim:history")
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "team.info": ("team:read",),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "usergroups.list": ("usergroups:read",),
    "usergroups.users.list": ("usergroups:read",),
    "users.conversations": _CONVERSATION_READ,
    "conversations.list": _CONVERSATION_READ,
    "conversations.info": _CONVERSATION_READ,
    "conversations.members": _CONVERSATION_READ,
    "conversations.history": _CONVERSATION_HISTORY,
    "conversations.replies": _CONVERSATION_HISTORY,
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "apps.connections.open": ("connections:write",),
    "conversations.open": ("im:write",),
}
# The scope an app needs before Slack sends it an event of this type.
EVENT_SCOPES: dict[str, str] = {
    "message": "channels:history",
    "reaction_added": "reactions:read",
    "reaction_removed": "reactions:read",
    "member_joined_channel": "channels:read",
    "team_join": "users:read",
}
DEFAULT_BOT_SCOPES = (
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "files:write",
    "reactions:read",
    "team:read",
    "usergroups:read",
    "users:read",
)

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def sign(secret: str, timestamp: int | str, body: str | bytes) -> str:
    """Slack's request signature: v0= + HMAC-SHA256(secret, "v0:{timestamp}:{body}")."""
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: str | bytes, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack signs a request with; timestamp defaults to now (wall clock)."""
    # Bolt checks the timestamp against time.time(), not against the fake's clock.
    moment = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Slack-Request-Timestamp": str(moment),
        "X-Slack-Signature": sign(secret, moment, body),
    }


def ts_micros(ts: str) -> int:
    """A Slack timestamp ("1700000000.000100", or whole seconds) as integer microseconds."""
    seconds, _, fraction = str(ts).strip().partition(".")
    if not seconds.isdigit() or (fraction and not fraction.isdigit()):
        raise ValueError(f"not a Slack timestamp: {ts!r}")
    return int(seconds) * 1_000_000 + int((fraction + "000000")[:6])


def micros_ts(micros: int) -> str:
    """Integer microseconds as a Slack timestamp string."""
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def ts_datetime(ts: str) -> datetime:
    """The moment a Slack timestamp stands for."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ts_micros(ts))


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware one")
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _rich_text(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack's clients attach to a typed message (mentions as user elements)."""
    elements: list[dict[str, Any]] = []
    position = 0
    for found in _MENTION.finditer(text):
        if found.start() > position:
            elements.append({"type": "text", "text": text[position : found.start()]})
        elements.append({"type": "user", "user_id": found.group(1)})
        position = found.end()
    if position < len(text) or not elements:
        elements.append({"type": "text", "text": text[position:]})
    return [
        {
            "type": "rich_text",
            "block_id": secrets.token_urlsafe(4)[:5],
            "elements": [{"type": "rich_text_section", "elements": elements}],
        }
    ]


def _walk_elements(blocks: list[dict[str, Any]] | None) -> Iterator[tuple[dict, dict]]:
    """(block, interactive element) pairs: actions elements and section accessories."""
    for block in blocks or []:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and "action_id" in element:
                yield block, element
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and "action_id" in accessory:
            yield block, accessory


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


class FakeSlackError(AssertionError):
    """A test asked the fake for something real Slack would not do (or that never happened)."""


class _ApiError(Exception):
    def __init__(self, error: str, *, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra
        self.headers: dict[str, str] = {}


@dataclass
class ApiCall:
    """One Web API call the app made, as the fake understood it."""

    method: str
    params: dict[str, Any]
    token: str | None
    http_verb: str
    status: int = 200
    response: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """Whether Slack answered ok: true."""
        return bool(self.response and self.response.get("ok"))

    @property
    def error(self) -> str | None:
        """Slack's error code, when the call failed."""
        return None if self.response is None else self.response.get("error")

    def __repr__(self) -> str:
        outcome = "ok" if self.ok else f"{self.status} {self.error}"
        return f"<{self.method} -> {outcome}>"


@dataclass
class PostedMessage:
    """A chat.postMessage, chat.postEphemeral or chat.update the app made."""

    method: str
    channel: str
    ts: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    user: str | None
    params: dict[str, Any]

    @property
    def ephemeral(self) -> bool:
        """Whether only `user` sees it."""
        return self.method == "chat.postEphemeral"

    def action_ids(self) -> list[str]:
        """The action_id of every interactive element in the blocks, in order."""
        return [element["action_id"] for _, element in _walk_elements(self.blocks)]


@dataclass
class ResponsePost:
    """A message the app sent through a response_url (or inline, in a command's ack)."""

    delivery: Delivery
    body: dict[str, Any]
    channel: str
    user: str
    via: str = "response_url"  # or "ack"
    url: str | None = None
    # Where it shows, set by the fake: the ts of the message it created or replaced, and
    # whether only `user` sees that message.
    ts: str = ""
    ephemeral: bool = True

    @property
    def response_type(self) -> str:
        """ephemeral (Slack's default) or in_channel."""
        return self.body.get("response_type") or "ephemeral"

    @property
    def replace_original(self) -> bool:
        """Whether it replaces the message the action came from."""
        return _truthy(self.body.get("replace_original"))

    @property
    def delete_original(self) -> bool:
        """Whether it deletes the message the action came from."""
        return _truthy(self.body.get("delete_original"))

    @property
    def text(self) -> str | None:
        """The message text."""
        return self.body.get("text")

    @property
    def blocks(self) -> list[dict[str, Any]] | None:
        """The Block Kit blocks, if any."""
        return self.body.get("blocks")

    def action_ids(self) -> list[str]:
        """The action_id of every interactive element in the blocks, in order."""
        return [element["action_id"] for _, element in _walk_elements(self.blocks)]


@dataclass
class Upload:
    """A file the app uploaded (files.getUploadURLExternal, the upload URL, then completion)."""

    file_id: str
    filename: str
    length: int
    alt_txt: str | None = None
    data: bytes | None = None
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False


@dataclass
class Delivery:
    """Something the fake sent the app, and what the app answered.

    kind is the Socket Mode envelope type: "events_api", "slash_commands" or "interactive".
    Over HTTP, status/body/headers are the app's HTTP response; over Socket Mode status is 200
    once the app acknowledged the envelope and body is the JSON of the ack's payload (if any).
    """

    kind: str
    payload: dict[str, Any]
    retry_num: int = 0
    retry_reason: str | None = None
    transport: str | None = None
    status: int | None = None
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    envelope_id: str | None = None
    ack: dict[str, Any] | None = None
    timed_out: bool = False
    response_url: str | None = None
    responses: list[ResponsePost] = field(default_factory=list)
    # (channel, ts, ephemeral) of the message a block action came from.
    source: tuple[str, str, bool] | None = None

    @property
    def acked(self) -> bool:
        """Whether the app acknowledged it in time (HTTP 2xx, or a Socket Mode ack)."""
        return self.status is not None and 200 <= self.status < 300 and not self.timed_out

    @property
    def answer(self) -> dict[str, Any] | None:
        """What the app answered inline: a JSON body, {"text": ...} for plain text, or None."""
        if self.transport == "socket":
            payload = (self.ack or {}).get("payload")
            return payload if isinstance(payload, dict) and payload else None
        if not self.body:
            return None
        if self.body.lstrip().startswith("{"):
            with contextlib.suppress(ValueError):
                return json.loads(self.body)
        return {"text": self.body}

    @property
    def event(self) -> dict[str, Any] | None:
        """The inner event of an events_api delivery."""
        return self.payload.get("event") if self.kind == "events_api" else None

    @property
    def event_id(self) -> str | None:
        """The event_id (the same on every retry)."""
        return self.payload.get("event_id") if self.kind == "events_api" else None

    def __repr__(self) -> str:
        what = self.kind
        if self.event:
            what = self.event.get("subtype") or self.event.get("type") or what
        elif self.kind == "slash_commands":
            what = self.payload.get("command", what)
        elif self.kind == "interactive":
            what = self.payload.get("type", what)
        outcome = "timed out" if self.timed_out else (self.status or "not sent")
        retry = f" retry {self.retry_num}" if self.retry_num else ""
        return f"<{what}{retry} via {self.transport or '-'} -> {outcome}>"


@dataclass
class SocketConnection:
    """One Socket Mode websocket the app opened."""

    ticket: str
    ws: web.WebSocketResponse
    sent: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    ready: bool = False

    @property
    def live(self) -> bool:
        """Open, and greeted with hello."""
        return self.ready and not self.ws.closed and not self.closed.is_set()


@dataclass
class World:
    """The ids of the default community the fixture seeds."""

    team: str
    app_id: str
    bot_user: str
    bot_id: str
    alice: str
    bob: str
    carol: str
    other_bot: str
    other_bot_id: str
    slackbot: str
    staff_group: str
    general: str
    help: str
    staff: str
    not_joined: str


def _json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


class FakeSlack:
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

    def stall(self, *names: str) -> None:
        """Never answer NAMES: Web API methods, or "socket" (a Socket Mode link never opens)."""
        self.stalled.update(names)

    async def _stall_if(self, name: str) -> None:
        if name in self.stalled:
            self._notify()
            await self._release.wait()  # set at close, so the server can stop

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

    def _notify(self) -> None:
        self._changed.set()

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - polls a predicate, so no asyncio.timeout block
        what: str | None = None,
    ) -> Any:
        """Wait until predicate() is truthy and return its value; fail after timeout seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = ", ".join(repr(c) for c in self.calls[-6:]) or "none"
                raise FakeSlackError(
                    f"timed out after {timeout}s waiting for {what or predicate!r}; "
                    f"last Web API calls: {recent}"
                )
            self._changed.clear()
            # Also poll: the app's own state changes without telling the fake.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.02))

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

    # ------------------------------------------------------------------ ids and model

    def now(self) -> datetime:
        """The fake's current time."""
        return self.clock.now()

    def new_ts(self, at: datetime | None = None) -> str:
        """A fresh message timestamp for a moment (default now), unique in the workspace."""
        micros = _micros(at or self.now())
        if at is None:
            # Consecutive messages "now" keep their order even under a fixed clock.
            micros = max(micros, self._last_now + 1)
        while micros in self._used_ts:
            micros += 1
        self._used_ts.add(micros)
        if at is None:
            self._last_now = micros
        return micros_ts(micros)

    def _new_id(self, prefix: str, name: str = "") -> str:
        stem = re.sub(r"[^A-Z0-9]", "", name.upper())[:9]
        if stem:
            candidate = f"{prefix}0{stem}"
            if not self._id_taken(candidate):
                return candidate
        counter = self._ids.setdefault(prefix, itertools.count(1))
        while True:
            candidate = f"{prefix}0{stem[:6]}{next(counter):03d}"
            if not self._id_taken(candidate):
                return candidate

    def _id_taken(self, candidate: str) -> bool:
        return (
            candidate in self.users
            or candidate in self.channels
            or candidate in self.bots
            or candidate in self.usergroups
        )

    def _event_id(self) -> str:
        counter = self._ids.setdefault("Ev", itertools.count(1))
        return f"Ev0{next(counter):08X}"

    def add_user(
        self,
        name: str,
        is_bot: bool = False,
        *,
        real_name: str | None = None,
        display_name: str | None = None,
        user_id: str | None = None,
        bot_id: str | None = None,
        app_id: str | None = None,
        deleted: bool = False,
        is_admin: bool = False,
        tz: str = "Europe/London",
    ) -> dict[str, Any]:
        """Add a workspace member (or a bot user) and return it as users.info shows it."""
        user_id = user_id or self._new_id("U", name)
        real = real_name if real_name is not None else name.title()
        display = display_name if display_name is not None else ("" if is_bot else name)
        first, _, last = real.partition(" ")
        digest = hashlib.sha256(user_id.encode()).hexdigest()
        avatar = f"https://secure.gravatar.com/avatar/{digest[:32]}.jpg?s=%d"
        profile: dict[str, Any] = {
            "title": "",
            "phone": "",
            "skype": "",
            "real_name": real,
            "real_name_normalized": real,
            "display_name": display,
            "display_name_normalized": display,
            "fields": None,
            "status_text": "",
            "status_emoji": "",
            "status_emoji_display_info": [],
            "status_expiration": 0,
            "avatar_hash": "g" + digest[:11],
            "first_name": first,
            "last_name": last,
            **{f"image_{size}": avatar % size for size in (24, 32, 48, 72, 192, 512)},
            "status_text_canonical": "",
            "team": self.team_id,
        }
        updated = int(self.now().timestamp())
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": deleted,
            "color": digest[:6],
            "real_name": real,
            "tz": tz,
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": profile,
            "is_admin": is_admin,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": updated,
            "is_email_confirmed": not is_bot,
            "who_can_share_contact_card": "EVERYONE",
        }
        if is_bot:
            bot_id = bot_id or self._new_id("B", name)
            app_id = app_id or self._new_id("A", name)
            profile.update({"bot_id": bot_id, "api_app_id": app_id, "always_active": False})
            self.bots[bot_id] = {
                "id": bot_id,
                "deleted": False,
                "name": real,
                "updated": updated,
                "app_id": app_id,
                "user_id": user_id,
                "icons": {
                    "image_36": avatar % 36,
                    "image_48": avatar % 48,
                    "image_72": avatar % 72,
                },
                "team_id": self.team_id,
            }
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        name: str,
        members: tuple[str, ...] | list[str] = (),
        *,
        bot: bool = True,
        topic: str = "",
        purpose: str = "",
        channel_id: str | None = None,
        is_general: bool = False,
        creator: str | None = None,
    ) -> dict[str, Any]:
        """Add a public channel with these members (user ids); the app's bot joins unless
        bot=False. No event: use join_channel for a join Slack announces."""
        channel_id = channel_id or self._new_id("C", name)
        created = int(self.now().timestamp()) - 400 * 86400
        creator = creator or next(iter(self.users))
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": False,
            "created": created,
            "is_archived": False,
            "is_general": is_general,
            "unlinked": 0,
            "name_normalized": name,
            "is_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": self.team_id,
            "updated": created * 1000,
            "parent_conversation": None,
            "creator": creator,
            "is_ext_shared": False,
            "shared_team_ids": [self.team_id],
            "pending_connected_team_ids": [],
            "topic": {"value": topic, "creator": creator if topic else "", "last_set": 0},
            "purpose": {"value": purpose, "creator": creator if purpose else "", "last_set": 0},
            "properties": {},
            "previous_names": [],
        }
        wanted = list(members)
        if bot and self.bot_user["id"] not in wanted:
            wanted.append(self.bot_user["id"])
        for user_id in wanted:
            self._user(user_id)
        self.members[channel_id] = wanted
        self.history[channel_id] = []
        return self.channels[channel_id]

    def add_usergroup(
        self, handle: str, name: str, users: tuple[str, ...] | list[str] = ()
    ) -> dict[str, Any]:
        """Add a user group (a "subteam", id S...) with these members."""
        group_id = self._new_id("S", handle)
        created = int(self.now().timestamp())
        self.usergroups[group_id] = {
            "id": group_id,
            "team_id": self.team_id,
            "is_usergroup": True,
            "is_subteam": True,
            "name": name,
            "description": "",
            "handle": handle,
            "is_external": False,
            "date_create": created,
            "date_update": created,
            "date_delete": 0,
            "auto_type": None,
            "auto_provision": False,
            "enterprise_subteam_id": "",
            "created_by": next(iter(users), self.bot_user["id"]),
            "updated_by": next(iter(users), self.bot_user["id"]),
            "deleted_by": None,
            "prefs": {"channels": [], "groups": []},
            "users": list(users),
            "user_count": len(users),
        }
        return self.usergroups[group_id]

    def seed_community(self) -> World:
        """Build the default community the fixture starts with and return its ids."""
        carol = self.add_user("carol", real_name="Carol Chen", display_name="Carol (DevRel)")
        alice = self.add_user("alice", real_name="Alice Adams")
        # Many real members never set a display name; Slack then sends "".
        bob = self.add_user("bob", real_name="Bob Brown", display_name="")
        other_bot = self.add_user("helperbot", is_bot=True, real_name="Helper Bot")
        # Every workspace has Slackbot, and users.list reports it with is_bot false.
        slackbot = self.add_user("slackbot", real_name="Slackbot", user_id="USLACKBOT")
        slackbot["profile"]["display_name"] = "Slackbot"
        staff_group = self.add_usergroup("devrel", "DevRel", [carol["id"]])
        everyone = [alice["id"], bob["id"], carol["id"]]
        general = self.add_channel(
            "general",
            [*everyone, other_bot["id"]],
            is_general=True,
            topic="Say hi",
            creator=carol["id"],
        )
        help_channel = self.add_channel("help", everyone, purpose="Ask anything")
        staff = self.add_channel("devrel-staff", [carol["id"]])
        elsewhere = self.add_channel("random", everyone, bot=False)
        self.world = World(
            team=self.team_id,
            app_id=self.app_id,
            bot_user=self.bot_user["id"],
            bot_id=self.bot_id,
            alice=alice["id"],
            bob=bob["id"],
            carol=carol["id"],
            other_bot=other_bot["id"],
            other_bot_id=other_bot["profile"]["bot_id"],
            slackbot=slackbot["id"],
            staff_group=staff_group["id"],
            general=general["id"],
            help=help_channel["id"],
            staff=staff["id"],
            not_joined=elsewhere["id"],
        )
        return self.world

    def _user(self, user_id: str) -> dict[str, Any]:
        try:
            return self.users[user_id]
        except KeyError:
            raise FakeSlackError(f"no user {user_id} in the fake") from None

    def _channel(self, channel: str) -> dict[str, Any]:
        if channel in self.channels:
            return self.channels[channel]
        name = channel.lstrip("#")
        for candidate in self.channels.values():
            if candidate["name"] == name:
                return candidate
        raise FakeSlackError(f"no channel {channel} in the fake")

    def _message(self, channel_id: str, ts: str) -> dict[str, Any]:
        message = self.messages.get((channel_id, ts))
        if message is None:
            raise FakeSlackError(f"no message {ts} in channel {channel_id}")
        return message

    def bot_in(self, channel_id: str) -> bool:
        """Whether the app's bot user is a member of a channel."""
        return self.bot_user["id"] in self.members.get(channel_id, [])

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """A channel's visible history (top-level messages and broadcasts), oldest first."""
        channel_id = self._channel(channel)["id"]
        return [self.messages[(channel_id, ts)] for ts in self.history[channel_id]]

    def thread_replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """A thread's replies, oldest first (the starter not included)."""
        channel_id = self._channel(channel)["id"]
        return [
            self.messages[(channel_id, ts)] for ts in self.threads.get((channel_id, thread_ts), [])
        ]

    # ------------------------------------------------------------------ payload builders

    def _bot_fields(self, user_id: str) -> dict[str, Any]:
        user = self.users.get(user_id)
        if not user or not user["is_bot"]:
            return {}
        bot_id = user["profile"]["bot_id"]
        profile = self.bots[bot_id]
        return {
            "bot_id": bot_id,
            "app_id": profile["app_id"],
            "bot_profile": {k: v for k, v in profile.items() if k != "user_id"},
        }

    def build_message(
        self,
        user_id: str,
        text: str,
        ts: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A message as conversations.history returns it, posted by a member or a bot user."""
        self._user(user_id)
        message: dict[str, Any] = {"user": user_id, "type": "message", "ts": ts}
        bot_fields = self._bot_fields(user_id)
        if bot_fields:
            message.update(bot_fields)
        else:
            # Typed in a Slack client: a client_msg_id and a rich_text block.
            message["client_msg_id"] = str(uuid.uuid4())
        message["text"] = text
        message["team"] = self.team_id
        message["blocks"] = blocks if blocks is not None else _rich_text(text)
        return message

    def event_callback(self, event: dict[str, Any], *, event_time: int | None = None) -> dict:
        """Wrap an event in the event_callback envelope Slack sends (a fresh event_id)."""
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": self._event_id(),
            "event_time": event_time if event_time is not None else int(self.now().timestamp()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user["id"],
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + base64.b64encode(secrets.token_bytes(24)).decode(),
        }

    def _message_event(self, channel_id: str, message: dict[str, Any]) -> dict[str, Any]:
        event = dict(message)
        event["channel"] = channel_id
        event["event_ts"] = message["ts"]
        event["channel_type"] = "channel"
        return event

    def _store(self, channel_id: str, message: dict[str, Any], *, in_history: bool) -> None:
        self.messages[(channel_id, message["ts"])] = message
        if in_history:
            history = self.history.setdefault(channel_id, [])
            history.append(message["ts"])
            history.sort(key=ts_micros)
        self._notify()

    def _add_reply(self, channel_id: str, parent: dict[str, Any], reply: dict[str, Any]) -> None:
        replies = self.threads.setdefault((channel_id, parent["ts"]), [])
        replies.append(reply["ts"])
        replies.sort(key=ts_micros)
        self._refresh_thread(channel_id, parent)

    def _refresh_thread(self, channel_id: str, parent: dict[str, Any]) -> None:
        replies = [
            self.messages[(channel_id, ts)]
            for ts in self.threads.get((channel_id, parent["ts"]), [])
        ]
        if not replies:
            for key in ("reply_count", "reply_users_count", "latest_reply", "reply_users"):
                parent.pop(key, None)
            return
        authors = list(dict.fromkeys(r["user"] for r in replies if r.get("user")))
        parent["thread_ts"] = parent["ts"]
        parent["reply_count"] = len(replies)
        parent["reply_users_count"] = len(authors)
        parent["latest_reply"] = replies[-1]["ts"]
        parent["reply_users"] = authors
        parent.setdefault("is_locked", False)
        parent.setdefault("subscribed", False)

    # ------------------------------------------------------------------ world actions

    async def post_message(
        self,
        channel: str,
        user: str,
        text: str,
        thread_ts: str | None = None,
        broadcast: bool = False,
        *,
        at: datetime | None = None,
        deliver: bool = True,
        blocks: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A member (or a bot user such as other_bot) posts a message; returns it as stored.

        thread_ts makes it a reply (thread_ts and parent_user_id; the starter gains
        reply_count, reply_users and latest_reply); broadcast=True also shows it in the channel
        (subtype thread_broadcast, with root). at= backdates its ts; deliver=False stores it
        without telling the app (missed while the bot was down)."""
        channel_id = self._channel(channel)["id"]
        if user not in self.members[channel_id]:
            raise FakeSlackError(f"{user} is not in channel {channel_id}: join_channel first")
        ts = self.new_ts(at)
        message = self.build_message(user, text, ts, blocks=blocks)
        in_history = True
        if thread_ts is not None:
            parent = self._message(channel_id, thread_ts)
            if parent.get("thread_ts", parent["ts"]) != parent["ts"]:
                raise FakeSlackError(f"{thread_ts} is itself a reply: pass the thread's starter")
            message["thread_ts"] = thread_ts
            message["parent_user_id"] = parent.get("user", "")
            if broadcast:
                message["subtype"] = "thread_broadcast"
                message.pop("parent_user_id")
            else:
                in_history = False
            self._store(channel_id, message, in_history=in_history)
            self._add_reply(channel_id, parent, message)
            if broadcast:
                # The root as it is after this reply (reply_count includes it).
                message["root"] = {k: v for k, v in parent.items() if k != "reactions"}
        elif broadcast:
            raise FakeSlackError("broadcast=True needs thread_ts")
        else:
            self._store(channel_id, message, in_history=True)
        if deliver:
            await self._deliver_event(self._message_event(channel_id, message), channel_id)
        return message

    async def bot_message(
        self,
        channel: str,
        text: str,
        *,
        username: str = "Deploy Notifier",
        at: datetime | None = None,
        deliver: bool = True,
    ) -> dict[str, Any]:
        """A legacy integration or webhook posts (subtype bot_message: bot_id, username, no
        user)."""
        channel_id = self._channel(channel)["id"]
        bot_id = "B0INTEGRATN"
        ts = self.new_ts(at)
        message = {
            "type": "message",
            "subtype": "bot_message",
            "text": text,
            "ts": ts,
            "username": username,
            "bot_id": bot_id,
            "icons": {"emoji": ":rocket:"},
        }
        self._store(channel_id, message, in_history=True)
        if deliver:
            await self._deliver_event(self._message_event(channel_id, message), channel_id)
        return message

    async def edit_message(
        self,
        channel: str,
        ts: str,
        text: str,
        *,
        at: datetime | None = None,
        deliver: bool = True,
    ) -> dict[str, Any]:
        """Its author edits a message (message_changed with message and previous_message)."""
        channel_id = self._channel(channel)["id"]
        message = self._message(channel_id, ts)
        previous = json.loads(json.dumps(message))
        event_ts = self.new_ts(at)
        message["text"] = text
        if message.get("client_msg_id"):
            message["blocks"] = _rich_text(text)
        message["edited"] = {"user": message.get("user") or message.get("bot_id"), "ts": event_ts}
        self._notify()
        if deliver:
            event = {
                "type": "message",
                "subtype": "message_changed",
                "message": {**message},
                "previous_message": previous,
                "channel": channel_id,
                "hidden": True,
                "ts": event_ts,
                "event_ts": event_ts,
                "channel_type": "channel",
            }
            await self._deliver_event(event, channel_id)
        return message

    async def delete_message(
        self, channel: str, ts: str, *, at: datetime | None = None, deliver: bool = True
    ) -> dict[str, Any]:
        """A message is deleted (message_deleted with deleted_ts and previous_message). A thread
        starter with replies stays behind as a tombstone, as on Slack."""
        channel_id = self._channel(channel)["id"]
        message = self._message(channel_id, ts)
        previous = json.loads(json.dumps(message))
        event_ts = self.new_ts(at)
        replies = self.threads.get((channel_id, ts), [])
        if message.get("thread_ts") == ts and replies:
            for key in ("user", "client_msg_id", "blocks", "bot_id", "bot_profile", "app_id"):
                message.pop(key, None)
            message.update(
                {
                    "subtype": "tombstone",
                    "text": "This message was deleted.",
                    "user": "USLACKBOT",
                    "hidden": True,
                }
            )
        else:
            del self.messages[(channel_id, ts)]
            if ts in self.history.get(channel_id, []):
                self.history[channel_id].remove(ts)
            parent_ts = message.get("thread_ts")
            if parent_ts and parent_ts != ts:
                self.threads[(channel_id, parent_ts)].remove(ts)
                self._refresh_thread(channel_id, self.messages[(channel_id, parent_ts)])
        self._notify()
        if deliver:
            event = {
                "type": "message",
                "subtype": "message_deleted",
                "hidden": True,
                "deleted_ts": ts,
                "channel": channel_id,
                "previous_message": previous,
                "ts": event_ts,
                "event_ts": event_ts,
                "channel_type": "channel",
            }
            await self._deliver_event(event, channel_id)
        return previous

    async def join_channel(
        self,
        user: str,
        channel: str,
        *,
        inviter: str | None = None,
        at: datetime | None = None,
        deliver: bool = True,
    ) -> dict[str, Any]:
        """A member joins a channel: a channel_join message in history, and both the message
        event and member_joined_channel, as Slack sends both. Returns the message."""
        channel_id = self._channel(channel)["id"]
        self._user(user)
        if user in self.members[channel_id]:
            raise FakeSlackError(f"{user} is already in channel {channel_id}")
        self.members[channel_id].append(user)
        ts = self.new_ts(at)
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "channel_join",
            "ts": ts,
            "user": user,
            "text": f"<@{user}> has joined the channel",
        }
        if inviter:
            message["inviter"] = inviter
        self._store(channel_id, message, in_history=True)
        if deliver:
            event = self._message_event(channel_id, message)
            event["team"] = self.team_id
            await self._deliver_event(event, channel_id)
            joined = {
                "type": "member_joined_channel",
                "user": user,
                "channel": channel_id,
                "channel_type": "C",
                "team": self.team_id,
                "event_ts": ts,
            }
            if inviter:
                joined["inviter"] = inviter
            await self._deliver_event(joined, channel_id)
        return message

    async def team_join(
        self,
        name: str,
        *,
        join_general: bool = True,
        deliver: bool = True,
        **user_fields: Any,
    ) -> dict[str, Any]:
        """A new member joins the workspace (team_join with the whole user object). Slack also
        puts everyone in the #general channel: join_general=False skips that join."""
        user = self.add_user(name, **user_fields)
        if deliver:
            event = {
                "type": "team_join",
                "user": user,
                "cache_ts": int(self.now().timestamp()),
                "event_ts": self.new_ts(),
            }
            await self._deliver_event(event, None)
        general = next((c for c in self.channels.values() if c["is_general"]), None)
        if join_general and general is not None:
            await self.join_channel(user["id"], general["id"], deliver=deliver)
        return user

    async def add_reaction(
        self,
        channel: str,
        ts: str,
        user: str,
        name: str,
        *,
        at: datetime | None = None,
        deliver: bool = True,
    ) -> dict[str, Any]:
        """A member reacts (reaction_added with item and item_user; the message gains it)."""
        channel_id = self._channel(channel)["id"]
        message = self._message(channel_id, ts)
        self._user(user)
        reactions = message.setdefault("reactions", [])
        reaction = next((r for r in reactions if r["name"] == name), None)
        if reaction is None:
            reaction = {"name": name, "users": [], "count": 0}
            reactions.append(reaction)
        if user in reaction["users"]:
            raise FakeSlackError(f"{user} already reacted :{name}: to {ts} (already_reacted)")
        reaction["users"].append(user)
        reaction["count"] += 1
        return await self._reaction_event(
            "reaction_added", channel_id, message, user, name, at, deliver
        )

    async def remove_reaction(
        self,
        channel: str,
        ts: str,
        user: str,
        name: str,
        *,
        at: datetime | None = None,
        deliver: bool = True,
    ) -> dict[str, Any]:
        """A member takes a reaction back (reaction_removed; the message loses it)."""
        channel_id = self._channel(channel)["id"]
        message = self._message(channel_id, ts)
        reaction = next((r for r in message.get("reactions", []) if r["name"] == name), None)
        if reaction is None or user not in reaction["users"]:
            raise FakeSlackError(f"{user} has no :{name}: on {ts} to remove (no_reaction)")
        reaction["users"].remove(user)
        reaction["count"] -= 1
        message["reactions"] = [r for r in message["reactions"] if r["count"] > 0]
        if not message["reactions"]:
            del message["reactions"]
        return await self._reaction_event(
            "reaction_removed", channel_id, message, user, name, at, deliver
        )

    async def _reaction_event(
        self,
        kind: str,
        channel_id: str,
        message: dict[str, Any],
        user: str,
        name: str,
        at: datetime | None,
        deliver: bool,
    ) -> dict[str, Any]:
        self._notify()
        event: dict[str, Any] = {
            "type": kind,
            "user": user,
            "reaction": name,
            "item": {"type": "message", "channel": channel_id, "ts": message["ts"]},
            "event_ts": self.new_ts(at),
        }
        if message.get("user"):
            event["item_user"] = message["user"]
        if deliver:
            await self._deliver_event(event, channel_id)
        return event

    async def redeliver(
        self, delivery: Delivery, retry_num: int = 1, reason: str = "http_timeout"
    ) -> Delivery:
        """Slack's retry of an event: the same payload (same event_id), with
        X-Slack-Retry-Num/-Reason (HTTP) or retry_attempt/retry_reason (Socket Mode)."""
        if delivery.kind != "events_api":
            raise FakeSlackError(
                "Slack retries Events API deliveries only, not commands or actions"
            )
        return await self._deliver(
            Delivery(
                kind=delivery.kind,
                payload=delivery.payload,
                retry_num=retry_num,
                retry_reason=reason,
            )
        )

    async def _deliver_event(
        self, event: dict[str, Any], channel_id: str | None
    ) -> Delivery | None:
        """Send an event the way Slack would: only for channels the bot is in and for events
        its scopes cover."""
        needed = EVENT_SCOPES.get(event["type"])
        reason = None
        if channel_id is not None and not self.bot_in(channel_id):
            reason = f"the bot is not in channel {channel_id}"
        elif needed and needed not in self.scopes:
            reason = f"the app lacks the {needed} scope"
        if reason is not None:
            self.undelivered.append((event, reason))
            # So a test never mistakes an earlier delivery for this event's.
            self.last_delivery = None
            return None
        event_time = ts_micros(event.get("event_ts") or self.new_ts()) // 1_000_000
        envelope = self.event_callback(event, event_time=event_time)
        return await self._deliver(Delivery(kind="events_api", payload=envelope))

    def _echo(self, channel_id: str, event: dict[str, Any]) -> None:
        # Slack tells the app about its own messages too, asynchronously to the API call.
        if not self.echo_bot_messages or not self._transport_seen:
            return
        task = asyncio.create_task(self._deliver_event(event, channel_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ commands and actions

    def _response_url_for(self, delivery: Delivery, kind: str) -> str:
        path = f"/{kind}/{self.team_id}/{secrets.randbelow(10**13)}/{secrets.token_urlsafe(18)}"
        self._response_urls[path] = [delivery, 0]
        return self.base_url + path

    @staticmethod
    def _trigger_id() -> str:
        return f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**13)}.{secrets.token_hex(16)}"

    async def slash_command(
        self, command: str, text: str, user: str, *, channel: str | None = None
    ) -> Delivery:
        """A member runs a slash command (default channel: general); returns the delivery,
        whose status/answer hold the ack; responses collect what the app sends back."""
        if not command.startswith("/"):
            raise FakeSlackError(f"slash commands start with '/': {command!r}")
        channel_id = channel or (self.world.general if self.world else None)
        if channel_id is None:
            raise FakeSlackError("pass channel=")
        channel_payload = self._channel(channel_id)
        member = self._user(user)
        delivery = Delivery(kind="slash_commands", payload={})
        delivery.response_url = self._response_url_for(delivery, "commands")
        delivery.payload = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team["domain"],
            "channel_id": channel_payload["id"],
            "channel_name": channel_payload["name"],
            "user_id": user,
            "user_name": member["name"],
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": delivery.response_url,
            "trigger_id": self._trigger_id(),
        }
        await self._deliver(delivery)
        answer = delivery.answer
        if delivery.acked and answer and (answer.get("text") or answer.get("blocks")):
            # Answering inline shows the message like a first response_url post would.
            response = ResponsePost(
                delivery=delivery, body=answer, channel=channel_payload["id"], user=user, via="ack"
            )
            self._show_response(response, None)
            delivery.responses.insert(0, response)
            self._notify()
        return delivery

    def _current(self, channel: str, ts: str, ephemeral: bool) -> dict[str, Any]:
        """The message as it is now (after replace_original or chat.update)."""
        shown = self.ephemerals.get(ts) if ephemeral else self.messages.get((channel, ts))
        if shown is None or shown.get("deleted"):
            raise FakeSlackError(f"message {ts} in {channel} is gone (deleted or never shown)")
        return shown

    async def press_button(
        self,
        source: PostedMessage | ResponsePost | dict[str, Any],
        action_id: str,
        user: str,
        value: str | None = None,
    ) -> Delivery:
        """A member clicks a button on a message the app made (a PostedMessage, a ResponsePost,
        or a dict from fake.messages or fake.ephemerals): sends block_actions. value picks
        among buttons sharing an action_id. Returns the delivery; responses collect posts to
        its response_url."""
        if isinstance(source, dict):
            ephemeral = self.ephemerals.get(source.get("ts", "")) is source
            channel_id = source.get("channel") if ephemeral else None
            channel_id = channel_id or next(
                (c for (c, _), m in self.messages.items() if m is source), None
            )
            if channel_id is None:
                raise FakeSlackError(
                    "pass a PostedMessage, a ResponsePost, or a message from fake.messages or "
                    "fake.ephemerals"
                )
            ts = source["ts"]
        else:
            channel_id, ts, ephemeral = source.channel, source.ts, source.ephemeral
        shown = self._current(channel_id, ts, ephemeral)
        candidates = [
            (block, element)
            for block, element in _walk_elements(shown.get("blocks"))
            if element.get("action_id") == action_id and element.get("type") == "button"
        ]
        if not candidates:
            present = [e["action_id"] for _, e in _walk_elements(shown.get("blocks"))]
            raise FakeSlackError(f"the message has no button {action_id!r} (it has {present})")
        if value is not None:
            candidates = [(b, e) for b, e in candidates if e.get("value") == value]
            if not candidates:
                raise FakeSlackError(f"no {action_id!r} button has value {value!r}")
        elif len(candidates) > 1:
            values = [e.get("value") for _, e in candidates]
            raise FakeSlackError(
                f"{len(candidates)} {action_id!r} buttons: pick one by value {values}"
            )
        block, element = candidates[0]
        member = self._user(user)
        channel = self.channels[channel_id]
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block.get("block_id"),
            "text": element.get("text"),
            "type": "button",
            "action_ts": micros_ts(_micros(self.now())),
        }
        if "value" in element:
            action["value"] = element["value"]
        if "style" in element:
            action["style"] = element["style"]
        delivery = Delivery(kind="interactive", payload={}, source=(channel_id, ts, ephemeral))
        delivery.response_url = self._response_url_for(delivery, "actions")
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {
                "id": user,
                "username": member["name"],
                "name": member["name"],
                "team_id": self.team_id,
            },
            "api_app_id": self.app_id,
            "token": self.verification_token,
            "container": {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel_id,
                "is_ephemeral": ephemeral,
            },
            "trigger_id": self._trigger_id(),
            "team": {"id": self.team_id, "domain": self.team["domain"]},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": channel["name"]},
            "state": {"values": {}},
            "response_url": delivery.response_url,
            "actions": [action],
        }
        if not ephemeral:
            # Slack includes the message only when it is a real (non-ephemeral) one.
            payload["message"] = {k: v for k, v in shown.items() if k != "deleted"}
        delivery.payload = payload
        return await self._deliver(delivery)

    def _show_response(self, response: ResponsePost, source: tuple[str, str, bool] | None) -> None:
        """Apply a response_url post (or inline answer) to what users see; sets its ts and
        ephemeral to the message it created or replaced."""
        body = response.body
        if source is not None and (response.replace_original or response.delete_original):
            channel_id, ts, ephemeral = source
            shown = self._current(channel_id, ts, ephemeral)
            previous = json.loads(json.dumps(shown))
            event_ts = self.new_ts()
            event: dict[str, Any] = {
                "type": "message",
                "channel": channel_id,
                "hidden": True,
                "previous_message": previous,
                "ts": event_ts,
                "event_ts": event_ts,
                "channel_type": "channel",
            }
            if response.delete_original:
                shown["deleted"] = True
                event.update({"subtype": "message_deleted", "deleted_ts": ts})
                if not ephemeral:
                    self.history[channel_id].remove(ts)
            else:
                shown["text"] = body.get("text", "")
                shown["blocks"] = body.get("blocks") or []
                if not ephemeral:
                    shown["edited"] = {"user": self.bot_user["id"], "ts": event_ts}
                event.update({"subtype": "message_changed", "message": dict(shown)})
            if not ephemeral:
                # Slack tells the app about the change to a real message, as for chat.update.
                self._echo(channel_id, event)
            response.ts, response.ephemeral = ts, ephemeral
            self._notify()
            return
        if response.response_type != "in_channel":
            ts = self.new_ts()
            self.ephemerals[ts] = {
                "type": "message",
                "channel": response.channel,
                "user": response.user,
                "text": body.get("text", ""),
                "blocks": body.get("blocks") or [],
                "ts": ts,
            }
            response.ts, response.ephemeral = ts, True
            self._notify()
            return
        message = self._app_message(str(body.get("text") or ""), body.get("blocks"))
        self._store(response.channel, message, in_history=True)
        self._echo(response.channel, self._message_event(response.channel, message))
        response.ts, response.ephemeral = message["ts"], False

    def _app_message(self, text: str, blocks: list[dict[str, Any]] | None) -> dict[str, Any]:
        """A message the app's bot user posts now (blocks only when it sent some)."""
        message = self.build_message(self.bot_user["id"], text, self.new_ts(), blocks=blocks or [])
        if not blocks:
            message.pop("blocks")
        return message

    # ------------------------------------------------------------------ delivering

    async def _deliver(self, delivery: Delivery) -> Delivery:
        self.deliveries.append(delivery)
        self.last_delivery = delivery
        if self._http_target is not None:
            await self._deliver_over_http(delivery, *self._http_target)
        else:
            await self._deliver_over_socket(delivery)
        self._notify()
        return delivery

    def http_body(self, delivery: Delivery) -> tuple[str, str]:
        """(body, content type) as Slack sends a delivery over HTTP: events as JSON, commands
        form-encoded, interactions as a form field payload= holding JSON."""
        if delivery.kind == "events_api":
            return json.dumps(delivery.payload), "application/json"
        if delivery.kind == "slash_commands":
            return urlencode(delivery.payload), "application/x-www-form-urlencoded"
        return urlencode({"payload": json.dumps(delivery.payload)}), (
            "application/x-www-form-urlencoded"
        )

    async def _deliver_over_http(self, delivery: Delivery, url: str, secret: str) -> None:
        body, content_type = self.http_body(delivery)
        headers = {"Content-Type": content_type, "User-Agent": SLACK_USER_AGENT}
        headers.update(signed_headers(secret, body))
        if delivery.retry_num:
            headers["X-Slack-Retry-Num"] = str(delivery.retry_num)
            headers["X-Slack-Retry-Reason"] = delivery.retry_reason or "http_error"
        delivery.transport = "http"
        answer = await self.send_http(body, headers=headers, url=url)
        if answer is None:
            delivery.timed_out = True
            return
        delivery.status, delivery.body, delivery.headers = answer

    async def send_http(
        self,
        body: str | bytes,
        *,
        headers: dict[str, str],
        url: str | None = None,
    ) -> tuple[int, str, dict[str, str]] | None:
        """POST a raw request to the app's URL (default: the deliver_http one) and return
        (status, body, headers), or None if it did not answer within ack_timeout. For forged,
        tampered or stale requests built with signed_headers()."""
        target = url or (self._http_target[0] if self._http_target else None)
        if target is None:
            raise FakeSlackError("no app URL: call fake.deliver_http(url) first")
        assert self._session is not None, "the fake is not started"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connect_timeout
        raw = body.encode() if isinstance(body, str) else body
        while True:
            try:
                async with self._session.post(
                    target,
                    data=raw,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.ack_timeout),
                ) as response:
                    return response.status, await response.text(), dict(response.headers)
            except aiohttp.ClientConnectorError:
                # The app's server may still be starting: wait rather than lose the delivery.
                if loop.time() >= deadline:
                    raise FakeSlackError(
                        f"nothing listens at {target} after {self.connect_timeout}s"
                    ) from None
                await asyncio.sleep(0.02)
            except TimeoutError:
                return None

    def live_connections(self) -> list[SocketConnection]:
        """Socket Mode connections that are open and greeted."""
        return [c for c in self.connections if c.live]

    async def _deliver_over_socket(self, delivery: Delivery) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connect_timeout
        while True:
            remaining = deadline - loop.time()
            try:
                live = await self.wait_for(
                    self.live_connections,
                    timeout=max(remaining, 0.01),
                    what="an app connected over Socket Mode",
                )
            except FakeSlackError:
                raise FakeSlackError(
                    f"no app connected over Socket Mode within {self.connect_timeout}s (and no "
                    f"deliver_http URL) to receive {delivery!r}"
                ) from None
            connection = live[-1]
            envelope_id = str(uuid.uuid4())
            frame: dict[str, Any] = {
                "envelope_id": envelope_id,
                "payload": delivery.payload,
                "type": delivery.kind,
                "accepts_response_payload": delivery.kind == "slash_commands",
            }
            if delivery.kind == "events_api":
                frame["retry_attempt"] = delivery.retry_num
                frame["retry_reason"] = delivery.retry_reason or ""
            acked: asyncio.Future[dict[str, Any]] = loop.create_future()
            self._pending_acks[envelope_id] = acked
            delivery.transport = "socket"
            delivery.envelope_id = envelope_id
            try:
                try:
                    await connection.ws.send_str(json.dumps(frame))
                except (ConnectionError, RuntimeError):
                    # Closed under us: wait for the app's next connection.
                    connection.closed.set()
                    continue
                connection.sent.append(frame)
                closed = asyncio.ensure_future(connection.closed.wait())
                try:
                    await asyncio.wait(
                        {acked, closed},
                        timeout=self.ack_timeout,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    closed.cancel()
            finally:
                self._pending_acks.pop(envelope_id, None)
            if acked.done():
                delivery.ack = acked.result()
                delivery.status = 200
                payload = delivery.ack.get("payload")
                delivery.body = json.dumps(payload) if payload is not None else ""
                return
            acked.cancel()
            if connection.closed.is_set():
                continue  # the socket went away before the ack: send again on the next one
            delivery.timed_out = True
            return

    async def disconnect_socket(self, *, reason: str | None = None) -> None:
        """Close every Socket Mode connection from Slack's side; the SDK should reconnect.
        With reason (e.g. "refresh_requested"), first send the disconnect message Slack sends
        before it closes a connection."""
        for connection in self.live_connections():
            if reason is not None:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await connection.ws.send_str(
                        json.dumps(
                            {
                                "type": "disconnect",
                                "reason": reason,
                                "debug_info": {"host": "applink-fake-127-0-0-1"},
                            }
                        )
                    )
            connection.closed.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.ws.close(code=1001), 5.0)
        self._notify()

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        self.socket_attempts += 1
        await self._stall_if("socket")
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            # A ticket is good for one connection: reconnecting needs apps.connections.open.
            return web.Response(status=401, text="invalid_ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        connection = SocketConnection(ticket=ticket, ws=ws)
        self.connections.append(connection)
        hello = {
            "type": "hello",
            "num_connections": len(self.live_connections()) + 1,
            "debug_info": {
                "host": "applink-fake-127-0-0-1",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }
        await ws.send_str(json.dumps(hello))
        connection.sent.append(hello)
        connection.ready = True
        self._transport_seen = True
        self._notify()
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    self.stray_frames.append({"unparsable": msg.data})
                    continue
                connection.received.append(frame)
                acked = self._pending_acks.get(frame.get("envelope_id", ""))
                if acked is not None and not acked.done():
                    acked.set_result(frame)
                else:
                    self.stray_frames.append(frame)
                self._notify()
        finally:
            connection.closed.set()
            self._notify()
        return ws

    # ------------------------------------------------------------------ HTTP endpoints

    async def _unknown_path(self, request: web.Request) -> web.Response:
        self.unknown_paths.append(f"{request.method} {request.path}")
        self._notify()
        return _json_response(
            {"ok": False, "error": f"the fake has no route {request.method} {request.path}"}, 404
        )

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        upload = next((u for u in self.uploads if u.file_id == file_id), None)
        if upload is None:
            return web.Response(status=404, text="invalid upload URL", content_type="text/plain")
        if request.content_type.startswith("multipart/"):
            data = b""
            async for part in await request.multipart():
                data = bytes(await part.read())
        else:
            data = await request.read()
        upload.data = data
        self._notify()
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    async def _response_url(self, request: web.Request) -> web.Response:
        entry = self._response_urls.get(request.path)
        if entry is None:
            return _json_response({"ok": False, "error": "expired_url"}, 404)
        delivery, uses = entry
        if uses >= RESPONSE_URL_USES:
            return _json_response({"ok": False, "error": "used_url"}, 404)
        raw = await request.read()
        try:
            if request.content_type == "application/x-www-form-urlencoded":
                body = json.loads(dict(parse_qsl(raw.decode()))["payload"])
            else:
                body = json.loads(raw)
        except (ValueError, KeyError):
            return _json_response({"ok": False, "error": "invalid_payload"}, 400)
        if not isinstance(body, dict):
            return _json_response({"ok": False, "error": "invalid_payload"}, 400)
        entry[1] += 1
        if delivery.kind == "slash_commands":
            channel, user = delivery.payload["channel_id"], delivery.payload["user_id"]
        else:
            channel, user = delivery.payload["channel"]["id"], delivery.payload["user"]["id"]
        response = ResponsePost(
            delivery=delivery, body=body, channel=channel, user=user, url=str(request.url)
        )
        if body.get("blocks"):
            self._fill_block_ids(body["blocks"])
        self._show_response(response, delivery.source)
        delivery.responses.append(response)
        self.responses.append(response)
        self._notify()
        return _json_response({"ok": True})

    # ------------------------------------------------------------------ Web API

    _METHODS: ClassVar[dict[str, str]] = {
        "auth.test": "_auth_test",
        "team.info": "_team_info",
        "users.info": "_users_info",
        "users.list": "_users_list",
        "usergroups.list": "_usergroups_list",
        "usergroups.users.list": "_usergroups_users_list",
        "users.conversations": "_users_conversations",
        "conversations.list": "_conversations_list",
        "conversations.info": "_conversations_info",
        "conversations.members": "_conversations_members",
        "conversations.history": "_conversations_history",
        "conversations.replies": "_conversations_replies",
        "chat.postMessage": "_chat_post_message",
        "chat.postEphemeral": "_chat_post_ephemeral",
        "chat.update": "_chat_update",
        "files.getUploadURLExternal": "_files_get_upload_url",
        "files.completeUploadExternal": "_files_complete_upload",
        "apps.connections.open": "_apps_connections_open",
        "conversations.open": "_conversations_open",
    }

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.can_read_body:
            return params
        if request.content_type == "application/json":
            raw = await request.read()
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise _ApiError("invalid_json") from None
                if not isinstance(body, dict):
                    raise _ApiError("invalid_json")
                params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params

    def _authorize(self, method: str, token: str | None) -> None:
        if not token:
            raise _ApiError("not_authed")
        if token not in (self.bot_token, self.app_token):
            raise _ApiError("invalid_auth")
        if (method == "apps.connections.open") != (token == self.app_token):
            raise _ApiError("not_allowed_token_type")
        if token == self.app_token:
            return
        accepted = METHOD_SCOPES.get(method, ())
        if accepted and not set(accepted) & set(self.scopes):
            raise _ApiError("missing_scope", needed=accepted[0], provided=",".join(self.scopes))

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = ApiCall(method=method, params={}, token=None, http_verb=request.method)
        self.calls.append(call)
        await self._stall_if(method)
        headers: dict[str, str] = {}
        try:
            call.params = await self._read_params(request)
            authorization = request.headers.get("Authorization", "")
            token = call.params.pop("token", None)
            if authorization.startswith("Bearer "):
                token = authorization[len("Bearer ") :].strip()
            call.token = token
            handler_name = self._METHODS.get(method)
            if handler_name is None:
                self.unknown_calls.append(call)
                raise _ApiError("unknown_method", req_method=method)
            self._authorize(method, token)
            if token == self.bot_token:
                headers["x-oauth-scopes"] = ",".join(self.scopes)
                headers["x-accepted-oauth-scopes"] = ",".join(METHOD_SCOPES.get(method, ()))
            limit = self._rate_limits.get(method)
            if limit and limit[0] > 0:
                limit[0] -= 1
                error = _ApiError("ratelimited", status=429)
                error.headers["Retry-After"] = str(limit[1])
                raise error
            result = await getattr(self, handler_name)(call.params)
            body = {"ok": True, **result}
            status = 200
        except _ApiError as error:
            body = {"ok": False, "error": error.error, **error.extra}
            status = error.status
            headers.update(error.headers)
        call.status = status
        call.response = body
        self._notify()
        return _json_response(body, status, headers)

    # ------------------------------------------------------------------ Web API: helpers

    @staticmethod
    def _required(params: dict[str, Any], name: str) -> str:
        value = params.get(name)
        if value in (None, ""):
            raise _ApiError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] missing required field: {name}"]},
            )
        return str(value)

    def _api_channel(self, params: dict[str, Any], name: str = "channel") -> dict[str, Any]:
        channel_id = params.get(name)
        if not channel_id:
            raise _ApiError("channel_not_found")
        channel_id = str(channel_id)
        channel = self.channels.get(channel_id) or next(
            (c for c in self.channels.values() if c["name"] == channel_id.lstrip("#")), None
        )
        if channel is None:
            raise _ApiError("channel_not_found")
        return channel

    @staticmethod
    def _limit(params: dict[str, Any], default: int, maximum: int) -> int:
        raw = params.get("limit")
        if raw in (None, ""):
            return default
        try:
            limit = int(raw)
        except (TypeError, ValueError):
            raise _ApiError("invalid_limit") from None
        if limit <= 0:
            return default
        return min(limit, maximum)

    @staticmethod
    def _cursor(kind: str, value: str) -> str:
        return base64.b64encode(f"{kind}:{value}".encode()).decode()

    @staticmethod
    def _decode_cursor(params: dict[str, Any], kind: str) -> str | None:
        raw = params.get("cursor")
        if not raw:
            return None
        try:
            decoded = base64.b64decode(str(raw), validate=True).decode()
        except ValueError:
            raise _ApiError("invalid_cursor") from None
        prefix, _, value = decoded.partition(":")
        if prefix != kind or not value:
            raise _ApiError("invalid_cursor")
        return value

    def _paged(
        self, items: list[Any], params: dict[str, Any], *, default: int, maximum: int
    ) -> tuple[list[Any], str]:
        """An offset-cursor page of a list, as users.list and conversations.list page."""
        limit = self._limit(params, default, maximum)
        start = self._decode_cursor(params, "offset")
        offset = int(start) if start and start.isdigit() else 0
        page = items[offset : offset + limit]
        following = offset + limit
        return page, (self._cursor("offset", str(following)) if following < len(items) else "")

    @staticmethod
    def _ts_param(params: dict[str, Any], name: str) -> int | None:
        raw = params.get(name)
        if raw in (None, ""):
            return None
        try:
            return ts_micros(str(raw))
        except ValueError:
            raise _ApiError(f"invalid_ts_{name}") from None

    def _channel_payload(self, channel: dict[str, Any], user_id: str) -> dict[str, Any]:
        payload = dict(channel)
        payload["is_member"] = user_id in self.members[channel["id"]]
        payload["num_members"] = len(self.members[channel["id"]])
        return payload

    def _require_member(self, channel: dict[str, Any]) -> None:
        if not self.bot_in(channel["id"]):
            raise _ApiError("not_in_channel")

    # ------------------------------------------------------------------ Web API: methods

    async def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.team["url"],
            "team": self.team["name"],
            "user": self.bot_user["name"],
            "team_id": self.team_id,
            "user_id": self.bot_user["id"],
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    async def _team_info(self, params: dict[str, Any]) -> dict[str, Any]:
        team = params.get("team")
        if team and team != self.team_id:
            raise _ApiError("team_not_found")
        return {"team": self.team}

    async def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user") or ""))
        if user is None:
            raise _ApiError("user_not_found")
        return {"user": user}

    async def _users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        members = list(self.users.values())
        page, cursor = self._paged(members, params, default=len(members) or 1, maximum=1000)
        return {
            "members": page,
            "cache_ts": int(self.now().timestamp()),
            "response_metadata": {"next_cursor": cursor},
        }

    def _usergroup_payload(self, group: dict[str, Any], include_users: bool) -> dict[str, Any]:
        payload = dict(group)
        if not include_users:
            payload.pop("users")
        return payload

    async def _usergroups_list(self, params: dict[str, Any]) -> dict[str, Any]:
        include_users = _truthy(params.get("include_users", False))
        return {
            "usergroups": [
                self._usergroup_payload(g, include_users) for g in self.usergroups.values()
            ]
        }

    async def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self.usergroups.get(str(params.get("usergroup") or ""))
        if group is None:
            raise _ApiError("no_such_subteam")
        return {"users": list(group["users"])}

    @staticmethod
    def _wants_public(params: dict[str, Any]) -> bool:
        types = str(params.get("types") or "public_channel")
        return "public_channel" in {t.strip() for t in types.split(",")}

    async def _users_conversations(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = str(params.get("user") or self.bot_user["id"])
        if user_id not in self.users:
            raise _ApiError("user_not_found")
        channels = []
        if self._wants_public(params):
            channels = [
                self._channel_payload(c, user_id)
                for c in self.channels.values()
                if user_id in self.members[c["id"]] and not c["is_im"]
            ]
        page, cursor = self._paged(channels, params, default=100, maximum=1000)
        return {"channels": page, "response_metadata": {"next_cursor": cursor}}

    async def _conversations_list(self, params: dict[str, Any]) -> dict[str, Any]:
        channels = []
        if self._wants_public(params):
            channels = [
                self._channel_payload(c, self.bot_user["id"])
                for c in self.channels.values()
                if not c["is_im"]
            ]
        if _truthy(params.get("exclude_archived", False)):
            channels = [c for c in channels if not c["is_archived"]]
        page, cursor = self._paged(channels, params, default=100, maximum=1000)
        return {"channels": page, "response_metadata": {"next_cursor": cursor}}

    async def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        """A direct message between the app's bot and one user (the same one every time)."""
        users = [u.strip() for u in str(self._required(params, "users")).split(",") if u.strip()]
        if len(users) != 1:
            raise _ApiError("not_implemented")  # group DMs are not modelled
        user = users[0]
        if user not in self.users:
            raise _ApiError("user_not_found")
        existing = self.ims.get(user)
        if existing is None:
            channel = self.add_channel(f"dm-{user}", [user], channel_id=self._new_id("D", user))
            channel.update(is_channel=False, is_im=True, is_private=True, user=user)
            self.ims[user] = existing = channel["id"]
        return {"channel": {"id": existing}, "no_op": existing is not None, "already_open": True}

    async def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._api_channel(params)
        return {"channel": self._channel_payload(channel, self.bot_user["id"])}

    async def _conversations_members(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._api_channel(params)
        members = list(self.members[channel["id"]])
        page, cursor = self._paged(members, params, default=100, maximum=1000)
        return {"members": page, "response_metadata": {"next_cursor": cursor}}

    def _window(
        self, tss: list[str], params: dict[str, Any]
    ) -> tuple[list[str], int | None, int | None]:
        oldest = self._ts_param(params, "oldest")
        latest = self._ts_param(params, "latest")
        inclusive = _truthy(params.get("inclusive", False))

        def inside(ts: str) -> bool:
            micros = ts_micros(ts)
            if oldest is not None and (micros < oldest or (micros == oldest and not inclusive)):
                return False
            return latest is None or micros < latest or (micros == latest and inclusive)

        return [ts for ts in tss if inside(ts)], oldest, latest

    async def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._api_channel(params)
        self._require_member(channel)
        channel_id = channel["id"]
        chosen, oldest, latest = self._window(self.history[channel_id], params)
        limit = self._limit(params, 100, 999)
        boundary = self._decode_cursor(params, "next_ts")
        # Slack's rule: with oldest and no latest the page nearest oldest comes first, and the
        # cursor walks forward in time; otherwise pages walk backward from latest.
        forward = oldest is not None and latest is None
        if forward:
            if boundary is not None:
                chosen = [ts for ts in chosen if ts_micros(ts) >= ts_micros(boundary)]
            page, rest = chosen[:limit], chosen[limit:]
            following = rest[0] if rest else None
        else:
            if boundary is not None:
                chosen = [ts for ts in chosen if ts_micros(ts) <= ts_micros(boundary)]
            page, rest = chosen[-limit:], chosen[:-limit]
            following = rest[-1] if rest else None
        result: dict[str, Any] = {
            "messages": [self.messages[(channel_id, ts)] for ts in reversed(page)],
            "has_more": following is not None,
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
        }
        if following is not None:
            result["response_metadata"] = {"next_cursor": self._cursor("next_ts", following)}
        return result

    async def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._api_channel(params)
        self._require_member(channel)
        channel_id = channel["id"]
        ts = self._required(params, "ts")
        message = self.messages.get((channel_id, ts))
        if message is None:
            raise _ApiError("thread_not_found")
        parent_ts = message.get("thread_ts") or ts
        parent = self.messages[(channel_id, parent_ts)]
        replies, _, _ = self._window(self.threads.get((channel_id, parent_ts), []), params)
        limit = self._limit(params, 1000, 1000)
        boundary = self._decode_cursor(params, "reply_ts")
        if boundary is None:
            # The first page always starts with the thread's starter; later pages do not.
            items = [parent_ts, *replies]
        else:
            items = [r for r in replies if ts_micros(r) >= ts_micros(boundary)]
        page, rest = items[:limit], items[limit:]
        result: dict[str, Any] = {
            "messages": [
                parent if t == parent_ts else self.messages[(channel_id, t)] for t in page
            ],
            "has_more": bool(rest),
        }
        if rest:
            result["response_metadata"] = {"next_cursor": self._cursor("reply_ts", rest[0])}
        return result

    @staticmethod
    def _blocks_param(params: dict[str, Any]) -> list[dict[str, Any]] | None:
        blocks = params.get("blocks")
        if blocks in (None, ""):
            return None
        if isinstance(blocks, str):
            try:
                blocks = json.loads(blocks)
            except ValueError:
                raise _ApiError("invalid_blocks_format") from None
        if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
            raise _ApiError("invalid_blocks_format")
        for block in blocks:
            if "type" not in block:
                raise _ApiError("invalid_blocks", errors=["missing required field: type"])
        return blocks

    @staticmethod
    def _fill_block_ids(blocks: list[dict[str, Any]]) -> None:
        # Slack assigns a block_id (and an action_id) wherever the app left one out.
        for block in blocks:
            block.setdefault("block_id", secrets.token_urlsafe(4)[:4])
            for element in block.get("elements") or []:
                if isinstance(element, dict) and element.get("type") in ("button",):
                    element.setdefault("action_id", secrets.token_urlsafe(4)[:4])

    def _message_text(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]] | None]:
        blocks = self._blocks_param(params)
        text = params.get("text")
        if not text and not blocks and not params.get("attachments"):
            raise _ApiError("no_text")
        if blocks:
            self._fill_block_ids(blocks)
        return str(text or ""), blocks

    async def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._api_channel(params)
        self._require_member(channel)
        channel_id = channel["id"]
        text, blocks = self._message_text(params)
        thread_ts = params.get("thread_ts") or None
        message = self._app_message(text, blocks)
        in_history = True
        parent = None
        if thread_ts:
            parent = self.messages.get((channel_id, str(thread_ts)))
            if parent is None:
                raise _ApiError("thread_not_found")
            parent_ts = parent.get("thread_ts") or parent["ts"]
            parent = self.messages[(channel_id, parent_ts)]
            message["thread_ts"] = parent_ts
            message["parent_user_id"] = parent.get("user", "")
            if _truthy(params.get("reply_broadcast", False)):
                message["subtype"] = "thread_broadcast"
                message["root"] = {k: v for k, v in parent.items() if k != "reactions"}
            else:
                in_history = False
        self._store(channel_id, message, in_history=in_history)
        if parent is not None:
            self._add_reply(channel_id, parent, message)
        self.posted.append(
            PostedMessage(
                method="chat.postMessage",
                channel=channel_id,
                ts=message["ts"],
                text=text,
                blocks=blocks,
                thread_ts=message.get("thread_ts"),
                user=None,
                params=params,
            )
        )
        self._echo(channel_id, self._message_event(channel_id, message))
        return {"channel": channel_id, "ts": message["ts"], "message": message}

    async def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._api_channel(params)
        user = str(params.get("user") or "")
        if user not in self.users:
            raise _ApiError("user_not_found")
        if user not in self.members[channel["id"]]:
            raise _ApiError("user_not_in_channel")
        self._require_member(channel)
        text, blocks = self._message_text(params)
        ts = self.new_ts()
        self.ephemerals[ts] = {
            "type": "message",
            "channel": channel["id"],
            "user": user,
            "text": text,
            "blocks": blocks or [],
            "ts": ts,
        }
        self.posted.append(
            PostedMessage(
                method="chat.postEphemeral",
                channel=channel["id"],
                ts=ts,
                text=text,
                blocks=blocks,
                thread_ts=params.get("thread_ts") or None,
                user=user,
                params=params,
            )
        )
        return {"message_ts": ts}

    async def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._api_channel(params)
        ts = self._required(params, "ts")
        message = self.messages.get((channel["id"], ts))
        if message is None:
            raise _ApiError("message_not_found")
        if message.get("user") != self.bot_user["id"]:
            raise _ApiError("cant_update_message")
        text, blocks = self._message_text(params)
        previous = json.loads(json.dumps(message))
        message["text"] = text
        if blocks is not None:
            message["blocks"] = blocks
        message["edited"] = {"user": self.bot_user["id"], "ts": self.new_ts()}
        self.posted.append(
            PostedMessage(
                method="chat.update",
                channel=channel["id"],
                ts=ts,
                text=text,
                blocks=blocks,
                thread_ts=message.get("thread_ts"),
                user=None,
                params=params,
            )
        )
        event_ts = message["edited"]["ts"]
        self._echo(
            channel["id"],
            {
                "type": "message",
                "subtype": "message_changed",
                "message": dict(message),
                "previous_message": previous,
                "channel": channel["id"],
                "hidden": True,
                "ts": event_ts,
                "event_ts": event_ts,
                "channel_type": "channel",
            },
        )
        return {"channel": channel["id"], "ts": ts, "text": text, "message": message}

    async def _files_get_upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = self._required(params, "filename")
        try:
            length = int(self._required(params, "length"))
        except ValueError:
            raise _ApiError("invalid_arguments") from None
        file_id = self._new_id("F", "")
        self.uploads.append(
            Upload(file_id=file_id, filename=filename, length=length, alt_txt=params.get("alt_txt"))
        )
        return {"upload_url": f"{self.base_url}/upload/v1/{file_id}", "file_id": file_id}

    def _file_object(self, upload: Upload) -> dict[str, Any]:
        created = int(self.now().timestamp())
        extension = upload.filename.rpartition(".")[2].lower() if "." in upload.filename else ""
        mimetype = {"png": "image/png", "csv": "text/csv", "txt": "text/plain"}.get(
            extension, "application/octet-stream"
        )
        url = f"https://files.slack.com/files-pri/{self.team_id}-{upload.file_id}/{upload.filename}"
        return {
            "id": upload.file_id,
            "created": created,
            "timestamp": created,
            "name": upload.filename,
            "title": upload.title or upload.filename,
            "mimetype": mimetype,
            "filetype": extension or "binary",
            "pretty_type": extension.upper() or "Binary",
            "user": self.bot_user["id"],
            "user_team": self.team_id,
            "editable": False,
            "size": len(upload.data or b""),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": False,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": url,
            "url_private_download": url.replace("files-pri", "files-pri/download"),
            "permalink": f"{self.team['url']}files/{self.bot_user['id']}/{upload.file_id}",
            "comments_count": 0,
            "is_starred": False,
            "shares": {},
            "channels": [upload.channel] if upload.channel else [],
            "groups": [],
            "ims": [],
            "has_rich_preview": False,
            "file_access": "visible",
            "alt_txt": upload.alt_txt,
        }

    async def _files_complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        raw = params.get("files")
        try:
            described = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            raise _ApiError("invalid_arguments") from None
        if not isinstance(described, list) or not described:
            raise _ApiError("invalid_arguments")
        channel_id = params.get("channel_id") or None
        if channel_id is None and params.get("channels"):
            channel_id = str(params["channels"]).split(",")[0]
        channel = None
        if channel_id:
            channel = self._api_channel({"channel": channel_id})
            self._require_member(channel)
        thread_ts = params.get("thread_ts") or None
        completed = []
        for item in described:
            upload = next((u for u in self.uploads if u.file_id == item.get("id")), None)
            if upload is None or upload.completed:
                raise _ApiError("file_not_found")
            upload.title = item.get("title") or upload.filename
            upload.channel = channel["id"] if channel else None
            upload.thread_ts = thread_ts
            upload.initial_comment = params.get("initial_comment") or None
            upload.completed = True
            completed.append(upload)
        files = [self._file_object(u) for u in completed]
        if channel is not None:
            message = self._app_message(str(params.get("initial_comment") or ""), None)
            message.update({"files": files, "upload": True, "display_as_bot": False})
            in_history = thread_ts is None
            if thread_ts:
                parent = self.messages.get((channel["id"], str(thread_ts)))
                if parent is None:
                    raise _ApiError("thread_not_found")
                message["thread_ts"] = parent["ts"]
                message["parent_user_id"] = parent.get("user", "")
            self._store(channel["id"], message, in_history=in_history)
            if thread_ts:
                self._add_reply(
                    channel["id"], self.messages[(channel["id"], str(thread_ts))], message
                )
            event = self._message_event(channel["id"], message)
            event["subtype"] = "file_share"
            self._echo(channel["id"], event)
        self._notify()
        return {"files": files}

    async def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        port = self.port
        return {"url": f"ws://127.0.0.1:{port}/link/?ticket={ticket}&app_id={self.app_id}"}


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
