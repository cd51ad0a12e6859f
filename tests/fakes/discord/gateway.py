"""The fake Discord's gateway websocket: identify, resume, heartbeats, dispatch, member chunks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections import deque
from typing import Any

from aiohttp import WSMsgType, web

from .constants import (
    _EVENT_INTENTS,
    _MESSAGE_EVENTS,
    _REACTION_EVENTS,
    DIRECT_MESSAGE_REACTIONS,
    DIRECT_MESSAGES,
    GUILD_MESSAGE_REACTIONS,
    GUILD_MESSAGES,
    MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
)
from .records import FakeDiscordError, GatewayConnection, _json_response, _Session


class _Gateway:
    """The gateway: sessions, intents and dispatching events."""

    def owns(self, session: _Session, guild_id: str | None) -> bool:
        """Whether SESSION's shard receives GUILD_ID's events (DMs go to shard 0)."""
        shard_id, count = session.shard
        return (((int(guild_id) >> 22) % count) if guild_id else 0) == shard_id

    def _session_wants(self, session: _Session, event: str, data: dict[str, Any]) -> bool:
        if not self.owns(session, data.get("guild_id") if isinstance(data, dict) else None):
            return False
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
        shard = data.get("shard", [0, 1])
        if not (isinstance(shard, list) and len(shard) == 2 and 0 <= shard[0] < shard[1]):
            await self._close(connection, 4010)  # Invalid shard
            return
        self.identifies += 1
        session = _Session(
            id=secrets.token_hex(16),
            intents=intents,
            token=data["token"],
            shard=(shard[0], shard[1]),
            large_threshold=int(data.get("large_threshold") or 50),
        )
        if self.replay_frames is not None:
            session.sent = deque(maxlen=self.replay_frames)
        session.connection = connection
        connection.session = session
        self.sessions[session.id] = session
        guilds = [gid for gid in self.guilds if self.owns(session, gid)]
        ready = {
            "v": 10,
            "user": {**self.bot_user, "verified": True, "mfa_enabled": False, "email": None},
            "guilds": [{"id": gid, "unavailable": True} for gid in guilds],
            "session_id": session.id,
            "resume_gateway_url": self.resume_gateway_url,
            "session_type": "normal",
            "shard": list(session.shard),
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
        for guild_id in guilds:
            payload = self.guild_create_payload(guild_id, intents, session.large_threshold)
            await self._send_dispatch(session, "GUILD_CREATE", payload)

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
        self.member_requests.append((session.id, data))
        guild_id = str(data["guild_id"])
        query = (data.get("query") or "").lower()
        wanted = {str(u) for u in data.get("user_ids") or []}
        limit = data.get("limit") or 0
        found = []
        for user_id in self.member_ids_after(guild_id, 0, self.member_count(guild_id)):
            if wanted and user_id not in wanted:
                continue
            name = self.user_payload(user_id)["username"].lower()
            if query and not name.startswith(query):
                continue
            found.append(self.member_payload(guild_id, user_id))
            if limit and len(found) >= limit:
                break
        # Discord sends at most 1,000 members a chunk.
        chunks = [found[i : i + 1000] for i in range(0, len(found), 1000)] or [[]]
        for index, members in enumerate(chunks):
            chunk = {
                "guild_id": guild_id,
                "members": members,
                "chunk_index": index,
                "chunk_count": len(chunks),
                "not_found": sorted(wanted - {m["user"]["id"] for m in found}),
            }
            if data.get("nonce") is not None:
                chunk["nonce"] = data["nonce"]
            await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)
