"""Unstorable input and faults: nothing stops the writer, nothing is lost, nothing loops."""

import asyncio
import json
import logging
import sqlite3
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select

from bot.importers.feed import ImportStats
from bot.importers.stream import write_stream
from community import clean
from community.events import ActivityKind
from storage import models
from storage.faults import ConnectError, is_unavailable, reason, sqlstate
from storage.models import Activity, DailyRollup, Member
from storage.uow import UnitOfWork
from storage.writer.batch import BatchWriter
from storage.writer.records import event_record, event_records
from storage.writer.spill import QUARANTINE_FILE, event_to_json
from tests.factories import ev
from tests.storage.test_ingest import KEY, count, writer_for

DROPPED = {"Cc", "Cs", "Zl", "Zp"}


async def refuse_event_ids_starting_with_poison(engine) -> None:
    """Make the database itself refuse some rows, as a constraint would, on either backend."""
    async with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            await conn.exec_driver_sql(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON activities "
                "WHEN NEW.event_id LIKE 'poison%' "
                "BEGIN SELECT RAISE(ABORT, 'poison refused by a test trigger'); END"
            )
        else:
            await conn.exec_driver_sql(
                "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
                "IF NEW.event_id LIKE 'poison%' THEN RAISE EXCEPTION "
                "'poison refused by a test trigger' USING ERRCODE = 'check_violation'; "
                "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            await conn.exec_driver_sql(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON activities "
                "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
            )


async def drop_refusal(engine) -> None:
    async with engine.begin() as conn:
        on = "" if conn.dialect.name == "sqlite" else " ON activities"
        await conn.exec_driver_sql(f"DROP TRIGGER refuse_poison{on}")


