"""What staff need to reach out to quiet members, read for many members at once.

The quiet scan's first run after a year of history opens thousands of flags; reading each
one's context with five statements of its own took minutes at a million members. Here each
part is one statement per chunk of members. Where the member's own activities are searched
(the last post, the last question), a subquery correlated on the member keeps each lookup on
the member's index (`ix_activities_member_time`), walking back from the latest activity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from community.events import day_start
from community.quiet import QuietContext
from storage.figures import CHUNK
from storage.helpgraph import answered, not_indexed, replies_seen
from storage.models import Activity, Channel, ChannelActivity, HelpEdge, Member

# What counts as being seen: posting, replying, starting a thread, logging a contribution.
SEEN_KINDS = ("message", "reply", "thread_started", "contribution_logged")
TOP = 3


@dataclass(frozen=True, slots=True)
class Opening:
    """A flag about to open: the member, their last active day, silence, usual gap, tier."""

    member_id: int
    last_day: int
    silent_days: int
    gap: float | None
    tier: str


async def outreach_contexts(
    conn: AsyncConnection, space_id: int, openings: list[Opening]
) -> dict[int, QuietContext]:
    """Each opening member's outreach context, by member."""
    out: dict[int, QuietContext] = {}
    for start in range(0, len(openings), CHUNK):
        chunk = openings[start : start + CHUNK]
        ids = [o.member_id for o in chunk]
        channels = await _top(conn, _channels(ids))
        helped = await _top(conn, _helped(ids))
        counts = dict((await conn.execute(_helped_counts(ids))).all())
        seen = dict((await conn.execute(_last_seen(ids))).all())
        unanswered = await _unanswered(conn, space_id, ids)
        for o in chunk:
            out[o.member_id] = QuietContext(
                last_seen=seen.get(o.member_id) or day_start(o.last_day),
                silent_days=o.silent_days,
                usual_gap_days=round(o.gap, 1) if o.gap is not None else None,
                tier=o.tier,
                channels=tuple(channels.get(o.member_id, ())),
                unanswered_question_at=unanswered.get(o.member_id),
                helped=tuple(helped.get(o.member_id, ())),
                helped_count=counts.get(o.member_id, 0),
            )
    return out


async def _top(conn: AsyncConnection, ranked) -> dict[int, list[str]]:
    """The first TOP names per member of a (member, name, rank) query, in rank order."""
    rows = await conn.execute(select(ranked.c.member, ranked.c.name).where(ranked.c.rank <= TOP))
    found: dict[int, list[tuple[int, str]]] = {}
    for member, name in rows:
        found.setdefault(member, []).append(name)
    return found


def _channels(ids: list[int]):
    """The channels each member posted in most (ties by channel id), ranked."""
    return (
        select(
            ChannelActivity.member_id.label("member"),
            func.coalesce(Channel.name, Channel.platform_id).label("name"),
            func.row_number()
            .over(
                partition_by=ChannelActivity.member_id,
                order_by=(ChannelActivity.posts.desc(), Channel.id),
            )
            .label("rank"),
        )
        .join(Channel, ChannelActivity.channel_id == Channel.id)
        .where(ChannelActivity.member_id.in_(ids))
        .subquery()
    )


def _helped(ids: list[int]):
    """The members each member helped most (ties by member id), ranked."""
    return (
        select(
            HelpEdge.helper_id.label("member"),
            func.coalesce(Member.display_name, Member.platform_id).label("name"),
            func.row_number()
            .over(partition_by=HelpEdge.helper_id, order_by=(HelpEdge.replies.desc(), Member.id))
            .label("rank"),
        )
        .join(Member, HelpEdge.helped_id == Member.id)
        .where(HelpEdge.helper_id.in_(ids))
        .subquery()
    )


def _helped_counts(ids: list[int]):
    return (
        select(HelpEdge.helper_id, func.count())
        .where(HelpEdge.helper_id.in_(ids))
        .group_by(HelpEdge.helper_id)
    )


def _last_seen(ids: list[int]):
    """Each member's last post, reply, thread or contribution (correlated: by member index)."""
    a = aliased(Activity)
    latest = (
        select(func.max(a.occurred_at))
        .where(a.member_id == Member.id, a.kind.in_(SEEN_KINDS))
        .scalar_subquery()
    )
    return select(Member.id, latest).where(Member.id.in_(ids))


def last_questions(space_id: int, ids: list[int]):
    """Each member's last question whose replies could be seen (its id; NULL when none)."""
    q = aliased(Activity)
    last = (
        select(q.id)
        .where(
            # By the member's index: the space's time index walks the whole space backwards
            # when the member asked long ago or never (half a second a member at 5M rows).
            not_indexed(q.space_id) == space_id,
            q.member_id == Member.id,
            q.is_question.is_(True),
            replies_seen(q),
        )
        .order_by(q.occurred_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    return select(last).where(Member.id.in_(ids))


async def _unanswered(conn: AsyncConnection, space_id: int, ids: list[int]) -> dict[int, datetime]:
    """When each member's last question was asked, for those nobody ever replied to."""
    questions = [
        qid for (qid,) in await conn.execute(last_questions(space_id, ids)) if qid is not None
    ]
    if not questions:
        return {}
    asked = aliased(Activity)
    rows = await conn.execute(
        select(asked.member_id, asked.occurred_at, answered(asked)).where(asked.id.in_(questions))
    )
    return {member: at for member, at, is_answered in rows if not is_answered}
