"""The quiet scan's SQL against the flag lifecycle stated as pure rules in community/quiet.py.

Hypothesis generates small communities (tiers, recent demotions, staff, bots, members who left
or are away, active days, and flags in every status); `storage.quiet.scan_quiet` runs on a
real database, and every flag it closes, reopens, keeps or opens must be what `watched`,
`next_status`, `opens_flag` and `flag_tier` say.
"""

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from community.events import day_number, day_start
from community.quiet import (
    ActiveSpan,
    FlagStatus,
    LiveFlag,
    QuietPolicy,
    flag_tier,
    next_status,
    opens_flag,
    watched,
)
from community.tiers import Tier, TierPolicy
from storage import models
from storage.quiet import scan_quiet
from tests.factories import T0

TIER_POLICY = TierPolicy()
QUIET = QuietPolicy()
BASE = T0 + timedelta(days=200)
_spaces = itertools.count()

ago = st.builds(
    lambda days, hours: timedelta(days=days, hours=hours),
    st.one_of(st.integers(0, 130), st.sampled_from([QuietPolicy().expiry_days, 14])),
    st.sampled_from([0, 0, 1, 13]),
)


@dataclass(frozen=True)
class Flag:
    status: FlagStatus
    opened_ago: timedelta
    snooze: timedelta | None  # snoozed_until = now + snooze


@dataclass(frozen=True)
class Person:
    tier: str | None
    demoted: tuple[str, timedelta] | None  # (from tier, how long ago)
    is_staff: bool
    is_bot: bool
    has_left: bool
    away: timedelta | None  # away_until = now + away
    engaged: frozenset[int]  # days ago with a post or a contribution
    idle: frozenset[int]  # days ago with reactions only
    closed: tuple[Flag, ...]
    live: Flag | None


flags_closed = st.lists(
    st.builds(
        Flag,
        st.sampled_from([FlagStatus.RETURNED, FlagStatus.DISMISSED, FlagStatus.EXPIRED]),
        ago,
        st.none(),
    ),
    max_size=2,
)
flag_live = st.builds(
    Flag,
    st.sampled_from([FlagStatus.OPEN, FlagStatus.SNOOZED]),
    ago,
    st.one_of(st.none(), st.integers(-10, 10).map(lambda d: timedelta(days=d))),
)
rarely = st.sampled_from([*[False] * 7, True])
days_ago = st.frozensets(st.integers(-2, 150), max_size=6)
# Mostly a member's own rhythm (every GAP days, until they stopped STOP days ago), so many go
# quiet; sometimes a scatter of days.
rhythm = st.builds(
    lambda stop, gap, count, extra: frozenset(stop + i * gap for i in range(count)) | extra,
    st.integers(-2, 100),
    st.integers(1, 10),
    st.integers(1, 12),
    st.one_of(st.just(frozenset()), st.just(frozenset()), days_ago),
)
people = st.builds(
    Person,
    st.sampled_from([None, *(t.value for t in Tier), Tier.ACTIVE.value, Tier.HERO.value]),
    st.one_of(
        st.none(),
        st.tuples(st.sampled_from([t.value for t in Tier]), ago),
    ),
    rarely,
    rarely,
    rarely,
    st.sampled_from([None, None, 0, 0, -3, 3]).map(lambda d: d if d is None else timedelta(days=d)),
    rhythm,
    days_ago,
    st.one_of(st.just(()), flags_closed.map(tuple)),
    st.one_of(st.none(), st.none(), flag_live),
)


