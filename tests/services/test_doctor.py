"""`pulse doctor`: each check against real databases and the fake Discord and Slack."""

from __future__ import annotations

import asyncio

import pytest

from bot.services.doctor import all_needed_pass, run_checks
from bot.settings import DiscordSettings, Settings, SlackSettings
from bot.slack.manifest import bot_scopes
from storage.engine import create_engine
from storage.migrate import head_revision, upgrade
from tests.factories import pulse

CLEAN_ENV = {"PULSE_DISCORD_TOKEN": "", "PULSE_SLACK_BOT_TOKEN": ""}


def test_doctor_fails_without_a_database_or_a_platform(tmp_path):
    result = pulse("doctor", "--database-url", f"sqlite:///{tmp_path / 'none.db'}", env=CLEAN_ENV)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("✗ database: ")
    assert lines[1].startswith("✗ platforms: no token set")


def test_doctor_says_the_database_is_at_the_latest_migration(tmp_path):
    url = f"sqlite:///{tmp_path / 'pulse.db'}"

    async def migrate():
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    result = pulse("doctor", "--database-url", url, env=CLEAN_ENV)
    assert f"✓ database: at revision {head_revision()} (the latest)" in result.output


@pytest.fixture
async def settings(tmp_path, fake_discord, fake_slack, monkeypatch):
    """Settings for both fakes' communities, with roles and user groups configured."""
    url = f"sqlite:///{tmp_path / 'pulse.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    d, s = fake_discord.world, fake_slack.world
    bot_role = fake_discord.members[d.guild][fake_discord.bot_user["id"]]["roles"][0]
    fake_discord.roles[d.guild][bot_role]["position"] = 50
    active = fake_discord.add_role(d.guild, "Active")
    fake_discord.roles[d.guild][active["id"]]["position"] = 2
    monkeypatch.setenv("PULSE_DISCORD_TOKEN", fake_discord.token)
    monkeypatch.setenv("PULSE_SLACK_BOT_TOKEN", fake_slack.bot_token)
    slack = SlackSettings(
        api_base_url=fake_slack.api_url,
        help_channel_ids=[s.help],
        staff_channel_id=s.staff,
        active_usergroup_id=s.staff_group,
    )
    fake_slack.scopes = tuple(bot_scopes(slack))
    return Settings(
        database={"url": url},
        discord=DiscordSettings(
            api_base_url=fake_discord.base_url,
            guild_ids=[d.guild],
            help_channel_ids=[d.help],
            staff_channel_id=d.staff,
            active_role_id=active["id"],
        ),
        slack=slack,
    )


async def test_everything_in_place_passes_check_by_check(settings):
    checks = await run_checks(settings)
    assert all_needed_pass(checks), [c.line for c in checks if not c.ok]
    names = [c.name for c in checks]
    assert "discord Server Members intent" in names
    assert any(n.startswith("discord active role") for n in names)
    assert "slack scopes" in names
    assert any(n.startswith("slack staff channel") for n in names)


async def test_each_missing_piece_is_named_with_its_fix(settings, fake_discord, fake_slack):
    d = fake_discord.world
    active = settings.discord.active_role_id
    fake_discord.roles[d.guild][active]["position"] = 99  # above Pulse's own role
    fake_slack.scopes = tuple(s for s in fake_slack.scopes if s != "usergroups:write")
    fake_discord.enabled_privileged_intents = 0
    settings.slack.help_channel_ids.append(fake_slack.world.not_joined)  # Pulse is not in it
    checks = {c.name: c for c in await run_checks(settings)}
    assert not all_needed_pass(list(checks.values()))
    assert "move Pulse's role above it" in checks[f"discord active role {active}"].detail
    assert "missing usergroups:write" in checks["slack scopes"].detail
    assert "Server Members Intent" in checks["discord Server Members intent"].detail
    content = checks["discord Message Content intent"]
    assert not content.ok
    assert not content.needed
    elsewhere = checks[f"slack help channel {fake_slack.world.not_joined}"]
    assert "/invite @Pulse" in elsewhere.detail
