"""Socket Mode: the websocket the app opens, envelopes out, acknowledgements back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

from aiohttp import WSMsgType, web

from .records import Delivery, FakeSlackError, SocketConnection


class _SocketMode:
    """Socket Mode connections, deliveries over them and their acks."""

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
