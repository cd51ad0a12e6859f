"""Slash commands, button presses and the response_url they come with."""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from .constants import RESPONSE_URL_USES
from .formats import _micros, _walk_elements, micros_ts
from .records import Delivery, FakeSlackError, PostedMessage, ResponsePost, _json_response


class _Interactivity:
    """Slash commands, block actions and response_url posts."""

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
