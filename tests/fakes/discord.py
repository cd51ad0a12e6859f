"""A local fake Discord (REST + gateway on 127.0.0.1) for the real, unmodified discord.py client.

See tests/fakes/README.md for how adapter tests use it. In short::

    async def test_something(fake_discord):
        fake = fake_discord                 # started, seeded with fake.world, discord.py patched
        client = build_my_client()          # guild_ready_timeout=0.1 keeps on_ready quick
        async with fake.running(client):    # logs in, connects, waits for on_ready
            await fake.send_message(fake.world.general, fake.world.alice, "hello?")
            await fake.wait_for(lambda: ...)

Payloads follow the examples in Discord's API documentation (snowflakes as strings, ISO 8601
timestamps with an offset, every documented key present) so that the adapter meets realistic input.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from bot.clock import SystemClock
from community.clock import Clock

DISCORD_EPOCH_MS = 1_420_070_400_000
API_PREFIX = "/api/v10"

# Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents).
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
GUILD_MESSAGE_TYPING = 1 << 11
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

# Message flags and types used below.
EPHEMERAL = 1 << 6
LOADING = 1 << 7
HAS_THREAD = 1 << 5
MESSAGE_DEFAULT = 0
MESSAGE_USER_JOIN = 7
MESSAGE_THREAD_CREATED = 18
MESSAGE_REPLY = 19
MESSAGE_CHAT_INPUT_COMMAND = 20

# Channel types.
GUILD_TEXT = 0
DM = 1
GUILD_CATEGORY = 4
PUBLIC_THREAD = 11
GUILD_FORUM = 15

# Interaction types and callback types.
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
CHANNEL_MESSAGE_WITH_SOURCE = 4
DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7

# Application command option types.
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
STRING = 3
INTEGER = 4
BOOLEAN = 5
USER = 6
CHANNEL = 7
ROLE = 8
MENTIONABLE = 9
NUMBER = 10

ADMINISTRATOR = 1 << 3
ALL_PERMISSIONS = (1 << 51) - 1
# What Discord gives @everyone in a new server.
DEFAULT_EVERYONE_PERMISSIONS = 2_248_473_465_835_073

# Which intent a dispatch needs; guild message events and DM events differ.
_EVENT_INTENTS = {
    "GUILD_MEMBER_ADD": GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": GUILD_MEMBERS,
    "PRESENCE_UPDATE": GUILD_PRESENCES,
    "THREAD_CREATE": GUILDS,
    "THREAD_UPDATE": GUILDS,
    "THREAD_DELETE": GUILDS,
    "CHANNEL_CREATE": GUILDS,
    "CHANNEL_UPDATE": GUILDS,
    "CHANNEL_DELETE": GUILDS,
    "GUILD_CREATE": GUILDS,
}
_MESSAGE_EVENTS = {"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"}
_REACTION_EVENTS = {
    "MESSAGE_REACTION_ADD",
    "MESSAGE_REACTION_REMOVE",
    "MESSAGE_REACTION_REMOVE_ALL",
    "MESSAGE_REACTION_REMOVE_EMOJI",
}


def iso(moment: datetime) -> str:
    """Discord's timestamp format: ISO 8601 with microseconds and an offset."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware one")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def snowflake_time(snowflake: str | int) -> datetime:
    """The moment encoded in a snowflake."""
    ms = (int(snowflake) >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class FakeDiscordError(AssertionError):
    """A test asked the fake for something real Discord would not do (or never did)."""


@dataclass
class UploadedFile:
    """A file part of a multipart request (an attachment the bot uploaded)."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class RecordedRequest:
    """One REST call the client made, as the fake understood it."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]
    status: int
    route: str | None
    response: Any = None

    def __repr__(self) -> str:
        return f"<{self.method} {self.path} -> {self.status} ({self.route or 'unknown'})>"


@dataclass
class InteractionResponse:
    """Something the bot did in answer to an interaction.

    kind is "callback" (POST /interactions/{id}/{token}/callback), "followup" (POST
    /webhooks/{app}/{token}), "edit" (PATCH .../messages/@original or /{id}) or "delete".
    """

    interaction: FakeInteraction
    kind: str
    type: int | None
    data: dict[str, Any]
    files: list[UploadedFile]
    message: dict[str, Any] | None

    @property
    def ephemeral(self) -> bool:
        """Whether the message this response produced (or asked for) is ephemeral."""
        if self.message is not None:
            return bool(self.message["flags"] & EPHEMERAL)
        return bool(self.data.get("flags", 0) & EPHEMERAL)

    @property
    def content(self) -> str | None:
        """The message text, from the resulting message when there is one."""
        source = self.message if self.message is not None else self.data
        return source.get("content")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """The embeds of the resulting message (or of the request)."""
        source = self.message if self.message is not None else self.data
        return source.get("embeds") or []

    @property
    def components(self) -> list[dict[str, Any]]:
        """The component rows of the resulting message (or of the request)."""
        source = self.message if self.message is not None else self.data
        return source.get("components") or []

    def custom_ids(self) -> list[str]:
        """Every custom_id in this response's components, in order."""
        return [c["custom_id"] for c in _walk_components(self.components) if "custom_id" in c]


@dataclass
class FakeInteraction:
    """An interaction the fake sent, and what the bot answered."""

    payload: dict[str, Any]
    responses: list[InteractionResponse] = field(default_factory=list)
    callback_type: int | None = None
    original_message_id: str | None = None
    followup_ids: list[str] = field(default_factory=list)
    deleted_original: bool = False

    @property
    def id(self) -> str:
        """The interaction's snowflake."""
        return self.payload["id"]

    @property
    def token(self) -> str:
        """The interaction's continuation token."""
        return self.payload["token"]

    @property
    def acknowledged(self) -> bool:
        """Whether the bot sent the initial callback."""
        return self.callback_type is not None

    @property
    def callback(self) -> InteractionResponse | None:
        """The initial response, if any."""
        return next((r for r in self.responses if r.kind == "callback"), None)


@dataclass
class GatewayConnection:
    """One websocket connection the client opened."""

    path: str
    query: dict[str, str]
    ws: web.WebSocketResponse
    received: list[dict[str, Any]] = field(default_factory=list)
    session: _Session | None = None
    close_code: int | None = None


@dataclass
class _Session:
    id: str
    intents: int
    token: str
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    connection: GatewayConnection | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class World:
    """The ids of the default community the fixture seeds (all snowflakes as strings)."""

    guild: str
    everyone_role: str
    staff_role: str
    category: str
    general: str
    help: str
    staff: str
    forum: str
    forum_tag: str
    bot: str
    alice: str
    bob: str
    carol: str
    other_bot: str


def _walk_components(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for component in components or []:
        yield component
        yield from _walk_components(component.get("components") or [])


class _ApiError(Exception):
    def __init__(self, status: int, code: int, message: str, errors: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "code": code}
        if errors is not None:
            self.body["errors"] = errors


def _json_response(data: Any, status: int = 200) -> web.Response:
    # discord.py parses a body as JSON only when Content-Type is exactly "application/json";
    # aiohttp's json_response would append "; charset=utf-8".
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json"},
    )


class FakeDiscord:
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

        self.requests: list[RecordedRequest] = []
        self.unknown_requests: list[RecordedRequest] = []
        self.interactions: dict[str, FakeInteraction] = {}
        self.interaction_responses: list[InteractionResponse] = []
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, _Session] = {}
        self.identifies = 0
        self.resumes = 0
        self.filtered_events: list[tuple[str, str, dict[str, Any]]] = []

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

    def stall(self, *names: str) -> None:
        """Never answer NAMES: REST route names (see _ROUTES), or "hello" (accept, send nothing)."""
        self.stalled.update(names)

    async def _stall_if(self, name: str) -> None:
        if name in self.stalled:
            self._notify()
            await self._release.wait()  # set at close, so the server can stop

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
            self._raise_if_a_client_died()
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = ", ".join(repr(r) for r in self.requests[-5:]) or "none"
                raise FakeDiscordError(
                    f"timed out after {timeout}s waiting for {what or predicate!r}; "
                    f"last requests: {recent}"
                )
            self._changed.clear()
            # Also poll: client-side state (client.is_ready()) changes without telling the fake.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.02))

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

    # ------------------------------------------------------------------ ids and model

    def now(self) -> datetime:
        """The fake's current time."""
        return self.clock.now()

    def new_id(self, at: datetime | None = None) -> str:
        """A fresh snowflake for the given moment (default now), unique and time-ordered."""
        moment = at or self.now()
        ms = int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS
        counter = self._per_ms.setdefault(ms, itertools.count())
        return str((ms << 22) | next(counter))

    def add_user(
        self,
        username: str,
        *,
        bot: bool = False,
        system: bool = False,
        global_name: str | None = None,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        """Add a user (a Discord account) and return its payload."""
        user = {
            "id": user_id or self.new_id(),
            "username": username,
            "discriminator": "0",
            "global_name": global_name if global_name is not None else username.title(),
            "avatar": None,
            "bot": bot,
            "system": system,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "primary_guild": None,
        }
        self.users[user["id"]] = user
        return user

    def add_guild(self, name: str, *, owner_id: str | None = None) -> dict[str, Any]:
        """Add a guild with its @everyone role and the bot as a member."""
        guild_id = self.new_id()
        # Keys as in the documented guild example (docs/resources/guild, "Example Guild").
        guild = {
            "id": guild_id,
            "name": name,
            "icon": None,
            "icon_hash": None,
            "description": None,
            "splash": None,
            "discovery_splash": None,
            "features": ["COMMUNITY"],
            "emojis": [],
            "stickers": [],
            "banner": None,
            "owner_id": owner_id or self.bot_user["id"],
            "application_id": None,
            "region": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "system_channel_id": None,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 1,
            "roles": [],
            "default_message_notifications": 1,
            "mfa_level": 0,
            "explicit_content_filter": 2,
            "max_presences": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "system_channel_flags": 0,
            "preferred_locale": "en-US",
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "nsfw_level": 0,
            "hub_type": None,
            "incidents_data": None,
        }
        self.guilds[guild_id] = guild
        self.roles[guild_id] = {}
        self.members[guild_id] = {}
        everyone = DEFAULT_EVERYONE_PERMISSIONS
        self.add_role(guild_id, "@everyone", permissions=everyone, role_id=guild_id)
        bot_role = self.add_role(guild_id, "Pulse", permissions=ALL_PERMISSIONS, managed=True)
        self.add_member(guild_id, self.bot_user["id"], roles=[bot_role["id"]])
        return guild

    def add_role(
        self,
        guild_id: str,
        name: str,
        *,
        permissions: int = 0,
        managed: bool = False,
        role_id: str | None = None,
    ) -> dict[str, Any]:
        """Add a role to a guild."""
        role = {
            "id": role_id or self.new_id(),
            "name": name,
            "description": None,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": len(self.roles[guild_id]),
            "permissions": str(permissions),
            "managed": managed,
            "mentionable": False,
            "flags": 0,
        }
        self.roles[guild_id][role["id"]] = role
        return role

    def add_member(
        self,
        guild_id: str,
        user_id: str,
        *,
        roles: list[str] | tuple[str, ...] = (),
        nick: str | None = None,
        joined_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Make a user a member of a guild (no event: use member_join for GUILD_MEMBER_ADD)."""
        member = {
            "nick": nick,
            "avatar": None,
            "banner": None,
            "roles": list(roles),
            "joined_at": iso(joined_at or self.now()),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
            "avatar_decoration_data": None,
        }
        self.members[guild_id][user_id] = member
        return member

    def _add_channel(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.channels[payload["id"]] = payload
        self.history.setdefault(payload["id"], [])
        return payload

    def _position(self, guild_id: str) -> int:
        return sum(1 for c in self.channels.values() if c.get("guild_id") == guild_id)

    def add_category(self, guild_id: str, name: str) -> dict[str, Any]:
        """Add a category channel."""
        return self._add_channel(
            {
                "id": self.new_id(),
                "type": GUILD_CATEGORY,
                "guild_id": guild_id,
                "name": name,
                "position": self._position(guild_id),
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "flags": 0,
            }
        )

    def add_text_channel(
        self, guild_id: str, name: str, *, topic: str | None = None, parent_id: str | None = None
    ) -> dict[str, Any]:
        """Add a text channel (keys as in the documented guild text channel example)."""
        return self._add_channel(
            {
                "id": self.new_id(),
                "type": GUILD_TEXT,
                "guild_id": guild_id,
                "name": name,
                "position": self._position(guild_id),
                "permission_overwrites": [],
                "rate_limit_per_user": 0,
                "nsfw": False,
                "topic": topic,
                "last_message_id": None,
                "parent_id": parent_id,
                "default_auto_archive_duration": 1440,
                "default_thread_rate_limit_per_user": 0,
                "flags": 0,
                "icon_emoji": None,
                "theme_color": None,
            }
        )

    def add_forum_channel(
        self,
        guild_id: str,
        name: str,
        *,
        tags: tuple[str, ...] = (),
        parent_id: str | None = None,
    ) -> dict[str, Any]:
        """Add a forum channel with the given post tags."""
        return self._add_channel(
            {
                "id": self.new_id(),
                "type": GUILD_FORUM,
                "guild_id": guild_id,
                "name": name,
                "position": self._position(guild_id),
                "permission_overwrites": [],
                "rate_limit_per_user": 0,
                "nsfw": False,
                "topic": None,
                "last_message_id": None,
                "parent_id": parent_id,
                "default_auto_archive_duration": 4320,
                "default_thread_rate_limit_per_user": 0,
                "available_tags": [
                    {
                        "id": self.new_id(),
                        "name": tag,
                        "moderated": False,
                        "emoji_id": None,
                        "emoji_name": None,
                    }
                    for tag in tags
                ],
                "default_reaction_emoji": None,
                "default_sort_order": None,
                "default_forum_layout": 0,
                "template": "",
                "flags": 0,
            }
        )

    def add_thread(
        self,
        parent_id: str,
        owner_id: str,
        name: str,
        *,
        thread_id: str | None = None,
        archived: bool = False,
        applied_tags: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Add a public thread (no event: use start_thread for THREAD_CREATE)."""
        parent = self._channel(parent_id)
        thread_id = thread_id or self.new_id()
        created = snowflake_time(thread_id)
        thread = {
            "id": thread_id,
            "type": PUBLIC_THREAD,
            "guild_id": parent["guild_id"],
            "parent_id": parent_id,
            "owner_id": owner_id,
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "thread_metadata": {
                "archived": archived,
                "auto_archive_duration": parent.get("default_auto_archive_duration", 1440),
                "archive_timestamp": iso(created),
                "locked": False,
                "create_timestamp": iso(created),
            },
            "total_message_sent": 0,
            "flags": 0,
        }
        if parent["type"] == GUILD_FORUM:
            thread["applied_tags"] = list(applied_tags)
        return self._add_channel(thread)

    def seed_community(self) -> World:
        """Build the default community the fixture starts with and return its ids."""
        carol = self.add_user("carol")
        guild = self.add_guild("Pulse Community", owner_id=carol["id"])
        gid = guild["id"]
        staff_role = self.add_role(gid, "DevRel", permissions=DEFAULT_EVERYONE_PERMISSIONS)
        category = self.add_category(gid, "Community")
        general = self.add_text_channel(gid, "general", topic="Say hi", parent_id=category["id"])
        help_channel = self.add_text_channel(gid, "help", parent_id=category["id"])
        staff = self.add_text_channel(gid, "devrel-staff")
        forum = self.add_forum_channel(gid, "questions", tags=("bug", "how-to"))
        alice = self.add_user("alice")
        bob = self.add_user("bob")
        other_bot = self.add_user("helperbot", bot=True)
        long_ago = self.now() - timedelta(days=400)
        for user in (alice, bob, other_bot):
            self.add_member(gid, user["id"], joined_at=long_ago)
        self.add_member(gid, carol["id"], roles=[staff_role["id"]], joined_at=long_ago)
        self.world = World(
            guild=gid,
            everyone_role=gid,
            staff_role=staff_role["id"],
            category=category["id"],
            general=general["id"],
            help=help_channel["id"],
            staff=staff["id"],
            forum=forum["id"],
            forum_tag=forum["available_tags"][0]["id"],
            bot=self.bot_user["id"],
            alice=alice["id"],
            bob=bob["id"],
            carol=carol["id"],
            other_bot=other_bot["id"],
        )
        return self.world

    # ------------------------------------------------------------------ payload builders

    def _channel(self, channel_id: str) -> dict[str, Any]:
        try:
            return self.channels[str(channel_id)]
        except KeyError:
            raise FakeDiscordError(f"no channel {channel_id} in the fake") from None

    def _guild_of(self, channel_id: str) -> str | None:
        return self._channel(channel_id).get("guild_id")

    def member_payload(self, guild_id: str, user_id: str, *, with_user: bool = True) -> dict:
        """A guild member object, with its user unless with_user is False."""
        try:
            member = dict(self.members[guild_id][user_id])
        except KeyError:
            raise FakeDiscordError(f"user {user_id} is not a member of guild {guild_id}") from None
        if with_user:
            member["user"] = self.users[user_id]
        return member

    def permissions(self, guild_id: str, user_id: str) -> int:
        """A member's guild-level permissions (roles OR'ed; owner and admins get all)."""
        guild = self.guilds[guild_id]
        if guild["owner_id"] == user_id:
            return ALL_PERMISSIONS
        roles = self.roles[guild_id]
        value = int(roles[guild_id]["permissions"])
        for role_id in self.members[guild_id][user_id]["roles"]:
            value |= int(roles[role_id]["permissions"])
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def guild_create_payload(self, guild_id: str, intents: int) -> dict[str, Any]:
        """The GUILD_CREATE a session with these intents receives for a guild."""
        guild = dict(self.guilds[guild_id])
        guild["roles"] = list(self.roles[guild_id].values())
        member_ids = list(self.members[guild_id])
        if not intents & GUILD_MEMBERS:
            # Without the members intent Discord sends only the bot's own member.
            member_ids = [uid for uid in member_ids if uid == self.bot_user["id"]]
        channels, threads = [], []
        for channel in self.channels.values():
            if channel.get("guild_id") != guild_id:
                continue
            if channel["type"] == PUBLIC_THREAD:
                if not channel["thread_metadata"]["archived"]:
                    threads.append(channel)
            else:
                # GUILD_CREATE's channels carry no guild_id.
                channels.append({k: v for k, v in channel.items() if k != "guild_id"})
        guild.update(
            {
                "joined_at": self.members[guild_id][self.bot_user["id"]]["joined_at"],
                "large": False,
                "unavailable": False,
                "member_count": len(self.members[guild_id]),
                "voice_states": [],
                "members": [self.member_payload(guild_id, uid) for uid in member_ids],
                "channels": channels,
                "threads": threads,
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
                "embedded_activities": [],
                "lazy": True,
            }
        )
        return guild

    def _mention_payloads(self, guild_id: str | None, user_ids: tuple[str, ...]) -> list[dict]:
        mentions = []
        for uid in user_ids:
            user = dict(self.users[uid])
            if guild_id and uid in self.members.get(guild_id, {}):
                user["member"] = self.member_payload(guild_id, uid, with_user=False)
            mentions.append(user)
        return mentions

    def build_message(
        self,
        channel_id: str,
        author_id: str,
        content: str = "",
        *,
        at: datetime | None = None,
        message_id: str | None = None,
        type: int = MESSAGE_DEFAULT,  # Discord's field name
        reply_to: dict[str, Any] | None = None,
        mentions: tuple[str, ...] = (),
        embeds: list[dict[str, Any]] | None = None,
        components: list[dict[str, Any]] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        flags: int = 0,
        webhook_id: str | None = None,
    ) -> dict[str, Any]:
        """A message object as Discord sends it (keys as in the documented message example)."""
        channel = self._channel(channel_id)
        guild_id = channel.get("guild_id")
        message_id = message_id or self.new_id(at)
        mention_ids = tuple(mentions)
        if reply_to is not None and reply_to["author"]["id"] not in mention_ids:
            # A reply pings (and so mentions) the replied-to author by default.
            mention_ids = (*mention_ids, reply_to["author"]["id"])
        message: dict[str, Any] = {
            "id": message_id,
            "channel_id": channel_id,
            "author": self.users[author_id],
            "content": content,
            "timestamp": iso(snowflake_time(message_id)),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": self._mention_payloads(guild_id, mention_ids),
            "mention_roles": [],
            "attachments": attachments or [],
            "embeds": embeds or [],
            "reactions": [],
            "pinned": False,
            "type": type,
            "flags": flags,
            "components": components or [],
        }
        if webhook_id is not None:
            message["webhook_id"] = webhook_id
        if reply_to is not None:
            message["type"] = MESSAGE_REPLY if type == MESSAGE_DEFAULT else type
            message["message_reference"] = {
                "type": 0,
                "message_id": reply_to["id"],
                "channel_id": reply_to["channel_id"],
                "guild_id": guild_id,
            }
            message["referenced_message"] = self._stored_shape(reply_to)
        return message

    @staticmethod
    def _stored_shape(message: dict[str, Any]) -> dict[str, Any]:
        # How a message looks over REST and nested in other payloads: no guild_id or member.
        return {k: v for k, v in message.items() if k not in ("guild_id", "member")}

    def _gateway_message(self, message: dict[str, Any]) -> dict[str, Any]:
        payload = dict(message)
        guild_id = self._channel(message["channel_id"]).get("guild_id")
        if guild_id:
            payload["guild_id"] = guild_id
            author_id = message["author"]["id"]
            if "webhook_id" not in message and author_id in self.members[guild_id]:
                payload["member"] = self.member_payload(guild_id, author_id, with_user=False)
        return payload

    def _store(self, message: dict[str, Any], *, visible: bool = True) -> dict[str, Any]:
        stored = self._stored_shape(message)
        self.messages[stored["id"]] = stored
        if visible:
            ids = self.history.setdefault(stored["channel_id"], [])
            ids.append(stored["id"])
            ids.sort(key=int)
            channel = self.channels[stored["channel_id"]]
            if ids[-1] == stored["id"] and "last_message_id" in channel:
                channel["last_message_id"] = stored["id"]
            if channel["type"] == PUBLIC_THREAD:
                channel["message_count"] += 1
                channel["total_message_sent"] += 1
                channel["last_message_id"] = ids[-1]
        self._notify()
        return stored

    # ------------------------------------------------------------------ gateway scenarios

    async def send_message(
        self,
        channel_id: str,
        author_id: str,
        content: str = "",
        *,
        dispatch: bool = True,
        **fields: Any,
    ) -> dict[str, Any]:
        """A member posts a message: store it in history and (unless dispatch=False) send
        MESSAGE_CREATE. Pass at= for an earlier moment; dispatch=False models a message the bot
        missed while it was down. Returns the stored message."""
        message = self.build_message(channel_id, author_id, content, **fields)
        stored = self._store(message)
        if dispatch:
            await self.dispatch("MESSAGE_CREATE", self._gateway_message(stored))
        return stored

    async def reply(
        self, to: dict[str, Any], author_id: str, content: str = "", **fields: Any
    ) -> dict[str, Any]:
        """A member replies to a message (type 19 with message_reference and referenced_message)."""
        return await self.send_message(to["channel_id"], author_id, content, reply_to=to, **fields)

    async def webhook_message(self, channel_id: str, content: str, **fields: Any) -> dict:
        """A message posted by a (non-interaction) webhook."""
        # One webhook per channel; its messages carry the webhook's id as author id.
        webhook_id = self._webhooks.get(channel_id)
        if webhook_id is None:
            user = self.add_user("Captain Hook", bot=True)
            user["discriminator"] = "0000"
            webhook_id = self._webhooks[channel_id] = user["id"]
        return await self.send_message(
            channel_id, webhook_id, content, webhook_id=webhook_id, **fields
        )

    async def system_message(
        self,
        channel_id: str,
        author_id: str,
        type: int = MESSAGE_USER_JOIN,  # Discord's field name
        **fields: Any,
    ) -> dict[str, Any]:
        """A system message (default type 7, a member joined) in a channel."""
        return await self.send_message(channel_id, author_id, "", type=type, **fields)

    def dm_channel(self, user_id: str) -> dict[str, Any]:
        """The DM channel between the bot and a user (created on first use)."""
        for channel in self.channels.values():
            if channel["type"] == DM and channel["recipients"][0]["id"] == user_id:
                return channel
        return self._add_channel(
            {
                "id": self.new_id(),
                "type": DM,
                "last_message_id": None,
                "flags": 0,
                "recipients": [self.users[user_id]],
            }
        )

    async def direct_message(self, user_id: str, content: str, **fields: Any) -> dict:
        """A user DMs the bot."""
        return await self.send_message(self.dm_channel(user_id)["id"], user_id, content, **fields)

    async def start_thread(
        self,
        parent_id: str,
        owner_id: str,
        name: str,
        *,
        from_message: dict[str, Any] | None = None,
        content: str | None = None,
        applied_tags: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """A member starts a thread, or a post when parent_id is a forum.

        In a forum the post's first message has the thread's id and content is required. In a text
        channel the thread hangs off from_message (same id) or, without one, Discord posts a
        THREAD_CREATED system message in the parent. Sends THREAD_CREATE with newly_created and,
        when content is given, the first MESSAGE_CREATE inside the thread. Returns the thread."""
        parent = self._channel(parent_id)
        is_forum = parent["type"] == GUILD_FORUM
        if is_forum and not content:
            raise FakeDiscordError("a forum post needs content (its first message)")
        thread_id = from_message["id"] if from_message else self.new_id()
        thread = self.add_thread(
            parent_id, owner_id, name, thread_id=thread_id, applied_tags=applied_tags
        )
        payload = dict(thread)
        payload["newly_created"] = True
        payload["member"] = {
            "id": thread_id,
            "user_id": owner_id,
            "join_timestamp": thread["thread_metadata"]["create_timestamp"],
            "flags": 1,
        }
        await self.dispatch("THREAD_CREATE", payload)
        if from_message is not None:
            stored = self.messages[from_message["id"]]
            stored["flags"] |= HAS_THREAD
            stored["thread"] = thread
        elif not is_forum:
            notice = self.build_message(parent_id, owner_id, name, type=MESSAGE_THREAD_CREATED)
            notice["message_reference"] = {
                "type": 0,
                "channel_id": thread_id,
                "guild_id": thread["guild_id"],
            }
            await self.dispatch("MESSAGE_CREATE", self._gateway_message(self._store(notice)))
        if content:
            # A forum post's starter message shares the thread's id.
            await self.send_message(
                thread_id, owner_id, content, message_id=thread_id if is_forum else None
            )
        return self.channels[thread_id]

    async def forum_post(
        self,
        forum_id: str,
        author_id: str,
        title: str,
        content: str,
        *,
        tags: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """A member opens a forum post (a thread whose first message has the thread's id)."""
        return await self.start_thread(
            forum_id, author_id, title, content=content, applied_tags=tags
        )

    @staticmethod
    def _emoji(emoji: str | dict[str, Any]) -> dict[str, Any]:
        if isinstance(emoji, dict):
            return emoji
        return {"id": None, "name": emoji}

    async def add_reaction(
        self, message: dict[str, Any], user_id: str, emoji: str | dict[str, Any] = "👍"
    ) -> dict[str, Any]:
        """A member reacts to a message (MESSAGE_REACTION_ADD, the raw event)."""
        stored = self.messages[message["id"]]
        emoji_payload = self._emoji(emoji)
        reaction = next((r for r in stored["reactions"] if r["emoji"] == emoji_payload), None)
        if reaction is None:
            reaction = {
                "count": 0,
                "count_details": {"burst": 0, "normal": 0},
                "me": False,
                "me_burst": False,
                "emoji": emoji_payload,
                "burst_colors": [],
            }
            stored["reactions"].append(reaction)
        reaction["count"] += 1
        reaction["count_details"]["normal"] += 1
        guild_id = self._guild_of(stored["channel_id"])
        event: dict[str, Any] = {
            "user_id": user_id,
            "channel_id": stored["channel_id"],
            "message_id": stored["id"],
            "emoji": emoji_payload,
            "message_author_id": stored["author"]["id"],
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }
        if guild_id:
            event["guild_id"] = guild_id
            event["member"] = self.member_payload(guild_id, user_id)
        await self.dispatch("MESSAGE_REACTION_ADD", event)
        return event

    async def remove_reaction(
        self, message: dict[str, Any], user_id: str, emoji: str | dict[str, Any] = "👍"
    ) -> dict[str, Any]:
        """A member takes a reaction back (MESSAGE_REACTION_REMOVE: no member, no author id)."""
        stored = self.messages[message["id"]]
        emoji_payload = self._emoji(emoji)
        for reaction in stored["reactions"]:
            if reaction["emoji"] == emoji_payload:
                reaction["count"] -= 1
                reaction["count_details"]["normal"] -= 1
        stored["reactions"] = [r for r in stored["reactions"] if r["count"] > 0]
        event: dict[str, Any] = {
            "user_id": user_id,
            "channel_id": stored["channel_id"],
            "message_id": stored["id"],
            "emoji": emoji_payload,
            "burst": False,
            "type": 0,
        }
        guild_id = self._guild_of(stored["channel_id"])
        if guild_id:
            event["guild_id"] = guild_id
        await self.dispatch("MESSAGE_REACTION_REMOVE", event)
        return event

    async def member_join(
        self, username: str, *, guild_id: str | None = None, bot: bool = False
    ) -> dict[str, Any]:
        """A new user joins the guild (GUILD_MEMBER_ADD); returns the user."""
        guild_id = guild_id or self._default_guild()
        user = self.add_user(username, bot=bot)
        self.add_member(guild_id, user["id"])
        payload = self.member_payload(guild_id, user["id"])
        payload["guild_id"] = guild_id
        await self.dispatch("GUILD_MEMBER_ADD", payload)
        return user

    async def member_leave(self, user_id: str, *, guild_id: str | None = None) -> None:
        """A member leaves the guild (GUILD_MEMBER_REMOVE)."""
        guild_id = guild_id or self._default_guild()
        if self.members[guild_id].pop(user_id, None) is None:
            raise FakeDiscordError(f"user {user_id} is not a member of guild {guild_id}")
        payload = {"guild_id": guild_id, "user": self.users[user_id]}
        await self.dispatch("GUILD_MEMBER_REMOVE", payload)

    def _default_guild(self) -> str:
        if len(self.guilds) != 1:
            raise FakeDiscordError("more than one guild: pass guild_id")
        return next(iter(self.guilds))

    # ------------------------------------------------------------------ interactions

    def _interaction_base(
        self, type_: int, user_id: str, channel_id: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        channel = self._channel(channel_id)
        guild_id = channel.get("guild_id")
        payload: dict[str, Any] = {
            "id": self.new_id(),
            "application_id": self.application_id,
            "type": type_,
            "data": data,
            "channel_id": channel_id,
            "channel": {k: v for k, v in channel.items() if k != "recipients"},
            "token": "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48),
            "version": 1,
            "app_permissions": str(ALL_PERMISSIONS),
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild_id:
            member = self.member_payload(guild_id, user_id)
            member["permissions"] = str(self.permissions(guild_id, user_id))
            payload.update(
                {
                    "guild_id": guild_id,
                    "guild": {"id": guild_id, "locale": "en-US", "features": ["COMMUNITY"]},
                    "guild_locale": "en-US",
                    "member": member,
                    "authorizing_integration_owners": {"0": guild_id},
                    "context": 0,
                }
            )
        else:
            payload.update(
                {
                    "user": self.users[user_id],
                    "authorizing_integration_owners": {"0": "0"},
                    "context": 1,
                }
            )
        return payload

    def registered_command(self, name: str, guild_id: str | None) -> dict[str, Any]:
        """The command the bot registered under this name (guild first, then global)."""
        for scope in (guild_id, None):
            for command in self.commands.get(scope, []):
                if command["name"] == name and command.get("type", 1) == 1:
                    return command
        known = sorted(c["name"] for cmds in self.commands.values() for c in cmds)
        raise FakeDiscordError(f"no slash command /{name} is registered (registered: {known})")

    def _convert_option(
        self,
        schema: dict[str, Any],
        value: Any,
        guild_id: str | None,
        resolved: dict[str, dict[str, Any]],
    ) -> Any:
        kind = schema["type"]
        if kind == STRING:
            return str(value)
        if kind == INTEGER:
            if isinstance(value, bool) or not isinstance(value, int):
                raise FakeDiscordError(f"option {schema['name']} takes an integer, got {value!r}")
            return value
        if kind == NUMBER:
            return float(value)
        if kind == BOOLEAN:
            return bool(value)
        snowflake = str(value["id"] if isinstance(value, dict) else value)
        if kind in (USER, MENTIONABLE) and snowflake in self.users:
            resolved.setdefault("users", {})[snowflake] = self.users[snowflake]
            if guild_id and snowflake in self.members.get(guild_id, {}):
                member = self.member_payload(guild_id, snowflake, with_user=False)
                member["permissions"] = str(self.permissions(guild_id, snowflake))
                resolved.setdefault("members", {})[snowflake] = member
            return snowflake
        if kind in (ROLE, MENTIONABLE) and guild_id and snowflake in self.roles[guild_id]:
            resolved.setdefault("roles", {})[snowflake] = self.roles[guild_id][snowflake]
            return snowflake
        if kind == CHANNEL and snowflake in self.channels:
            channel = self.channels[snowflake]
            partial = {
                k: channel[k]
                for k in ("id", "name", "type", "parent_id", "thread_metadata")
                if k in channel
            }
            partial["permissions"] = str(ALL_PERMISSIONS)
            resolved.setdefault("channels", {})[snowflake] = partial
            return snowflake
        raise FakeDiscordError(f"option {schema['name']}: nothing with id {snowflake} to resolve")

    def _build_options(
        self,
        schema_options: list[dict[str, Any]],
        values: dict[str, Any],
        guild_id: str | None,
        resolved: dict[str, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        by_name = {o["name"]: o for o in schema_options}
        unknown = sorted(set(values) - set(by_name))
        if unknown:
            raise FakeDiscordError(f"unknown options {unknown}; the command has {sorted(by_name)}")
        missing = [
            o["name"] for o in schema_options if o.get("required") and o["name"] not in values
        ]
        if missing:
            raise FakeDiscordError(f"required options missing: {missing}")
        return [
            {
                "name": name,
                "type": by_name[name]["type"],
                "value": self._convert_option(by_name[name], value, guild_id, resolved),
            }
            for name, value in values.items()
        ]

    async def invoke_command(
        self,
        command: str,
        user_id: str,
        *,
        channel_id: str | None = None,
        raw_options: list[dict[str, Any]] | None = None,
        **options: Any,
    ) -> FakeInteraction:
        """A member runs a slash command the bot registered.

        For example invoke_command("hero confirm", carol, user=alice) or
        invoke_command("quiet", carol, limit=5).

        Options are typed from the registered schema (users/channels/roles are resolved like
        Discord does). raw_options sends a literal options list instead, for input the Discord
        client would never produce. Sends INTERACTION_CREATE and returns the interaction record."""
        channel_id = channel_id or (self.world.general if self.world else None)
        if channel_id is None:
            raise FakeDiscordError("pass channel_id")
        guild_id = self._guild_of(channel_id)
        name, *path = command.split()
        schema = self.registered_command(name, guild_id)
        resolved: dict[str, dict[str, Any]] = {}
        if raw_options is not None:
            built = raw_options
        else:
            built = None
            level = schema.get("options") or []
            wrappers: list[dict[str, Any]] = []
            for part in path:
                sub = next((o for o in level if o["name"] == part and o["type"] in (1, 2)), None)
                if sub is None:
                    raise FakeDiscordError(f"/{name} has no subcommand {part!r}")
                wrappers.append({"name": part, "type": sub["type"]})
                level = sub.get("options") or []
            if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in level):
                raise FakeDiscordError(f"/{command} needs a subcommand")
            built = self._build_options(level, options, guild_id, resolved)
            for wrapper in reversed(wrappers):
                wrapper["options"] = built
                built = [wrapper]
        data: dict[str, Any] = {
            "id": schema["id"],
            "name": name,
            "type": 1,
        }
        if built:
            data["options"] = built
        if resolved:
            data["resolved"] = resolved
        if schema.get("guild_id"):
            data["guild_id"] = schema["guild_id"]
        payload = self._interaction_base(APPLICATION_COMMAND, user_id, channel_id, data)
        return await self._send_interaction(payload)

    async def press_button(
        self,
        message: dict[str, Any] | str,
        custom_id: str,
        user_id: str,
        *,
        values: list[str] | None = None,
    ) -> FakeInteraction:
        """A member clicks a button (or picks values in a select) on a message the bot sent."""
        message_id = message if isinstance(message, str) else message["id"]
        try:
            stored = self.messages[message_id]
        except KeyError:
            raise FakeDiscordError(f"no message {message_id} in the fake") from None
        component = next(
            (
                c
                for c in _walk_components(stored.get("components") or [])
                if c.get("custom_id") == custom_id
            ),
            None,
        )
        if component is None:
            present = [
                c["custom_id"] for c in _walk_components(stored["components"]) if "custom_id" in c
            ]
            raise FakeDiscordError(f"message has no component {custom_id!r} (it has {present})")
        if component.get("disabled"):
            raise FakeDiscordError(f"component {custom_id!r} is disabled: nobody can click it")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if "id" in component:
            data["id"] = component["id"]
        if values is not None:
            data["values"] = values
        payload = self._interaction_base(MESSAGE_COMPONENT, user_id, stored["channel_id"], data)
        payload["message"] = stored
        return await self._send_interaction(payload)

    async def _send_interaction(self, payload: dict[str, Any]) -> FakeInteraction:
        interaction = FakeInteraction(payload=payload)
        self.interactions[interaction.id] = interaction
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    # ------------------------------------------------------------------ gateway

    def _session_wants(self, session: _Session, event: str, data: dict[str, Any]) -> bool:
        if event in _MESSAGE_EVENTS or event in _REACTION_EVENTS:
            in_guild = "guild_id" in data
            if event in _MESSAGE_EVENTS:
                needed = GUILD_MESSAGES if in_guild else DIRECT_MESSAGES
            else:
                needed = GUILD_MESSAGE_REACTIONS if in_guild else DIRECT_MESSAGE_REACTIONS
        else:
            needed = _EVENT_INTENTS.get(event, 0)
        return not needed or bool(session.intents & needed)

    def _redact_content(self, session: _Session, data: dict[str, Any]) -> dict[str, Any]:
        # Without MESSAGE_CONTENT, Discord blanks text and rich parts of others' guild messages
        # unless they mention the bot.
        if session.intents & MESSAGE_CONTENT or "guild_id" not in data:
            return data
        bot_id = self.bot_user["id"]
        if data["author"]["id"] == bot_id or any(m["id"] == bot_id for m in data["mentions"]):
            return data
        return {**data, "content": "", "embeds": [], "attachments": [], "components": []}

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH (op 0) to every session; kept for replay if a session is disconnected."""
        if not self.sessions:
            raise FakeDiscordError(f"no client has identified yet; cannot send {event}")
        for session in self.sessions.values():
            if not self._session_wants(session, event, data):
                self.filtered_events.append((session.id, event, data))
                continue
            body = self._redact_content(session, data) if event in _MESSAGE_EVENTS else data
            await self._send_dispatch(session, event, body)
        self._notify()

    async def _send_dispatch(self, session: _Session, event: str, data: Any) -> None:
        async with session.lock:
            session.seq += 1
            frame = {"op": 0, "t": event, "s": session.seq, "d": data}
            session.sent.append(frame)
            connection = session.connection
            if connection is not None and not connection.ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await connection.ws.send_str(json.dumps(frame))

    async def _send_op(self, connection: GatewayConnection, op: int, data: Any = None) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await connection.ws.send_str(json.dumps({"op": op, "d": data, "s": None, "t": None}))

    def live_connections(self) -> list[GatewayConnection]:
        """Connections that have a session and are open."""
        return [c for c in self.connections if c.session is not None and not c.ws.closed]

    async def drop_connection(self, code: int = 4000) -> None:
        """Close every live websocket from the server side, as a network blip would.

        Sessions survive: discord.py reconnects to resume_gateway_url and RESUMEs, and events
        dispatched meanwhile are replayed."""
        for connection in self.live_connections():
            await self._close(connection, code)

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: the client should reconnect and resume."""
        for connection in self.live_connections():
            await self._send_op(connection, 7)

    async def invalidate_sessions(self) -> None:
        """Send op 9 (not resumable) and forget the sessions: the client must IDENTIFY again."""
        for connection in self.live_connections():
            await self._send_op(connection, 9, False)
        self.sessions.clear()

    async def _close(self, connection: GatewayConnection, code: int) -> None:
        connection.close_code = code
        if connection.session is not None and connection.session.connection is connection:
            connection.session.connection = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.ws.close(code=code), 5.0)
        self._notify()

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return _json_response({"message": "404: Not Found", "code": 0}, 404)
        ws = web.WebSocketResponse(max_msg_size=0, compress=False, timeout=5.0)
        await ws.prepare(request)
        connection = GatewayConnection(path=request.path, query=dict(request.query), ws=ws)
        self.connections.append(connection)
        self._notify()
        await self._stall_if("hello")
        await self._send_op(connection, 10, {"heartbeat_interval": self.heartbeat_interval_ms})
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                connection.received.append(frame)
                await self._on_frame(connection, frame)
                self._notify()
        finally:
            session = connection.session
            if session is not None and session.connection is connection:
                session.connection = None
            self._notify()
        return ws

    async def _on_frame(self, connection: GatewayConnection, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        if op == 1:
            await self._send_op(connection, 11)
        elif op == 2:
            await self._identify(connection, data)
        elif op == 6:
            await self._resume(connection, data)
        elif op == 8:
            await self._request_members(connection, data)
        elif op in (3, 4):
            pass  # presence and voice state updates: recorded in connection.received
        else:
            await self._close(connection, 4001)  # Unknown opcode

    async def _identify(self, connection: GatewayConnection, data: dict[str, Any]) -> None:
        if connection.session is not None:
            await self._close(connection, 4005)  # Already authenticated
            return
        if data.get("token") != self.token:
            await self._close(connection, 4004)  # Authentication failed
            return
        intents = data.get("intents")
        if not isinstance(intents, int):
            await self._close(connection, 4013)  # Invalid intent(s)
            return
        if intents & PRIVILEGED_INTENTS & ~self.enabled_privileged_intents:
            await self._close(connection, 4014)  # Disallowed intent(s)
            return
        self.identifies += 1
        session = _Session(id=secrets.token_hex(16), intents=intents, token=data["token"])
        session.connection = connection
        connection.session = session
        self.sessions[session.id] = session
        ready = {
            "v": 10,
            "user": {**self.bot_user, "verified": True, "mfa_enabled": False, "email": None},
            "guilds": [{"id": gid, "unavailable": True} for gid in self.guilds],
            "session_id": session.id,
            "resume_gateway_url": self.resume_gateway_url,
            "session_type": "normal",
            "shard": data.get("shard", [0, 1]),
            "application": {"id": self.application_id, "flags": 1 << 23},
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "guild_join_requests": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": ["us-east"],
            "auth_session_id_hash": secrets.token_urlsafe(32),
        }
        await self._send_dispatch(session, "READY", ready)
        for guild_id in self.guilds:
            await self._send_dispatch(
                session, "GUILD_CREATE", self.guild_create_payload(guild_id, intents)
            )

    async def _resume(self, connection: GatewayConnection, data: dict[str, Any]) -> None:
        session = self.sessions.get(data.get("session_id") or "")
        if session is None or data.get("token") != session.token:
            await self._send_op(connection, 9, False)
            return
        self.resumes += 1
        async with session.lock:
            session.connection = connection
            connection.session = session
            last_seen = data.get("seq") or 0
            for frame in session.sent:
                if frame["s"] > last_seen:
                    await connection.ws.send_str(json.dumps(frame))
        await self._send_dispatch(session, "RESUMED", {})

    async def _request_members(self, connection: GatewayConnection, data: dict[str, Any]) -> None:
        session = connection.session
        if session is None:
            await self._close(connection, 4003)  # Not authenticated
            return
        guild_id = str(data["guild_id"])
        query = (data.get("query") or "").lower()
        wanted = {str(u) for u in data.get("user_ids") or []}
        limit = data.get("limit") or 0
        found = []
        for user_id in self.members.get(guild_id, {}):
            if wanted and user_id not in wanted:
                continue
            if query and not self.users[user_id]["username"].lower().startswith(query):
                continue
            found.append(self.member_payload(guild_id, user_id))
        if limit:
            found = found[:limit]
        chunk = {
            "guild_id": guild_id,
            "members": found,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": sorted(wanted - {m["user"]["id"] for m in found}),
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    # ------------------------------------------------------------------ REST

    _ROUTES: tuple[tuple[str, str, str], ...] = (
        ("GET", r"/users/@me", "get_me"),
        ("GET", r"/users/(?P<user_id>\d+)", "get_user"),
        ("GET", r"/gateway", "get_gateway"),
        ("GET", r"/gateway/bot", "get_gateway_bot"),
        ("GET", r"/(?:oauth2/)?applications/@me", "get_application"),
        ("GET", r"/applications/(?P<app_id>\d+)/commands", "get_commands"),
        ("PUT", r"/applications/(?P<app_id>\d+)/commands", "put_commands"),
        ("GET", r"/applications/(?P<app_id>\d+)/guilds/(?P<guild_id>\d+)/commands", "get_commands"),
        ("PUT", r"/applications/(?P<app_id>\d+)/guilds/(?P<guild_id>\d+)/commands", "put_commands"),
        ("POST", r"/interactions/(?P<interaction_id>\d+)/(?P<token>[^/]+)/callback", "callback"),
        ("POST", r"/webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)", "followup"),
        (
            "GET",
            r"/webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)/messages/(?P<message_id>@original|\d+)",
            "get_webhook_message",
        ),
        (
            "PATCH",
            r"/webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)/messages/(?P<message_id>@original|\d+)",
            "edit_webhook_message",
        ),
        (
            "DELETE",
            r"/webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)/messages/(?P<message_id>@original|\d+)",
            "delete_webhook_message",
        ),
        ("GET", r"/channels/(?P<channel_id>\d+)", "get_channel"),
        ("GET", r"/channels/(?P<channel_id>\d+)/messages", "get_messages"),
        ("POST", r"/channels/(?P<channel_id>\d+)/messages", "post_message"),
        ("GET", r"/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)", "get_message"),
        ("PATCH", r"/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)", "edit_message"),
        (
            "GET",
            r"/channels/(?P<channel_id>\d+)/threads/archived/public",
            "get_archived_threads",
        ),
        ("GET", r"/guilds/(?P<guild_id>\d+)/threads/active", "get_active_threads"),
        ("GET", r"/guilds/(?P<guild_id>\d+)/channels", "get_guild_channels"),
        ("GET", r"/guilds/(?P<guild_id>\d+)/members/(?P<user_id>\d+)", "get_member"),
    )

    def _match(self, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        for route_method, pattern, name in self._ROUTES:
            if route_method == method:
                found = re.fullmatch(pattern, path)
                if found:
                    return name, found.groupdict()
        return None

    async def _outside_api(self, request: web.Request) -> web.Response:
        return await self._record_unknown(request, request.path)

    async def _record_unknown(self, request: web.Request, path: str) -> web.Response:
        body = await request.read()
        record = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            json=body.decode(errors="replace") or None,
            files=[],
            status=404,
            route=None,
        )
        self.requests.append(record)
        self.unknown_requests.append(record)
        self._notify()
        return _json_response(
            {
                "message": f"404: Not Found (the fake has no route {request.method} {path})",
                "code": 0,
            },
            404,
        )

    async def _read_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        content_type = request.headers.get("Content-Type", "")
        if content_type.startswith("multipart/"):
            payload: Any = None
            files: list[UploadedFile] = []
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()
                if part.name == "payload_json":
                    payload = json.loads(data)
                else:
                    files.append(
                        UploadedFile(
                            field=part.name or "",
                            filename=part.filename or "",
                            content_type=part.headers.get("Content-Type", ""),
                            data=bytes(data),
                        )
                    )
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        if content_type != "application/json":
            raise _ApiError(400, 50109, "The request body contains invalid JSON.")
        return json.loads(raw), []

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        matched = self._match(request.method, path)
        if matched is None:
            return await self._record_unknown(request, path)
        name, params = matched
        record = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            json=None,
            files=[],
            status=200,
            route=name,
        )
        self.requests.append(record)
        await self._stall_if(name)
        try:
            record.json, record.files = await self._read_body(request)
            webhook_route = name in (
                "callback",
                "followup",
                "get_webhook_message",
                "edit_webhook_message",
                "delete_webhook_message",
            )
            if not webhook_route and request.headers.get("Authorization") != f"Bot {self.token}":
                raise _ApiError(401, 0, "401: Unauthorized")
            handler = getattr(self, f"_rest_{name}")
            result = await handler(record, **params)
        except _ApiError as error:
            record.status = error.status
            record.response = error.body
            self._notify()
            return _json_response(error.body, error.status)
        self._notify()
        if result is None:
            record.status = 204
            return web.Response(status=204)
        record.response = result
        return _json_response(result)

    def _require_channel(self, channel_id: str) -> dict[str, Any]:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise _ApiError(404, 10003, "Unknown Channel")
        return channel

    def _public_message(self, message: dict[str, Any]) -> dict[str, Any]:
        # Over REST too, Discord blanks content when the app lacks the Message Content intent.
        channel = self.channels.get(message["channel_id"], {})
        if self.enabled_privileged_intents & MESSAGE_CONTENT or "guild_id" not in channel:
            return message
        bot_id = self.bot_user["id"]
        if message["author"]["id"] == bot_id or any(m["id"] == bot_id for m in message["mentions"]):
            return message
        return {**message, "content": "", "embeds": [], "attachments": [], "components": []}

    async def _rest_get_me(self, record: RecordedRequest) -> Any:
        return {**self.bot_user, "verified": True, "mfa_enabled": False, "email": None}

    async def _rest_get_user(self, record: RecordedRequest, user_id: str) -> Any:
        if user_id not in self.users:
            raise _ApiError(404, 10013, "Unknown User")
        return self.users[user_id]

    async def _rest_get_gateway(self, record: RecordedRequest) -> Any:
        return {"url": self.gateway_url.rstrip("/")}

    async def _rest_get_gateway_bot(self, record: RecordedRequest) -> Any:
        return {
            "url": self.gateway_url.rstrip("/"),
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 1000,
                "reset_after": 0,
                "max_concurrency": 1,
            },
        }

    async def _rest_get_application(self, record: RecordedRequest) -> Any:
        return {
            "id": self.application_id,
            "name": self.bot_user["username"],
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": secrets.token_hex(32),
            "owner": self.users[next(iter(self.users))],
            "team": None,
            "flags": 1 << 23,
            "bot": self.bot_user,
            "install_params": None,
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": len(self.guilds),
            "integration_types_config": {"0": {}},
        }

    async def _rest_get_commands(
        self, record: RecordedRequest, app_id: str, guild_id: str | None = None
    ) -> Any:
        return self.commands.get(guild_id, [])

    async def _rest_put_commands(
        self, record: RecordedRequest, app_id: str, guild_id: str | None = None
    ) -> Any:
        if app_id != self.application_id:
            raise _ApiError(403, 50001, "Missing Access")
        if guild_id is not None and guild_id not in self.guilds:
            raise _ApiError(403, 50001, "Missing Access")
        body = record.json
        if not isinstance(body, list):
            raise _ApiError(400, 50035, "Invalid Form Body", {"_errors": ["expected a list"]})
        previous = {(c["name"], c.get("type", 1)): c for c in self.commands.get(guild_id, [])}
        stored = []
        for index, command in enumerate(body):
            for key in ("name",) + (("description",) if command.get("type", 1) == 1 else ()):
                if not isinstance(command.get(key), str):
                    raise _ApiError(
                        400, 50035, "Invalid Form Body", {str(index): {key: "required"}}
                    )
            key = (command["name"], command.get("type", 1))
            result = {
                "id": previous[key]["id"] if key in previous else self.new_id(),
                "application_id": self.application_id,
                "version": self.new_id(),
                "type": command.get("type", 1),
                "name": command["name"],
                "description": command.get("description", ""),
                "options": command.get("options", []),
                "default_member_permissions": command.get("default_member_permissions"),
                "dm_permission": command.get("dm_permission", True),
                "nsfw": command.get("nsfw", False),
                "contexts": command.get("contexts"),
                "integration_types": command.get("integration_types", [0]),
                "name_localizations": command.get("name_localizations"),
                "description_localizations": command.get("description_localizations"),
            }
            if guild_id is not None:
                result["guild_id"] = guild_id
            stored.append(result)
        self.commands[guild_id] = stored
        return stored

    def _interaction_by_token(self, app_id: str, token: str) -> FakeInteraction:
        if app_id != self.application_id:
            raise _ApiError(404, 10015, "Unknown Webhook")
        for interaction in self.interactions.values():
            if interaction.token == token:
                return interaction
        raise _ApiError(404, 10015, "Unknown Webhook")

    def _bot_message(
        self,
        interaction: FakeInteraction | None,
        channel_id: str,
        data: dict[str, Any],
        files: list[UploadedFile],
        *,
        flags: int = 0,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        reply_to = None
        reference = data.get("message_reference")
        if reference and reference.get("message_id") in self.messages:
            reply_to = self.messages[reference["message_id"]]
        message = self.build_message(
            channel_id,
            self.bot_user["id"],
            data.get("content") or "",
            message_id=message_id,
            embeds=data.get("embeds"),
            components=data.get("components"),
            attachments=self._attachments(channel_id, data, files),
            flags=flags | (data.get("flags") or 0),
            reply_to=reply_to,
        )
        if interaction is not None:
            payload = interaction.payload
            message["webhook_id"] = self.application_id
            message["application_id"] = self.application_id
            user = payload.get("member", {}).get("user") or payload.get("user")
            if payload["type"] == APPLICATION_COMMAND:
                message["type"] = MESSAGE_CHAT_INPUT_COMMAND
            message["interaction_metadata"] = {
                "id": interaction.id,
                "type": payload["type"],
                "user": user,
                "authorizing_integration_owners": payload.get("authorizing_integration_owners", {}),
            }
            if payload["type"] == MESSAGE_COMPONENT:
                message["interaction_metadata"]["interacted_message_id"] = payload["message"]["id"]
        return message

    def _attachments(
        self, channel_id: str, data: dict[str, Any], files: list[UploadedFile]
    ) -> list[dict[str, Any]]:
        described = {str(a.get("id")): a for a in data.get("attachments") or []}
        attachments = []
        for index, upload in enumerate(files):
            attachment_id = self.new_id()
            self.files[attachment_id] = upload.data
            meta = described.get(str(index), {})
            filename = meta.get("filename") or upload.filename
            url = f"https://cdn.discordapp.com/attachments/{channel_id}/{attachment_id}/{filename}"
            attachment = {
                "id": attachment_id,
                "filename": filename,
                "size": len(upload.data),
                "url": url,
                "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
                "content_type": upload.content_type or "application/octet-stream",
                "description": meta.get("description"),
            }
            if upload.data.startswith(b"\x89PNG\r\n\x1a\n") and len(upload.data) >= 24:
                attachment["width"] = int.from_bytes(upload.data[16:20], "big")
                attachment["height"] = int.from_bytes(upload.data[20:24], "big")
                attachment["content_type"] = "image/png"
            attachments.append(attachment)
        return attachments

    async def _publish(self, message: dict[str, Any]) -> dict[str, Any]:
        visible = not message["flags"] & EPHEMERAL
        stored = self._store(message, visible=visible)
        if visible and self.echo_bot_messages and self.sessions:
            await self.dispatch("MESSAGE_CREATE", self._gateway_message(stored))
        return stored

    async def _rest_callback(self, record: RecordedRequest, interaction_id: str, token: str) -> Any:
        interaction = self.interactions.get(interaction_id)
        if interaction is None or interaction.token != token:
            raise _ApiError(404, 10062, "Unknown interaction")
        if interaction.acknowledged:
            raise _ApiError(400, 40060, "Interaction has already been acknowledged.")
        body = record.json or {}
        callback_type = body.get("type")
        data = body.get("data") or {}
        payload = interaction.payload
        channel_id = payload["channel_id"]
        message = None
        loading = False
        if callback_type == CHANNEL_MESSAGE_WITH_SOURCE:
            message = await self._publish(
                self._bot_message(interaction, channel_id, data, record.files)
            )
            interaction.original_message_id = message["id"]
        elif callback_type == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
            loading = True
            pending = self._bot_message(interaction, channel_id, {}, [], flags=LOADING)
            pending["flags"] |= (data.get("flags") or 0) & EPHEMERAL
            message = await self._publish(pending)
            interaction.original_message_id = message["id"]
        elif callback_type in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            if payload["type"] != MESSAGE_COMPONENT:
                raise _ApiError(400, 50035, "Invalid Form Body", {"type": "components only"})
            target = self.messages[payload["message"]["id"]]
            if callback_type == UPDATE_MESSAGE:
                message = self._edit(target, data, record.files)
            else:
                message = target
        elif callback_type == 9:
            message = None
        else:
            raise _ApiError(
                400, 50035, "Invalid Form Body", {"type": f"unsupported {callback_type}"}
            )
        interaction.callback_type = callback_type
        response = InteractionResponse(
            interaction=interaction,
            kind="callback",
            type=callback_type,
            data=data,
            files=record.files,
            message=message if callback_type != DEFERRED_UPDATE_MESSAGE else None,
        )
        self._record_response(response)
        if record.query.get("with_response") not in ("1", "true", "True"):
            return None
        result: dict[str, Any] = {
            "interaction": {
                "id": interaction.id,
                "type": payload["type"],
                "response_message_loading": loading,
                "response_message_ephemeral": bool(message and message["flags"] & EPHEMERAL),
            }
        }
        if message is not None:
            result["interaction"]["response_message_id"] = message["id"]
        result["resource"] = {"type": callback_type}
        if callback_type in (CHANNEL_MESSAGE_WITH_SOURCE, UPDATE_MESSAGE):
            result["resource"]["message"] = message
        return result

    def _record_response(self, response: InteractionResponse) -> None:
        response.interaction.responses.append(response)
        self.interaction_responses.append(response)
        self._notify()

    def _edit(
        self, target: dict[str, Any], data: dict[str, Any], files: list[UploadedFile]
    ) -> dict[str, Any]:
        for key in ("content", "embeds", "components"):
            if key in data and data[key] is not None:
                target[key] = data[key]
        if files or "attachments" in data:
            kept_ids = {str(a.get("id")) for a in data.get("attachments") or []}
            kept = [a for a in target["attachments"] if a["id"] in kept_ids]
            target["attachments"] = kept + self._attachments(target["channel_id"], data, files)
        target["flags"] &= ~LOADING
        target["edited_timestamp"] = iso(self.now())
        self._notify()
        return target

    async def _edit_and_announce(
        self, target: dict[str, Any], data: dict[str, Any], files: list[UploadedFile]
    ) -> dict[str, Any]:
        message = self._edit(target, data, files)
        if not message["flags"] & EPHEMERAL and self.echo_bot_messages and self.sessions:
            await self.dispatch("MESSAGE_UPDATE", self._gateway_message(message))
        return message

    async def _rest_followup(self, record: RecordedRequest, app_id: str, token: str) -> Any:
        interaction = self._interaction_by_token(app_id, token)
        if not interaction.acknowledged:
            raise _ApiError(404, 10015, "Unknown Webhook")
        data = record.json or {}
        original = self.messages.get(interaction.original_message_id or "")
        if (
            interaction.callback_type == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
            and original is not None
            and original["flags"] & LOADING
        ):
            # Documented compatibility behaviour: the first follow-up after a deferral edits the
            # loading message, keeping the ephemeral flag chosen when deferring.
            message = await self._edit_and_announce(original, data, record.files)
        else:
            channel_id = interaction.payload["channel_id"]
            message = await self._publish(
                self._bot_message(interaction, channel_id, data, record.files)
            )
            interaction.followup_ids.append(message["id"])
        self._record_response(
            InteractionResponse(
                interaction=interaction,
                kind="followup",
                type=None,
                data=data,
                files=record.files,
                message=message,
            )
        )
        wait = record.query.get("wait", "false").lower() in ("1", "true")
        return message if wait else None

    def _webhook_target(self, interaction: FakeInteraction, message_id: str) -> dict[str, Any]:
        if message_id == "@original":
            if interaction.original_message_id is None or interaction.deleted_original:
                raise _ApiError(404, 10008, "Unknown Message")
            return self.messages[interaction.original_message_id]
        if message_id not in (*interaction.followup_ids, interaction.original_message_id):
            raise _ApiError(404, 10008, "Unknown Message")
        return self.messages[message_id]

    async def _rest_get_webhook_message(
        self, record: RecordedRequest, app_id: str, token: str, message_id: str
    ) -> Any:
        interaction = self._interaction_by_token(app_id, token)
        return self._webhook_target(interaction, message_id)

    async def _rest_edit_webhook_message(
        self, record: RecordedRequest, app_id: str, token: str, message_id: str
    ) -> Any:
        interaction = self._interaction_by_token(app_id, token)
        target = self._webhook_target(interaction, message_id)
        message = await self._edit_and_announce(target, record.json or {}, record.files)
        self._record_response(
            InteractionResponse(
                interaction=interaction,
                kind="edit",
                type=None,
                data=record.json or {},
                files=record.files,
                message=message,
            )
        )
        return message

    async def _rest_delete_webhook_message(
        self, record: RecordedRequest, app_id: str, token: str, message_id: str
    ) -> Any:
        interaction = self._interaction_by_token(app_id, token)
        target = self._webhook_target(interaction, message_id)
        if message_id == "@original":
            interaction.deleted_original = True
        self._delete(target)
        self._record_response(
            InteractionResponse(
                interaction=interaction,
                kind="delete",
                type=None,
                data={},
                files=[],
                message=target,
            )
        )
        return None

    def _delete(self, message: dict[str, Any]) -> None:
        ids = self.history.get(message["channel_id"], [])
        if message["id"] in ids:
            ids.remove(message["id"])
        message["deleted"] = True

    async def _rest_get_channel(self, record: RecordedRequest, channel_id: str) -> Any:
        return self._require_channel(channel_id)

    async def _rest_get_messages(self, record: RecordedRequest, channel_id: str) -> Any:
        self._require_channel(channel_id)
        query = record.query
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            raise _ApiError(400, 50035, "Invalid Form Body", {"limit": "not an integer"}) from None
        if not 1 <= limit <= 100:
            raise _ApiError(400, 50035, "Invalid Form Body", {"limit": "must be between 1 and 100"})
        ids = [int(i) for i in self.history.get(channel_id, [])]
        if "around" in query:
            around = int(query["around"])
            older = [i for i in ids if i <= around][-((limit + 1) // 2) :]
            newer = [i for i in ids if i > around][: limit // 2]
            chosen = older + newer
        elif "after" in query:
            after = int(query["after"])
            # The `limit` messages right after `after`, still returned newest first.
            chosen = [i for i in ids if i > after][:limit]
        elif "before" in query:
            before = int(query["before"])
            chosen = [i for i in ids if i < before][-limit:]
        else:
            chosen = ids[-limit:]
        return [self._public_message(self.messages[str(i)]) for i in sorted(chosen, reverse=True)]

    async def _rest_get_message(
        self, record: RecordedRequest, channel_id: str, message_id: str
    ) -> Any:
        self._require_channel(channel_id)
        message = self.messages.get(message_id)
        if message is None or message["channel_id"] != channel_id or message.get("deleted"):
            raise _ApiError(404, 10008, "Unknown Message")
        if message["flags"] & EPHEMERAL:
            raise _ApiError(404, 10008, "Unknown Message")
        return self._public_message(message)

    async def _rest_post_message(self, record: RecordedRequest, channel_id: str) -> Any:
        channel = self._require_channel(channel_id)
        if channel["type"] in (GUILD_CATEGORY, GUILD_FORUM):
            raise _ApiError(400, 50008, "Cannot send messages in a non-text channel")
        data = record.json or {}
        if not any((data.get("content"), data.get("embeds"), data.get("components"), record.files)):
            raise _ApiError(400, 50006, "Cannot send an empty message")
        return await self._publish(self._bot_message(None, channel_id, data, record.files))

    async def _rest_edit_message(
        self, record: RecordedRequest, channel_id: str, message_id: str
    ) -> Any:
        message = await self._rest_get_message(record, channel_id, message_id)
        if message["author"]["id"] != self.bot_user["id"]:
            raise _ApiError(403, 50005, "Cannot edit a message authored by another user")
        return await self._edit_and_announce(
            self.messages[message_id], record.json or {}, record.files
        )

    def _thread_list(self, threads: list[dict[str, Any]]) -> dict[str, Any]:
        bot_id = self.bot_user["id"]
        return {
            "threads": threads,
            "members": [
                {
                    "id": t["id"],
                    "user_id": bot_id,
                    "join_timestamp": t["thread_metadata"]["create_timestamp"],
                    "flags": 1,
                }
                for t in threads
            ],
            "has_more": False,
        }

    async def _rest_get_active_threads(self, record: RecordedRequest, guild_id: str) -> Any:
        if guild_id not in self.guilds:
            raise _ApiError(404, 10004, "Unknown Guild")
        threads = [
            c
            for c in self.channels.values()
            if c.get("guild_id") == guild_id
            and c["type"] == PUBLIC_THREAD
            and not c["thread_metadata"]["archived"]
        ]
        return self._thread_list(threads)

    async def _rest_get_archived_threads(self, record: RecordedRequest, channel_id: str) -> Any:
        self._require_channel(channel_id)
        threads = [
            c
            for c in self.channels.values()
            if c.get("parent_id") == channel_id
            and c["type"] == PUBLIC_THREAD
            and c["thread_metadata"]["archived"]
        ]
        threads.sort(key=lambda t: t["thread_metadata"]["archive_timestamp"], reverse=True)
        if "before" in record.query:
            before = record.query["before"]
            threads = [t for t in threads if t["thread_metadata"]["archive_timestamp"] < before]
        limit = int(record.query.get("limit", "50"))
        result = self._thread_list(threads[:limit])
        result["has_more"] = len(threads) > limit
        return result

    async def _rest_get_guild_channels(self, record: RecordedRequest, guild_id: str) -> Any:
        if guild_id not in self.guilds:
            raise _ApiError(404, 10004, "Unknown Guild")
        return [
            c
            for c in self.channels.values()
            if c.get("guild_id") == guild_id and c["type"] != PUBLIC_THREAD
        ]

    async def _rest_get_member(self, record: RecordedRequest, guild_id: str, user_id: str) -> Any:
        if guild_id not in self.guilds:
            raise _ApiError(404, 10004, "Unknown Guild")
        if user_id not in self.members[guild_id]:
            raise _ApiError(404, 10007, "Unknown Member")
        return self.member_payload(guild_id, user_id)

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
