"""The Web API methods that post: chat.*, file uploads, apps.connections.open."""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

from aiohttp import web

from .formats import _truthy
from .records import PostedMessage, Upload, _ApiError


class _WebApiChat:
    """Posting, updating and uploading through the Web API."""

    @staticmethod
    def _blocks_param(params: dict[str, Any]) -> list[dict[str, Any]] | None:
        blocks = params.get("blocks")
        if blocks in (None, ""):
            return None
        if isinstance(blocks, str):
            try:
                blocks = json.loads(blocks)
            except ValueError:
                raise _ApiError("invalid_blocks_format") from None
        if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
            raise _ApiError("invalid_blocks_format")
        for block in blocks:
            if "type" not in block:
                raise _ApiError("invalid_blocks", errors=["missing required field: type"])
        return blocks

    @staticmethod
    def _fill_block_ids(blocks: list[dict[str, Any]]) -> None:
        # Slack assigns a block_id (and an action_id) wherever the app left one out.
        for block in blocks:
            block.setdefault("block_id", secrets.token_urlsafe(4)[:4])
            for element in block.get("elements") or []:
                if isinstance(element, dict) and element.get("type") in ("button",):
                    element.setdefault("action_id", secrets.token_urlsafe(4)[:4])

    def _message_text(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]] | None]:
        blocks = self._blocks_param(params)
        text = params.get("text")
        if not text and not blocks and not params.get("attachments"):
            raise _ApiError("no_text")
        if blocks:
            self._fill_block_ids(blocks)
        return str(text or ""), blocks

    async def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._api_channel(params)
        self._require_member(channel)
        channel_id = channel["id"]
        text, blocks = self._message_text(params)
        thread_ts = params.get("thread_ts") or None
        message = self._app_message(text, blocks)
        in_history = True
        parent = None
        if thread_ts:
            parent = self.messages.get((channel_id, str(thread_ts)))
            if parent is None:
                raise _ApiError("thread_not_found")
            parent_ts = parent.get("thread_ts") or parent["ts"]
            parent = self.messages[(channel_id, parent_ts)]
            message["thread_ts"] = parent_ts
            message["parent_user_id"] = parent.get("user", "")
            if _truthy(params.get("reply_broadcast", False)):
                message["subtype"] = "thread_broadcast"
                message["root"] = {k: v for k, v in parent.items() if k != "reactions"}
            else:
                in_history = False
        self._store(channel_id, message, in_history=in_history)
        if parent is not None:
            self._add_reply(channel_id, parent, message)
        self.posted.append(
            PostedMessage(
                method="chat.postMessage",
                channel=channel_id,
                ts=message["ts"],
                text=text,
                blocks=blocks,
                thread_ts=message.get("thread_ts"),
                user=None,
                params=params,
            )
        )
        self._echo(channel_id, self._message_event(channel_id, message))
        return {"channel": channel_id, "ts": message["ts"], "message": message}

    async def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._api_channel(params)
        user = str(params.get("user") or "")
        if user not in self.users:
            raise _ApiError("user_not_found")
        if user not in self.members[channel["id"]]:
            raise _ApiError("user_not_in_channel")
        self._require_member(channel)
        text, blocks = self._message_text(params)
        ts = self.new_ts()
        self.ephemerals[ts] = {
            "type": "message",
            "channel": channel["id"],
            "user": user,
            "text": text,
            "blocks": blocks or [],
            "ts": ts,
        }
        self.posted.append(
            PostedMessage(
                method="chat.postEphemeral",
                channel=channel["id"],
                ts=ts,
                text=text,
                blocks=blocks,
                thread_ts=params.get("thread_ts") or None,
                user=user,
                params=params,
            )
        )
        return {"message_ts": ts}

    async def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._api_channel(params)
        ts = self._required(params, "ts")
        message = self.messages.get((channel["id"], ts))
        if message is None:
            raise _ApiError("message_not_found")
        if message.get("user") != self.bot_user["id"]:
            raise _ApiError("cant_update_message")
        text, blocks = self._message_text(params)
        previous = json.loads(json.dumps(message))
        message["text"] = text
        if blocks is not None:
            message["blocks"] = blocks
        message["edited"] = {"user": self.bot_user["id"], "ts": self.new_ts()}
        self.posted.append(
            PostedMessage(
                method="chat.update",
                channel=channel["id"],
                ts=ts,
                text=text,
                blocks=blocks,
                thread_ts=message.get("thread_ts"),
                user=None,
                params=params,
            )
        )
        event_ts = message["edited"]["ts"]
        self._echo(
            channel["id"],
            {
                "type": "message",
                "subtype": "message_changed",
                "message": dict(message),
                "previous_message": previous,
                "channel": channel["id"],
                "hidden": True,
                "ts": event_ts,
                "event_ts": event_ts,
                "channel_type": "channel",
            },
        )
        return {"channel": channel["id"], "ts": ts, "text": text, "message": message}

    async def _files_get_upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = self._required(params, "filename")
        try:
            length = int(self._required(params, "length"))
        except ValueError:
            raise _ApiError("invalid_arguments") from None
        file_id = self._new_id("F", "")
        self.uploads.append(
            Upload(file_id=file_id, filename=filename, length=length, alt_txt=params.get("alt_txt"))
        )
        return {"upload_url": f"{self.base_url}/upload/v1/{file_id}", "file_id": file_id}

    def _file_object(self, upload: Upload) -> dict[str, Any]:
        created = int(self.now().timestamp())
        extension = upload.filename.rpartition(".")[2].lower() if "." in upload.filename else ""
        mimetype = {"png": "image/png", "csv": "text/csv", "txt": "text/plain"}.get(
            extension, "application/octet-stream"
        )
        url = f"https://files.slack.com/files-pri/{self.team_id}-{upload.file_id}/{upload.filename}"
        return {
            "id": upload.file_id,
            "created": created,
            "timestamp": created,
            "name": upload.filename,
            "title": upload.title or upload.filename,
            "mimetype": mimetype,
            "filetype": extension or "binary",
            "pretty_type": extension.upper() or "Binary",
            "user": self.bot_user["id"],
            "user_team": self.team_id,
            "editable": False,
            "size": len(upload.data or b""),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": False,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": url,
            "url_private_download": url.replace("files-pri", "files-pri/download"),
            "permalink": f"{self.team['url']}files/{self.bot_user['id']}/{upload.file_id}",
            "comments_count": 0,
            "is_starred": False,
            "shares": {},
            "channels": [upload.channel] if upload.channel else [],
            "groups": [],
            "ims": [],
            "has_rich_preview": False,
            "file_access": "visible",
            "alt_txt": upload.alt_txt,
        }

    async def _files_complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        raw = params.get("files")
        try:
            described = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            raise _ApiError("invalid_arguments") from None
        if not isinstance(described, list) or not described:
            raise _ApiError("invalid_arguments")
        channel_id = params.get("channel_id") or None
        if channel_id is None and params.get("channels"):
            channel_id = str(params["channels"]).split(",")[0]
        channel = None
        if channel_id:
            channel = self._api_channel({"channel": channel_id})
            self._require_member(channel)
        thread_ts = params.get("thread_ts") or None
        completed = []
        for item in described:
            upload = next((u for u in self.uploads if u.file_id == item.get("id")), None)
            if upload is None or upload.completed:
                raise _ApiError("file_not_found")
            upload.title = item.get("title") or upload.filename
            upload.channel = channel["id"] if channel else None
            upload.thread_ts = thread_ts
            upload.initial_comment = params.get("initial_comment") or None
            upload.completed = True
            completed.append(upload)
        files = [self._file_object(u) for u in completed]
        if channel is not None:
            message = self._app_message(str(params.get("initial_comment") or ""), None)
            message.update({"files": files, "upload": True, "display_as_bot": False})
            in_history = thread_ts is None
            if thread_ts:
                parent = self.messages.get((channel["id"], str(thread_ts)))
                if parent is None:
                    raise _ApiError("thread_not_found")
                message["thread_ts"] = parent["ts"]
                message["parent_user_id"] = parent.get("user", "")
            self._store(channel["id"], message, in_history=in_history)
            if thread_ts:
                self._add_reply(
                    channel["id"], self.messages[(channel["id"], str(thread_ts))], message
                )
            event = self._message_event(channel["id"], message)
            event["subtype"] = "file_share"
            self._echo(channel["id"], event)
        self._notify()
        return {"files": files}

    async def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        port = self.port
        return {"url": f"ws://127.0.0.1:{port}/link/?ticket={ticket}&app_id={self.app_id}"}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        upload = next((u for u in self.uploads if u.file_id == file_id), None)
        if upload is None:
            return web.Response(status=404, text="invalid upload URL", content_type="text/plain")
        if request.content_type.startswith("multipart/"):
            data = b""
            async for part in await request.multipart():
                data = bytes(await part.read())
        else:
            data = await request.read()
        upload.data = data
        self._notify()
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")
