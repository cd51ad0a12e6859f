"""Help health in SQL: each question's first reply, and who gave the period's answers.

A question counts when a person (not staff, not a bot) asked it where replies could be seen;
its first reply is the earliest answer under the help graph's rule (`storage.helpgraph`).
The figures themselves are computed by `community.outcomes`.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from community.events import day_number
from community.outcomes import (
    DEFAULT_UNANSWERED_HOURS,
    AskedQuestion,
    HelperShare,
    HelpHealth,
    compose_health,
)
from storage.helpgraph import first_answers, replies_seen
from storage.members import eligible_members, member_ref
from storage.models import Activity, Channel, DailyRollup, Member


async def labelled_channels(conn: AsyncConnection, space_id: int) -> list[tuple[int, str, str]]:
    """(id, platform id, label for people) of every channel of the space.

    The label is the channel's name, else its platform id. Two channels may share a name
    (Discord allows it): each is then labelled "name (platform id)", so that rows keyed by
    channel can be told apart wherever they are shown.
    """
    rows = (
        await conn.execute(
            select(Channel.id, Channel.name, Channel.platform_id).where(
                Channel.space_id == space_id
            )
        )
    ).all()
    names = Counter(name for _, name, _ in rows if name)

    def label(name: str | None, platform_id: str) -> str:
        if not name:
            return platform_id
        return name if names[name] == 1 else f"{name} ({platform_id})"

    return [(channel, platform_id, label(name, platform_id)) for channel, name, platform_id in rows]


async def channel_labels(conn: AsyncConnection, space_id: int) -> dict[int, str]:
    """Each channel's label for people (see labelled_channels), by id."""
    return {channel: label for channel, _, label in await labelled_channels(conn, space_id)}


async def asked_questions(
    conn: AsyncConnection, space_id: int, start: datetime, end: datetime
) -> list[AskedQuestion]:
    """Questions members asked from START to END, each with its first reply before END."""
    q = aliased(Activity)
    rows = await conn.execute(
        select(q.channel_id, q.occurred_at, *first_answers(q, before=end))
        .select_from(q)
        .join(Member, Member.id == q.member_id)
        .where(
            q.space_id == space_id,
            q.is_question.is_(True),
            q.occurred_at >= start,
            q.occurred_at < end,
            eligible_members(space_id),
            replies_seen(q),
        )
    )
    labels = await channel_labels(conn, space_id)
    questions = []
    for channel, asked, *firsts in rows:
        replied = [first for first in firsts if first is not None]
        label = labels.get(channel) if channel is not None else None
        first = min(replied) if replied else None
        questions.append(AskedQuestion(label, asked, first, channel))
    return questions


def day_range(start: datetime, end: datetime) -> tuple[int, int]:
    """Rollup days from START's to the day holding END's last moment."""
    return day_number(start), day_number(end - timedelta(microseconds=1))


async def answers_by_helper(
    conn: AsyncConnection, space_id: int, start: datetime, end: datetime
) -> list[HelperShare]:
    """Each person's answers in the days from START to END (staff included, bots never)."""
    first, last = day_range(start, end)
    r = DailyRollup
    answers = func.sum(r.answers)
    rows = await conn.execute(
        select(
            Member.id, Member.platform_id, Member.display_name, Member.is_staff, answers.label("n")
        )
        .select_from(r)
        .join(Member, Member.id == r.member_id)
        .where(r.space_id == space_id, r.day >= first, r.day <= last, Member.is_bot.is_(False))
        .group_by(Member.id, Member.platform_id, Member.display_name, Member.is_staff)
        .having(answers > 0)
    )
    return [HelperShare(member_ref(row), int(row.n), bool(row.is_staff)) for row in rows]


async def help_health(
    conn: AsyncConnection,
    space_id: int,
    start: datetime,
    end: datetime,
    *,
    unanswered_hours: float = DEFAULT_UNANSWERED_HOURS,
    attention_limit: int = 10,
) -> HelpHealth:
    """Help health from START to END: reply times, answered shares, who carries the answers."""
    return compose_health(
        start,
        end,
        await asked_questions(conn, space_id, start, end),
        await answers_by_helper(conn, space_id, start, end),
        unanswered_hours=unanswered_hours,
        attention_limit=attention_limit,
    )


async def daily_answers(
    conn: AsyncConnection, space_id: int, start: datetime, end: datetime
) -> list[tuple[int, int, int]]:
    """(member id, day, answers) for every person's day with answers from START to END."""
    first, last = day_range(start, end)
    r = DailyRollup
    rows = await conn.execute(
        select(r.member_id, r.day, r.answers)
        .join(Member, Member.id == r.member_id)
        .where(
            r.space_id == space_id,
            r.day >= first,
            r.day <= last,
            r.answers > 0,
            Member.is_bot.is_(False),
        )
    )
    return [tuple(row) for row in rows]
