"""Write a batch of ActivityEvents: activities, rollups and help edges in one transaction.

Idempotency rests on the unique (space_id, event_id) key: activities are inserted with
ON CONFLICT DO NOTHING ... RETURNING, and only the rows that were really inserted feed the
rollups, so a replay, a platform retry or a re-import changes nothing.

The writer works on event records (``event_record``): an ActivityEvent flattened into a plain
tuple. The live path converts its events; the history import builds records in a reader process
and sends them over, since tuples cost little to pickle and nothing to validate twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from itertools import compress
from operator import itemgetter

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
from sqlalchemy.ext.asyncio import AsyncConnection

from community.events import MEMBERSHIP_KINDS, POSTING_KINDS, ActivityEvent, ActivityKind
from community.privacy import member_hash
from community.tiers import COUNT_FIELDS
from storage.models import (
    Activity,
    Blocklist,
    Channel,
    ChannelActivity,
    DailyRollup,
    HelpEdge,
    Member,
    Space,
)
from storage.records import event_records

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
_FLAGS = ("is_question", "is_thanks", "is_answer")


def dialect_insert(conn: AsyncConnection, table):
    """INSERT for the connection's dialect, with ON CONFLICT support on both backends."""
    return _insert_for(conn.dialect.name, table)


def _greatest(current, proposed):
    # LEAST/GREATEST are PostgreSQL-only and SQLite's min/max double as aggregates: use CASE.
    return case((proposed > current, proposed), else_=current)


def _least(current, proposed):
    return case((proposed < current, proposed), else_=current)


def _insert_for(dialect: str, table):
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


