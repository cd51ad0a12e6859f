"""A hand-built community whose outcome figures are known by hand count (see docs/outcomes.md).

Help, in the week before NOW (channel #help unless said):
    question by   asked          first reply by another person     hours
    ann           NOW - 5 d      bob (after ann's own follow-up)    3
    cat           NOW - 4 d      none: needs attention (96 h old)
    eve           NOW - 2 h      none, but only 2 h old
    dan (#general) NOW - 3 d     sam (staff)                        0.5
    fay           NOW - 6 d      bob                                30
    gus           NOW - 6 d      cy                                 1
    hal           NOW - 6 d      cy                                 2
    ian           NOW - 6 d      bob                                4
    jo            NOW - 6 d      dee                                10
    stu (staff)   NOW - 1 d      none: staff questions do not count
Answers: bob 3, cy 2, dee 1, sam 1 (staff): 2 members give half of the 7.

Cohorts: ten members (n0..n9) join on April 5; all post on April 6; n0..n5 ask on April 7;
n0..n2 help someone on April 10; n0 and n1 reach active on April 20, n0 hero on May 25; n0..n3
post again on May 6 and June 2 (4 of 10 stay). Imported member "imp" never joined: first seen
posting on May 12. Staff member "sue" joins on April 5 too and belongs to no cohort.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from storage import models
from tests.factories import ev, ingest

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
APRIL_5 = datetime(2026, 4, 5, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _named(kind, member, at, **kwargs):
    channel = kwargs.pop("channel", "help")
    return ev(kind, member, at=at, channel=channel, channel_name=channel, member_name=member,
              **kwargs)  # fmt: skip


def _question(asker, asked, helper=None, hours=None, channel="help", tag=""):
    q = _named("message", asker, asked, channel=channel, is_question=True,
               event_id=f"q-{asker}{tag}")  # fmt: skip
    events = [q]
    if helper is not None:
        events.append(
            _named(
                "reply",
                helper,
                asked + hours * HOUR,
                channel=channel,
                parent_event_id=q.event_id,
                target_member_id=asker,
            )
        )
    return events


def help_events() -> list:
    """The week of questions and replies in the table above."""
    events = _question("ann", NOW - 5 * DAY, "bob", 3)
    # Ann's own follow-up an hour in: never the first reply.
    events.append(_named("reply", "ann", NOW - 5 * DAY + HOUR, parent_event_id=events[0].event_id))
    events += _question("cat", NOW - 4 * DAY)
    events += _question("eve", NOW - 2 * HOUR)
    events += _question("dan", NOW - 3 * DAY, "sam", 0.5, channel="general")
    events += _question("fay", NOW - 6 * DAY, "bob", 30)
    events += _question("gus", NOW - 6 * DAY, "cy", 1)
    events += _question("hal", NOW - 6 * DAY, "cy", 2)
    events += _question("ian", NOW - 6 * DAY, "bob", 4)
    events += _question("jo", NOW - 6 * DAY, "dee", 10)
    events += _question("stu", NOW - DAY)
    return events


def cohort_events() -> list:
    """The April cohort, the imported member and the staff member."""
    events = []
    for i in range(10):
        who = f"n{i}"
        events.append(_named("member_joined", who, APRIL_5, channel=None))
        events.append(_named("message", who, APRIL_5 + DAY))
        if i < 6:
            events.append(_named("message", who, APRIL_5 + 2 * DAY, is_question=True))
        if i < 3:
            events.append(_named("reply", who, APRIL_5 + 5 * DAY, target_member_id="n9"))
        if i < 4:
            events.append(_named("message", who, datetime(2026, 5, 6, 9, tzinfo=UTC)))
            events.append(_named("message", who, datetime(2026, 6, 2, 9, tzinfo=UTC)))
    events.append(_named("member_joined", "sue", APRIL_5, channel=None))
    events.append(_named("message", "sue", APRIL_5 + DAY))
    events.append(_named("message", "imp", datetime(2026, 5, 12, 9, tzinfo=UTC)))
    return events


async def build_outcomes_world(engine) -> int:
    """Store the community through the real writer; mark staff and tier changes. The space id."""
    await ingest(engine, cohort_events() + help_events())
    async with engine.begin() as conn:
        space_id = (await conn.execute(select(models.Space.id))).scalar_one()
        ids = dict((await conn.execute(select(models.Member.platform_id, models.Member.id))).all())
        await conn.execute(
            update(models.Member)
            .where(models.Member.platform_id.in_(["sam", "stu", "sue"]))
            .values(is_staff=True)
        )
        changes = [
            ("n0", None, "active", datetime(2026, 4, 20, 3, tzinfo=UTC)),
            ("n1", None, "active", datetime(2026, 4, 20, 3, tzinfo=UTC)),
            ("n0", "active", "hero", datetime(2026, 5, 25, 3, tzinfo=UTC)),
        ]
        await conn.execute(
            models.TierChange.__table__.insert(),
            [
                {
                    "space_id": space_id,
                    "member_id": ids[who],
                    "from_tier": before,
                    "to_tier": after,
                    "score": 1.0,
                    "reasons": "",
                    "changed_at": at,
                }
                for who, before, after, at in changes
            ],
        )
    return space_id
