"""Run Alembic migrations from code, so `pulse db upgrade` and `pulse run` need no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.locks import Job, exclusive_write
from storage.writer.bulk import restore_deferred_indexes

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest migration the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


class SchemaError(Exception):
    """The database's schema is not one this code can use; the message says what to do."""


class SchemaTooNew(SchemaError):
    """The database was migrated by a newer Pulse than this one."""

    def __init__(self, current: str, head: str) -> None:
        super().__init__(
            f"the database is at schema revision {current}, newer than this Pulse ({head}): "
            "upgrade Pulse"
        )


class SchemaEmpty(SchemaError):
    """The database has no schema yet."""

    def __init__(self) -> None:
        super().__init__("the database is empty: run `pulse db upgrade` (or `pulse demo`)")


class DatabaseMissing(SchemaError):
    """A SQLite file that does not exist: reading it would only create an empty one."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"there is no database at {path}: "
            "run `pulse db upgrade` (or `pulse demo`) to create one"
        )


class SchemaBehind(SchemaError):
    """The database is at an older revision than the code."""

    def __init__(self, current: str, head: str) -> None:
        super().__init__(
            f"the database is at schema revision {current}, older than this Pulse ({head}): "
            "run `pulse db upgrade`"
        )


def known_revisions() -> set[str]:
    """Every revision the packaged migrations define."""
    return {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }


def _refuse_unknown(current: str | None) -> None:
    if current is not None and current not in known_revisions():
        raise SchemaTooNew(current, head_revision())


def _revision_of(sync_conn) -> str | None:
    return MigrationContext.configure(sync_conn).get_current_revision()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> str | None:
    """Bring the database schema up to REVISION (default: the newest); return where it was.

    Two processes may start this at once: the migration lock (storage.locks) makes the second
    wait for the first and then find nothing to do. A database at a revision this code does
    not know, written by a newer Pulse, raises SchemaTooNew before anything changes. First it
    rebuilds indexes an interrupted import deferred (storage.writer.bulk), so migrations always find
    the schema they expect.
    """
    config = alembic_config()

    def run(connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with exclusive_write(engine, Job.MIGRATION) as conn:
        # Read under the lock: what another process just migrated counts as already done.
        before = await conn.run_sync(_revision_of)
        _refuse_unknown(before)
        await restore_deferred_indexes(conn)
        await conn.run_sync(run)
    return before


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    async with engine.connect() as conn:
        return await conn.run_sync(_revision_of)


def _refuse_missing_file(engine: AsyncEngine) -> None:
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database)
        if not path.exists():
            raise DatabaseMissing(path)


async def check_schema(engine: AsyncEngine) -> str:
    """The database's revision when it is exactly the code's; else raise a SchemaError."""
    _refuse_missing_file(engine)
    current = await current_revision(engine)
    if current is None:
        raise SchemaEmpty()
    _refuse_unknown(current)
    head = head_revision()
    if current != head:
        raise SchemaBehind(current, head)
    return current
