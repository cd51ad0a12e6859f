"""The fake Web API: dispatch, tokens and scopes, paging, and the read methods."""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar

from aiohttp import web

from .constants import METHOD_SCOPES
from .formats import _truthy, ts_micros
from .records import ApiCall, _ApiError, _json_response


class _WebApi:
    """Web API dispatch, its helpers and the methods that read."""

    _METHODS: ClassVar[dict[str, str]] = {
        "auth.test": "_auth_test",
        "team.info": "_team_info",
        "users.info": "_users_info",
        "users.list": "_users_list",
        "usergroups.list": "_usergroups_list",
        "usergroups.users.list": "_usergroups_users_list",
        "usergroups.users.update": "_usergroups_users_update",
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

    async def _usergroups_users_update(self, params: dict[str, Any]) -> dict[str, Any]:
        # Slack's order: the plan first (free workspaces have no user groups), then arguments.
        if not self.plan_has_usergroups:
            raise _ApiError("plan_upgrade_required")
        group = self.usergroups.get(self._required(params, "usergroup"))
        if group is None:
            raise _ApiError("no_such_subteam")
        users = params.get("users")
        ids = users if isinstance(users, list) else str(users or "").split(",")
        ids = [u.strip() for u in ids if u.strip()]
        if not ids:
            raise _ApiError("no_users_provided")
        if any(u not in self.users for u in ids):
            raise _ApiError("invalid_users")
        group["users"] = ids
        group["user_count"] = len(ids)
        return {"usergroup": self._usergroup_payload(group, include_users=True)}

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
