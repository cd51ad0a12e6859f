"""Slack user groups that follow tiers, through slack_sdk against the fake Slack Web API."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from bot.commands.replies import Tone
from bot.commands.service import CommandService, Invocation
from bot.services.classification import reclassify_and_scan
from bot.services.roles import Warnings, reconcile_roles, warn_members
from bot.settings import Settings, SlackSettings
from bot.slack.adapter import client_for
from bot.slack.manifest import manifest
from bot.slack.roles import SlackUserGroups
from community.clock import FixedClock
from community.events import Platform
from community.roles import HeroFollows, RoleKind
from storage.models import Space
from storage.uow import UnitOfWork
from tests.factories import T0, helper_history, ingest

SETTINGS = Settings()


async def _community(engine, fake) -> int:
    """Alice and Bob answer questions for twelve weeks; classified on day 120 (both heroes)."""
    world = fake.world
    ids = {"alice": world.alice, "bob": world.bob}

    def slack_id(name: str | None) -> str | None:
        if name is None or name in ids:
            return ids.get(name)
        return "UASK" + name.removeprefix("asker")

    history = helper_history("alice", weeks=12, helped=12) + helper_history(
        "bob", weeks=12, helped=12
    )
    events = [
        replace(
            e,
            platform=Platform.SLACK,
            space_id=world.team,
            member_id=slack_id(e.member_id),
            target_member_id=slack_id(e.target_member_id),
        )
        for e in history
    ]
    await ingest(engine, events)
    async with engine.connect() as conn:
        space = (await conn.execute(select(Space.id))).scalar_one()
    at = T0 + timedelta(days=120)
    await reclassify_and_scan(
        UnitOfWork(engine), space, at, SETTINGS.tiers.policy(), SETTINGS.quiet.policy()
    )
    return space


async def _reconcile(engine, fake, space, groups, tier_follows=HeroFollows.TIER):
    settings = SlackSettings(api_base_url=fake.api_url, staff_channel_id=fake.world.staff)
    gateway = SlackUserGroups(settings, client_for(settings, fake.bot_token))
    return await reconcile_roles(
        UnitOfWork(engine), space, fake.world.team, gateway, groups, tier_follows,
        FixedClock(T0 + timedelta(days=120)),
    )  # fmt: skip


def _groups(fake) -> dict[RoleKind, str]:
    active = fake.add_usergroup("active", "Active members")
    hero = fake.add_usergroup("heroes", "Heroes")
    return {RoleKind.ACTIVE: active["id"], RoleKind.HERO: hero["id"]}


async def test_user_groups_follow_tiers_in_one_call_per_group(sqlite_engine, fake_slack):
    fake = fake_slack
    fake.scopes = (*fake.scopes, "usergroups:write")
    space = await _community(sqlite_engine, fake)
    groups = _groups(fake)
    fake.rate_limit("usergroups.users.update", times=1, retry_after=0)

    done = await _reconcile(sqlite_engine, fake, space, groups)
    assert done.applied == 4  # two members, two groups
    want = sorted([fake.world.alice, fake.world.bob])
    for group in groups.values():
        assert sorted(fake.usergroups[group]["users"]) == want
    calls = fake.calls_to("usergroups.users.update")
    # The 429 was retried: one call per group, whatever the number of members.
    assert [c.status for c in calls] == [429, 200, 200]
    assert {c.params["usergroup"] for c in calls} == set(groups.values())

    again = await _reconcile(sqlite_engine, fake, space, groups)
    assert again.applied == 0
    assert len(fake.calls_to("usergroups.users.update")) == 3


async def test_a_workspace_without_user_groups_gets_one_message(sqlite_engine, fake_slack):
    fake = fake_slack
    fake.scopes = (*fake.scopes, "usergroups:write")
    fake.plan_has_usergroups = False
    space = await _community(sqlite_engine, fake)
    groups = _groups(fake)

    first = await _reconcile(sqlite_engine, fake, space, groups)
    second = await _reconcile(sqlite_engine, fake, space, groups)
    assert sorted(first.blocked) == sorted(groups.values())
    assert second.applied == 0
    updates = fake.calls_to("usergroups.users.update")
    assert {c.response["error"] for c in updates} == {"plan_upgrade_required"}
    assert len(updates) == 4  # one a group a run, never one a member
    told = [m for m in fake.calls_to("chat.postMessage") if m.params["channel"] == fake.world.staff]
    # One message a group, the first time only.
    assert len(told) == 2
    assert "plan has no user groups" in told[0].params["text"]


async def test_a_missing_scope_is_reported_with_the_fix(sqlite_engine, fake_slack):
    fake = fake_slack
    space = await _community(sqlite_engine, fake)
    groups = {RoleKind.ACTIVE: _groups(fake)[RoleKind.ACTIVE]}
    done = await _reconcile(sqlite_engine, fake, space, groups)
    assert done.blocked == [groups[RoleKind.ACTIVE]]
    told = fake.calls_to("chat.postMessage")
    assert len(told) == 1
    assert "pulse slack-manifest" in told[0].params["text"]


def test_the_manifest_asks_to_write_user_groups_only_when_configured():
    plain = manifest(SlackSettings())["oauth_config"]["scopes"]["bot"]
    assert "usergroups:write" not in plain
    with_groups = manifest(SlackSettings(hero_usergroup_id="S1"))["oauth_config"]["scopes"]["bot"]
    assert "usergroups:write" in with_groups


async def test_members_at_risk_are_warned_once_after_staff_and_never_when_away(
    sqlite_engine, fake_slack
):
    fake, world = fake_slack, fake_slack.world
    fake.scopes = (*fake.scopes, "usergroups:write", "im:write")  # as the manifest asks
    space = await _community(sqlite_engine, fake)
    groups = _groups(fake)
    await _reconcile(sqlite_engine, fake, space, groups)
    day_147 = T0 + timedelta(days=147)
    uow = UnitOfWork(sqlite_engine)
    for day in (146, 147):  # the figures fall under the hero bar: both at risk
        at = T0 + timedelta(days=day)
        await reclassify_and_scan(uow, space, at, SETTINGS.tiers.policy(), SETTINGS.quiet.policy())
    service = CommandService(uow, SETTINGS.policies(), b"k", FixedClock(day_147))
    bob = Invocation(Platform.SLACK, world.team, world.bob, is_staff=False)
    assert (await service.run(bob, "away", {"until": "2w"})).tone is Tone.SUCCESS

    settings = SlackSettings(api_base_url=fake.api_url, staff_channel_id=world.staff)
    gateway = SlackUserGroups(settings, client_for(settings, fake.bot_token))
    warnings = Warnings(SETTINGS.tiers.policy(), cooldown_days=60)
    sent = await warn_members(
        uow, space, world.team, "Pulse Community", gateway, warnings, FixedClock(day_147)
    )
    assert sent == 1
    posts = fake.calls_to("chat.postMessage")
    # Staff first, then Alice; Bob is away.
    assert [p.params["channel"] == world.staff for p in posts] == [True, False]
    assert f"<@{world.alice}> is at risk: hero → active" in posts[0].params["text"]
    note = posts[1].params["text"]
    assert "hero and active roles in Pulse Community" in note
    assert "stays until at least" in note
    assert "score 116 of 120 needed" in note
    opened = fake.calls_to("conversations.open")
    assert [c.params["users"] for c in opened] == [world.alice]

    # A day later, still at risk: nobody is told twice within the cooldown.
    again = await warn_members(
        uow, space, world.team, "Pulse Community", gateway, warnings,
        FixedClock(day_147 + timedelta(days=1)),
    )  # fmt: skip
    assert again == 0
    assert len(fake.calls_to("chat.postMessage")) == 2
