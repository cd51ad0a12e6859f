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


# What an invite with the documented permissions integer (docs/platforms.md) gives Pulse's role.
INVITED = 117_760
SEND_MESSAGES = 1 << 11


def _bot_role(fake) -> str:
    return fake.members[fake.world.guild][fake.bot_user["id"]]["roles"][0]


async def test_the_invite_permissions_cover_every_configured_channel(settings, fake_discord):
    fake_discord.roles[fake_discord.world.guild][_bot_role(fake_discord)]["permissions"] = str(
        INVITED | (1 << 28)  # and Manage Roles, since a role is configured
    )
    checks = {c.name: c for c in await run_checks(settings)}
    d = fake_discord.world
    staff = checks[f"discord staff channel {d.staff}"]
    assert staff.ok, staff.line
    assert "Send Messages, Embed Links, Attach Files" in staff.detail
    assert checks[f"discord help channel {d.help}"].ok
    assert all_needed_pass(list(checks.values())), [c.line for c in checks.values() if not c.ok]


async def test_a_channel_where_pulse_cannot_send_fails_doctor(settings, fake_discord, tmp_path):
    d = fake_discord.world
    fake_discord.roles[d.guild][_bot_role(fake_discord)]["permissions"] = str(INVITED)
    # Someone denied Send Messages to Pulse's role in the staff channel only.
    fake_discord.overwrite(d.staff, _bot_role(fake_discord), deny=SEND_MESSAGES)
    config = tmp_path / "pulse.toml"
    config.write_text(
        f'[database]\nurl = "{settings.database.url}"\n'
        f'[discord]\napi_base_url = "{fake_discord.base_url}"\nguild_ids = ["{d.guild}"]\n'
        f'help_channel_ids = ["{d.help}"]\nstaff_channel_id = "{d.staff}"\n'
    )
    env = {"PULSE_DISCORD_TOKEN": fake_discord.token, "PULSE_SLACK_BOT_TOKEN": ""}
    # The command runs its own event loop: on a thread, while the fake serves on this one.
    result = await asyncio.to_thread(pulse, "doctor", "--config", str(config), env=env)
    assert result.exit_code == 1, result.output
    line = next(x for x in result.output.splitlines() if d.staff in x)
    assert line.startswith(f"✗ discord staff channel {d.staff}: #")
    assert "Pulse lacks Send Messages" in line
    assert f"✓ discord help channel {d.help}: " in result.output
    # A member overwrite for Pulse itself counts as much as one for its role.
    fake_discord.overwrite(d.staff, _bot_role(fake_discord))
    fake_discord.overwrite(d.help, fake_discord.bot_user["id"], deny=1 << 16, member=True)
    again = await asyncio.to_thread(pulse, "doctor", "--config", str(config), env=env)
    assert again.exit_code == 1, again.output
    assert f"✓ discord staff channel {d.staff}" in again.output
    assert "Pulse lacks Read Message History there" in again.output


async def test_slack_channels_pulse_is_not_in_are_listed_as_information(settings, fake_slack):
    checks = {c.name: c for c in await run_checks(settings)}
    outside = checks["slack channels Pulse is not in"]
    assert outside.line.startswith("i slack channels Pulse is not in: 1 of ")
    assert "#random" in outside.detail
    assert "#help" not in outside.detail
    # Information only: with everything else in place, doctor still passes.
    assert all_needed_pass(list(checks.values()))
    # The digest channels are needed: Pulse out of the staff channel fails doctor.
    fake_slack.members[fake_slack.world.staff].remove(fake_slack.bot_user["id"])
    checks = {c.name: c for c in await run_checks(settings)}
    staff = checks[f"slack staff channel {fake_slack.world.staff}"]
    assert (staff.ok, staff.needed) == (False, True)
    assert "#devrel-staff" in checks["slack channels Pulse is not in"].detail
    assert not all_needed_pass(list(checks.values()))
