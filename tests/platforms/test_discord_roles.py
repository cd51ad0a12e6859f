"""Discord roles that follow tiers, through discord.py against the fake Discord's REST API."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import discord
from sqlalchemy import select

from bot.commands.service import CommandService, Invocation
from bot.discord.roles import DiscordRoles
from bot.scheduler import daily_job
from bot.services.classification import reclassify_and_scan
from bot.services.roles import (
    LEASE_TTL,
    RoleLease,
    RoleSync,
    RoleTarget,
    Warnings,
    reconcile_roles,
    warn_members,
)
from bot.settings import DiscordSettings, Settings
from community.clock import FixedClock
from community.events import Platform
from community.roles import HeroFollows, RoleKind
from storage.engine import create_engine
from storage.models import RoleChangeRecord, Space
from storage.runs import RunStatus
from storage.uow import UnitOfWork
from tests.factories import KEY, T0, helper_history, ingest

SETTINGS = Settings()
DAY_120 = T0 + timedelta(days=120)


async def _community(engine, fake) -> int:
    """Alice and Bob answer questions for twelve weeks; classified on day 120 (both heroes)."""
    world = fake.world
    ids = {"alice": world.alice, "bob": world.bob}

    def numeric(name: str | None) -> str | None:
        # The askers are not in the guild: numeric ids all the same, as Discord's are.
        if name is None or name in ids:
            return ids.get(name)
        return str(900_000 + int(name.removeprefix("asker")))

    history = helper_history("alice", weeks=12, helped=12) + helper_history(
        "bob", weeks=12, helped=12
    )
    events = [
        replace(
            e,
            space_id=world.guild,
            member_id=numeric(e.member_id),
            target_member_id=numeric(e.target_member_id),
        )
        for e in history
    ]
    await ingest(engine, events)
    async with engine.connect() as conn:
        space = (await conn.execute(select(Space.id))).scalar_one()
    await _evaluate(engine, space, 120)
    return space


async def _evaluate(engine, space: int, day: int) -> None:
    at = T0 + timedelta(days=day)
    tiers, quiet = SETTINGS.tiers.policy(), SETTINGS.quiet.policy()
    await reclassify_and_scan(UnitOfWork(engine), space, at, tiers, quiet)


def _roles(fake, guild: str, size: int = 50, hero_position: int = 3) -> dict[RoleKind, str]:
    """An Active and a Hero role; Pulse's own role moved to SIZE so it sits above them."""
    bot_role = fake.members[guild][fake.bot_user["id"]]["roles"][0]
    fake.roles[guild][bot_role]["position"] = size
    active = fake.add_role(guild, "Active")
    hero = fake.add_role(guild, "Hero")
    fake.roles[guild][active["id"]]["position"] = 2
    fake.roles[guild][hero["id"]]["position"] = hero_position
    return {RoleKind.ACTIVE: active["id"], RoleKind.HERO: hero["id"]}


async def _client(fake) -> discord.Client:
    client = discord.Client(intents=discord.Intents.none())
    await client.login(fake.token)
    return client


async def _reconcile(engine, fake, space, role_ids, day: int):
    client = await _client(fake)  # a new client each time: as after a restart
    try:
        gateway = DiscordRoles(DiscordSettings(staff_channel_id=fake.world.staff), client)
        clock = FixedClock(T0 + timedelta(days=day))
        return await reconcile_roles(
            UnitOfWork(engine), space, fake.world.guild, gateway, role_ids, HeroFollows.CONFIRMED,
            clock,
        )  # fmt: skip
    finally:
        await client.close()


def _held(fake, user: str) -> set[str]:
    return set(fake.members[fake.world.guild][user]["roles"])


