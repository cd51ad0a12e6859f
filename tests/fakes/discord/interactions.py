"""Slash commands and button presses sent to the client as interactions."""

from __future__ import annotations

import secrets
from typing import Any

from .constants import (
    ALL_PERMISSIONS,
    APPLICATION_COMMAND,
    BOOLEAN,
    CHANNEL,
    INTEGER,
    MENTIONABLE,
    MESSAGE_COMPONENT,
    NUMBER,
    ROLE,
    STRING,
    SUB_COMMAND,
    SUB_COMMAND_GROUP,
    USER,
)
from .records import FakeDiscordError, FakeInteraction, _walk_components


class _Interactions:
    """Invoking registered commands and pressing buttons."""

    def _interaction_base(
        self, type_: int, user_id: str, channel_id: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        channel = self._channel(channel_id)
        guild_id = channel.get("guild_id")
        payload: dict[str, Any] = {
            "id": self.new_id(),
            "application_id": self.application_id,
            "type": type_,
            "data": data,
            "channel_id": channel_id,
            "channel": {k: v for k, v in channel.items() if k != "recipients"},
            "token": "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48),
            "version": 1,
            "app_permissions": str(ALL_PERMISSIONS),
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild_id:
            member = self.member_payload(guild_id, user_id)
            member["permissions"] = str(self.permissions(guild_id, user_id))
            payload.update(
                {
                    "guild_id": guild_id,
                    "guild": {"id": guild_id, "locale": "en-US", "features": ["COMMUNITY"]},
                    "guild_locale": "en-US",
                    "member": member,
                    "authorizing_integration_owners": {"0": guild_id},
                    "context": 0,
                }
            )
        else:
            payload.update(
                {
                    "user": self.users[user_id],
                    "authorizing_integration_owners": {"0": "0"},
                    "context": 1,
                }
            )
        return payload

    def registered_command(self, name: str, guild_id: str | None) -> dict[str, Any]:
        """The command the bot registered under this name (guild first, then global)."""
        for scope in (guild_id, None):
            for command in self.commands.get(scope, []):
                if command["name"] == name and command.get("type", 1) == 1:
                    return command
        known = sorted(c["name"] for cmds in self.commands.values() for c in cmds)
        raise FakeDiscordError(f"no slash command /{name} is registered (registered: {known})")

    def _convert_option(
        self,
        schema: dict[str, Any],
        value: Any,
        guild_id: str | None,
        resolved: dict[str, dict[str, Any]],
    ) -> Any:
        kind = schema["type"]
        if kind == STRING:
            return str(value)
        if kind == INTEGER:
            if isinstance(value, bool) or not isinstance(value, int):
                raise FakeDiscordError(f"option {schema['name']} takes an integer, got {value!r}")
            return value
        if kind == NUMBER:
            return float(value)
        if kind == BOOLEAN:
            return bool(value)
        snowflake = str(value["id"] if isinstance(value, dict) else value)
        if kind in (USER, MENTIONABLE) and snowflake in self.users:
            resolved.setdefault("users", {})[snowflake] = self.users[snowflake]
            if guild_id and snowflake in self.members.get(guild_id, {}):
                member = self.member_payload(guild_id, snowflake, with_user=False)
                member["permissions"] = str(self.permissions(guild_id, snowflake))
                resolved.setdefault("members", {})[snowflake] = member
            return snowflake
        if kind in (ROLE, MENTIONABLE) and guild_id and snowflake in self.roles[guild_id]:
            resolved.setdefault("roles", {})[snowflake] = self.roles[guild_id][snowflake]
            return snowflake
        if kind == CHANNEL and snowflake in self.channels:
            channel = self.channels[snowflake]
            partial = {
                k: channel[k]
                for k in ("id", "name", "type", "parent_id", "thread_metadata")
                if k in channel
            }
            partial["permissions"] = str(ALL_PERMISSIONS)
            resolved.setdefault("channels", {})[snowflake] = partial
            return snowflake
        raise FakeDiscordError(f"option {schema['name']}: nothing with id {snowflake} to resolve")

    def _build_options(
        self,
        schema_options: list[dict[str, Any]],
        values: dict[str, Any],
        guild_id: str | None,
        resolved: dict[str, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        by_name = {o["name"]: o for o in schema_options}
        unknown = sorted(set(values) - set(by_name))
        if unknown:
            raise FakeDiscordError(f"unknown options {unknown}; the command has {sorted(by_name)}")
        missing = [
            o["name"] for o in schema_options if o.get("required") and o["name"] not in values
        ]
        if missing:
            raise FakeDiscordError(f"required options missing: {missing}")
        return [
            {
                "name": name,
                "type": by_name[name]["type"],
                "value": self._convert_option(by_name[name], value, guild_id, resolved),
            }
            for name, value in values.items()
        ]

    async def invoke_command(
        self,
        command: str,
        user_id: str,
        *,
        channel_id: str | None = None,
        raw_options: list[dict[str, Any]] | None = None,
        **options: Any,
    ) -> FakeInteraction:
        """A member runs a slash command the bot registered.

        For example invoke_command("hero confirm", carol, user=alice) or
        invoke_command("quiet", carol, limit=5).

        Options are typed from the registered schema (users/channels/roles are resolved like
        Discord does). raw_options sends a literal options list instead, for input the Discord
        client would never produce. Sends INTERACTION_CREATE and returns the interaction record."""
        channel_id = channel_id or (self.world.general if self.world else None)
        if channel_id is None:
            raise FakeDiscordError("pass channel_id")
        guild_id = self._guild_of(channel_id)
        name, *path = command.split()
        schema = self.registered_command(name, guild_id)
        resolved: dict[str, dict[str, Any]] = {}
        if raw_options is not None:
            built = raw_options
        else:
            built = None
            level = schema.get("options") or []
            wrappers: list[dict[str, Any]] = []
            for part in path:
                sub = next((o for o in level if o["name"] == part and o["type"] in (1, 2)), None)
                if sub is None:
                    raise FakeDiscordError(f"/{name} has no subcommand {part!r}")
                wrappers.append({"name": part, "type": sub["type"]})
                level = sub.get("options") or []
            if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in level):
                raise FakeDiscordError(f"/{command} needs a subcommand")
            built = self._build_options(level, options, guild_id, resolved)
            for wrapper in reversed(wrappers):
                wrapper["options"] = built
                built = [wrapper]
        data: dict[str, Any] = {
            "id": schema["id"],
            "name": name,
            "type": 1,
        }
        if built:
            data["options"] = built
        if resolved:
            data["resolved"] = resolved
        if schema.get("guild_id"):
            data["guild_id"] = schema["guild_id"]
        payload = self._interaction_base(APPLICATION_COMMAND, user_id, channel_id, data)
        return await self._send_interaction(payload)

    async def press_button(
        self,
        message: dict[str, Any] | str,
        custom_id: str,
        user_id: str,
        *,
        values: list[str] | None = None,
    ) -> FakeInteraction:
        """A member clicks a button (or picks values in a select) on a message the bot sent."""
        message_id = message if isinstance(message, str) else message["id"]
        try:
            stored = self.messages[message_id]
        except KeyError:
            raise FakeDiscordError(f"no message {message_id} in the fake") from None
        component = next(
            (
                c
                for c in _walk_components(stored.get("components") or [])
                if c.get("custom_id") == custom_id
            ),
            None,
        )
        if component is None:
            present = [
                c["custom_id"] for c in _walk_components(stored["components"]) if "custom_id" in c
            ]
            raise FakeDiscordError(f"message has no component {custom_id!r} (it has {present})")
        if component.get("disabled"):
            raise FakeDiscordError(f"component {custom_id!r} is disabled: nobody can click it")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if "id" in component:
            data["id"] = component["id"]
        if values is not None:
            data["values"] = values
        payload = self._interaction_base(MESSAGE_COMPONENT, user_id, stored["channel_id"], data)
        payload["message"] = stored
        return await self._send_interaction(payload)

    async def _send_interaction(self, payload: dict[str, Any]) -> FakeInteraction:
        interaction = FakeInteraction(payload=payload)
        self.interactions[interaction.id] = interaction
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction
