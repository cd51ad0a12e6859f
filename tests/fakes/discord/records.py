"""What the fake Discord records and hands to tests, its errors and the seeded World's ids."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .constants import DISCORD_EPOCH_MS, EPHEMERAL


def iso(moment: datetime) -> str:
    """Discord's timestamp format: ISO 8601 with microseconds and an offset."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware one")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def user_object(
    user_id: str, username: str, global_name: str, *, bot: bool = False, system: bool = False
) -> dict[str, Any]:
    """A user object as Discord sends it."""
    return {
        "id": user_id,
        "username": username,
        "discriminator": "0",
        "global_name": global_name,
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


def guild_member(*, nick: str | None, roles: list[str], joined_at: str) -> dict[str, Any]:
    """A guild member object as Discord sends it, without its user."""
    return {
        "nick": nick,
        "avatar": None,
        "banner": None,
        "roles": roles,
        "joined_at": joined_at,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
        "avatar_decoration_data": None,
    }


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
    shard: tuple[int, int] = (0, 1)  # [shard_id, num_shards] from IDENTIFY
    large_threshold: int = 50
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
