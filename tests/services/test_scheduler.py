import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

from bot.scheduler import (
    DAILY,
    DigestSkipped,
    build_scheduler,
    daily_job,
    daily_trigger,
    purge_job,
    weekly_digest_job,
    weekly_trigger,
)
from bot.settings import parse_settings
from community.clock import FixedClock
from community.schedule import Weekday, latest_daily_slot, latest_weekly_slot
from storage.engine import create_engine
from storage.runs import RunStatus, runs_for
from storage.uow import UnitOfWork
from tests.digest_world import NOW, build_world

BERLIN = ZoneInfo("Europe/Berlin")
# Monday 09:00 in Berlin; NOW is 09:30 on the Monday after the spring change (UTC+2).
SETTINGS = parse_settings(
    {
        "digest": {"weekday": "monday", "time": "09:00", "timezone": "Europe/Berlin",
                   "grace_hours": 12},
        "jobs": {"daily_time": "03:00", "timezone": "Europe/Berlin"},
    }
)  # fmt: skip
POLICIES = SETTINGS.policies()
SLOT = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST


class RecordingPoster:
    """A fake of our own DigestPoster port: it keeps what it was asked to post."""

    def __init__(self, name: str = "poster", fail: Exception | None = None) -> None:
        self.name = name
        self.fail = fail
        self.posts: list[tuple] = []

    async def post_digest(self, space, audience, rendered, chart_png):
        if self.fail is not None:
            raise self.fail
        self.posts.append((space.id, audience, rendered, chart_png))
        return f"{self.name}: #{audience}"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (utc(2026, 3, 17), utc(2026, 3, 23, 8)),  # CET: 09:00 is 08:00 UTC
        (utc(2026, 3, 24), utc(2026, 3, 30, 7)),  # CEST since Sunday: 09:00 is 07:00 UTC
        (utc(2026, 10, 20), utc(2026, 10, 26, 8)),  # back to CET on Oct 25
    ],
)
def test_weekly_trigger_keeps_the_wall_time_across_daylight_saving(after, expected):
    trigger = weekly_trigger(SETTINGS)
    fire = trigger.get_next_fire_time(None, after)
    assert fire == expected
    assert fire.astimezone(BERLIN).time() == time(9, 0)
    # The slot arithmetic the jobs use agrees with the trigger, just after and a day after.
    for now in (fire + timedelta(minutes=1), fire + timedelta(days=1)):
        slot = latest_weekly_slot(now, Weekday.MONDAY, time(9, 0), BERLIN)
        assert slot.at == fire
        assert slot.local_date.weekday() == 0


def test_slots_in_new_york_and_a_skipped_wall_time():
    ny = ZoneInfo("America/New_York")  # spring change on March 8, 2026
    before = latest_weekly_slot(utc(2026, 3, 3, 15), Weekday.MONDAY, time(9, 0), ny)
    after = latest_weekly_slot(utc(2026, 3, 10, 15), Weekday.MONDAY, time(9, 0), ny)
    assert (before.at, after.at) == (utc(2026, 3, 2, 14), utc(2026, 3, 9, 13))
    assert after.week_start - before.week_start == 7
    # 02:30 does not exist in Berlin on March 29: the trigger and the slot pick the same instant.
    trigger = daily_trigger(time(2, 30), BERLIN)
    fire = trigger.get_next_fire_time(None, utc(2026, 3, 28, 12))
    # (Compared in UTC: Python never equates a wall time inside a gap with another zone's.)
    fire = fire.astimezone(UTC)
    assert fire == utc(2026, 3, 29, 1, 30)
    assert latest_daily_slot(fire + timedelta(minutes=5), time(2, 30), BERLIN).at == fire


async def test_the_digests_are_posted_once_at_the_berlin_time(sqlite_engine):
    world = await build_world(sqlite_engine)
    poster = RecordingPoster()
    # 08:30 in Berlin: not yet time (a job that forgot the change to summer time would post).
    early = await weekly_digest_job(
        UnitOfWork(sqlite_engine),
        SETTINGS,
        POLICIES,
        poster,
        FixedClock(SLOT - timedelta(minutes=30)),
        "p",
    )
    assert poster.posts == []
    assert {o.status for o in early} == {RunStatus.MISSED}  # last week's, long past its grace
    outcomes = await weekly_digest_job(
        UnitOfWork(sqlite_engine), SETTINGS, POLICIES, poster, FixedClock(NOW), "p"
    )
    assert [(o.audience, o.status) for o in outcomes] == [
        ("community", RunStatus.POSTED),
        ("staff", RunStatus.POSTED),
    ]
    assert [(p[0], p[1]) for p in poster.posts] == [
        (world.space_id, "community"),
        (world.space_id, "staff"),
    ]
    community, staff = poster.posts[0], poster.posts[1]
    assert community[3] is None
    assert staff[3][:8] == b"\x89PNG\r\n\x1a\n"
    assert "Nina Newcomer" in community[2].text
    posted = [r for r in await runs_for(sqlite_engine) if r.status is RunStatus.POSTED]
    assert [(r.audience, r.due_at, r.detail) for r in posted] == [
        ("community", SLOT, "poster: #community"),
        ("staff", SLOT, "poster: #staff"),
    ]
    # Later the same week (another start, another tick): nothing is posted twice.
    again = await weekly_digest_job(
        UnitOfWork(sqlite_engine),
        SETTINGS,
        POLICIES,
        poster,
        FixedClock(NOW + timedelta(hours=2)),
        "p",
    )
    assert [o.status for o in again] == [None, None]
    assert len(poster.posts) == 2


