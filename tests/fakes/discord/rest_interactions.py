"""REST endpoints for app commands, interaction callbacks, follow-ups and webhook messages."""

from __future__ import annotations

from typing import Any

from .constants import (
    APPLICATION_COMMAND,
    CHANNEL_MESSAGE_WITH_SOURCE,
    DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
    DEFERRED_UPDATE_MESSAGE,
    EPHEMERAL,
    LOADING,
    MESSAGE_CHAT_INPUT_COMMAND,
    MESSAGE_COMPONENT,
    UPDATE_MESSAGE,
)
from .records import (
    FakeInteraction,
    InteractionResponse,
    RecordedRequest,
    UploadedFile,
    _ApiError,
    iso,
)


class _RestInteractions:
    """Registering commands and answering interactions over REST."""

    async def _rest_get_commands(
        self, record: RecordedRequest, app_id: str, guild_id: str | None = None
    ) -> Any:
        return self.commands.get(guild_id, [])

    async def _rest_put_commands(
        self, record: RecordedRequest, app_id: str, guild_id: str | None = None
    ) -> Any:
        if app_id != self.application_id:
            raise _ApiError(403, 50001, "Missing Access")
        if guild_id is not None and guild_id not in self.guilds:
            raise _ApiError(403, 50001, "Missing Access")
        body = record.json
        if not isinstance(body, list):
            raise _ApiError(400, 50035, "Invalid Form Body", {"_errors": ["expected a list"]})
        previous = {(c["name"], c.get("type", 1)): c for c in self.commands.get(guild_id, [])}
        stored = []
        for index, command in enumerate(body):
            for key in ("name",) + (("description",) if command.get("type", 1) == 1 else ()):
                if not isinstance(command.get(key), str):
                    raise _ApiError(
                        400, 50035, "Invalid Form Body", {str(index): {key: "required"}}
                    )
            key = (command["name"], command.get("type", 1))
            result = {
                "id": previous[key]["id"] if key in previous else self.new_id(),
                "application_id": self.application_id,
                "version": self.new_id(),
                "type": command.get("type", 1),
                "name": command["name"],
                "description": command.get("description", ""),
                "options": command.get("options", []),
                "default_member_permissions": command.get("default_member_permissions"),
                "dm_permission": command.get("dm_permission", True),
                "nsfw": command.get("nsfw", False),
                "contexts": command.get("contexts"),
                "integration_types": command.get("integration_types", [0]),
                "name_localizations": command.get("name_localizations"),
                "description_localizations": command.get("description_localizations"),
            }
            if guild_id is not None:
                result["guild_id"] = guild_id
            stored.append(result)
        self.commands[guild_id] = stored
        return stored

    def _interaction_by_token(self, app_id: str, token: str) -> FakeInteraction:
        if app_id != self.application_id:
            raise _ApiError(404, 10015, "Unknown Webhook")
        for interaction in self.interactions.values():
            if interaction.token == token:
                return interaction
        raise _ApiError(404, 10015, "Unknown Webhook")

    def _bot_message(
        self,
        interaction: FakeInteraction | None,
        channel_id: str,
        data: dict[str, Any],
        files: list[UploadedFile],
        *,
        flags: int = 0,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        reply_to = None
        reference = data.get("message_reference")
        if reference and reference.get("message_id") in self.messages:
            reply_to = self.messages[reference["message_id"]]
        message = self.build_message(
            channel_id,
            self.bot_user["id"],
            data.get("content") or "",
            message_id=message_id,
            embeds=data.get("embeds"),
            components=data.get("components"),
            attachments=self._attachments(channel_id, data, files),
            flags=flags | (data.get("flags") or 0),
            reply_to=reply_to,
        )
        if interaction is not None:
            payload = interaction.payload
            message["webhook_id"] = self.application_id
            message["application_id"] = self.application_id
            user = payload.get("member", {}).get("user") or payload.get("user")
            if payload["type"] == APPLICATION_COMMAND:
                message["type"] = MESSAGE_CHAT_INPUT_COMMAND
            message["interaction_metadata"] = {
                "id": interaction.id,
                "type": payload["type"],
                "user": user,
                "authorizing_integration_owners": payload.get("authorizing_integration_owners", {}),
            }
            if payload["type"] == MESSAGE_COMPONENT:
                message["interaction_metadata"]["interacted_message_id"] = payload["message"]["id"]
        return message

    def _attachments(
        self, channel_id: str, data: dict[str, Any], files: list[UploadedFile]
    ) -> list[dict[str, Any]]:
        described = {str(a.get("id")): a for a in data.get("attachments") or []}
        attachments = []
        for index, upload in enumerate(files):
            attachment_id = self.new_id()
            self.files[attachment_id] = upload.data
            meta = described.get(str(index), {})
            filename = meta.get("filename") or upload.filename
            url = f"https://cdn.discordapp.com/attachments/{channel_id}/{attachment_id}/{filename}"
            attachment = {
                "id": attachment_id,
                "filename": filename,
                "size": len(upload.data),
                "url": url,
                "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
                "content_type": upload.content_type or "application/octet-stream",
                "description": meta.get("description"),
            }
            if upload.data.startswith(b"\x89PNG\r\n\x1a\n") and len(upload.data) >= 24:
                attachment["width"] = int.from_bytes(upload.data[16:20], "big")
                attachment["height"] = int.from_bytes(upload.data[20:24], "big")
                attachment["content_type"] = "image/png"
            attachments.append(attachment)
        return attachments

    async def _publish(self, message: dict[str, Any]) -> dict[str, Any]:
        visible = not message["flags"] & EPHEMERAL
        stored = self._store(message, visible=visible)
        if visible and self.echo_bot_messages and self.sessions:
            await self.dispatch("MESSAGE_CREATE", self._gateway_message(stored))
        return stored

    async def _rest_callback(self, record: RecordedRequest, interaction_id: str, token: str) -> Any:
        interaction = self.interactions.get(interaction_id)
        if interaction is None or interaction.token != token:
            raise _ApiError(404, 10062, "Unknown interaction")
        if interaction.acknowledged:
            raise _ApiError(400, 40060, "Interaction has already been acknowledged.")
        body = record.json or {}
        callback_type = body.get("type")
        data = body.get("data") or {}
        payload = interaction.payload
        channel_id = payload["channel_id"]
        message = None
        loading = False
        if callback_type == CHANNEL_MESSAGE_WITH_SOURCE:
            message = await self._publish(
                self._bot_message(interaction, channel_id, data, record.files)
            )
            interaction.original_message_id = message["id"]
        elif callback_type == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
            loading = True
            pending = self._bot_message(interaction, channel_id, {}, [], flags=LOADING)
            pending["flags"] |= (data.get("flags") or 0) & EPHEMERAL
            message = await self._publish(pending)
            interaction.original_message_id = message["id"]
        elif callback_type in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            if payload["type"] != MESSAGE_COMPONENT:
                raise _ApiError(400, 50035, "Invalid Form Body", {"type": "components only"})
            target = self.messages[payload["message"]["id"]]
            if callback_type == UPDATE_MESSAGE:
                message = self._edit(target, data, record.files)
            else:
                message = target
        elif callback_type == 9:
            message = None
        else:
            raise _ApiError(
                400, 50035, "Invalid Form Body", {"type": f"unsupported {callback_type}"}
            )
        interaction.callback_type = callback_type
        response = InteractionResponse(
            interaction=interaction,
            kind="callback",
            type=callback_type,
            data=data,
            files=record.files,
            message=message if callback_type != DEFERRED_UPDATE_MESSAGE else None,
        )
        self._record_response(response)
        if record.query.get("with_response") not in ("1", "true", "True"):
            return None
        result: dict[str, Any] = {
            "interaction": {
                "id": interaction.id,
                "type": payload["type"],
                "response_message_loading": loading,
                "response_message_ephemeral": bool(message and message["flags"] & EPHEMERAL),
            }
        }
        if message is not None:
            result["interaction"]["response_message_id"] = message["id"]
        result["resource"] = {"type": callback_type}
        if callback_type in (CHANNEL_MESSAGE_WITH_SOURCE, UPDATE_MESSAGE):
            result["resource"]["message"] = message
        return result

    def _record_response(self, response: InteractionResponse) -> None:
        response.interaction.responses.append(response)
        self.interaction_responses.append(response)
        self._notify()

    def _edit(
        self, target: dict[str, Any], data: dict[str, Any], files: list[UploadedFile]
    ) -> dict[str, Any]:
        for key in ("content", "embeds", "components"):
            if key in data and data[key] is not None:
                target[key] = data[key]
        if files or "attachments" in data:
            kept_ids = {str(a.get("id")) for a in data.get("attachments") or []}
            kept = [a for a in target["attachments"] if a["id"] in kept_ids]
            target["attachments"] = kept + self._attachments(target["channel_id"], data, files)
        target["flags"] &= ~LOADING
        target["edited_timestamp"] = iso(self.now())
        self._notify()
        return target

    async def _edit_and_announce(
        self, target: dict[str, Any], data: dict[str, Any], files: list[UploadedFile]
    ) -> dict[str, Any]:
        message = self._edit(target, data, files)
        if not message["flags"] & EPHEMERAL and self.echo_bot_messages and self.sessions:
            await self.dispatch("MESSAGE_UPDATE", self._gateway_message(message))
        return message

    async def _rest_followup(self, record: RecordedRequest, app_id: str, token: str) -> Any:
        interaction = self._interaction_by_token(app_id, token)
        if not interaction.acknowledged:
            raise _ApiError(404, 10015, "Unknown Webhook")
        data = record.json or {}
        original = self.messages.get(interaction.original_message_id or "")
        if (
            interaction.callback_type == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
            and original is not None
            and original["flags"] & LOADING
        ):
            # Documented compatibility behaviour: the first follow-up after a deferral edits the
            # loading message, keeping the ephemeral flag chosen when deferring.
            message = await self._edit_and_announce(original, data, record.files)
        else:
            channel_id = interaction.payload["channel_id"]
            message = await self._publish(
                self._bot_message(interaction, channel_id, data, record.files)
            )
            interaction.followup_ids.append(message["id"])
        self._record_response(
            InteractionResponse(
                interaction=interaction,
                kind="followup",
                type=None,
                data=data,
                files=record.files,
                message=message,
            )
        )
        wait = record.query.get("wait", "false").lower() in ("1", "true")
        return message if wait else None

    def _webhook_target(self, interaction: FakeInteraction, message_id: str) -> dict[str, Any]:
        if message_id == "@original":
            if interaction.original_message_id is None or interaction.deleted_original:
                raise _ApiError(404, 10008, "Unknown Message")
            return self.messages[interaction.original_message_id]
        if message_id not in (*interaction.followup_ids, interaction.original_message_id):
            raise _ApiError(404, 10008, "Unknown Message")
        return self.messages[message_id]

    async def _rest_get_webhook_message(
        self, record: RecordedRequest, app_id: str, token: str, message_id: str
    ) -> Any:
        interaction = self._interaction_by_token(app_id, token)
        return self._webhook_target(interaction, message_id)

    async def _rest_edit_webhook_message(
        self, record: RecordedRequest, app_id: str, token: str, message_id: str
    ) -> Any:
        interaction = self._interaction_by_token(app_id, token)
        target = self._webhook_target(interaction, message_id)
        message = await self._edit_and_announce(target, record.json or {}, record.files)
        self._record_response(
            InteractionResponse(
                interaction=interaction,
                kind="edit",
                type=None,
                data=record.json or {},
                files=record.files,
                message=message,
            )
        )
        return message

    async def _rest_delete_webhook_message(
        self, record: RecordedRequest, app_id: str, token: str, message_id: str
    ) -> Any:
        interaction = self._interaction_by_token(app_id, token)
        target = self._webhook_target(interaction, message_id)
        if message_id == "@original":
            interaction.deleted_original = True
        self._delete(target)
        self._record_response(
            InteractionResponse(
                interaction=interaction,
                kind="delete",
                type=None,
                data={},
                files=[],
                message=target,
            )
        )
        return None