def quarantined(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_nul_and_overlong_names_are_stored_cleaned_with_the_whole_batch(engine, tmp_path):
    events = [
        ev(member=f"m{i % 50}", event_id=f"n{i}", member_name=f"M {i % 50}") for i in range(2000)
    ]
    events[700] = ev(member="nul", event_id="n700", member_name="Ada\x00Lovelace")
    events[1400] = ev(member="long", event_id="n1400", member_name="L" * 300)
    writer = writer_for(engine, batch_size=500, spill_path=tmp_path / "unwritten.jsonl")
    await writer.start()
    await writer.put_many(events)
    await writer.close()

    assert writer.stats.inserted == 2000
    assert writer.stats.quarantined == 0
    assert not (tmp_path / QUARANTINE_FILE).exists()
    assert await count(engine, Activity) == 2000
    async with engine.connect() as conn:
        names = dict((await conn.execute(select(Member.platform_id, Member.display_name))).all())
    assert names["nul"] == "AdaLovelace"
    assert names["long"] == "L" * 200


async def test_the_database_refusing_a_raw_record_is_told_from_an_outage(engine):
    """What the edge cleaning prevents: PostgreSQL refuses, and the writer must see a refusal."""
    for name, state in (("L" * 300, "22001"), ("Ada\x00Lovelace", "22021")):
        record = list(event_record(ev(event_id=f"raw-{state}")))
        record[12] = name  # member_name, past the cleaning ActivityEvent does
        write = _write_records(engine, [tuple(record)])
        if engine.dialect.name == "sqlite":
            await write  # SQLite stores either as it is
            continue
        with pytest.raises(sa_exc.DBAPIError) as refused:
            await write
        assert sqlstate(refused.value) == state
        assert not is_unavailable(refused.value)


async def _write_records(engine, records) -> None:
    async with engine.begin() as conn:
        await BatchWriter(KEY).write_records(conn, records)


async def test_a_refused_event_is_quarantined_and_the_rest_of_its_batch_stored(engine, tmp_path):
    await refuse_event_ids_starting_with_poison(engine)
    spill = tmp_path / "unwritten.jsonl"
    events = [ev(member=f"m{i % 5}", event_id=f"ok{i}") for i in range(300)]
    events[123] = ev(member="m3", event_id="poison-1")
    writer = writer_for(engine, batch_size=300, spill_path=spill)
    await writer.start()
    await writer.put_many(events)
    await asyncio.wait_for(writer.close(), 30)

    assert writer.stats.quarantined == 1
    assert writer.stats.retries == 0  # a refusal is not an outage
    assert await count(engine, Activity) == 299
    async with engine.connect() as conn:
        messages = (await conn.execute(select(func.sum(DailyRollup.messages)))).scalar_one()
    assert messages == 299
    [entry] = quarantined(tmp_path / QUARANTINE_FILE)
    assert entry["event"]["event_id"] == "poison-1"
    assert "poison refused by a test trigger" in entry["reason"]
    if engine.dialect.name == "postgresql":
        assert "[23514]" in entry["reason"]

    # Once the cause is gone, the quarantine file replays as a spill file.
    await drop_refusal(engine)
    (tmp_path / QUARANTINE_FILE).rename(spill)
    again = writer_for(engine, spill_path=spill)
    await again.start()
    await again.close()
    assert again.stats.replayed == 1
    assert await count(engine, Activity) == 300
    assert not spill.exists()


async def test_a_bad_spill_line_is_set_aside_and_the_good_ones_replayed(engine, tmp_path, caplog):
    spill = tmp_path / "unwritten.jsonl"
    good = [event_to_json(ev(event_id=f"s{i}", is_question=True)) for i in range(6)]
    truncated = good[0][:40]
    unknown_kind = good[1].replace('"kind":"message"', '"kind":"telepathy"').replace('"s1"', '"x1"')
    naive = json.loads(good[2])
    naive.update(event_id="x2", occurred_at="2026-06-01T12:00:00")
    lines = [good[0], truncated, good[3], unknown_kind, "", json.dumps(naive), "[1, 2]", good[4]]
    spill.write_text("\n".join(lines) + "\n", encoding="utf-8")

    writer = writer_for(engine, batch_size=2, spill_path=spill)
    with caplog.at_level(logging.INFO, logger="storage.writer"):
        await writer.start()
        await writer.close()

    assert writer.stats.replayed == 3
    assert not spill.exists()
    async with engine.connect() as conn:
        stored = set((await conn.execute(select(Activity.event_id))).scalars())
    assert stored == {"s0", "s3", "s4"}
    entries = quarantined(tmp_path / QUARANTINE_FILE)
    assert [e["line"] for e in entries] == [truncated, unknown_kind, json.dumps(naive), "[1, 2]"]
    assert [e["reason"].split(":")[0] for e in entries] == [
        "unwritten.jsonl line 2",
        "unwritten.jsonl line 4",
        "unwritten.jsonl line 6",
        "unwritten.jsonl line 7",
    ]
    assert "timezone-aware" in entries[2]["reason"]
    assert any("4 lines of" in r.getMessage() for r in caplog.records)


async def test_a_python_error_in_the_writer_is_quarantined_not_retried_forever(
    engine, tmp_path, monkeypatch, caplog
):
    original = BatchWriter.write_records

    async def buggy(self, conn, records):
        if any(r[2].startswith("bug") for r in records):
            raise TypeError("unsupported operand type(s) for +: 'int' and 'NoneType'")
        return await original(self, conn, records)

    monkeypatch.setattr(BatchWriter, "write_records", buggy)
    events = [ev(event_id=f"b{i}") for i in range(40)]
    events[17] = ev(event_id="bug")
    writer = writer_for(engine, batch_size=40, spill_path=tmp_path / "unwritten.jsonl")
    with caplog.at_level(logging.INFO, logger="storage.writer"):
        await writer.start()
        await writer.put_many(events)
        await asyncio.wait_for(writer.close(grace_seconds=5), 10)

    assert writer.stats.retries == 0
    assert writer.stats.quarantined == 1
    assert writer.stats.spilled == 0
    assert await count(engine, Activity) == 39
    [entry] = quarantined(tmp_path / QUARANTINE_FILE)
    assert entry["event"]["event_id"] == "bug"
    assert entry["reason"].startswith("TypeError: unsupported operand")
    assert len([r for r in caplog.records if r.exc_info]) == 1  # one traceback, not one per split


async def test_an_import_survives_an_event_the_database_refuses(engine):
    await refuse_event_ids_starting_with_poison(engine)
    records = event_records(
        [ev(member=f"m{i % 4}", event_id=f"poison-{i}" if i == 33 else f"i{i}") for i in range(80)]
    )

    class Feed:
        def __init__(self):
            self.messages = [("records", records, (0, 80, 80, {})), ("done", ImportStats())]

        def __aiter__(self):
            return self

        async def __anext__(self):
            if not self.messages:
                raise StopAsyncIteration
            return self.messages.pop(0)

        def waiting(self) -> int:
            return 0

    stats = ImportStats()
    await write_stream(UnitOfWork(engine), BatchWriter(KEY), Feed(), stats, batch_size=80)
    assert stats.refused == 1
    assert stats.inserted == 79
    assert await count(engine, Activity) == 79


async def test_a_python_error_on_single_events_shows_its_traceback_once(
    engine, tmp_path, monkeypatch, caplog
):
    original = BatchWriter.write_records

    async def buggy(self, conn, records):
        if records[0][2].startswith("bug"):
            raise KeyError("channel")
        return await original(self, conn, records)

    monkeypatch.setattr(BatchWriter, "write_records", buggy)
    writer = writer_for(engine, batch_size=1, spill_path=tmp_path / "unwritten.jsonl")
    with caplog.at_level(logging.INFO, logger="storage.writer"):
        await writer.start()
        await writer.put_many([ev(event_id="bug-1"), ev(event_id="fine"), ev(event_id="bug-2")])
        await asyncio.wait_for(writer.close(grace_seconds=5), 10)

    assert writer.stats.quarantined == 2
    assert await count(engine, Activity) == 1
    ids = [e["event"]["event_id"] for e in quarantined(tmp_path / QUARANTINE_FILE)]
    assert ids == ["bug-1", "bug-2"]
    assert len([r for r in caplog.records if r.exc_info]) == 1


# --- how failures are classified -----------------------------------------------------------


class _Orig(Exception):
    def __init__(self, state: str) -> None:
        super().__init__(f"server says {state}")
        self.sqlstate = state


@pytest.mark.parametrize(
    ("state", "unavailable"),
    [
        ("22001", False),  # value too long
        ("22021", False),  # NUL byte / bad encoding
        ("23505", False),  # unique violation
        ("23514", False),  # check violation
        ("42P01", False),  # undefined table
        ("54000", False),  # program limit exceeded
        ("08006", True),  # connection failure
        ("40P01", True),  # deadlock
        ("40001", True),  # serialization failure
        ("53100", True),  # disk full
        ("55P03", True),  # lock not available
        ("57P01", True),  # admin shutdown
        ("57014", True),  # statement timeout
        ("XX000", True),  # internal error
    ],
)
def test_postgresql_failures_are_classified_by_sqlstate(state, unavailable):
    exc = sa_exc.DBAPIError("INSERT ...", {}, _Orig(state))
    assert is_unavailable(exc) is unavailable
    assert f"[{state}]" in reason(exc)


@pytest.mark.parametrize(
    ("exc", "unavailable"),
    [
        (sa_exc.OperationalError("BEGIN", {}, sqlite3.OperationalError("locked")), True),
        (sa_exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("CHECK failed")), False),
        (sa_exc.ProgrammingError("INSERT", {}, sqlite3.ProgrammingError("bad binding")), False),
        (sa_exc.InterfaceError("INSERT", {}, ValueError("cannot encode argument")), False),
        (sa_exc.InterfaceError("INSERT", {}, RuntimeError("connection is closed")), True),
        (sa_exc.StatementError("bad value", "INSERT", {}, TypeError("no")), False),
        (ConnectError("database is not accepting connections"), True),
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError(), True),
        (TypeError("a bug"), False),
        (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), False),
    ],
)
def test_other_failures_are_classified_by_kind(exc, unavailable):
    assert is_unavailable(exc) is unavailable


