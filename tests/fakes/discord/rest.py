"""The fake Discord's REST API: routing, users, channels, messages, threads, members."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from aiohttp import web

from .constants import EPHEMERAL, GUILD_CATEGORY, GUILD_FORUM, MESSAGE_CONTENT, PUBLIC_THREAD
from .records import RecordedRequest, UploadedFile, _ApiError, _json_response


class _Rest:
    """REST routing and the endpoints for users, channels, messages and guilds."""

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
        ("GET", r"/guilds/(?P<guild_id>\d+)/members", "list_members"),
        ("POST", r"/users/@me/channels", "open_dm"),
        ("GET", r"/guilds/(?P<guild_id>\d+)", "get_guild"),
        ("GET", r"/guilds/(?P<guild_id>\d+)/roles", "get_roles"),
        (
            "PUT",
            r"/guilds/(?P<guild_id>\d+)/members/(?P<user_id>\d+)/roles/(?P<role_id>\d+)",
            "add_member_role",
        ),
        (
            "DELETE",
            r"/guilds/(?P<guild_id>\d+)/members/(?P<user_id>\d+)/roles/(?P<role_id>\d+)",
            "remove_member_role",
        ),
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
        limited = self._rate_limited(name)
        if limited is not None:
            record.status = 429
            self._notify()
            return limited
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
            "shards": self.recommended_shards,
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
            "flags": 1 << 23 | self._intent_flags(),
            "bot": self.bot_user,
            "install_params": None,
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": len(self.guilds),
            "integration_types_config": {"0": {}},
        }

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
