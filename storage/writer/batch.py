"""Write a batch of ActivityEvents: activities, rollups and help edges in one transaction.

Idempotency rests on the unique (space_id, event_id) key: activities are inserted with
ON CONFLICT DO NOTHING ... RETURNING, and only the rows that were really inserted feed the
rollups, so a replay, a platform retry or a re-import changes nothing.

The writer works on event records (``event_record``): an ActivityEvent flattened into a plain
tuple. The live path converts its events; the history import builds records in a reader process
and sends them over, since tuples cost little to pickle and nothing to validate twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from community.events import MEMBERSHIP_KINDS, ActivityEvent, ActivityKind
from community.privacy import member_hash
from storage.models import Activity, Blocklist
from storage.writer.ids import IdCache, IdResolver, chunks
from storage.writer.pg_insert import insert_activities
from storage.writer.records import event_records, record_time, time_text
from storage.writer.statements import (
    batch_statements,
    sqlite_activities_sql,
)

# A record's event id (storage.writer.records.EVENT_FIELDS), for passes that run in C.
_EVENT_ID = itemgetter(2)


@dataclass
class WriteResult:
    """What one batch did."""

    inserted: int = 0
    duplicates: int = 0
    blocked: int = 0


class BatchWriter:
    """Writes batches of events through one connection's transaction."""

    def __init__(self, hash_key: bytes, cache: IdCache | None = None) -> None:
        self.hash_key = hash_key
        self.ids = IdResolver(cache)
        # member_hash is a pure function of its key: compute each one once, not once a batch.
        self._hashes: dict[tuple[str, str, str], str] = {}
        self._listed: int | None = None  # blocklist entries when the last batch began

    def commit_succeeded(self) -> None:
        """Keep the ids resolved in the transaction that just committed."""
        self.ids.commit_succeeded()

    def rollback_happened(self) -> None:
        """Forget ids from a transaction that rolled back: their rows do not exist."""
        self.ids.rollback_happened()

    async def write(self, conn: AsyncConnection, events: Sequence[ActivityEvent]) -> WriteResult:
        """Write EVENTS on CONN's open transaction; the caller commits."""
        return await self.write_records(conn, event_records(events))

    async def write_records(self, conn: AsyncConnection, records: Sequence[tuple]) -> WriteResult:
        """Write event RECORDS (see event_record) on CONN's open transaction; the caller commits."""
        self.ids.begin()
        result = WriteResult()
        records = await self._drop_blocked(conn, records, result)
        if not records:
            return result
        space_ids = await self.ids.space_ids(conn, records)
        as_text = conn.dialect.name == "sqlite"
        groups = _by_space(records, space_ids)
        rows: list[tuple] = []
        member_ids: dict[int, dict[str, int]] = {}
        for space, group in groups.items():
            channels = await self.ids.channel_ids(conn, space, group)
            members = member_ids[space] = await self.ids.member_ids(conn, space, group)
            answers = await self._answers(conn, space, group, members)
            rows += _activity_rows(space, group, channels, members, answers, as_text)
        inserted_rows, new = await self._insert_activities(conn, rows)
        result.inserted = len(inserted_rows)
        result.duplicates = len(rows) - len(inserted_rows)
        if inserted_rows:
            statements = batch_statements(conn.dialect.name)
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
            self.ids.forget_members()
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
            for chunk in chunks(sorted(set(hashes.values()))):
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
        for chunk in chunks(threads):
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
                    note_question(thread, member, time_text(occurred))
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

        The second is the parameters of the rollup statements (storage.writer.statements).
        """
        if conn.dialect.name == "sqlite":
            after, inserted = await _insert_activities_sqlite(conn, rows)
            new: dict = {"after": after}
        else:
            inserted, new = await insert_activities(conn, rows)
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
                params = {"row_id": members[r[4]], "when": record_time(r[5])}
                if runs and runs[-1][0] == kind:
                    runs[-1][1].append(params)
                else:
                    runs.append((kind, [params]))
        statements = batch_statements(conn.dialect.name)
        for kind, params in runs:
            if kind == ActivityKind.MEMBER_JOINED:
                await conn.execute(statements["joined"], params)
                await conn.execute(statements["rejoined"], params)
            else:
                await conn.execute(statements["left"], params)


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
    # SQLite's rows say "none" with values sqlite3 binds faster (see sqlite_activities_sql).
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
                # 0 or 1, as the record's flags (see storage.writer.records).
                1 if event_id in answers else 0,
                occurred if as_text else record_time(occurred),
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

    The same rule as the rollups' ``helps`` (see statements._rollup_statements), for records.
    """
    return (
        record[3] == "reply"
        and not record[11]
        and record[8] is not None
        and record[8] != record[4]
        and bool(record[9])
    )


def _without_target(record: tuple) -> tuple:
    """RECORD aimed at nobody: no target, and so no thank-you either."""
    return (*record[:8], None, record[9], record[10], 0, *record[12:])


async def _insert_activities_sqlite(
    conn: AsyncConnection, rows: list[tuple]
) -> tuple[int, set[tuple[int, str]] | None]:
    """Insert ROWS; return the highest id before them, and the new rows' keys (None: all).

    The keys are (space, event id) pairs. sqlite3's executemany cannot RETURNING, but the
    writer holds the write lock (BEGIN IMMEDIATE) and ids only grow, so the rows above the old
    maximum id are exactly the new ones.
    """
    before = (await conn.exec_driver_sql("SELECT max(id) FROM activities")).scalar() or 0
    result = await conn.exec_driver_sql(sqlite_activities_sql(), rows)
    if result.rowcount == len(rows):
        return before, None
    new = await conn.exec_driver_sql(
        "SELECT space_id, event_id FROM activities WHERE id > ?", (before,)
    )
    return before, {tuple(key) for key in new}
