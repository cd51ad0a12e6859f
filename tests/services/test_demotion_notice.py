"""Months of daily jobs and weekly staff digests: no member is demoted before staff saw it coming.

Members help steadily and then stop on different weekdays (so that their figures fall from the
full bar straight below the demotion line on every day of the week), and others drift around the
hero bar (bench/drift.py). The real scheduler jobs run on a real SQLite file: the daily job at
03:00 every day, the weekly digests on Mondays at 09:00, posted to a recording poster. Every
demotion stored must come after the member's spell at risk began, and after a posted staff digest
named them at risk within that spell; under the rules without the notice, the same world demotes
members no digest had named.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bench.drift import Drift
from bot.scheduler import daily_job, weekly_digest_job
from bot.settings import parse_settings
from community.clock import FixedClock
from community.tiers import Tier
from storage.models import Member, Space, TierChange
from storage.runs import RunStatus
from storage.tiers import members_at_risk
from storage.uow import UnitOfWork
from tests.factories import ev, ingest
from tests.services.test_scheduler import RecordingPoster

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
DAYS = 20 * 7
PAST = 120  # days of history before START
AT_RISK_HEADING = "At risk of a lower tier"


def _answer(member: str, asker: str, day: float) -> list:
    question = ev("message", asker, at=START, days=day - 0.01, is_question=True)
    return [
        question,
        ev(
            "reply",
            member,
            at=START,
            days=day,
            target_member_id=asker,
            parent_event_id=question.event_id,
        ),
    ]


def world() -> tuple[list, list[str]]:
    """Events for members who stop suddenly and members who drift; the members' names.

    Both kinds have helped since well before START, so they hold their tiers from the start.
    """
    events, names = [], []
    for n in range(7):
        # Answers every other day to 14 different askers, then nothing from day 14 + N.
        name = f"steady{n}"
        names.append(name)
        for k, day in enumerate(range(-90, 14 + n, 2)):
            events += _answer(name, f"asker{k % 14}", day + 0.5)
    for n in range(6):
        name = f"drift{n}"
        names.append(name)
        for _, helped in Drift(Tier.HERO, 7_000 + n).days(DAYS + PAST):
            for asker, day in helped:
                events += _answer(name, f"d{asker}", day - PAST + 0.6)
    return events, names


# Mondays 09:00 digests and 03:00 daily jobs in UTC, with a staff channel on Discord.
SETTINGS = parse_settings(
    {
        "digest": {"weekday": "monday", "time": "09:00"},
        "jobs": {"daily_time": "03:00"},
        "discord": {"staff_channel_id": "staff-room"},
    }
)
# The same digests under the rules before the notice: no notice period, no listing awaited.
WITHOUT_NOTICE = replace(
    SETTINGS.policies(),
    tiers=replace(
        SETTINGS.policies().tiers, demotion_notice_days=0, staff_digest_platforms=frozenset()
    ),
)


def listed_names(text: str) -> set[str]:
    """Who a staff digest's plain text names in its at-risk section."""
    lines = text.splitlines()
    if AT_RISK_HEADING not in text:
        return set()
    start = next(i for i, line in enumerate(lines) if AT_RISK_HEADING in line)
    names = set()
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        if ":" not in line:
            continue  # "nobody is at risk"
        head = line.strip().lstrip("•-* ").split(":", 1)[0].strip()
        names.add(head)
    return names


async def simulate(engine, policies):
    """Run the jobs day by day; the demotions, each day's at-risk set, and the digests posted."""
    config = SETTINGS
    uow = UnitOfWork(engine)
    poster = RecordingPoster()
    events, _ = world()
    await ingest(engine, events)
    async with engine.connect() as conn:
        space = (await conn.execute(select(Space.id))).scalar_one()
        names = dict((await conn.execute(select(Member.id, Member.platform_id))).all())
    at_risk: dict[str, set[int]] = {}
    listings: list[tuple[datetime, set[str]]] = []
    for day in range(DAYS):
        morning = START + timedelta(days=day, hours=3)
        outcomes = await daily_job(uow, config, policies, FixedClock(morning), "sim")
        assert [o.status for o in outcomes] == [RunStatus.DONE]
        async with engine.connect() as conn:
            for row in await members_at_risk(conn, space, policies.tiers, 1000):
                at_risk.setdefault(row.member.platform_id, set()).add(day)
        if morning.weekday() == 0:
            posted = len(poster.posts)
            at = START + timedelta(days=day, hours=9)
            await weekly_digest_job(uow, config, policies, poster, FixedClock(at), "sim")
            for _, audience, rendered, _ in poster.posts[posted:]:
                if audience == "staff":
                    listings.append((at, listed_names(rendered.text)))
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(
                TierChange.member_id,
                TierChange.from_tier,
                TierChange.to_tier,
                TierChange.changed_at,
            )
        )
        demotions = [
            (names[r.member_id], r.changed_at)
            for r in rows
            if r.from_tier and Tier(r.to_tier).rank < Tier(r.from_tier).rank
        ]
    return demotions, at_risk, listings


def unwarned(demotions, at_risk, listings, notice_days: int = 7) -> list[tuple[str, datetime]]:
    """The demotions not preceded by the notice: at risk a week, named by a digest meanwhile."""
    out = []
    for name, at in demotions:
        day = (at - START).days
        spell = day
        while spell - 1 in at_risk.get(name, set()):
            spell -= 1
        began = START + timedelta(days=spell, hours=3)
        named = any(began <= posted < at and name in who for posted, who in listings)
        if not named or day - spell < notice_days:
            out.append((name, at))
    return out


async def test_every_demotion_follows_an_at_risk_listing_in_a_staff_digest(sqlite_engine):
    assert SETTINGS.policies().tiers.staff_digest_platforms == {"discord"}
    demotions, at_risk, listings = await simulate(sqlite_engine, SETTINGS.policies())
    assert len(listings) == DAYS // 7
    assert any(who for _, who in listings), "no staff digest ever listed anyone at risk"
    # The world demotes members of both kinds, so the check below is about something.
    assert {name.rstrip("0123456789") for name, _ in demotions} == {"steady", "drift"}
    assert len([n for n, _ in demotions if n.startswith("steady")]) >= 5
    assert unwarned(demotions, at_risk, listings) == []


async def test_without_the_notice_members_are_demoted_before_any_digest_names_them(
    sqlite_engine,
):
    """The check above has teeth: the rules without the notice fail it in the same world."""
    demotions, at_risk, listings = await simulate(sqlite_engine, WITHOUT_NOTICE)
    assert len(listings) == DAYS // 7
    assert len(unwarned(demotions, at_risk, listings)) >= 3
