"""The fake workspace's model: ids, users, channels, user groups, messages, payloads."""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import secrets
import uuid
from datetime import datetime
from typing import Any

from .formats import _micros, _rich_text, micros_ts, ts_micros
from .records import FakeSlackError, World


class _State:
    """Ids, the in-memory workspace and the payloads built from it."""

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
