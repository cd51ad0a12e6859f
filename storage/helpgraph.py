"""When a stored question counts as answered: the help graph's answering rule, as SQL.

The rule (docs/how-pulse-decides.md): a question is answered by another person's reply to it,
either a reply whose parent is the question (a thread reply on Slack, a referencing reply on
Discord) or, for a question asked inside a thread, a later reply by someone else in the same
thread. Reactions never answer a question; bots and webhooks never become members, so every
stored reply is a person's. Every query about answered questions builds on `answers_to`.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from community import ids
from community.events import ActivityKind
from storage.models import Activity, HelpEdge, Member

_REPLY = ActivityKind.REPLY.value


def not_indexed(column):
    """COLUMN in a form SQLite will not pick an index for (a no-op on the value).

    Without ANALYZE statistics SQLite takes a bound on `occurred_at` as the best way into a
    correlated lookup of replies and scans every activity up to the bound once per question,
    instead of the parent-event index.
    """
    return func.coalesce(column, column)


def _by_reference(question, reply):
    """REPLY is another person's reply whose parent is QUESTION itself."""
    return and_(
        reply.space_id == question.space_id,
        reply.parent_event_id == question.event_id,
        reply.kind == _REPLY,
        reply.member_id != question.member_id,
    )


def _later_in_thread(question, reply):
    """QUESTION was asked inside a thread and REPLY is another person's later reply in it."""
    return and_(
        question.kind == _REPLY,
        reply.space_id == question.space_id,
        reply.parent_event_id == question.parent_event_id,
        reply.kind == _REPLY,
        reply.member_id != question.member_id,
        or_(
            not_indexed(reply.occurred_at) > question.occurred_at,
            # Messages a millisecond apart share a time: the order stored breaks ties.
            and_(reply.occurred_at == question.occurred_at, reply.id > question.id),
        ),
    )


# The rule's two ways of answering are kept apart in the SQL on purpose: each then finds its
# replies through the (space, parent event) index, where one condition joined by OR made
# SQLite scan every activity of the space once per question.
_WAYS = (_by_reference, _later_in_thread)


def answers_to(question, reply):
    """The condition under which the activity REPLY answers the question QUESTION (aliases)."""
    return or_(*(way(question, reply) for way in _WAYS))


def _before(reply, before):
    return () if before is None else (not_indexed(reply.occurred_at) < before,)


def answered(question, *, before=None):
    """Whether QUESTION has an answer (given before BEFORE, when one is given), as SQL."""
    clauses = []
    for way in _WAYS:
        reply = aliased(Activity)
        clauses.append(exists().where(way(question, reply), *_before(reply, before)))
    return or_(*clauses)


def first_answers(question, *, before=None):
    """Scalar subqueries: the time of QUESTION's first answer each way (NULL when none)."""
    firsts = []
    for way in _WAYS:
        reply = aliased(Activity)
        firsts.append(
            # Not the time index: SQLite would walk it for the minimum instead of the parent's.
            select(func.min(not_indexed(reply.occurred_at)))
            .where(way(question, reply), *_before(reply, before))
            .scalar_subquery()
        )
    return firsts


def replies_seen(question):
    """Whether replies to QUESTION could be seen: CSV exports carry none, so theirs are unknown.

    Lists of unanswered questions and reply times leave such questions out rather than call
    them unanswered.
    """
    return ~question.event_id.startswith(ids.CSV_PREFIX)


async def answered_questions(conn: AsyncConnection, space_id: int) -> dict[str, bool]:
    """Every stored question of SPACE_ID by event id, with whether it is answered."""
    q = aliased(Activity)
    rows = await conn.execute(
        select(q.event_id, answered(q)).where(q.space_id == space_id, q.is_question.is_(True))
    )
    return {event_id: bool(is_answered) for event_id, is_answered in rows}


async def accepted_answers(conn: AsyncConnection, space_id: int) -> set[str]:
    """Event ids of the replies in SPACE_ID their askers accepted."""
    rows = await conn.execute(
        select(Activity.event_id).where(
            Activity.space_id == space_id, Activity.is_accepted.is_(True)
        )
    )
    return set(rows.scalars())


async def helped_members(conn: AsyncConnection, member_id: int) -> tuple[tuple[str, ...], int]:
    """The (up to) three members MEMBER_ID helped most, by name, and how many they helped."""
    names = (
        await conn.execute(
            select(func.coalesce(Member.display_name, Member.platform_id))
            .join(HelpEdge, HelpEdge.helped_id == Member.id)
            .where(HelpEdge.helper_id == member_id)
            .order_by(HelpEdge.replies.desc(), Member.id)
            .limit(3)
        )
    ).scalars()
    count = (
        await conn.execute(
            select(func.count()).select_from(HelpEdge).where(HelpEdge.helper_id == member_id)
        )
    ).scalar_one()
    return tuple(names), count
