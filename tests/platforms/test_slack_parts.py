"""The Slack adapter's pure parts: Block Kit drawing, the manifest, live event mapping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from bot.commands.replies import Button, Entry, Reply, Style, Tone
from bot.commands.spec import COMMANDS
from bot.discord.client import command_payloads
from bot.settings import SlackSettings
from bot.slack import render
from bot.slack.manifest import BOT_EVENTS, ManifestError, manifest, manifest_yaml
from community.events import ActivityKind
from community.slack_map import SlackMapper, SlackUser, reaction_event, team_join_event, user_of

TEAM = "T0PULSE"


def test_reply_becomes_blocks_with_buttons_and_escaped_text():
    reply = Reply(
        title="Quiet members",
        text="Ask <@U1> first & say <hi>, not <@U2>",
        mentions=("U1",),
        fields=(("Open flags", "3"),),
        entries=(
            Entry("1. ana", "quiet 20 days", (Button("Reached out", "pulse:outreach:7:done"),)),
        ),
        buttons=(Button("Next", "pulse:page:quiet:10:1", Style.PRIMARY),),
        footer="page 1 of 2",
    )
    blocks = render.blocks(reply)
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Quiet members"}}
    # Shown as written: the mention stays a mention, nothing else is parsed.
    assert blocks[1]["type"] == "rich_text"
    assert render.block_text(blocks[1]) == "Ask <@U1> first & say <hi>, not <@U2>"
    assert {"type": "user", "user_id": "U1"} in blocks[1]["elements"][0]["elements"]
    # Only the ids the reply mentions on purpose: <@U2> is someone's name, shown as text.
    assert {"type": "user", "user_id": "U2"} not in blocks[1]["elements"][0]["elements"]
    assert blocks[2]["fields"][0] == {"type": "plain_text", "text": "Open flags\n3", "emoji": True}
    actions = [b for b in blocks if b["type"] == "actions"]
    ids = [e["action_id"] for a in actions for e in a["elements"]]
    assert ids == ["pulse:outreach:7:done", "pulse:page:quiet:10:1"]
    assert actions[-1]["elements"][0]["style"] == "primary"
    assert blocks[-1]["type"] == "context"
    message = render.message(reply)
    assert message["response_type"] == "ephemeral"
    assert message["text"].startswith("Quiet members: Ask")


def test_long_lists_stay_within_slacks_limits():
    entries = tuple(
        Entry(f"{n}. member {n}", "x" * 5000, (Button("Dismiss", f"pulse:outreach:{n}:dismiss"),))
        for n in range(60)
    )
    reply = Reply(title="T" * 400, text="y" * 9000, entries=entries, footer="f")
    blocks = render.blocks(reply)
    assert len(blocks) <= render.MAX_BLOCKS
    assert len(blocks[0]["text"]["text"]) <= render.HEADER
    for block in blocks[1:]:
        assert len(render.block_text(block)) <= render.SECTION_TEXT + render.HEADER + 1
    assert any("more; ask for a smaller list" in render.block_text(b) for b in blocks)
    assert blocks[-1]["type"] == "context"  # the footer survives the cut


def test_error_tone_and_prepared_digest_blocks():
    assert render.blocks(Reply(title="No", tone=Tone.ERROR))[0]["text"]["text"].startswith("⚠️")
    prepared = ({"type": "section", "text": {"type": "mrkdwn", "text": "digest"}},)
    assert render.blocks(Reply(title="x", slack_blocks=prepared)) == list(prepared)
    assert render.message(Reply(title="x", public=True))["response_type"] == "in_channel"


def test_manifest_lists_every_command_scope_and_event():
    data = yaml.safe_load(manifest_yaml(SlackSettings()))
    commands = {c["command"]: c for c in data["features"]["slash_commands"]}
    assert set(commands) == {f"/{spec.name}" for spec in COMMANDS}
    assert all(c["should_escape"] for c in commands.values())  # mentions arrive as <@U…|name>
    assert (
        commands["/contribution"]["usage_hint"] == "<user> <talk|post|video|meetup|other> <title>"
    )
    assert data["settings"]["socket_mode_enabled"] is True
    assert set(data["settings"]["event_subscriptions"]["bot_events"]) == set(BOT_EVENTS)
    scopes = set(data["oauth_config"]["scopes"]["bot"])
    assert {"channels:history", "reactions:read", "users:read", "commands", "chat:write"} <= scopes


def test_http_manifest_needs_a_public_https_url():
    http = SlackSettings(mode="http")
    with pytest.raises(
        ManifestError, match=r"--request-url https://pulse\.example\.com/slack/events"
    ):
        manifest(http)
    with pytest.raises(ManifestError, match="https://"):
        manifest(http, "http://pulse.example.com/slack/events")
    data = manifest(http, "https://pulse.example.com/slack/events")
    assert data["settings"]["socket_mode_enabled"] is False
    assert data["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    assert {c["url"] for c in data["features"]["slash_commands"]} == {
        "https://pulse.example.com/slack/events"
    }


def test_every_command_is_declared_for_both_platforms():
    # Discord registers command_payloads(); Slack's manifest lists the same names, from one table.
    discord_names = {c["name"] for c in command_payloads()}
    slack_names = {
        c["command"][1:] for c in manifest(SlackSettings())["features"]["slash_commands"]
    }
    assert discord_names == slack_names == {spec.name for spec in COMMANDS}


def _reaction(kind="reaction_added", user="U2", author="U1"):
    return {
        "type": kind,
        "user": user,
        "reaction": "tada",
        "item": {"type": "message", "channel": "C1", "ts": "1700000000.000100"},
        "item_user": author,
        "event_ts": "1700000100.000200",
    }


def test_live_reactions_collapse_with_reactions_listed_in_history():
    live = reaction_event(_reaction(), TEAM, reactor_is_bot=False)
    assert live.kind is ActivityKind.REACTION_GIVEN
    assert live.target_member_id == "U1"
    assert live.occurred_at == datetime.fromtimestamp(1700000100.0002, UTC)
    mapper = SlackMapper(TEAM, {"U1": SlackUser("ana"), "U2": SlackUser("bo")})
    listed = mapper.events(
        {
            "type": "message",
            "user": "U1",
            "ts": "1700000000.000100",
            "text": "hello",
            "reactions": [{"name": "tada", "users": ["U2"], "count": 1}],
        },
        "C1",
    )
    assert live.event_id in {e.event_id for e in listed}
    removed = reaction_event(_reaction("reaction_removed"), TEAM, reactor_is_bot=False)
    assert removed.kind is ActivityKind.REACTION_REMOVED
    assert removed.event_id == live.event_id + ":removed"


def test_reactions_by_bots_on_files_or_own_messages():
    assert reaction_event(_reaction(), TEAM, reactor_is_bot=True) is None
    on_file = {**_reaction(), "item": {"type": "file", "file": "F1"}}
    assert reaction_event(on_file, TEAM, reactor_is_bot=False) is None
    own = reaction_event(_reaction(user="U1"), TEAM, reactor_is_bot=False)
    assert own is not None
    assert own.target_member_id is None
    to_bot = reaction_event(_reaction(), TEAM, reactor_is_bot=False, author_is_bot=True)
    assert to_bot.target_member_id is None


def test_team_join_and_user_profiles():
    at = datetime(2026, 11, 1, tzinfo=UTC)
    user = {"id": "U9", "name": "dee", "real_name": "Dee R", "profile": {"display_name": "dee"}}
    joined = team_join_event({"type": "team_join", "user": user}, TEAM, at)
    assert (joined.kind, joined.member_id, joined.member_name) == (
        ActivityKind.MEMBER_JOINED,
        "U9",
        "dee",
    )
    assert joined.event_id == "team_join:U9"
    assert joined.occurred_at == at
    bot = {"id": "B1", "is_bot": True, "profile": {}}
    assert team_join_event({"type": "team_join", "user": bot}, TEAM, at) is None
    assert (
        user_of({"id": "U3", "real_name": "Real", "profile": {"display_name": ""}}).name == "Real"
    )
    assert user_of({"id": "USLACKBOT", "name": "slackbot"}).is_bot