# --- cleaning at the edge -------------------------------------------------------------------


def test_the_limits_are_the_schemas():
    assert Member.display_name.type.length == clean.NAME_LENGTH
    assert models.Channel.name.type.length == clean.NAME_LENGTH
    assert models.Space.name.type.length == clean.NAME_LENGTH
    assert models.Contribution.kind.type.length == clean.CONTRIBUTION_KIND_LENGTH
    assert Member.platform_id.type.length == clean.PLATFORM_ID_LENGTH
    assert Activity.event_id.type.length == clean.EVENT_ID_LENGTH
    assert Activity.parent_event_id.type.length == clean.EVENT_ID_LENGTH


def _storable(value: str, limit: int) -> bool:
    value.encode("utf-8")  # strict: a lone surrogate would raise
    return (
        len(value) <= limit
        and "\x00" not in value
        and not any(unicodedata.category(c) in DROPPED for c in value)
    )


# Every code point, lone surrogates included (a Python str can hold one; JSON cannot).
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=400)


@given(ANY_TEXT)
def test_any_name_becomes_storable(name):
    event = ev(member_name=name, channel_name=name, space_name=name)
    for cleaned in (event.member_name, event.channel_name, event.space_name):
        assert cleaned is None or _storable(cleaned, clean.NAME_LENGTH)
    assert clean.clean_name(event.member_name) == event.member_name  # cleaning is settled
    if name.isprintable() and 0 < len(name) <= clean.NAME_LENGTH:
        assert event.member_name == name


@given(ANY_TEXT.filter(bool), ANY_TEXT.filter(bool))
def test_any_id_becomes_storable_and_distinct_ids_stay_distinct(first, second):
    a = ev(event_id=first, member=first, target_member_id=first, parent_event_id=first)
    b = ev(event_id=second, member=second)
    assert _storable(a.event_id, clean.EVENT_ID_LENGTH)
    assert _storable(a.parent_event_id, clean.EVENT_ID_LENGTH)
    assert _storable(a.member_id, clean.PLATFORM_ID_LENGTH)
    assert a.member_id == a.target_member_id  # the same id maps the same way wherever it is
    assert (a.event_id == b.event_id) == (first == second)
    assert (a.member_id == b.member_id) == (first == second)


def test_a_long_reaction_id_is_fitted_as_community_ids_fits_it():
    from community import ids

    raw = "1" * 19 + ":" + "e" * 300 + ":" + "2" * 19
    fitted = ids.discord_reaction("1" * 19, "e" * 300, "2" * 19)
    assert len(fitted) <= clean.EVENT_ID_LENGTH
    assert ev(ActivityKind.REACTION_GIVEN, event_id=raw).event_id == fitted
