"""A small community built through the real writer and jobs, for the digest tests.

Every person has a role the digests must treat in a particular way; the names say which.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from community.events import ActivityKind
from community.quiet import QuietPolicy
from community.tiers import TierPolicy
from storage import models
from storage.privacy import forget_member
from storage.quiet import scan_quiet
from storage.reclassify import reclassify
from tests.factories import ev, ingest

# A Monday 09:30 in Berlin, the day after the spring daylight-saving change (CEST, UTC+2).
NOW = datetime(2026, 3, 30, 7, 30, tzinfo=UTC)
KEY = b"test-key"
POLICY = TierPolicy()
QUIET = QuietPolicy()

NAMES = {
    "regular": "Rita Regular",  # helps steadily for months: an established active member
    "riser": "Ravi Riser",  # starts helping this week: a passive member converting to active
    "newbie": "Nina Newcomer",  # joined this week and asked a question nobody answered
    "asker": "Aaron Asker",  # asks questions that get answered
    "quiet": "Quincy Quiet",  # helped for months, went silent: flagged, then helps again today
    "silent": "Sally Silent",  # helped for months, went silent and stays silent
    "staff": "Stan Staff",  # staff: helps a lot, never ranked or thanked in public
    "away": "Ada Away",  # helps this week but told Pulse she is away: left alone
    "leaver": "Otto Optout",  # helps this week, then opts out: gone from everything
    "hero": "Hana Hero",  # recognized as a hero by staff this week
}


@dataclass
class World:
    """Ids of the built community."""

    space_id: int
    ids: dict[str, int]
    quiet_flag: int
    silent_flag: int


def _help(helper: str, asker: str, at: datetime, n: int, tag: str, thanks: bool = True):
    """HELPER answers N questions of ASKER around AT (and is thanked)."""
    events = []
    for i in range(n):
        when = at + timedelta(hours=i)
        q = ev("message", asker, at=when, event_id=f"{tag}-q{i}", is_question=True,
               member_name=NAMES.get(asker), channel="help", channel_name="help")  # fmt: skip
        a = ev("reply", helper, at=when + timedelta(minutes=20), event_id=f"{tag}-a{i}",
               target_member_id=asker, parent_event_id=q.event_id,
               member_name=NAMES.get(helper), channel="help", channel_name="help")  # fmt: skip
        events += [q, a]
        if thanks:
            events.append(
                ev(
                    "reply",
                    asker,
                    at=when + timedelta(minutes=30),
                    event_id=f"{tag}-t{i}",
                    target_member_id=helper,
                    parent_event_id=a.event_id,
                    is_thanks=True,
                    channel="help",
                    channel_name="help",
                )
            )
    return events


def _history() -> list:
    events = []
    start = NOW - timedelta(days=120)
    for name in NAMES:
        events.append(ev("member_joined", name, at=start - timedelta(days=1), event_id=f"j-{name}",
                         member_name=NAMES[name]))  # fmt: skip
    # Established helpers: a few answers every week for four months.
    for week in range(17):
        at = start + timedelta(weeks=week, hours=1)
        events += _help("regular", "asker", at, 2, f"reg{week}")
        events += _help("staff", "asker", at + timedelta(days=1), 3, f"stf{week}")
        if at < NOW - timedelta(days=40):
            events += _help("quiet", "asker", at + timedelta(days=2), 2, f"qui{week}")
            events += _help("silent", "asker", at + timedelta(days=3), 2, f"sil{week}")
    # This week.
    week = NOW - timedelta(days=5)
    events += _help("riser", "asker", NOW - timedelta(days=12), 1, "rise0")
    events += _help("riser", "asker", week, 4, "rise")
    events += _help("away", "asker", week + timedelta(days=1), 2, "away")
    events += _help("leaver", "asker", week + timedelta(days=1), 5, "leave")
    events += _help("quiet", "asker", NOW - timedelta(days=1), 3, "back")
    events.append(ev("member_joined", "newbie2", at=week, event_id="j-newbie2",
                     member_name="Ned Newer"))  # fmt: skip
    events.append(ev("message", "newbie", at=week + timedelta(days=2), event_id="nq",
                     is_question=True, member_name=NAMES["newbie"], channel="help"))  # fmt: skip
    # A thread that drew three replies this week.
    events.append(ev("thread_started", "asker", at=week, event_id="thr", channel="showcase",
                     channel_name="showcase"))  # fmt: skip
    for i, who in enumerate(("regular", "riser", "hero")):
        events.append(ev("reply", who, at=week + timedelta(hours=i + 1), event_id=f"thr-{i}",
                         target_member_id="asker", parent_event_id="thr", channel="showcase",
                         member_name=NAMES[who]))  # fmt: skip
    # The newbie joined this week: move the join event.
    events = [e for e in events if e.event_id != "j-newbie"]
    events.append(ev("member_joined", "newbie", at=week, event_id="j-newbie",
                     member_name=NAMES["newbie"]))  # fmt: skip
    events.append(ev(ActivityKind.MESSAGE, "bot", at=week, event_id="botmsg", member_is_bot=True,
                     member_name="Release Bot", channel="general"))  # fmt: skip
    return events


async def build_world(engine) -> World:
    """Ingest the history, classify weekly, flag quiet members, opt one member out."""
    await ingest(engine, _history(), KEY)
    async with engine.begin() as conn:
        space_id = (await conn.execute(select(models.Space.id))).scalar_one()
        ids = dict((await conn.execute(select(models.Member.platform_id, models.Member.id))).all())
        await conn.execute(
            update(models.Member).where(models.Member.id == ids["staff"]).values(is_staff=True)
        )
        await conn.execute(
            update(models.Member)
            .where(models.Member.id == ids["away"])
            .values(away_until=NOW + timedelta(days=10))
        )
    # Weekly evaluations and quiet scans until a day before the digest's week, one more scan
    # three days ago (so the quiet member's return yesterday is not noticed by a scan yet),
    # and today's evaluation.
    for back in range(10, 0, -1):
        moment = NOW - timedelta(weeks=back, days=1)
        async with engine.begin() as conn:
            await reclassify(conn, space_id, moment, POLICY)
            await scan_quiet(conn, space_id, moment, POLICY, QUIET)
    async with engine.begin() as conn:
        await scan_quiet(conn, space_id, NOW - timedelta(days=3), POLICY, QUIET)
        await reclassify(conn, space_id, NOW - timedelta(minutes=5), POLICY)
        flags = dict(
            (
                await conn.execute(
                    select(models.QuietFlag.member_id, models.QuietFlag.id).where(
                        models.QuietFlag.status == "open"
                    )
                )
            ).all()
        )
        await conn.execute(
            models.RecognizedHero.__table__.insert().values(
                member_id=ids["hero"], space_id=space_id, confirmed_by="staff",
                confirmed_at=NOW - timedelta(days=2),
            )
        )  # fmt: skip
        await forget_member(conn, space_id, "leaver", KEY, NOW)
    return World(
        space_id=space_id,
        ids=ids,
        quiet_flag=flags[ids["quiet"]],
        silent_flag=flags[ids["silent"]],
    )


@contextlib.contextmanager
def renamed(names: Mapping[str, str]) -> Iterator[None]:
    """Build the world with NAMES for some of its roles inside the block; NAMES as before after."""
    saved = dict(NAMES)
    NAMES.update(names)
    try:
        yield
    finally:
        NAMES.clear()
        NAMES.update(saved)
