"""The quiet list's order, ranked in SQL, against the rule stated in Python.

Hypothesis generates live flags (tiers, stored silences, last-seen moments on and around whole
days before now, with and without an unanswered question) and `storage.quiet.quiet_list` must
return them in the order staff are promised, cut at the page size, on both backends.
"""

import itertools
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import literal, select

from community.events import day_number, day_start
from community.quiet import FlagStatus
from community.tiers import Tier
from storage import models
from storage.engine import whole_days_between
from storage.quiet import quiet_list
from storage.types import UTCDateTime
from tests.factories import T0

NOW = day_start(day_number(T0 + timedelta(days=300))) + timedelta(hours=9, minutes=30)
_spaces = itertools.count()

# Around whole days, where rounding down decides ties: exact, a millisecond either side.
around_whole_days = st.builds(
    lambda days, nudge: timedelta(days=days) + nudge,
    st.integers(-1, 60),
    st.sampled_from(
        [timedelta(0), timedelta(milliseconds=1), -timedelta(milliseconds=1), timedelta(hours=7)]
    ),
)

flags = st.lists(
    st.tuples(
        st.sampled_from([Tier.ACTIVE.value, Tier.HERO.value]),
        st.sampled_from([7.0, 14.0, 20.0, 21.0, 30.0]),
        around_whole_days,
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


def promised_order(rows: list[tuple[int, str, float, datetime, bool]]) -> list[int]:
    """An unanswered question first, then heroes, then the longest silence, then member id."""
    return [
        member
        for member, tier, silent, seen, unanswered in sorted(
            rows,
            key=lambda r: (not r[4], r[1] != Tier.HERO.value, -max(r[2], (NOW - r[3]).days), r[0]),
        )
    ]


async def store(conn, generated) -> tuple[int, list[tuple]]:
    """Write one open flag per generated member; return the space and the rows as generated."""
    space = (
        await conn.execute(
            models.Space.__table__.insert()
            .values(platform="slack", platform_id=f"T{next(_spaces)}", created_at=NOW)
            .returning(models.Space.id)
        )
    ).scalar_one()
    rows = []
    for n, (tier, silent, ago, unanswered) in enumerate(generated):
        member = (
            await conn.execute(
                models.Member.__table__.insert()
                .values(space_id=space, platform_id=f"U{n}")
                .returning(models.Member.id)
            )
        ).scalar_one()
        seen = NOW - ago
        asked = (seen - timedelta(days=2)).isoformat() if unanswered else None
        await conn.execute(
            models.QuietFlag.__table__.insert().values(
                space_id=space,
                member_id=member,
                status=FlagStatus.OPEN.value,
                opened_at=NOW - timedelta(days=1),
                last_seen_at=seen,
                usual_gap_days=2.0,
                silent_days=silent,
                tier=tier,
                context={
                    "last_seen": seen.isoformat(),
                    "silent_days": int(silent),
                    "usual_gap_days": 2.0,
                    "tier": tier,
                    "channels": [],
                    "unanswered_question_at": asked,
                    "helped": [],
                    "helped_count": 0,
                },
            )
        )
        rows.append((member, tier, silent, seen, unanswered))
    return space, rows


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(flags, st.integers(1, 5))
async def test_the_quiet_list_is_ranked_as_promised(engine, generated, page_size):
    async with engine.begin() as conn:
        space, rows = await store(conn, generated)
        whole = await quiet_list(conn, space, NOW, limit=100)
        page = await quiet_list(conn, space, NOW, limit=page_size)
    want = promised_order(rows)
    assert [e.member.id for e in whole] == want
    assert [e.member.id for e in page] == want[:page_size]
    # The silence shown is the one ranked on.
    by_member = {r[0]: r for r in rows}
    for entry in whole:
        _, _, silent, seen, _ = by_member[entry.member.id]
        assert entry.context.silent_days == max(silent, (NOW - seen).days)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.timedeltas(min_value=timedelta(days=-400), max_value=timedelta(days=400)).map(
        lambda d: d - timedelta(microseconds=d.microseconds % 1000)
    )
)
async def test_whole_days_between_rounds_down_like_python(engine, gap):
    earlier = NOW - gap
    query = select(whole_days_between(literal(NOW, UTCDateTime()), literal(earlier, UTCDateTime())))
    async with engine.connect() as conn:
        assert (await conn.execute(query)).scalar_one() == gap.days
