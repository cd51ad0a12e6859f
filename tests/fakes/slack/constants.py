"""Slack's limits and scopes the fake enforces."""

from __future__ import annotations

import re

API_PREFIX = "/api/"
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
# Slack's deadline for acknowledging an event, command or interaction.
ACK_DEADLINE = 3.0
# Slack rejects a request signed more than five minutes away from its own clock.
SIGNATURE_MAX_AGE = 5 * 60
# A response_url takes at most five posts (within 30 minutes).
RESPONSE_URL_USES = 5

# Every scope a method accepts (any one suffices); the fake's channels are all public, so the
# first one is what Slack reports as "needed".
_CONVERSATION_READ = ("channels:read", "groups:read", "im:read", "mpim:read")
_CONVERSATION_HISTORY = ("channels:history", "groups:history", "im:history", "mpim:history")
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "team.info": ("team:read",),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "usergroups.list": ("usergroups:read",),
    "usergroups.users.list": ("usergroups:read",),
    "usergroups.users.update": ("usergroups:write",),
    "users.conversations": _CONVERSATION_READ,
    "conversations.list": _CONVERSATION_READ,
    "conversations.info": _CONVERSATION_READ,
    "conversations.members": _CONVERSATION_READ,
    "conversations.history": _CONVERSATION_HISTORY,
    "conversations.replies": _CONVERSATION_HISTORY,
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "apps.connections.open": ("connections:write",),
    "conversations.open": ("im:write",),
}
# The scope an app needs before Slack sends it an event of this type.
EVENT_SCOPES: dict[str, str] = {
    "message": "channels:history",
    "reaction_added": "reactions:read",
    "reaction_removed": "reactions:read",
    "member_joined_channel": "channels:read",
    "team_join": "users:read",
}
DEFAULT_BOT_SCOPES = (
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "files:write",
    "reactions:read",
    "team:read",
    "usergroups:read",
    "users:read",
)

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
