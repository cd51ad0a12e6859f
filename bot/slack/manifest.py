"""The Slack app manifest: every command, scope and event Pulse needs, so set-up is one paste."""

from __future__ import annotations

from bot.commands.spec import COMMANDS
from bot.settings import SlackSettings

# What each scope is for, so an admin reviewing the install can see why Pulse asks for it.
BOT_SCOPES = {
    "channels:history": "read messages in public channels Pulse is in (and catch up on them)",
    "groups:history": "read messages in private channels Pulse is invited to",
    "channels:read": "list the public channels Pulse is in, and see joins",
    "groups:read": "list the private channels Pulse is in",
    "reactions:read": "count reactions given and received",
    "users:read": "display names, and telling bots from people",
    "usergroups:read": "who is staff, when slack.staff_usergroup_id names a user group",
    "commands": "the slash commands",
    "chat:write": "post the weekly digests and answer buttons",
    "files:write": "attach the weekly activity chart",
    "im:write": "send a staff member their /digest preview chart in a direct message",
}
# Asked for only when the settings need them.
USERGROUPS_WRITE = (
    "usergroups:write",
    "keep slack.active_usergroup_id and hero_usergroup_id in step with tiers",
)
BOT_EVENTS = (
    "message.channels",
    "message.groups",
    "reaction_added",
    "reaction_removed",
    "member_joined_channel",
    "team_join",
    "user_change",
    "subteam_members_changed",
)


class ManifestError(ValueError):
    """The manifest cannot be built from what was given."""


def bot_scopes(settings: SlackSettings) -> list[str]:
    """The bot scopes these settings need: user groups written only when Pulse keeps some."""
    scopes = list(BOT_SCOPES)
    if settings.active_usergroup_id or settings.hero_usergroup_id:
        scopes.append(USERGROUPS_WRITE[0])
    return scopes


def manifest(settings: SlackSettings, request_url: str | None = None) -> dict:
    """The app manifest as a dict; HTTP mode needs the public URL Slack will post to."""
    http = settings.mode == "http"
    if http and not request_url:
        raise ManifestError(
            "in HTTP mode Slack must know the public URL that reaches Pulse's "
            f"{settings.path}: pass it, e.g. --request-url https://pulse.example.com{settings.path}"
        )
    if request_url and not request_url.startswith("https://"):
        raise ManifestError(f"Slack only posts to https:// URLs, not {request_url!r}")
    commands = []
    for spec in COMMANDS:
        command = {
            "command": f"/{spec.name}",
            "description": spec.description,
            # Slack sends mentions as <@U123|name> only when asked to escape them.
            "should_escape": True,
        }
        hint = spec.usage.partition(" ")[2]
        if hint:
            command["usage_hint"] = hint
        if http:
            command["url"] = request_url
        commands.append(command)
    data: dict = {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": "Pulse",
            "description": "Understand and care for your community: tiers, heroes, quiet members.",
            "background_color": "#2b2d31",
        },
        "features": {
            "bot_user": {"display_name": "Pulse", "always_online": True},
            "slash_commands": commands,
        },
        "oauth_config": {"scopes": {"bot": bot_scopes(settings)}},
        "settings": {
            "event_subscriptions": {"bot_events": list(BOT_EVENTS)},
            "interactivity": {"is_enabled": True},
            "org_deploy_enabled": False,
            "socket_mode_enabled": not http,
            "token_rotation_enabled": False,
        },
    }
    if http:
        data["settings"]["event_subscriptions"]["request_url"] = request_url
        data["settings"]["interactivity"]["request_url"] = request_url
    return data


def manifest_yaml(settings: SlackSettings, request_url: str | None = None) -> str:
    """The manifest as the YAML Slack's "Create an app → From a manifest" takes."""
    import yaml

    return yaml.safe_dump(
        manifest(settings, request_url), sort_keys=False, allow_unicode=True, width=100
    )
