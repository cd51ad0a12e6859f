"""Write a batch of ActivityEvents: activities, rollups and help edges in one transaction.

Idempotency rests on the unique (space_id, event_id) key: activities are inserted with
ON CONFLICT DO NOTHING ... RETURNING, and only the rows that were really inserted feed the
rollups, so a replay, a platform retry or a re-import changes nothing.

The writer works on event records (``event_record``): an ActivityEvent flattened into a plain
tuple. The live path converts its events; the history import builds records in a reader process
and sends them over, since tuples cost little to pickle and nothing to validate twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from itertools import compress
from operator import itemgetter

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from community.events import POSTING_KINDS, ActivityEvent, ActivityKind
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
_COUNT_INDEX = {name: i for i, name in enumerate(ROLLUP_COUNTS)}
# Parameter order of the rollup statements: the tuples built in _apply_rollups follow it.
_DRIVER_KEYS = {
    "activities_sqlite": ACTIVITY_COLUMNS,
    "rollups": ("member_id", "day", "space_id", *ROLLUP_COUNTS),
    "edges": ("helper_id", "helped_id", "space_id", "first_day", "last_day", "replies"),
    "channels": ("member_id", "channel_id", "space_id", "posts", "last_day"),
}


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
        .returning(Activity.space_id, Activity.event_id)
    )
    rollup = _insert_for(dialect, DailyRollup)
    rollup = rollup.on_conflict_do_update(
        index_elements=["member_id", "day"],
        set_={c: DailyRollup.__table__.c[c] + rollup.excluded[c] for c in ROLLUP_COUNTS},
    )
    edges = _insert_for(dialect, HelpEdge)
    edges = edges.on_conflict_do_update(
        index_elements=["helper_id", "helped_id"],
        set_={
            "replies": HelpEdge.replies + edges.excluded.replies,
            "first_day": _least(HelpEdge.first_day, edges.excluded.first_day),
            "last_day": _greatest(HelpEdge.last_day, edges.excluded.last_day),
        },
    )
    channels = _insert_for(dialect, ChannelActivity)
    channels = channels.on_conflict_do_update(
        index_elements=["member_id", "channel_id"],
        set_={
            "posts": ChannelActivity.posts + channels.excluded.posts,
            "last_day": _greatest(ChannelActivity.last_day, channels.excluded.last_day),
        },
    )
    when = bindparam("when", type_=Member.joined_at.type)
    member = Member.id == bindparam("row_id")
    return {
        "activities": activities,
        "rollups": rollup,
        "edges": edges,
        "channels": channels,
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


@cache
def _driver_sql(dialect: str, name: str) -> str:
    """Statement NAME compiled once to the driver's SQL, for executemany with plain tuples.

    Going around SQLAlchemy's per-row parameter processing is most of the writer's speed: the
    values are already in the driver's types (see event_record), and the SQL is still built from
    the same constructs as everywhere else.
    """
    keys = list(_DRIVER_KEYS[name])
    if name == "activities_sqlite":
        stmt = sqlite.insert(Activity).on_conflict_do_nothing(
            index_elements=["space_id", "event_id"]
        )
    else:
        stmt = _statements(dialect)[name]
    target = postgresql.asyncpg.dialect() if dialect == "postgresql" else sqlite.dialect()
    compiled = stmt.compile(dialect=target, column_keys=keys)
    if list(compiled.positiontup) != keys:
        raise RuntimeError(f"{name}: parameter order {compiled.positiontup} is not {keys}")
    return str(compiled)


async def _insert_activities_sqlite(
    conn: AsyncConnection, rows: list[tuple]
) -> set[tuple[int, str]] | None:
    """Insert ROWS; None when all were new, else the (space, event id) keys that were.

    sqlite3's executemany cannot RETURNING, but the writer holds the write lock (BEGIN
    IMMEDIATE) and ids only grow, so the rows above the old maximum id are exactly the new ones.
    """
    before = (await conn.exec_driver_sql("SELECT max(id) FROM activities")).scalar() or 0
    result = await conn.exec_driver_sql(_driver_sql("sqlite", "activities_sqlite"), rows)
    if result.rowcount == len(rows):
        return None
    new = await conn.exec_driver_sql(
        "SELECT space_id, event_id FROM activities WHERE id > ?", (before,)
    )
    return {tuple(key) for key in new}


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
            answered = await self._questions_answered(conn, space, group)
            rows += _activity_rows(space, group, channels, members, answered, as_text)
        inserted_rows = await self._insert_activities(conn, rows)
        result.inserted = len(inserted_rows)
        result.duplicates = len(rows) - len(inserted_rows)
        if inserted_rows:
            spaces = {row_id: space for space, ids in member_ids.items() for row_id in ids.values()}
            await _apply_rollups(conn, inserted_rows, spaces)
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
            now = datetime.now(UTC)
            stmt = dialect_insert(conn, Space).on_conflict_do_nothing(
                index_elements=["platform", "platform_id"]
            )
            await conn.execute(
                stmt,
                [
                    {"platform": p, "platform_id": s, "name": wanted[(p, s)], "created_at": now}
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
                await conn.execute(
                    update(Member)
                    .where(Member.id == bindparam("row_id"), Member.display_name.is_(None))
                    .values(display_name=bindparam("name")),
                    unnamed,
                )
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

    async def _questions_answered(
        self, conn: AsyncConnection, space: int, records: Sequence[tuple]
    ) -> set[str]:
        """Event ids of the questions that replies among RECORDS of SPACE answer."""
        in_batch = set(compress(map(_EVENT_ID, records), map(_IS_QUESTION, records)))
        # The parents of replies aimed at another member that are not thanks (helps_other).
        parents = {
            r[9]
            for r in records
            if r[3] == "reply" and not r[11] and r[8] is not None and r[8] != r[4] and r[9]
        }
        questions = parents & in_batch
        for chunk in _chunks(sorted(parents - questions)):
            rows = await conn.execute(
                select(Activity.event_id).where(
                    Activity.space_id == space,
                    Activity.event_id.in_(chunk),
                    Activity.is_question.is_(True),
                )
            )
            questions.update(rows.scalars())
        return questions

    async def _insert_activities(self, conn: AsyncConnection, rows: list[tuple]) -> list[tuple]:
        """Insert ROWS (in ACTIVITY_COLUMNS order); return the ones that were new."""
        if conn.dialect.name == "sqlite":
            inserted = await _insert_activities_sqlite(conn, rows)
        else:
            stmt = _statements(conn.dialect.name)["activities"]
            params = [dict(zip(ACTIVITY_COLUMNS, row, strict=True)) for row in rows]
            for values in params:  # flags travel as 0 or 1; asyncpg takes only bools
                for flag in _FLAGS:
                    values[flag] = bool(values[flag])
            inserted = {tuple(key) for key in await conn.execute(stmt, params)}
        if inserted is None:  # every row was new and no key repeats inside the batch
            return rows
        kept = []
        for row in rows:
            key = (row[0], row[1])
            if key in inserted:
                inserted.discard(key)  # an id repeated inside the batch was inserted once
                kept.append(row)
        return kept

    async def _apply_membership(
        self,
        conn: AsyncConnection,
        groups: dict[int, list[tuple]],
        inserted: Sequence[tuple],
        member_ids: dict[int, dict[str, int]],
    ) -> None:
        if _MEMBERSHIP.isdisjoint(map(itemgetter(2), inserted)):  # kinds, in C
            return
        # One executemany per run of same-kind events, not two statements per event. Runs keep
        # joins and leaves in event order; inside a run of joins, "joined" only touches joined_at
        # and "rejoined" only left_at, so running all of one before the other changes nothing.
        runs: list[tuple[str, list[dict]]] = []
        for space, group in groups.items():
            members = member_ids[space]
            for r in group:
                kind = r[3]
                if kind not in _MEMBERSHIP:
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
_MEMBERSHIP = frozenset({ActivityKind.MEMBER_JOINED.value, ActivityKind.MEMBER_LEFT.value})
_POSTING = frozenset(kind.value for kind in POSTING_KINDS)
_MESSAGES, _QUESTIONS, _REPLIES, _ANSWERS, _THANKS = (
    _COUNT_INDEX[c] for c in ("messages", "questions", "replies", "answers", "thanks_received")
)
_GIVEN, _RECEIVED, _THREADS, _CONTRIBUTIONS = (
    _COUNT_INDEX[c]
    for c in ("reactions_given", "reactions_received", "threads_started", "contributions")
)


def rollup_deltas(inserted: Iterable[tuple]) -> tuple[dict, dict, dict]:
    """What newly inserted activity rows add to the rollup tables.

    INSERTED are rows in ACTIVITY_COLUMNS order. Returns (daily, edges, channel_posts): daily
    maps (member, day) to counts in ROLLUP_COUNTS order; edges (helper, helped) to [replies,
    first day, last day]; channel_posts (member, channel) to [posts, last day]. A key is
    present when an event touched it, even if its counts net to zero (a reaction and its
    removal), exactly as the tables would be upserted.
    """
    daily: dict[tuple[int, int], list[int]] = {}
    edges: dict[tuple[int, int], list[int]] = {}
    channel_posts: dict[tuple[int, int], list[int]] = {}
    width = len(ROLLUP_COUNTS)
    get = daily.get

    for (
        _,
        _,
        kind,
        member,
        channel,
        target,
        _,
        is_question,
        is_thanks,
        is_answer,
        _,
        day,
    ) in inserted:
        aimed_at_other = target is not None and target != member
        if kind in _POSTING:
            counts = get((member, day))
            if counts is None:
                counts = daily[(member, day)] = [0] * width
            counts[_MESSAGES] += 1
            if is_question:
                counts[_QUESTIONS] += 1
            if kind == "thread_started":
                counts[_THREADS] += 1
            # A thank-you reply to whoever helped is gratitude, not help.
            if kind == "reply" and aimed_at_other and not is_thanks:
                counts[_REPLIES] += 1
                if is_answer:
                    counts[_ANSWERS] += 1
                edge = edges.get((member, target))
                if edge is None:
                    edges[(member, target)] = [1, day, day]
                else:
                    edge[0] += 1
                    if day < edge[1]:
                        edge[1] = day
                    if day > edge[2]:
                        edge[2] = day
            if is_thanks and aimed_at_other:
                counts = get((target, day))
                if counts is None:
                    counts = daily[(target, day)] = [0] * width
                counts[_THANKS] += 1
            if channel is not None:
                posts = channel_posts.get((member, channel))
                if posts is None:
                    channel_posts[(member, channel)] = [1, day]
                else:
                    posts[0] += 1
                    if day > posts[1]:
                        posts[1] = day
        elif kind == "reaction_given" or kind == "reaction_removed":
            # Net counts: a removal undoes the reaction it removes.
            by = 1 if kind == "reaction_given" else -1
            counts = get((member, day))
            if counts is None:
                counts = daily[(member, day)] = [0] * width
            counts[_GIVEN] += by
            if aimed_at_other:
                counts = get((target, day))
                if counts is None:
                    counts = daily[(target, day)] = [0] * width
                counts[_RECEIVED] += by
        elif kind == "reaction_received":
            counts = get((target, day))
            if counts is None:
                counts = daily[(target, day)] = [0] * width
            counts[_RECEIVED] += 1
        elif kind == "contribution_logged":
            counts = get((member, day))
            if counts is None:
                counts = daily[(member, day)] = [0] * width
            counts[_CONTRIBUTIONS] += 1
    return daily, edges, channel_posts


async def _apply_rollups(
    conn: AsyncConnection, inserted: Iterable[tuple], spaces: dict[int, int]
) -> None:
    """Upsert what INSERTED rows add to the rollups; SPACES maps member row ids to spaces."""
    daily, edges, channel_posts = rollup_deltas(inserted)
    # Sorted by key (each tuple starts with its key): concurrent writers then lock rollup rows
    # in one order and cannot deadlock. Sorting the flat tuples compares ints, far cheaper
    # than sorting (key tuple, counts) items.
    dialect = conn.dialect.name
    if daily:
        params = [(m, d, spaces[m], *counts) for (m, d), counts in daily.items()]
        params.sort()
        await conn.exec_driver_sql(_driver_sql(dialect, "rollups"), params)
    if edges:
        params = [(h, t, spaces[h], first, last, n) for (h, t), (n, first, last) in edges.items()]
        params.sort()
        await conn.exec_driver_sql(_driver_sql(dialect, "edges"), params)
    if channel_posts:
        params = [(m, c, spaces[m], n, last) for (m, c), (n, last) in channel_posts.items()]
        params.sort()
        await conn.exec_driver_sql(_driver_sql(dialect, "channels"), params)


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
    answered: set[str],
    as_text: bool,
) -> list[tuple]:
    """The activities rows (ACTIVITY_COLUMNS order) of RECORDS of SPACE, ids resolved."""
    rows = []
    append = rows.append
    for (_, _, event_id, kind, member, occurred, day, channel, target, parent, is_question,
         is_thanks, *_) in records:  # fmt: skip
        append(
            (
                space,
                event_id,
                kind,
                members[member],
                channels.get(channel) if channel else None,
                members.get(target) if target else None,
                parent,
                is_question,
                is_thanks,
                # It answers a question when it helps another member (helps_other). 0 or 1, as
                # the record's flags (see storage.records).
                1
                if kind == "reply"
                and not is_thanks
                and target is not None
                and target != member
                and parent in answered
                else 0,
                occurred if as_text else _record_time(occurred),
                day,
            )
        )
    return rows


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
