"""What the fake Slack records and hands to tests, its errors and the seeded World's ids."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .formats import _truthy, _walk_elements


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