async def test_roles_follow_tiers_and_recognition(sqlite_engine, fake_discord):
    fake, world = fake_discord, fake_discord.world
    space = await _community(sqlite_engine, fake)
    roles = _roles(fake, world.guild)
    active, hero = roles[RoleKind.ACTIVE], roles[RoleKind.HERO]
    fake.rate_limit("add_member_role", 0.05)

    done = await _reconcile(sqlite_engine, fake, space, roles, 120)
    assert done.applied == 2
    assert active in _held(fake, world.alice)
    assert active in _held(fake, world.bob)
    assert hero not in _held(fake, world.alice)  # not confirmed by staff yet
    calls = fake.calls("add_member_role")
    # The 429 was waited out and the same call sent again: one member at a time, none lost.
    assert [c.status for c in calls] == [429, 204, 204]
    assert calls[0].path == calls[1].path
    assert {c.path.rsplit("/", 1)[-1] for c in calls} == {active}

    again = await _reconcile(sqlite_engine, fake, space, roles, 120)
    assert again.applied == 0
    assert len(fake.calls("add_member_role")) == 3
    assert fake.calls("remove_member_role") == []

    service = CommandService(
        UnitOfWork(sqlite_engine), SETTINGS.policies(), KEY, FixedClock(DAY_120)
    )
    staff = Invocation(Platform.DISCORD, world.guild, world.carol, is_staff=True)
    await service.run(staff, "hero", {"action": "confirm", "user": world.alice})
    await _reconcile(sqlite_engine, fake, space, roles, 121)
    assert hero in _held(fake, world.alice)
    assert hero not in _held(fake, world.bob)

    # Nobody posts again: below the line from day 249, both are passive after a week at risk
    # (day 256) and lose the active role; Alice's hero role follows her recognition, which
    # stands.
    for day in range(249, 257):
        await _evaluate(sqlite_engine, space, day)
    await _reconcile(sqlite_engine, fake, space, roles, 256)
    assert _held(fake, world.alice) == {hero}
    assert _held(fake, world.bob) == set()
    removed = fake.calls("remove_member_role")
    assert [c.path.rsplit("/", 1)[-1] for c in removed] == [active, active]

    async with sqlite_engine.connect() as conn:
        history = (
            await conn.execute(select(RoleChangeRecord.action, RoleChangeRecord.reason))
        ).all()
    assert ("removed", "tier passive") in history
    later = CommandService(
        UnitOfWork(sqlite_engine), SETTINGS.policies(), KEY, FixedClock(T0 + timedelta(256))
    )
    profile = await later.run(staff, "member", {"user": world.alice})
    shown = dict(profile.fields)["Role changes"]
    assert "hero role added (recognized as a hero by staff)" in shown
    assert "active role removed (tier passive)" in shown


async def test_a_role_pulse_cannot_manage_is_reported_once(sqlite_engine, fake_discord):
    fake, world = fake_discord, fake_discord.world
    space = await _community(sqlite_engine, fake)
    # The Hero role sits above Pulse's own role: Discord refuses every change to it.
    roles = _roles(fake, world.guild, size=10, hero_position=20)
    hero = roles[RoleKind.HERO]
    service = CommandService(
        UnitOfWork(sqlite_engine), SETTINGS.policies(), KEY, FixedClock(DAY_120)
    )
    staff = Invocation(Platform.DISCORD, world.guild, world.carol, is_staff=True)
    for member in (world.alice, world.bob):
        await service.run(staff, "hero", {"action": "confirm", "user": member})

    first = await _reconcile(sqlite_engine, fake, space, roles, 120)
    second = await _reconcile(sqlite_engine, fake, space, roles, 121)
    assert first.blocked == [hero]
    assert second.blocked == [hero]
    hero_calls = [c for c in fake.calls("add_member_role") if c.path.endswith(hero)]
    # One refused call a run, not one per member, and never retried within the run.
    assert [c.status for c in hero_calls] == [403, 403]
    posted = fake.posted_messages(world.staff)
    assert len(posted) == 1
    assert "cannot manage the hero role" in posted[0]["content"]
    # The active role is below Pulse's: it was given all the same.
    assert roles[RoleKind.ACTIVE] in _held(fake, world.alice)


class _LoggedIn(DiscordRoles):
    """Discord roles over a REST-only client: logged in, never connected to the gateway."""

    async def ready(self) -> None:
        """Logged in is enough for REST calls."""


async def test_the_daily_job_brings_roles_in_step(sqlite_engine, fake_discord):
    fake, world = fake_discord, fake_discord.world
    await _community(sqlite_engine, fake)
    roles = _roles(fake, world.guild)
    client = await _client(fake)
    try:
        gateway = _LoggedIn(DiscordSettings(staff_channel_id=world.staff), client)
        at = FixedClock(T0 + timedelta(days=120, hours=15, minutes=30))  # 03:30 UTC, day 121
        uow = UnitOfWork(sqlite_engine)
        sync = RoleSync(uow, {"discord": RoleTarget(gateway, roles)}, HeroFollows.CONFIRMED, at)
        outcomes = await daily_job(uow, SETTINGS, SETTINGS.policies(), at, "test", roles=sync)
        assert [o.status for o in outcomes] == [RunStatus.DONE]
        assert roles[RoleKind.ACTIVE] in _held(fake, world.alice)
        # The same day's second run is refused (already claimed): no role call either.
        calls = len(fake.calls("add_member_role"))
        await daily_job(uow, SETTINGS, SETTINGS.policies(), at, "test", roles=sync)
        assert len(fake.calls("add_member_role")) == calls
    finally:
        await client.close()