@pytest.mark.parametrize(("late", "posted"), [(timedelta(hours=11), True),
                                              (timedelta(hours=13), False)])  # fmt: skip
async def test_a_digest_missed_while_down_is_posted_once_within_grace(sqlite_engine, late, posted):
    await build_world(sqlite_engine)
    poster = RecordingPoster()
    clock = FixedClock(SLOT + late)
    first = await weekly_digest_job(
        UnitOfWork(sqlite_engine), SETTINGS, POLICIES, poster, clock, "p"
    )
    clock.advance(timedelta(minutes=10))
    second = await weekly_digest_job(
        UnitOfWork(sqlite_engine), SETTINGS, POLICIES, poster, clock, "p"
    )
    expected = RunStatus.POSTED if posted else RunStatus.MISSED
    assert {o.status for o in first} == {expected}
    assert {o.status for o in second} == {None}
    assert len(poster.posts) == (2 if posted else 0)
    runs = await runs_for(sqlite_engine)
    assert [(r.audience, r.status) for r in runs] == [("community", expected), ("staff", expected)]


async def test_failed_and_skipped_posts_are_recorded_and_not_retried(sqlite_engine):
    await build_world(sqlite_engine)
    failing = RecordingPoster(fail=RuntimeError("Discord said 503"))
    outcomes = await weekly_digest_job(
        UnitOfWork(sqlite_engine), SETTINGS, POLICIES, failing, FixedClock(NOW), "p"
    )
    assert {o.status for o in outcomes} == {RunStatus.FAILED}
    runs = await runs_for(sqlite_engine)
    assert {r.detail for r in runs} == {"RuntimeError: Discord said 503"}
    # A retry could post twice if the platform took the first one after all: never retried.
    working = RecordingPoster()
    await weekly_digest_job(
        UnitOfWork(sqlite_engine), SETTINGS, POLICIES, working, FixedClock(NOW), "p"
    )
    assert working.posts == []

    week_later = FixedClock(NOW + timedelta(days=7))
    nowhere = RecordingPoster(fail=DigestSkipped("no staff channel configured"))
    outcomes = await weekly_digest_job(
        UnitOfWork(sqlite_engine), SETTINGS, POLICIES, nowhere, week_later, "p"
    )
    assert {o.status for o in outcomes} == {RunStatus.SKIPPED}
    assert {o.detail for o in outcomes} == {"no staff channel configured"}


async def test_the_daily_job_runs_once_per_day_and_purge_applies_retention(sqlite_engine):
    world = await build_world(sqlite_engine)
    clock = FixedClock(NOW)
    first = await daily_job(UnitOfWork(sqlite_engine), SETTINGS, POLICIES, clock, "a")
    second = await daily_job(UnitOfWork(sqlite_engine), SETTINGS, POLICIES, clock, "b")
    assert [(o.audience, o.status) for o in first] == [(DAILY, RunStatus.DONE)]
    assert "tier changes" in first[0].detail
    assert [o.status for o in second] == [None]
    # A year on, every activity of the world is past the 365-day retention.
    removed = await purge_job(
        UnitOfWork(sqlite_engine), POLICIES, FixedClock(NOW + timedelta(days=500))
    )
    assert removed > 100
    assert (
        await purge_job(UnitOfWork(sqlite_engine), POLICIES, FixedClock(NOW + timedelta(days=500)))
        == 0
    )
    assert world.space_id == first[0].space_id


async def test_two_schedulers_on_one_database_post_each_digest_once(database_url):
    engines = [create_engine(database_url), create_engine(database_url)]
    from storage.migrate import upgrade

    await upgrade(engines[0])
    await build_world(engines[0])
    posters = [RecordingPoster("a"), RecordingPoster("b")]
    expected = {"weekly-digest-catch-up", "daily-catch-up"}
    finished: dict[str, set[str]] = {"a": set(), "b": set()}
    done = asyncio.Event()
    schedulers = []
    for name, engine, poster in zip("ab", engines, posters, strict=True):
        scheduler = build_scheduler(
            UnitOfWork(engine), SETTINGS, poster, FixedClock(NOW), SETTINGS.policies(), name=name
        )

        def listener(event, name=name):
            finished[name].add(event.job_id)
            if all(expected <= ids for ids in finished.values()):
                done.set()

        scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        schedulers.append(scheduler)
    try:
        for scheduler in schedulers:
            scheduler.start()
        # Both processes start at once and each runs its catch-up jobs; the timeout only keeps
        # a broken build from hanging the suite.
        await asyncio.wait_for(done.wait(), timeout=120)
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=False)
    posts = posters[0].posts + posters[1].posts
    assert sorted(p[1] for p in posts) == ["community", "staff"]
    runs = await runs_for(engines[0])
    assert sorted((r.audience, r.status) for r in runs) == [
        ("community", RunStatus.POSTED),
        ("daily", RunStatus.DONE),
        ("staff", RunStatus.POSTED),
    ]
    assert {r.claimed_by for r in runs} <= {"a", "b"}
    for engine in engines:
        await engine.dispose()
