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


def answers_to(question, reply):
    """The condition under which the activity REPLY answers the question QUESTION (aliases)."""
    return and_(
        reply.space_id == question.space_id,
        reply.kind == _REPLY,
        reply.member_id != question.member_id,
        or_(
            reply.parent_event_id == question.event_id,
            and_(
                question.kind == _REPLY,
                reply.parent_event_id == question.parent_event_id,
                or_(
                    not_indexed(reply.occurred_at) > question.occurred_at,
                    # Messages a millisecond apart share a time: the order stored breaks ties.
                    and_(reply.occurred_at == question.occurred_at, reply.id > question.id),
                ),
            ),
        ),
    )


def replies_seen(question):
    """Whether replies to QUESTION could be seen: CSV exports carry none, so theirs are unknown.

    Lists of unanswered questions and reply times leave such questions out rather than call
    them unanswered.
    """
    return ~question.event_id.startswith(ids.CSV_PREFIX)


def answered(question, *, before=None):
    """EXISTS clause: QUESTION has an answer (given before BEFORE, when one is given)."""
    reply = aliased(Activity)
    condition = answers_to(question, reply)
    if before is not None:
        condition = and_(condition, not_indexed(reply.occurred_at) < before)
    return exists().where(condition)


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