async def test_a_member_at_risk_gets_one_direct_message_after_staff(sqlite_engine, fake_discord):
    fake, world = fake_discord, fake_discord.world
    space = await _community(sqlite_engine, fake)
    roles = _roles(fake, world.guild)
    await _reconcile(sqlite_engine, fake, space, roles, 120)
    for day in (146, 147):  # under the hero bar: at risk
        await _evaluate(sqlite_engine, space, day)
    client = await _client(fake)
    try:
        gateway = _LoggedIn(DiscordSettings(staff_channel_id=world.staff), client)
        warnings = Warnings(SETTINGS.tiers.policy(), cooldown_days=60)
        at = FixedClock(T0 + timedelta(days=147))
        uow = UnitOfWork(sqlite_engine)
        sent = await warn_members(uow, space, world.guild, "Pulse Community", gateway, warnings, at)
        again = await warn_members(uow, space, world.guild, "Pulse", gateway, warnings, at)
    finally:
        await client.close()
    assert (sent, again) == (2, 0)
    staff = [m["content"] for m in fake.posted_messages(world.staff)]
    assert len(staff) == 2
    assert all("is at risk: hero → active" in text for text in staff)
    note = fake.posted_messages(fake.dm_channel(world.alice)["id"])
    assert len(note) == 1
    assert "active role in Pulse Community" in note[0]["content"]


async def test_two_processes_reconcile_a_space_once(engine, fake_discord):
    """Two `pulse run` processes on one database: one reconciles, the other skips, once each."""
    fake, world = fake_discord, fake_discord.world
    space = await _community(engine, fake)
    roles = _roles(fake, world.guild)
    # The first process's first call is rate limited, so it is mid-run when the second starts.
    fake.rate_limit("add_member_role", 0.3)
    other_engine = create_engine(engine.url.render_as_string(hide_password=False))
    one, two = await _client(fake), await _client(fake)
    try:
        at = FixedClock(DAY_120)
        syncs = [
            RoleSync(
                UnitOfWork(db),
                {"discord": RoleTarget(_LoggedIn(DiscordSettings(), client), roles)},
                HeroFollows.CONFIRMED,
                at,
                name=name,
            )
            for db, client, name in ((engine, one, "first"), (other_engine, two, "second"))
        ]
        first = asyncio.create_task(syncs[0].run())
        await fake.wait_for(lambda: fake.calls("add_member_role"), what="the first role call")
        second = await syncs[1].run()
        first = await first
        # Once the first is done its lease is given back: the next run finds nothing to do.
        third = await syncs[1].run()
    finally:
        await one.close()
        await two.close()
        await other_engine.dispose()
    assert (first[space].applied, first[space].skipped) == (2, False)
    assert (second[space].applied, second[space].skipped) == (0, True)
    assert (third[space].applied, third[space].skipped) == (0, False)
    assert [c.status for c in fake.calls("add_member_role")] == [429, 204, 204]
    async with engine.connect() as conn:
        history = (await conn.execute(select(RoleChangeRecord.member_id))).all()
    assert len(history) == 2


async def test_a_run_that_lost_its_lease_stops_before_its_next_call(sqlite_engine, fake_discord):
    """A run that hung past its lease, which another run then took over, changes nothing more."""
    fake, world = fake_discord, fake_discord.world
    space = await _community(sqlite_engine, fake)
    roles = _roles(fake, world.guild)
    uow = UnitOfWork(sqlite_engine)
    hung = RoleLease(uow, space, "hung", FixedClock(DAY_120))
    assert await hung.claim()
    later = FixedClock(DAY_120 + LEASE_TTL)
    assert await RoleLease(uow, space, "next", later).claim()
    hung.clock = later
    client = await _client(fake)
    try:
        gateway = _LoggedIn(DiscordSettings(), client)
        done = await reconcile_roles(
            uow, space, world.guild, gateway, roles, HeroFollows.CONFIRMED, later, hung
        )
    finally:
        await client.close()
    assert done.applied == 0
    assert fake.calls("add_member_role") == []
