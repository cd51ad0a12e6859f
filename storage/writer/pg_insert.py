"""The activities insert on PostgreSQL: COPY, and on an import's connection no per-row FK checks.

A batch's rows go by COPY into a staging table and one INSERT ... SELECT ... ON CONFLICT DO
NOTHING RETURNING (storage.pg_bulk.insert_new_rows), the same semantics as the VALUES lists it
replaces: ids in the batch's order, a key repeated inside the batch inserted once, and the
inserted rows returned to drive the rollups.

Foreign key checks are about half of what the server spends inserting an activity: four
triggers per row (space, member, channel, target), each an index lookup that locks the row it
finds. An import's connection (storage.writer.bulk.import_connection) may do that once per
batch instead: it locks every space, member and channel the batch refers to (FOR KEY SHARE, as
the checks would) and, when all of them are there, turns the checks off for the rest of the
batch's transaction (``SET LOCAL session_replication_role = replica``, which only a superuser
may set, and which would silence any trigger or rule as well: where the tables have one, the
checks stay). The rollups, help edges and channel rollups the batch writes refer to the same
rows. Held until the batch commits, the locks keep an opt-out from deleting a member under
rows that refer to it, as the checks' locks would.
"""

from __future__ import annotations

from operator import itemgetter

from sqlalchemy import BigInteger, bindparam, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import Activity
from storage.pg_bulk import insert_new_rows
from storage.writer.statements import ACTIVITY_COLUMNS

# The execution option an import's connection carries when its role may skip the FK checks.
UNCHECKED_REFERENCES = "pulse_unchecked_references"

_IDS = postgresql.ARRAY(BigInteger)
# Lock the rows a batch refers to, and count what is there (a missing one: an opt-out deleted
# it since its id was cached, which the FK checks must then report as they always have).
_LOCK_REFERENCES = text(
    "WITH s AS (SELECT 1 FROM spaces WHERE id = ANY(:spaces) FOR KEY SHARE),"
    " m AS (SELECT 1 FROM members WHERE id = ANY(:members) FOR KEY SHARE),"
    " c AS (SELECT 1 FROM channels WHERE id = ANY(:channels) FOR KEY SHARE)"
    " SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM m), (SELECT count(*) FROM c)"
).bindparams(
    bindparam("spaces", type_=_IDS),
    bindparam("members", type_=_IDS),
    bindparam("channels", type_=_IDS),
)
# The tables a batch writes once the checks are off (spaces and channels are written before),
# as a SQL list of their oids (NULL for one not created yet).
_WRITTEN_TABLES = ", ".join(
    f"to_regclass('{name}')"
    for name in ("activities", "member_daily_rollups", "help_edges", "member_channel_rollups",
                 "members")
)  # fmt: skip
# Row fields (ACTIVITY_COLUMNS) the references are in.
_SPACE, _MEMBER, _CHANNEL, _TARGET = (itemgetter(i) for i in (0, 3, 4, 5))


async def may_skip_reference_checks(conn: AsyncConnection) -> bool:
    """Whether an import on CONN may turn foreign key checks off for its batches' transactions.

    Only a superuser may, and only where nothing else would be turned off with them: the
    setting also silences every trigger and rule of the tables a batch writes, so any one of
    those (a database administrator's audit trigger, say) keeps the checks on.
    """
    setting = await conn.exec_driver_sql("SELECT current_setting('is_superuser')")
    if setting.scalar() != "on":
        return False
    others = await conn.exec_driver_sql(
        "SELECT (SELECT count(*) FROM pg_trigger"  # noqa: S608 - the names are constants
        f" WHERE NOT tgisinternal AND tgrelid IN ({_WRITTEN_TABLES}))"
        " + (SELECT count(*) FROM pg_rewrite"
        f" WHERE ev_type <> '1' AND ev_class IN ({_WRITTEN_TABLES}))"
    )
    return others.scalar() == 0


async def insert_activities(conn: AsyncConnection, rows: list[tuple]) -> tuple[set, dict]:
    """Insert ROWS (ACTIVITY_COLUMNS order); return the new rows' keys and the rollups' params.

    The keys are (space, event id) pairs; the parameters select the new rows by id (see
    storage.writer.statements._new_rows).
    """
    if conn.sync_connection.get_execution_options().get(UNCHECKED_REFERENCES, False):
        await _skip_checks_if_all_there(conn, rows)
    returned = await insert_new_rows(
        conn,
        Activity.__table__,
        ACTIVITY_COLUMNS,
        list(map(_copy_record, rows)),
        ("space_id", "event_id"),
        ("space_id", "event_id", "id"),
    )
    ids = [row_id for _, _, row_id in returned]
    new = {"ids": ids, "low": min(ids, default=0), "high": max(ids, default=0)}
    return {(space, event) for space, event, _ in returned}, new


async def _skip_checks_if_all_there(conn: AsyncConnection, rows: list[tuple]) -> None:
    """Lock what ROWS refer to; if it is all there, skip FK checks for the transaction."""
    members = set(map(_MEMBER, rows))
    members.update(map(_TARGET, rows))
    channels = set(map(_CHANNEL, rows))
    members.discard(None)
    channels.discard(None)
    spaces = set(map(_SPACE, rows))
    params = {"spaces": sorted(spaces), "members": sorted(members), "channels": sorted(channels)}
    found = (await conn.execute(_LOCK_REFERENCES, params)).one()
    if tuple(found) == (len(spaces), len(members), len(channels)):
        await conn.exec_driver_sql("SET LOCAL session_replication_role = replica")


def _copy_record(row: tuple) -> tuple:
    """An activities row as COPY takes it: flags travel as 0 or 1, asyncpg takes only bools."""
    return (*row[:7], bool(row[7]), bool(row[8]), bool(row[9]), *row[10:])
