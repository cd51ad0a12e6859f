"""`pulse doctor` on Slack: the token, its scopes, the channels set and the ones it is not in."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.services.doctor import Check, note
from bot.settings import SlackSettings
from bot.slack.adapter import client_for
from bot.slack.manifest import bot_scopes


async def slack_checks(settings: SlackSettings, token: str) -> list[Check]:
    """Call the Web API with the bot token and check what Pulse needs on Slack."""
    client = client_for(settings, token)
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error")
        return [
            Check(
                "slack token",
                False,
                f"Slack refused the token in {settings.bot_token_env} ({error})",
            )
        ]
    checks = [Check("slack token", True, f"valid, bot {auth.get('user')} in {auth.get('team')}")]
    granted = {s.strip() for s in auth.headers.get("x-oauth-scopes", "").split(",") if s.strip()}
    missing = [s for s in bot_scopes(settings) if s not in granted]
    checks.append(
        Check(
            "slack scopes",
            not missing,
            "all the manifest asks for are granted"
            if not missing
            else f"missing {', '.join(missing)}: update the app from `pulse slack-manifest` and "
            "reinstall it",
        )
    )
    named = [("help channel", c) for c in settings.help_channel_ids]
    for kind, cid in (("staff channel", settings.staff_channel_id),
                      ("community channel", settings.community_channel_id)):  # fmt: skip
        if cid:
            named.append((kind, cid))
    for kind, channel_id in named:
        checks.append(await _channel(client, kind, channel_id))
    checks.append(await _not_in(client))
    return checks


# Channels named in the note before "and N more".
_SHOWN = 10


async def _not_in(client) -> Check:
    """The public channels Pulse is not in: it sees nothing said there (information only)."""
    channels, cursor = [], None
    try:
        while True:
            page = await client.conversations_list(
                types="public_channel", exclude_archived=True, limit=200, cursor=cursor
            )
            channels += page.get("channels", [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
    except SlackApiError as exc:
        return note("slack channels Pulse is not in", f"cannot list ({exc.response.get('error')})")
    outside = sorted(c.get("name", c.get("id", "?")) for c in channels if not c.get("is_member"))
    if not outside:
        return note("slack channels Pulse is not in", f"none: Pulse is in all {len(channels)}")
    shown = ", ".join(f"#{n}" for n in outside[:_SHOWN])
    more = f" and {len(outside) - _SHOWN} more" if len(outside) > _SHOWN else ""
    return note(
        "slack channels Pulse is not in",
        f"{len(outside)} of {len(channels)} public channels: {shown}{more}; Pulse logs nothing "
        "said there (/invite @Pulse where members help each other)",
    )


async def _channel(client, kind: str, channel_id: str) -> Check:
    name = f"slack {kind} {channel_id}"
    try:
        info = (await client.conversations_info(channel=channel_id))["channel"]
    except SlackApiError as exc:
        return Check(name, False, f"Slack says {exc.response.get('error')}: check the id")
    if not info.get("is_member"):
        return Check(name, False, f"Pulse is not in #{info.get('name')}: /invite @Pulse there")
    return Check(name, True, f"#{info.get('name')}, Pulse is in it")
