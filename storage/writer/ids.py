"""Id resolution: the row ids of a batch's spaces, channels and members, by platform id.

What is not stored yet is inserted (ON CONFLICT DO NOTHING, so concurrent writers agree) and
looked up; ids are cached across batches, but only once the transaction that found them has
committed, so a rollback never leaves an id to a row that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import itemgetter

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.engine import dialect_insert
from storage.models import Channel, Member, Space
from storage.writer.records import record_time
from storage.writer.statements import NAME_IF_UNNAMED

# Record fields (storage.writer.records.EVENT_FIELDS) for the per-batch passes over records:
# map, filter and compress with these run in C, several times faster than comprehensions.
_SPACE_KEY, _SPACE_NAME = itemgetter(0, 1), itemgetter(14)
_MEMBER, _CHANNEL, _TARGET = itemgetter(4), itemgetter(7), itemgetter(8)
_MEMBER_IS_BOT = itemgetter(13)
_MEMBER_AND_NAME, _CHANNEL_AND_NAME = itemgetter(4, 12), itemgetter(7, 15)
_SECOND = itemgetter(1)


@dataclass
class IdCache:
    """Platform id to row id maps, kept across batches; only committed ids go in."""

    spaces: dict[tuple[str, str], int] = field(default_factory=dict)
    channels: dict[tuple[int, str], int] = field(default_factory=dict)
    members: dict[tuple[int, str], int] = field(default_factory=dict)
    member_names: dict[int, str | None] = field(default_factory=dict)


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


class IdResolver:
    """Resolves a batch's platform ids to row ids, inserting what is not stored yet."""

    def __init__(self, cache: IdCache | None = None) -> None:
        self.cache = cache or IdCache()
        self._pending: _Pending | None = None

    def begin(self) -> None:
        """Start collecting the ids a new transaction resolves."""
        self._pending = _Pending()

    def commit_succeeded(self) -> None:
        """Keep the ids resolved in the transaction that just committed."""
        if self._pending is not None:
            self._pending.merge_into(self.cache)
        self._pending = None

    def rollback_happened(self) -> None:
        """Forget ids from a transaction that rolled back: their rows do not exist."""
        self._pending = None

    def forget_members(self) -> None:
        """Drop every cached member id and name (a member row was deleted)."""
        self.cache.members.clear()
        self.cache.member_names.clear()

    async def space_ids(
        self, conn: AsyncConnection, records: Sequence[tuple]
    ) -> dict[tuple[str, str], int]:
        """Row ids of the spaces RECORDS name, by (platform, platform id)."""
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
                        "created_at": record_time(first_seen[(p, s)]),
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

    async def channel_ids(
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

    async def member_ids(
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


def chunks(items: list, size: int = 500) -> Iterator[list]:
    """ITEMS in slices the drivers accept as IN lists."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _lookup(
    conn: AsyncConnection, model, space: int, platform_ids: list[str]
) -> dict[str, int]:
    """Row ids of SPACE's channels or members by platform id, in chunks the drivers accept."""
    found = {}
    for chunk in chunks(platform_ids):
        rows = await conn.execute(
            select(model.platform_id, model.id).where(
                model.space_id == space, model.platform_id.in_(chunk)
            )
        )
        found.update(dict(rows.all()))
    return found
