"""The SQL the batch writer runs: per-batch statements built once per dialect.

The activities insert on SQLite (compiled once for plain-tuple executemany; on PostgreSQL it
goes by COPY, storage.writer.pg_insert), the rollup, help-edge and channel upserts driven from
a batch's new rows, the accepted-answer updates, and the membership updates.
storage.writer.batch runs them; the rules are in _rollup_statements and _acceptance_statements.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import (
    BigInteger,
    and_,
    any_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from community.events import POSTING_KINDS, ActivityKind
from community.tiers import COUNT_FIELDS
from storage.engine import greatest, insert_for, least
from storage.models import Activity, ChannelActivity, DailyRollup, HelpEdge, Member

# The rollup columns are exactly the counts the tier rules weigh.
ROLLUP_COUNTS = COUNT_FIELDS


# The order of the activity tuples the writer builds, and where the rollups find their fields.
ACTIVITY_COLUMNS = (
    "space_id",
    "event_id",
    "kind",
    "member_id",
    "channel_id",
    "target_member_id",
    "parent_event_id",
    "is_question",
    "is_thanks",
    "is_answer",
    "occurred_at",
    "day",
)


@cache
def batch_statements(dialect: str) -> dict:
    """The per-batch statements, built once per dialect so SQLAlchemy reuses their cache keys."""
    when = bindparam("when", type_=Member.joined_at.type)
    member = Member.id == bindparam("row_id")
    return {
        **_rollup_statements(dialect),
        # The latest join wins; a join after a leave means they came back.
        "joined": update(Member)
        .where(member, Member.joined_at.is_(None) | (Member.joined_at < when))
        .values(joined_at=when),
        "rejoined": update(Member)
        .where(member, Member.left_at.is_not(None), Member.left_at < when)
        .values(left_at=None),
        "left": update(Member)
        .where(member, Member.joined_at.is_(None) | (Member.joined_at <= when))
        .values(left_at=when),
    }


def _rollup_statements(dialect: str) -> dict:
    """INSERT ... SELECT statements that add a batch's new activities to the three rollups.

    The batch's new rows are ``activities.id > :after`` on SQLite (the writer holds the write
    lock, and ids only grow) and ``activities.id = ANY(:ids)`` on PostgreSQL (what RETURNING
    said was inserted). Grouping the rows costs the database about what Python's dicts cost; what
    it saves is building, sorting and binding a parameter tuple per rollup row in the writer
    (about 5 s of an import of 1M messages).

    The rules, as the tiers read them: a post counts a message for its author (a question,
    a thread started), a reply that helps another member counts a reply (an answer when the
    writer marked it one, see BatchWriter._answers) and a help edge, a thank-you aimed at
    another member counts thanks received for them, once per thanker and thread; a reaction
    counts given for its giver and received for whom it is aimed at (a removal undoes one); a
    contribution counts for its member. Every (member, day) an event touches gets its row, even
    when its counts net to zero, and rows are upserted in key order so that concurrent
    PostgreSQL writers lock them in one order.
    """
    a = Activity.__table__.c
    new = _new_rows(dialect, a.id)

    # Constants are written into the SQL: bound, they would hide the CASEs from the planner.
    zero, plus, minus = literal_column("0"), literal_column("1"), literal_column("-1")

    def one(condition):
        return case((condition, plus), else_=zero)

    posting_kinds = sorted(kind.value for kind in POSTING_KINDS)
    posting = a.kind.in_(posting_kinds)
    aimed = and_(a.target_member_id.is_not(None), a.target_member_id != a.member_id)
    helps = and_(a.kind == "reply", aimed, a.is_thanks.is_(False))
    # Thanks count once per (thanker, thanked, thread): "thanks!" then "thanks again" is one.
    earlier = Activity.__table__.alias("earlier")
    thanked_before = (
        select(literal_column("1"))
        .where(
            earlier.c.space_id == a.space_id,
            earlier.c.parent_event_id == a.parent_event_id,
            earlier.c.member_id == a.member_id,
            earlier.c.target_member_id == a.target_member_id,
            earlier.c.is_thanks.is_(True),
            earlier.c.kind.in_(posting_kinds),
            earlier.c.id < a.id,
        )
        .exists()
    )
    thanks = and_(
        posting,
        a.is_thanks.is_(True),
        aimed,
        or_(a.parent_event_id.is_(None), ~thanked_before),
    )
    reaction = a.kind.in_(["reaction_given", "reaction_removed"])
    given = case(
        (a.kind == "reaction_given", plus), (a.kind == "reaction_removed", minus), else_=zero
    )
    # Each event's counts for its actor, and for whom it was aimed at; summed per member and day.
    by_actor = select(
        a.member_id.label("member_id"),
        a.day,
        a.space_id,
        one(posting).label("messages"),
        one(and_(posting, a.is_question.is_(True))).label("questions"),
        one(helps).label("replies"),
        one(and_(helps, a.is_answer.is_(True))).label("answers"),
        zero.label("thanks_received"),
        given.label("reactions_given"),
        zero.label("reactions_received"),
        one(a.kind == "thread_started").label("threads_started"),
        one(a.kind == "contribution_logged").label("contributions"),
        # Counted when the asker accepts the reply, which comes later (see _acceptances).
        zero.label("accepted_answers"),
    ).where(new, or_(posting, reaction, a.kind == "contribution_logged"))
    by_target = select(
        a.target_member_id,
        a.day,
        a.space_id,
        zero,
        zero,
        zero,
        zero,
        one(thanks),
        zero,
        case((a.kind == "reaction_received", plus), else_=given),
        zero,
        zero,
        zero,
    ).where(
        new,
        or_(thanks, and_(reaction, aimed), a.kind == "reaction_received"),
    )
    counts = union_all(by_actor, by_target).subquery()
    key = (counts.c.member_id, counts.c.day)
    daily = insert_for(dialect, DailyRollup).from_select(
        ["member_id", "day", "space_id", *ROLLUP_COUNTS],
        select(*key, counts.c.space_id, *(func.sum(counts.c[c]) for c in ROLLUP_COUNTS))
        .group_by(*key, counts.c.space_id)
        .order_by(*key),
    )
    daily = daily.on_conflict_do_update(
        index_elements=["member_id", "day"],
        set_={c: DailyRollup.__table__.c[c] + daily.excluded[c] for c in ROLLUP_COUNTS},
    )
    pair = (a.member_id, a.target_member_id)
    edges = insert_for(dialect, HelpEdge).from_select(
        ["helper_id", "helped_id", "space_id", "first_day", "last_day", "replies"],
        select(*pair, a.space_id, func.min(a.day), func.max(a.day), func.count())
        .where(new, helps)
        .group_by(*pair, a.space_id)
        .order_by(*pair),
    )
    edges = edges.on_conflict_do_update(
        index_elements=["helper_id", "helped_id"],
        set_={
            "replies": HelpEdge.replies + edges.excluded.replies,
            "first_day": least(HelpEdge.first_day, edges.excluded.first_day),
            "last_day": greatest(HelpEdge.last_day, edges.excluded.last_day),
        },
    )
    where = (a.member_id, a.channel_id)
    channels = insert_for(dialect, ChannelActivity).from_select(
        ["member_id", "channel_id", "space_id", "posts", "last_day"],
        select(*where, a.space_id, func.count(), func.max(a.day))
        .where(new, posting, a.channel_id.is_not(None))
        .group_by(*where, a.space_id)
        .order_by(*where),
    )
    channels = channels.on_conflict_do_update(
        index_elements=["member_id", "channel_id"],
        set_={
            "posts": ChannelActivity.posts + channels.excluded.posts,
            "last_day": greatest(ChannelActivity.last_day, channels.excluded.last_day),
        },
    )
    return {
        "rollups": daily,
        "edges": edges,
        "channels": channels,
        **_acceptance_statements(dialect),
    }


def _acceptance_statements(dialect: str) -> dict:
    """UPDATEs that mark the replies a batch's new thank-yous and accept reactions accept.

    An asker accepts a reply when they thank its author in the thread after it (the author's
    latest helping reply to them there), or react to it with an accept emoji (a reaction whose
    is_thanks is set, see community.helpgraph.accept_keys), whichever of reply and reaction is
    stored first. A reply is accepted once; a thank-you accepts only the latest reply before
    it, so "thanks!" and "thanks again" accept one. Each statement returns the accepted
    replies' authors and days, whose daily rollups then count the accepted answer; each is
    driven from the batch's new rows, so its cost follows the batch, not the table.
    """
    acc = Activity.__table__.alias("acc")
    found = Activity.__table__.alias("found")
    r = Activity.__table__

    def helps(reply, asker):
        # REPLY helps the member ASKER (a thank-you or a reaction) comes from.
        return and_(
            reply.c.kind == "reply",
            reply.c.is_thanks.is_(False),
            reply.c.member_id == asker.c.target_member_id,
            reply.c.target_member_id == asker.c.member_id,
            reply.c.member_id != reply.c.target_member_id,
        )

    def reacted_to(driving):
        # Replies accepted by a reaction, from the batch's new rows of DRIVING: new reactions,
        # or new replies whose accept reaction was stored first (live, before catch-up).
        other = found if driving is acc else acc
        return (
            select(found.c.id)
            .select_from(driving)
            .join(
                other,
                and_(found.c.space_id == acc.c.space_id, found.c.event_id == acc.c.parent_event_id),
            )
            .where(
                _new_rows(dialect, driving.c.id),
                acc.c.kind == "reaction_given",
                acc.c.is_thanks.is_(True),
                helps(found, acc),
            )
        )

    latest_helped = (
        select(found.c.id)
        .where(
            found.c.space_id == acc.c.space_id,
            or_(
                found.c.parent_event_id == acc.c.parent_event_id,
                found.c.event_id == acc.c.parent_event_id,
            ),
            helps(found, acc),
            found.c.id < acc.c.id,
        )
        .order_by(found.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    by_thanks = select(latest_helped).where(
        _new_rows(dialect, acc.c.id),
        acc.c.kind.in_([ActivityKind.REPLY.value, ActivityKind.MESSAGE.value]),
        acc.c.is_thanks.is_(True),
        acc.c.target_member_id.is_not(None),
        acc.c.parent_event_id.is_not(None),
    )

    def accept(replies):
        return (
            update(r)
            .where(r.c.id.in_(replies), r.c.is_accepted.is_(False))
            .values(is_accepted=True)
            .returning(r.c.member_id, r.c.day)
        )

    counted = update(DailyRollup).where(
        DailyRollup.member_id == bindparam("member"), DailyRollup.day == bindparam("rollup_day")
    )
    return {
        "accepted_by_reaction": accept(reacted_to(acc)),
        "accepted_on_arrival": accept(reacted_to(found)),
        "accepted_by_thanks": accept(by_thanks),
        "count_accepted": counted.values(
            accepted_answers=DailyRollup.accepted_answers + bindparam("n")
        ),
    }


def _new_rows(dialect: str, row_id):
    """The condition that picks a batch's new activities by ROW_ID (see _rollup_statements)."""
    if dialect == "postgresql":
        # The range lets the planner walk the primary key over the batch's ids alone: the ids
        # of one INSERT are nearly contiguous (a concurrent writer's may fall between them).
        return and_(
            row_id.between(bindparam("low", type_=BigInteger), bindparam("high", type_=BigInteger)),
            row_id == any_(bindparam("ids", type_=postgresql.ARRAY(BigInteger))),
        )
    return row_id > bindparam("after", type_=BigInteger)


