"""A database Pulse cannot use as it stands is refused with one line, before anything is written."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text

from storage.engine import create_engine
from storage.migrate import head_revision, upgrade
from storage.models import Activity, Member, Space, TierChange
from tests import exports
from tests.factories import pulse

FUTURE = "0099_future"


def _at_revision(url: str, revision: str) -> None:
    """Migrate URL, then mark it as being at REVISION."""

    async def go():
        engine = create_engine(url)
        try:
            await upgrade(engine)
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE alembic_version SET version_num = :v"), {"v": revision}
                )
        finally:
            await engine.dispose()

    asyncio.run(go())


def _state(url: str) -> tuple:
    """The revision recorded and how many rows the main tables hold."""

    async def go():
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                revision = (
                    await conn.execute(text("SELECT version_num FROM alembic_version"))
                ).scalar()
                counts = [
                    (await conn.execute(select(func.count()).select_from(model))).scalar()
                    for model in (Space, Member, Activity, TierChange)
                ]
            return revision, counts
        finally:
            await engine.dispose()

    return asyncio.run(go())


COMMANDS = {
    "tiers": ["tiers"],
    "hero-candidates": ["hero-candidates"],
    "quiet": ["quiet"],
    "member": ["member", "alice"],
    "reclassify": ["reclassify"],
    "purge": ["purge"],
    "db upgrade": ["db", "upgrade"],
    "digest preview": ["digest", "preview", "--out", "{tmp}"],
    "import": ["import", "slack-export", "{export}"],
    "run": ["run"],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_newer_schema_is_refused_by_every_command(command, database_url, tmp_path, monkeypatch):
    _at_revision(database_url, FUTURE)
    export = exports.write_slack(tmp_path / "export")
    # `run` needs a platform configured to get as far as the database.
    monkeypatch.setenv("PULSE_DISCORD_TOKEN", "not-a-real-token")
    monkeypatch.chdir(tmp_path)
    args = [a.format(tmp=tmp_path / "charts", export=export) for a in COMMANDS[command]]
    result = pulse(*args, "--database-url", database_url)
    assert result.exit_code == 1, result.output
    assert result.output == (
        f"pulse: the database is at schema revision {FUTURE}, newer than this Pulse "
        f"({head_revision()}): upgrade Pulse\n"
    )
    assert _state(database_url) == (FUTURE, [0, 0, 0, 0])
    assert not (tmp_path / "charts").exists()


def test_an_older_schema_asks_for_an_upgrade(database_url):
    _at_revision(database_url, "0004_lighter_writes")
    result = pulse("reclassify", "--database-url", database_url)
    assert result.exit_code == 1
    assert result.output == (
        "pulse: the database is at schema revision 0004_lighter_writes, older than this Pulse "
        f"({head_revision()}): run `pulse db upgrade`\n"
    )


@pytest.mark.parametrize("command", [["tiers"], ["member", "alice"], ["reclassify"], ["purge"]])
def test_a_missing_sqlite_file_is_named_not_created(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "nowhere.db"
    result = pulse(*command, "--database-url", f"sqlite:///{path}")
    assert result.exit_code == 1
    assert result.output == (
        f"pulse: there is no database at {path}: run `pulse db upgrade` (or `pulse demo`) "
        "to create one\n"
    )
    assert not path.exists()


def test_a_bad_database_url_is_named_as_the_option(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no pulse.toml here
    result = pulse("tiers", "--database-url", "mysql://db/pulse")
    assert result.exit_code == 2
    assert result.output == (
        "pulse: --database-url must be a sqlite:/// or postgresql:// URL (got 'mysql://db/pulse')\n"
    )


def test_a_bad_database_url_from_the_environment_is_named_by_its_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pulse.toml").write_text('[database]\nurl_env = "PULSE_DB"\n')
    monkeypatch.setenv("PULSE_DB", "mysql://db/pulse")
    result = pulse("tiers")
    assert result.exit_code == 2
    assert result.output == (
        "pulse: environment variable PULSE_DB must be a sqlite:/// or postgresql:// URL "
        "(got 'mysql://db/pulse')\n"
    )


@pytest.mark.postgres
@pytest.mark.parametrize("command", [["tiers"], ["db", "upgrade"], ["reclassify"], ["purge"]])
def test_a_postgresql_database_that_does_not_exist_is_one_line(command, postgres_server):
    result = pulse(*command, "--database-url", postgres_server.url("no_such_database"))
    assert result.exit_code == 1
    assert result.output == (
        'pulse: cannot use the database: database "no_such_database" does not exist\n'
    )
