"""Who bench/classify.py's community is: members by profile, their active spans and rates.

About 3% heavy members (helpers who answer questions all year), 17% regulars, and a long tail of
casual members with a handful of actions over a few weeks; some heavy and regular members went
quiet one to three months ago.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from community.events import day_start

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
DAYS = 365
STAFF = 12
BOTS = 4
FIRST_NAMES = (
    "ada", "alan", "barbara", "brian", "carol", "dennis", "edsger", "frances", "grace", "guido",
    "hedy", "ivan", "jean", "ken", "katherine", "linus", "margaret", "niklaus", "ola", "radia",
    "rob", "sophie", "tim", "yukihiro", "anders", "bjarne", "donald", "john", "leslie", "mary",
)  # fmt: skip
LAST_NAMES = (
    "lovelace", "turing", "liskov", "kernighan", "ritchie", "dijkstra", "allen", "hopper",
    "rossum", "lamarr", "sutherland", "sammet", "thompson", "johnson", "torvalds", "hamilton",
    "wirth", "dahl", "perlman", "pike", "wilson", "berners-lee", "matsumoto", "hejlsberg",
    "stroustrup", "knuth", "backus", "lamport", "keller", "clarke",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Profile:
    """How one class of member behaves: share of members, rate, and what they tend to do."""

    name: str
    share: float
    rate: float  # mean actions per day while active (before scaling to --activities)
    quiet_share: float  # share who stopped 15-90 days before now
    kinds: tuple[tuple[float, str], ...]  # cumulative mix of message/reply/thread/reaction
    question_rate: float


PROFILES = (
    Profile(
        "heavy",
        0.03,
        2.0,
        0.08,
        ((0.40, "message"), (0.80, "reply"), (0.84, "thread_started"), (1.0, "reaction_given")),
        0.06,
    ),
    Profile(
        "regular",
        0.17,
        0.35,
        0.15,
        ((0.50, "message"), (0.72, "reply"), (0.76, "thread_started"), (1.0, "reaction_given")),
        0.20,
    ),
    Profile(
        "casual",
        0.80,
        0.25,
        0.0,
        ((0.62, "message"), (0.72, "reply"), (0.78, "thread_started"), (1.0, "reaction_given")),
        0.45,
    ),
)


@dataclass
class Roster:
    """The generated members: row ids are list index + 1."""

    profile: list[int] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)
    rate: list[float] = field(default_factory=list)
    left: list[bool] = field(default_factory=list)


def build_roster(n: int, first_day: int, today: int, rng: random.Random) -> Roster:
    """Assign each member a profile, an active span and a rate."""
    roster = Roster()
    edges = list(itertools.accumulate(p.share for p in PROFILES))
    for _ in range(n):
        index = min(bisect.bisect_left(edges, rng.random() * edges[-1]), len(PROFILES) - 1)
        profile = PROFILES[index]
        if profile.name == "heavy":
            start = first_day + int(rng.random() ** 3 * 200)
            end = today
        elif profile.name == "regular":
            start = first_day + rng.randrange(300)
            end = today
        else:
            start = first_day + rng.randrange(DAYS)
            end = min(today, start + rng.randrange(46))
        if rng.random() < profile.quiet_share:
            end = today - rng.randint(15, 90)
            start = min(start, end - 30)
        roster.profile.append(index)
        roster.start.append(start)
        roster.end.append(end)
        roster.rate.append(profile.rate * rng.lognormvariate(0, 0.5))
        roster.left.append(end < today - 14 and rng.random() < 0.1)
    return roster


def member_rows(roster: Roster, rng: random.Random) -> list[tuple]:
    """Rows for the members table: a few staff and bots, names like 'grace.hopper417'."""
    n = len(roster.profile)
    heavy = [i for i in range(n) if roster.profile[i] == 0]
    special = rng.sample(heavy, min(len(heavy), STAFF + BOTS)) if len(heavy) > 1 else []
    staff, bots = set(special[:STAFF]), set(special[STAFF:])
    rows = []
    for i in range(n):
        name = f"{FIRST_NAMES[i % len(FIRST_NAMES)]}.{LAST_NAMES[(i // 7) % len(LAST_NAMES)]}{i}"
        if i in bots:
            name = f"helper-bot-{i}"
        joined = day_start(roster.start[i]) + timedelta(minutes=rng.randrange(24 * 60))
        left = day_start(roster.end[i] + 1) if roster.left[i] else None
        rows.append(
            (
                i + 1,
                1,
                str(300_000_000_000_000_000 + i * 7_919),
                name,
                int(i in bots),
                int(i in staff),
                db_text(joined),
                db_text(left) if left else None,
            )
        )
    return rows


def db_text(moment: datetime) -> str:
    """MOMENT as UTCDateTime stores it on SQLite: naive UTC text with microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def day_counts(roster: Roster, total: int, first_day: int, today: int) -> list[int]:
    """Activities per day: proportional to the rates of the members live that day."""
    diff = [0.0] * (DAYS + 1)
    for start, end, rate in zip(roster.start, roster.end, roster.rate, strict=True):
        diff[start - first_day] += rate
        diff[end - first_day + 1] -= rate
    weights = []
    for offset, live in enumerate(itertools.accumulate(diff[:DAYS])):
        weekday = day_start(first_day + offset).weekday()
        weights.append(max(live, 0.0) * (0.7 if weekday >= 5 else 1.0))
    weights[-1] *= 0.5  # "today" only runs until noon
    cumulative = list(itertools.accumulate(weights))
    marks = [round(total * c / cumulative[-1]) for c in cumulative]
    return [b - a for a, b in itertools.pairwise([0, *marks])]