# Executed with row_id and name: a member stored without a name gets one, a named one keeps it.
NAME_IF_UNNAMED = (
    update(Member)
    .where(Member.id == bindparam("row_id"), Member.display_name.is_(None))
    .values(display_name=bindparam("name"))
)


# How the SQLite writer's rows say "none" for the nullable columns (see sqlite_activities_sql).
_ABSENT = {"channel_id": 0, "target_member_id": 0, "parent_event_id": ""}


@cache
def sqlite_activities_sql() -> str:
    """The activities insert compiled once to SQLite's SQL, for executemany with plain tuples.

    Going around SQLAlchemy's per-row parameter processing is most of the writer's speed: the
    values are already in the driver's types (see event_record), and the SQL is still built from
    the same construct as everywhere else. Rows give 0 for no channel or target and "" for no
    parent, which NULLIF turns into NULL: sqlite3 binds an int or a str as it is but looks for
    an adapter for every None (about 0.3 microseconds each, two per message). Row ids start at
    1 and event ids are never empty, so neither value can mean anything else.
    """
    absent = {column: f"{column}_or_absent" for column in _ABSENT}
    stmt = (
        sqlite.insert(Activity)
        .values(
            {
                c: func.nullif(bindparam(name), literal_column(repr(_ABSENT[c])))
                for c, name in absent.items()
            }
        )
        .on_conflict_do_nothing(index_elements=["space_id", "event_id"])
    )
    keys = [absent.get(column, column) for column in ACTIVITY_COLUMNS]
    compiled = stmt.compile(dialect=sqlite.dialect(), column_keys=keys)
    if list(compiled.positiontup) != keys:
        raise RuntimeError(f"activities: parameter order {compiled.positiontup} is not {keys}")
    return str(compiled)
