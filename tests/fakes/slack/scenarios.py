"""What a test makes happen in the fake workspace: messages, edits, joins, reactions."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from .constants import EVENT_SCOPES
from .formats import _rich_text, ts_micros
from .records import Delivery, FakeSlackError


class _Scenarios:
    """Things members do, stored and delivered as events."""

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
