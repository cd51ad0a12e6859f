"""Stable tiers through the daily job: grace after promotion, pins, and who is at risk."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from bot.commands.replies import Tone
from bot.commands.service import CommandService, Invocation
from bot.digest_render.layout import staff_doc
from bot.services.classification import reclassify_and_scan
from bot.settings import Settings
from community.clock import FixedClock
from community.events import Platform
from storage.digests import staff_digest, week_ending
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.models import Member, Space, TierAssignment, TierChange
from storage.tiers import mark_listed, members_at_risk
from storage.uow import UnitOfWork
from tests.factories import KEY, T0, helper_history, ingest, pulse

SETTINGS = Settings()
TIERS = SETTINGS.tiers.policy()
QUIET = SETTINGS.quiet.policy()
STAFF = Invocation(Platform.DISCORD, "g1", "staff-9", is_staff=True)
PROMOTED = T0 + timedelta(days=120)  # both helpers reach the hero bar on their last day


async def _space(engine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(Space.id))).scalar_one()


async def _evaluate(engine, days: range) -> None:
    space = await _space(engine)
    for day in days:
        at = T0 + timedelta(days=day)
        await reclassify_and_scan(UnitOfWork(engine), space, at, TIERS, QUIET)


async def _tiers(engine) -> dict[str, tuple[str, str | None]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(Member.platform_id, TierAssignment.tier, TierAssignment.pinned_by).join(
                TierAssignment, TierAssignment.member_id == Member.id
            )
        )
        return {r.platform_id: (r.tier, r.pinned_by) for r in rows}


async def _changes(engine, who: str) -> list[tuple]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(TierChange.from_tier, TierChange.to_tier, TierChange.changed_at)
            .join(Member, Member.id == TierChange.member_id)
            .where(Member.platform_id == who)
            .order_by(TierChange.changed_at)
        )
        return [tuple(r) for r in rows]


async def _history(engine) -> None:
    await ingest(
        engine,
        helper_history("hana", weeks=12, helped=12) + helper_history("pat", weeks=12, helped=12),
    )


async def test_grace_pins_and_at_risk_through_the_daily_job(engine):
    await _history(engine)
    await _evaluate(engine, range(120, 121))
    assert (await _tiers(engine))["hana"] == ("hero", None)
    service = CommandService(UnitOfWork(engine), SETTINGS.policies(), KEY, FixedClock(PROMOTED))
    pinned = await service.run(STAFF, "hero", {"action": "pin", "user": "hana"})
    assert pinned.tone is Tone.SUCCESS, pinned.text
    again = await service.run(STAFF, "hero", {"action": "pin", "user": "hana"})
    assert again.title == "Nothing to change"
    passive = await service.run(STAFF, "hero", {"action": "pin", "user": "asker1"})
    assert passive.tone is Tone.ERROR
    assert "no tier to pin" in passive.text

    # Neither helper posts again: their figures decay. Nobody is at risk while at the full bar.
    space = await _space(engine)
    await _evaluate(engine, range(121, 146))
    async with engine.connect() as conn:
        assert await members_at_risk(conn, space, TIERS, 10) == []
    # On day 146 the figures fall under the hero bar (score 117 of 120): staff see pat coming,
    # not hana, who is pinned; pat keeps the tier in the band above the demotion line.
    await _evaluate(engine, range(146, 148))
    async with engine.connect() as conn:
        risks = await members_at_risk(conn, space, TIERS, 10)
    assert [(r.member.platform_id, r.tier, r.falls_to) for r in risks] == [
        ("pat", "hero", "active")
    ]
    assert risks[0].missing == ("score 116 of 120 needed",)
    # Not before a week's notice (staff see it coming), though two evaluations below the
    # line could otherwise demote pat on day 149.
    assert risks[0].earliest == (T0 + timedelta(days=153)).date()
    assert (await _tiers(engine))["pat"] == ("hero", None)
    # /member says so too.
    later = CommandService(
        UnitOfWork(engine), SETTINGS.policies(), KEY, FixedClock(T0 + timedelta(days=147))
    )
    shown = dict((await later.run(STAFF, "member", {"user": "pat"})).fields)
    assert shown["At risk"].startswith("hero → active from ")
    assert "At risk" not in dict((await later.run(STAFF, "member", {"user": "hana"})).fields)
    # The staff digest lists them in its own section.
    async with engine.connect() as conn:
        digest = await staff_digest(conn, space, week_ending(T0 + timedelta(days=147)), TIERS)
    section = next(s for s in staff_doc(digest).sections if s.title == "At risk of a lower tier")
    assert len(section.lines) == 1
    assert section.lines[0].endswith(
        f"hero → active from {T0 + timedelta(days=153):%Y-%m-%d}: score 116 of 120 needed"
    )

    # Below the line (108 of 120) from day 151: demoted on day 153, a week after pat was first
    # shown at risk on day 146 (the two evaluations below the line alone would say 152).
    await _evaluate(engine, range(148, 160))
    tiers = await _tiers(engine)
    assert tiers["hana"] == ("hero", "staff-9")
    assert tiers["pat"] == ("active", None)
    changes = await _changes(engine, "pat")
    assert [(old, new) for old, new, _ in changes] == [(None, "hero"), ("hero", "active")]
    assert changes[-1][2] == T0 + timedelta(days=153)
    async with engine.connect() as conn:
        why = (
            await conn.execute(
                select(TierChange.reasons)
                .join(Member, Member.id == TierChange.member_id)
                .where(Member.platform_id == "pat", TierChange.to_tier == "active")
            )
        ).scalar_one()
    # The change names the bar pat fell below, and by how much.
    assert why.startswith("active: ")
    assert re.search(r"\(below the hero bar: score 10\d of 120 needed\)$", why), why

    profile = await service.run(STAFF, "member", {"user": "hana"})
    assert "pinned by staff" in dict(profile.fields)["Tier"]

    unpinned = await service.run(STAFF, "hero", {"action": "unpin", "user": "hana"})
    assert unpinned.tone is Tone.SUCCESS
    # A pin stops the notice clock: unpinned on day 160, hana is shown at risk from then and
    # demoted a week later.
    await _evaluate(engine, range(160, 167))
    assert (await _tiers(engine))["hana"] == ("hero", None)
    await _evaluate(engine, range(167, 168))
    assert (await _tiers(engine))["hana"] == ("active", None)


def test_pulse_tiers_at_risk_lists_what_is_missing(tmp_path):
    url = f"sqlite:///{tmp_path / 'pulse.db'}"

    async def build():
        engine = create_engine(url)
        try:
            await upgrade(engine)
            await _history(engine)
            await _evaluate(engine, range(120, 148))
        finally:
            await engine.dispose()

    asyncio.run(build())
    at = T0 + timedelta(days=147)
    result = pulse("tiers", "--at-risk", "--database-url", url, at=at)
    assert result.exit_code == 0, result.output
    assert "At risk of a lower tier" in result.output
    assert "hero → " in result.output
    assert f"{T0 + timedelta(days=153):%Y-%m-%d}" in result.output
    assert "score 116 of 120 needed" in result.output
    member = pulse("member", "pat", "--database-url", url, at=at)
    assert "at risk" in member.output
    listed = pulse("tiers", "--at-risk", "--json", "--database-url", url, at=at)
    rows = json.loads(listed.output)["at_risk"]
    assert {r["member"]["platform_id"] for r in rows} == {"hana", "pat"}
    assert all(r["missing"] for r in rows)
    clash = pulse("tiers", "--at-risk", "--as-of", "2026-09-01", "--database-url", url, at=at)
    assert clash.exit_code == 2
    assert "--at-risk reads today's tiers alone" in clash.output


async def _listed(engine, space, built_at) -> int:
    async with UnitOfWork(engine).write() as conn:
        return await mark_listed(conn, space, list(await _member_ids(conn)), built_at)


async def _member_ids(conn) -> list[int]:
    return list((await conn.execute(select(TierAssignment.member_id))).scalars())


async def test_where_a_staff_digest_is_posted_only_a_listing_lets_the_demotion_through(engine):
    await _history(engine)
    space = await _space(engine)
    listing = replace(TIERS, staff_digest_platforms=frozenset({"discord"}))

    async def evaluate(days):
        for day in days:
            at = T0 + timedelta(days=day)
            await reclassify_and_scan(UnitOfWork(engine), space, at, listing, QUIET)

    await evaluate(range(120, 147))  # both under the hero bar from day 146
    # A digest built before the spell began carried no news of it: nothing is marked.
    assert await _listed(engine, space, T0 + timedelta(days=146, hours=-1)) == 0
    # Below the line from day 151, a week at risk by day 153: still no digest named them.
    await evaluate(range(147, 161))
    assert (await _tiers(engine))["pat"] == ("hero", None)
    async with engine.connect() as conn:
        risks = await members_at_risk(conn, space, listing, 10)
    assert {r.member.platform_id for r in risks} == {"hana", "pat"}
    # A staff digest posted on day 160 lists them: the next evaluation demotes.
    assert await _listed(engine, space, T0 + timedelta(days=160, hours=1)) == 2
    await evaluate(range(161, 162))
    assert (await _tiers(engine))["pat"] == ("active", None)
    assert (await _changes(engine, "pat"))[-1][2] == T0 + timedelta(days=161)