@cache
def _statements(dialect: str) -> dict:
    """The per-batch statements, built once per dialect so SQLAlchemy reuses their cache keys."""
    activities = (
        _insert_for(dialect, Activity)
        .on_conflict_do_nothing(index_elements=["space_id", "event_id"])
        .returning(Activity.space_id, Activity.event_id, Activity.id)
    )
    when = bindparam("when", type_=Member.joined_at.type)
    member = Member.id == bindparam("row_id")
    return {
        "activities": activities,
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
    daily = _insert_for(dialect, DailyRollup).from_select(
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
    edges = _insert_for(dialect, HelpEdge).from_select(
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
            "first_day": _least(HelpEdge.first_day, edges.excluded.first_day),
            "last_day": _greatest(HelpEdge.last_day, edges.excluded.last_day),
        },
    )
    where = (a.member_id, a.channel_id)
    channels = _insert_for(dialect, ChannelActivity).from_select(
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
            "last_day": _greatest(ChannelActivity.last_day, channels.excluded.last_day),
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
        return row_id == any_(bindparam("ids", type_=postgresql.ARRAY(BigInteger)))
    return row_id > bindparam("after", type_=BigInteger)


# Executed with row_id and name: a member stored without a name gets one, a named one keeps it.
NAME_IF_UNNAMED = (
    update(Member)
    .where(Member.id == bindparam("row_id"), Member.display_name.is_(None))
    .values(display_name=bindparam("name"))
)


# How the SQLite writer's rows say "none" for the nullable columns (see _sqlite_activities_sql).
_ABSENT = {"channel_id": 0, "target_member_id": 0, "parent_event_id": ""}


@cache
def _sqlite_activities_sql() -> str:
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


async def _insert_activities_sqlite(
    conn: AsyncConnection, rows: list[tuple]
) -> tuple[int, set[tuple[int, str]] | None]:
    """Insert ROWS; return the highest id before them, and the new rows' keys (None: all).

    The keys are (space, event id) pairs. sqlite3's executemany cannot RETURNING, but the
    writer holds the write lock (BEGIN IMMEDIATE) and ids only grow, so the rows above the old
    maximum id are exactly the new ones.
    """
    before = (await conn.exec_driver_sql("SELECT max(id) FROM activities")).scalar() or 0
    result = await conn.exec_driver_sql(_sqlite_activities_sql(), rows)
    if result.rowcount == len(rows):
        return before, None
    new = await conn.exec_driver_sql(
        "SELECT space_id, event_id FROM activities WHERE id > ?", (before,)
    )
    return before, {tuple(key) for key in new}


@dataclass
class IdCache:
    """Platform id to row id maps, kept across batches; only committed ids go in."""

    spaces: dict[tuple[str, str], int] = field(default_factory=dict)
    channels: dict[tuple[int, str], int] = field(default_factory=dict)
    members: dict[tuple[int, str], int] = field(default_factory=dict)
    member_names: dict[int, str | None] = field(default_factory=dict)


@dataclass
class WriteResult:
    """What one batch did."""

    inserted: int = 0
    duplicates: int = 0
    blocked: int = 0


@dataclass
class _Pending:
    """Ids resolved inside the current transaction, merged into the cache after commit."""

    spaces: dict[tuple[str, str], int] = field(default_factory=dict)
    channels: dict[tuple[int, str], int] = field(default_factory=dict)
    members: dict[tuple[int, str], int] = field(default_factory=dict)
    member_names: dict[int, str | None] = field(default_factory=dict)

    def merge_into(self, cache: IdCache) -> None:
        cache.spaces.update(self.spaces)
        cache.channels.update(self.channels)
        cache.members.update(self.members)
        cache.member_names.update(self.member_names)


class BatchWriter:
    """Writes batches of events through one connection's transaction."""

    def __init__(self, hash_key: bytes, cache: IdCache | None = None) -> None:
        self.hash_key = hash_key
        self.cache = cache or IdCache()
        self._pending: _Pending | None = None
        # member_hash is a pure function of its key: compute each one once, not once a batch.
        self._hashes: dict[tuple[str, str, str], str] = {}
        self._listed: int | None = None  # blocklist entries when the last batch began

    def commit_succeeded(self) -> None:
        """Keep the ids resolved in the transaction that just committed."""
        if self._pending is not None:
            self._pending.merge_into(self.cache)
        self._pending = None

    def rollback_happened(self) -> None:
        """Forget ids from a transaction that rolled back: their rows do not exist."""
        self._pending = None

    async def write(self, conn: AsyncConnection, events: Sequence[ActivityEvent]) -> WriteResult:
        """Write EVENTS on CONN's open transaction; the caller commits."""
        return await self.write_records(conn, event_records(events))

    async def write_records(self, conn: AsyncConnection, records: Sequence[tuple]) -> WriteResult:
        """Write event RECORDS (see event_record) on CONN's open transaction; the caller commits."""
        self._pending = _Pending()
        result = WriteResult()
        records = await self._drop_blocked(conn, records, result)
        if not records:
            return result
        space_ids = await self._space_ids(conn, records)
        as_text = conn.dialect.name == "sqlite"
        groups = _by_space(records, space_ids)
        rows: list[tuple] = []
        member_ids: dict[int, dict[str, int]] = {}
        for space, group in groups.items():
            channels = await self._channel_ids(conn, space, group)
            members = member_ids[space] = await self._member_ids(conn, space, group)
            answers = await self._answers(conn, space, group, members)
            rows += _activity_rows(space, group, channels, members, answers, as_text)
        inserted_rows, new = await self._insert_activities(conn, rows)
        result.inserted = len(inserted_rows)
        result.duplicates = len(rows) - len(inserted_rows)
        if inserted_rows:
            statements = _statements(conn.dialect.name)
            for name in ("rollups", "edges", "channels"):
                await conn.execute(statements[name], new)
            await _count_acceptances(conn, statements, new)
            await self._apply_membership(conn, groups, inserted_rows, member_ids)
        return result

    async def _drop_blocked(
        self, conn: AsyncConnection, records: Sequence[tuple], result: WriteResult
    ) -> list[tuple]:
        # Nearly always nobody opted out: one count then spares hashing and lookups.
        listed = (await conn.execute(select(func.count()).select_from(Blocklist))).scalar_one()
        if self._listed is not None and listed != self._listed:
            # Someone opted out since: their member row is gone, so no cached id may outlive
            # it (a writer whose hash key differs from the opt-out's would not see the entry).
            self.cache.members.clear()
            self.cache.member_names.clear()
        self._listed = listed
        if not listed:
            return list(records)
        keys = {(r[0], r[1], r[4]) for r in records}
        keys.update((r[0], r[1], r[8]) for r in records if r[8] is not None)
        known = self._hashes
        hashes: dict[tuple[str, str, str], str] = {}
        for key in keys:
            digest = known.get(key)
            if digest is None:
                digest = known[key] = member_hash(self.hash_key, *key)
            hashes[key] = digest
        if listed <= len(hashes):  # a short blocklist: read it whole
            blocked_hashes = set((await conn.execute(select(Blocklist.id_hash))).scalars())
        else:
            blocked_hashes = set()
            for chunk in _chunks(sorted(set(hashes.values()))):
                blocked_hashes.update(
                    (
                        await conn.execute(
                            select(Blocklist.id_hash).where(Blocklist.id_hash.in_(chunk))
                        )
                    ).scalars()
                )
        if blocked_hashes.isdisjoint(hashes.values()):
            return list(records)
        kept = []
        for r in records:
            if hashes[(r[0], r[1], r[4])] in blocked_hashes:
                result.blocked += 1
                continue
            if r[8] is not None and hashes[(r[0], r[1], r[8])] in blocked_hashes:
                # Keep the actor's activity, but forget whom it was aimed at.
                if r[3] == ActivityKind.REACTION_RECEIVED:
                    result.blocked += 1
                    continue
                r = _without_target(r)
            kept.append(r)
        return kept

    async def _space_ids(
        self, conn: AsyncConnection, records: Sequence[tuple]
    ) -> dict[tuple[str, str], int]:
        wanted = dict(zip(map(_SPACE_KEY, records), map(_SPACE_NAME, records), strict=True))
        found = {k: self.cache.spaces[k] for k in wanted if k in self.cache.spaces}
        missing = sorted(k for k in wanted if k not in found)
        if missing:
            # A space is "created" when its first event happened: no wall clock in the writer.
            first_seen: dict[tuple[str, str], str] = {}
            for r in records:
                key = (r[0], r[1])
                if key not in first_seen or r[5] < first_seen[key]:
                    first_seen[key] = r[5]
            stmt = dialect_insert(conn, Space).on_conflict_do_nothing(
                index_elements=["platform", "platform_id"]
            )
            await conn.execute(
                stmt,
                [
                    {
                        "platform": p,
                        "platform_id": s,
                        "name": wanted[(p, s)],
                        "created_at": _record_time(first_seen[(p, s)]),
                    }
                    for p, s in missing
                ],
            )
            for p, s in missing:
                row_id = (
                    await conn.execute(
                        select(Space.id).where(Space.platform == p, Space.platform_id == s)
                    )
                ).scalar_one()
                found[(p, s)] = row_id
                self._pending.spaces[(p, s)] = row_id
        return found

    async def _channel_ids(
        self, conn: AsyncConnection, space: int, records: Sequence[tuple]
    ) -> dict[str, int]:
        """Row ids of the channels RECORDS of SPACE name, by platform id."""
        # A new channel gets the last name the batch gives it.
        wanted = dict.fromkeys(filter(None, map(_CHANNEL, records)))
        wanted.update(filter(all, map(_CHANNEL_AND_NAME, records)))
        cached = self.cache.channels
        found = {c: cached[(space, c)] for c in wanted if (space, c) in cached}
        missing = sorted(c for c in wanted if c not in found)
        if missing:
            stmt = dialect_insert(conn, Channel).on_conflict_do_nothing(
                index_elements=["space_id", "platform_id"]
            )
            await conn.execute(
                stmt,
                [
                    {"space_id": space, "platform_id": c, "name": wanted[c], "is_help": False}
                    for c in missing
                ],
            )
            looked_up = await _lookup(conn, Channel, space, missing)
            found.update(looked_up)
            self._pending.channels.update({(space, c): row_id for c, row_id in looked_up.items()})
        return found

    async def _member_ids(
        self, conn: AsyncConnection, space: int, records: Sequence[tuple]
    ) -> dict[str, int]:
        """Row ids of the members RECORDS of SPACE name (actors and targets), by platform id."""
        wanted = dict.fromkeys(map(_MEMBER, records))
        wanted.update(dict.fromkeys(filter(None, map(_TARGET, records))))
        # The last name the batch gives a member; a member is a bot if any event says so.
        names = dict(filter(_SECOND, map(_MEMBER_AND_NAME, records)))
        bots = set(compress(map(_MEMBER, records), map(_MEMBER_IS_BOT, records)))
        cached = self.cache.members
        found = {m: cached[(space, m)] for m in wanted if (space, m) in cached}
        # Sorted, so concurrent writers take row locks in the same order and cannot deadlock.
        missing = sorted(m for m in wanted if m not in found)
        if missing:
            stmt = dialect_insert(conn, Member).on_conflict_do_nothing(
                index_elements=["space_id", "platform_id"]
            )
            await conn.execute(
                stmt,
                [
                    {
                        "space_id": space,
                        "platform_id": m,
                        "display_name": names.get(m),
                        "is_bot": m in bots,
                        "is_staff": False,
                    }
                    for m in missing
                ],
            )
            found.update(await _lookup(conn, Member, space, missing))
            for m in missing:
                self._pending.members[(space, m)] = found[m]
                self._pending.member_names[found[m]] = names.get(m)
            # A member stored earlier without a name (first seen as someone's target, before
            # this writer started: a restart, a resumed import) gets the batch's name now, as
            # if this writer had stored them. Only a missing name: a stored one may be newer.
            unnamed = [{"row_id": found[m], "name": names[m]} for m in missing if m in names]
            if unnamed:
                await conn.execute(NAME_IF_UNNAMED, unnamed)
        # A display name that changed since we last saw it is updated once, not per event.
        missing_set = set(missing)
        known_names = self.cache.member_names
        renamed = [
            {"row_id": found[m], "name": name}
            for m, name in sorted(names.items())
            if m not in missing_set and known_names.get(found[m]) != name
        ]
        if renamed:
            await conn.execute(
                update(Member)
                .where(Member.id == bindparam("row_id"))
                .values(display_name=bindparam("name")),
                renamed,
            )
            for row in renamed:
                self._pending.member_names[row["row_id"]] = row["name"]
        return found

    async def _answers(
        self,
        conn: AsyncConnection,
        space: int,
        records: Sequence[tuple],
        members: dict[str, int],
    ) -> set[str]:
        """Event ids of the replies among RECORDS of SPACE that answer a question.

        A reply that helps another member (community.helpgraph) answers when that member asked
        the question it hangs from, or asked one earlier in the same thread, and is not itself
        a question (a clarifying question helps but answers nothing yet); a helper is credited
        once per thread, however many replies they write in it. Only threads begun
        before the batch are looked up in the database.
        """
        helping = [r for r in records if _helps(r)]
        if not helping:
            return set()
        # A thread whose first message is in this batch has nothing stored yet: replies are
        # written after the message they hang from (only a live event racing catch-up could
        # store one before it, and would at worst credit its helper twice).
        threads = sorted({r[9] for r in helping}.difference(map(_EVENT_ID, records)))
        askers: dict[str, int] = {}  # question event id -> who asked it
        asked: dict[tuple[str, int], str] = {}  # (thread, asker) -> first question's time
        credited: set[tuple[str, int]] = set()  # (thread, helper) already credited

        def note_question(thread: str, asker: int, when: str) -> None:
            first = asked.get((thread, asker))
            if first is None or when < first:
                asked[(thread, asker)] = when

        a = Activity
        for chunk in _chunks(threads):
            rows = await conn.execute(
                select(a.event_id, a.member_id).where(
                    a.space_id == space, a.event_id.in_(chunk), a.is_question.is_(True)
                )
            )
            askers.update(dict(rows.all()))
            rows = await conn.execute(
                select(
                    a.parent_event_id, a.member_id, a.occurred_at, a.is_question, a.is_answer
                ).where(
                    a.space_id == space,
                    a.parent_event_id.in_(chunk),
                    a.kind == ActivityKind.REPLY.value,
                    a.is_question.is_(True) | a.is_answer.is_(True),
                )
                # No ORDER BY: sorting by time makes SQLite walk the time index, not the parents'.
            )
            for thread, member, occurred, is_question, is_answer in rows:
                if is_question:
                    note_question(thread, member, _time_text(occurred))
                if is_answer:
                    credited.add((thread, member))
        for r in records:
            if r[10]:
                asker = members[r[4]]
                askers[r[2]] = asker
                if r[3] == "reply" and r[9]:
                    note_question(r[9], asker, r[5])
        answers = set()
        for r in helping:  # in event order: the first reply of a helper in a thread is credited
            if r[10]:
                continue  # "Which version are you on?" helps, but answers nothing yet
            thread, helper, helped = r[9], members[r[4]], members[r[8]]
            if (thread, helper) in credited:
                continue
            first_asked = asked.get((thread, helped))
            if askers.get(thread) == helped or (first_asked is not None and first_asked <= r[5]):
                answers.add(r[2])
                credited.add((thread, helper))
        return answers

    async def _insert_activities(
        self, conn: AsyncConnection, rows: list[tuple]
    ) -> tuple[list[tuple], dict]:
        """Insert ROWS (in ACTIVITY_COLUMNS order); return the new ones, and how to select them.

        The second is the parameters of the rollup statements (see _rollup_statements).
        """
        if conn.dialect.name == "sqlite":
            after, inserted = await _insert_activities_sqlite(conn, rows)
            new: dict = {"after": after}
        else:
            stmt = _statements(conn.dialect.name)["activities"]
            params = [dict(zip(ACTIVITY_COLUMNS, row, strict=True)) for row in rows]
            for values in params:  # flags travel as 0 or 1; asyncpg takes only bools
                for flag in _FLAGS:
                    values[flag] = bool(values[flag])
            returned = (await conn.execute(stmt, params)).all()
            inserted = {(space, event) for space, event, _ in returned}
            new = {"ids": [row_id for _, _, row_id in returned]}
        if inserted is None:  # every row was new and no key repeats inside the batch
            return rows, new
        kept = []
        for row in rows:
            key = (row[0], row[1])
            if key in inserted:
                inserted.discard(key)  # an id repeated inside the batch was inserted once
                kept.append(row)
        return kept, new

    async def _apply_membership(
        self,
        conn: AsyncConnection,
        groups: dict[int, list[tuple]],
        inserted: Sequence[tuple],
        member_ids: dict[int, dict[str, int]],
    ) -> None:
        if MEMBERSHIP_KINDS.isdisjoint(map(itemgetter(2), inserted)):  # kinds, in C
            return
        # One executemany per run of same-kind events, not two statements per event. Runs keep
        # joins and leaves in event order; inside a run of joins, "joined" only touches joined_at
        # and "rejoined" only left_at, so running all of one before the other changes nothing.
        runs: list[tuple[str, list[dict]]] = []
        for space, group in groups.items():
            members = member_ids[space]
            for r in group:
                kind = r[3]
                if kind not in MEMBERSHIP_KINDS:
                    continue
                params = {"row_id": members[r[4]], "when": _record_time(r[5])}
                if runs and runs[-1][0] == kind:
                    runs[-1][1].append(params)
                else:
                    runs.append((kind, [params]))
        statements = _statements(conn.dialect.name)
        for kind, params in runs:
            if kind == ActivityKind.MEMBER_JOINED:
                await conn.execute(statements["joined"], params)
                await conn.execute(statements["rejoined"], params)
            else:
                await conn.execute(statements["left"], params)


# Record fields (storage.records.EVENT_FIELDS) for the per-batch passes over records: map,
# filter and compress with these run in C, several times faster than comprehensions.
_SPACE_KEY = itemgetter(0, 1)
_EVENT_ID, _MEMBER, _CHANNEL, _TARGET = itemgetter(2), itemgetter(4), itemgetter(7), itemgetter(8)
_IS_QUESTION, _MEMBER_IS_BOT, _SPACE_NAME = itemgetter(10), itemgetter(13), itemgetter(14)
_MEMBER_AND_NAME, _CHANNEL_AND_NAME = itemgetter(4, 12), itemgetter(7, 15)
_SECOND = itemgetter(1)


def _by_space(
    records: Sequence[tuple], space_ids: dict[tuple[str, str], int]
) -> dict[int, list[tuple]]:
    """RECORDS grouped by space row id, in order (nearly always a single space)."""
    if len(space_ids) == 1:
        return {next(iter(space_ids.values())): list(records)}
    groups: dict[int, list[tuple]] = {}
    for r in records:
        groups.setdefault(space_ids[(r[0], r[1])], []).append(r)
    return dict(sorted(groups.items()))


def _activity_rows(
    space: int,
    records: Sequence[tuple],
    channels: dict[str, int],
    members: dict[str, int],
    answers: set[str],
    as_text: bool,
) -> list[tuple]:
    """The activities rows (ACTIVITY_COLUMNS order) of RECORDS of SPACE, ids resolved."""
    rows = []
    append = rows.append
    # SQLite's rows say "none" with values sqlite3 binds faster (see _sqlite_activities_sql).
    no_id, no_parent = (0, "") if as_text else (None, None)
    for (_, _, event_id, kind, member, occurred, day, channel, target, parent, is_question,
         is_thanks, *_) in records:  # fmt: skip
        append(
            (
                space,
                event_id,
                kind,
                members[member],
                channels[channel] if channel else no_id,
                members[target] if target else no_id,
                parent or no_parent,
                is_question,
                is_thanks,
                # 0 or 1, as the record's flags (see storage.records).
                1 if event_id in answers else 0,
                occurred if as_text else _record_time(occurred),
                day,
            )
        )
    return rows


async def _count_acceptances(conn: AsyncConnection, statements: dict, new: dict) -> None:
    """Mark the replies the batch's new rows accept, and count them in their authors' rollups."""
    accepted: dict[tuple[int, int], int] = {}
    for name in ("accepted_by_reaction", "accepted_on_arrival", "accepted_by_thanks"):
        for member, day in await conn.execute(statements[name], new):
            accepted[(member, day)] = accepted.get((member, day), 0) + 1
    if accepted:
        await conn.execute(
            statements["count_accepted"],
            [{"member": m, "rollup_day": d, "n": n} for (m, d), n in sorted(accepted.items())],
        )


def _helps(record: tuple) -> bool:
    """Whether an event record is a reply that helps another member (ActivityEvent.helps_other).

    The same rule as the rollups' ``helps`` (see _rollup_statements), for records.
    """
    return (
        record[3] == "reply"
        and not record[11]
        and record[8] is not None
        and record[8] != record[4]
        and bool(record[9])
    )


def _time_text(moment: datetime) -> str:
    """A stored time as a record's UTC text (see storage.records), to compare with records'."""
    return moment.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def _record_time(text: str) -> datetime:
    """A record's UTC text back as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _chunks(items: list, size: int = 500) -> Iterator[list]:
    """ITEMS in slices the drivers accept as IN lists."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _without_target(record: tuple) -> tuple:
    """RECORD aimed at nobody: no target, and so no thank-you either."""
    return (*record[:8], None, record[9], record[10], 0, *record[12:])


async def _lookup(
    conn: AsyncConnection, model, space: int, platform_ids: list[str]
) -> dict[str, int]:
    """Row ids of SPACE's channels or members by platform id, in chunks the drivers accept."""
    found = {}
    for chunk in _chunks(platform_ids):
        rows = await conn.execute(
            select(model.platform_id, model.id).where(
                model.space_id == space, model.platform_id.in_(chunk)
            )
        )
        found.update(dict(rows.all()))
    return found