async def store(conn, people_: list[Person], now: datetime) -> tuple[int, list[int], dict]:
    """Write the community; return the space, member ids, and {flag id: (member, Flag)}."""
    space = (
        await conn.execute(
            models.Space.__table__.insert()
            .values(platform="slack", platform_id=f"T{next(_spaces)}", created_at=now)
            .returning(models.Space.id)
        )
    ).scalar_one()
    today = day_number(now)
    members, flags = [], {}
    for n, p in enumerate(people_):
        member = (
            await conn.execute(
                models.Member.__table__.insert()
                .values(
                    space_id=space,
                    platform_id=f"U{n}",
                    is_staff=p.is_staff,
                    is_bot=p.is_bot,
                    left_at=now - timedelta(days=1) if p.has_left else None,
                    away_until=now + p.away if p.away is not None else None,
                )
                .returning(models.Member.id)
            )
        ).scalar_one()
        members.append(member)
        rollups = [
            {"member_id": member, "space_id": space, "day": today - d, "messages": 1}
            for d in p.engaged
        ] + [
            {"member_id": member, "space_id": space, "day": today - d, "messages": 0}
            for d in p.idle - p.engaged
        ]
        if rollups:
            await conn.execute(models.DailyRollup.__table__.insert(), rollups)
        if p.tier is not None:
            await conn.execute(
                models.TierAssignment.__table__.insert().values(
                    member_id=member,
                    space_id=space,
                    tier=p.tier,
                    earned_tier=p.tier,
                    score=0.0,
                    since=now - timedelta(days=300),
                    evaluated_at=now,
                )
            )
        if p.demoted is not None:
            await conn.execute(
                models.TierChange.__table__.insert().values(
                    space_id=space,
                    member_id=member,
                    from_tier=p.demoted[0],
                    to_tier=Tier.PASSIVE.value,
                    score=0.0,
                    reasons="",
                    changed_at=now - p.demoted[1],
                )
            )
        for flag in (*p.closed, *([p.live] if p.live else [])):
            opened = now - flag.opened_ago
            flag_id = (
                await conn.execute(
                    models.QuietFlag.__table__.insert()
                    .values(
                        space_id=space,
                        member_id=member,
                        status=flag.status.value,
                        opened_at=opened,
                        closed_at=None if flag is p.live else opened + timedelta(days=1),
                        snoozed_until=now + flag.snooze if flag.snooze is not None else None,
                        last_seen_at=opened - timedelta(days=20),
                        usual_gap_days=2.0,
                        silent_days=20.0,
                        tier=Tier.ACTIVE.value,
                        context={},
                    )
                    .returning(models.QuietFlag.id)
                )
            ).scalar_one()
            flags[flag_id] = (member, flag)
    return space, members, flags


def expected(p: Person, now: datetime) -> tuple[FlagStatus | None, bool]:
    """The rules' verdict: the live flag's status after the scan, and whether one opens."""
    today = day_number(now)
    last_active = max((today - d for d in p.engaged if d >= 0), default=None)
    live_after = None
    closed = [now - f.opened_ago for f in p.closed if f.status is not FlagStatus.RETURNED]
    if p.live is not None:
        status = next_status(
            LiveFlag(p.live.status, now - p.live.opened_ago, _snoozed(p.live, now)),
            last_active,
            now,
            QUIET,
        )
        live_after = p.live.status if status is None else status
        if status is FlagStatus.EXPIRED:
            closed.append(now - p.live.opened_ago)
    demoted_at = None
    if p.demoted is not None and p.demoted[0] in (Tier.ACTIVE.value, Tier.HERO.value):
        demoted_at = now - p.demoted[1]
    lookback = QUIET.lookback_days(TIER_POLICY.window_days)
    span_days = sorted(today - d for d in p.engaged if 0 <= d < lookback)
    is_watched = watched(
        tier=p.tier,
        demoted_from_watched_at=demoted_at,
        is_staff=p.is_staff,
        is_bot=p.is_bot,
        has_left=p.has_left,
        away_until=now + p.away if p.away is not None else None,
        now=now,
        policy=QUIET,
    )
    opens = (
        is_watched
        and bool(span_days)
        and opens_flag(
            ActiveSpan(span_days[0], span_days[-1], len(span_days)),
            today,
            QUIET,
            has_live_flag=live_after in (FlagStatus.OPEN, FlagStatus.SNOOZED),
            last_closed_at=max(closed, default=None),
        )
    )
    return live_after, opens


def _snoozed(flag: Flag, now: datetime) -> datetime | None:
    return now + flag.snooze if flag.snooze is not None else None


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(people, min_size=1, max_size=6),
    st.integers(0, 24 * 60 - 1).map(lambda m: timedelta(minutes=m)),
)
async def test_the_scan_follows_the_pure_lifecycle(engine, community, time_of_day):
    now = day_start(day_number(BASE)) + time_of_day
    async with engine.begin() as conn:
        space, members, flags = await store(conn, community, now)
        result = await scan_quiet(conn, space, now, TIER_POLICY, QUIET)
        rows = {
            r.id: r
            for r in await conn.execute(
                select(models.QuietFlag).where(models.QuietFlag.space_id == space)
            )
        }
    verdicts = [expected(p, now) for p in community]
    for flag_id, (member, flag) in flags.items():
        person = community[members.index(member)]
        want = verdicts[members.index(member)][0] if flag is person.live else flag.status
        assert FlagStatus(rows[flag_id].status) is want, (flag_id, person)
    new = {r.member_id: r for fid, r in rows.items() if fid not in flags}
    assert set(new) == {m for m, (_, opens) in zip(members, verdicts, strict=True) if opens}
    for member, row in new.items():
        person = community[members.index(member)]
        assert row.status == FlagStatus.OPEN.value
        assert row.tier == flag_tier(person.tier)
        assert row.opened_at == now
    assert result.opened == len(new)
    assert result.returned == sum(v[0] is FlagStatus.RETURNED for v in verdicts)
    assert result.expired == sum(v[0] is FlagStatus.EXPIRED for v in verdicts)
