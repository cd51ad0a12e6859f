"""`pulse import`: exports built here, imported through the real command, checked in the DB."""

import asyncio
import json
import zipfile

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import cli
from community import ids
from community.events import Platform
from storage.engine import create_engine
from storage.models import Activity, Channel, DailyRollup, Member, Space, TierAssignment
from storage.privacy import forget_member
from storage.writer.batch import BatchWriter
from tests import exports
from tests.factories import T0, ev, stored_kinds

KEY = "import-test-hash-key"
ROLLUPS = ("messages", "questions", "replies", "answers", "thanks_received", "reactions_given",
           "reactions_received", "threads_started")  # fmt: skip


@pytest.fixture(autouse=True)
def hash_key(monkeypatch):
    monkeypatch.setenv("PULSE_HASH_KEY", KEY)


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "pulse.toml"
    path.write_text('[slack]\nhelp_channel_ids = ["CHELP"]\n')
    return path


def pulse(url, *args, config=None):
    extra = ["--config", str(config)] if config else []
    return CliRunner().invoke(cli, ["import", *args, "--database-url", url, *extra])


def facts(url) -> dict:
    """What the database holds after an import, read independently of the importer."""

    async def go():
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                kinds = await stored_kinds(conn)
                sums = (
                    await conn.execute(
                        select(
                            *[func.coalesce(func.sum(getattr(DailyRollup, c)), 0) for c in ROLLUPS]
                        )
                    )
                ).one()
                members = {m.platform_id: m for m in (await conn.execute(select(Member))).all()}
                event_ids = set((await conn.execute(select(Activity.event_id))).scalars())
                channels = set((await conn.execute(select(Channel.name))).scalars())
                spaces = (await conn.execute(select(Space.platform, Space.platform_id))).all()
                tiers = (
                    await conn.execute(select(func.count()).select_from(TierAssignment))
                ).scalar_one()
                per_member = dict(
                    (
                        await conn.execute(
                            select(Member.platform_id, func.sum(DailyRollup.thanks_received))
                            .join(DailyRollup, DailyRollup.member_id == Member.id)
                            .group_by(Member.platform_id)
                        )
                    ).all()
                )
        finally:
            await engine.dispose()
        return {
            "kinds": kinds,
            "rollups": dict(zip(ROLLUPS, sums, strict=True)),
            "members": members,
            "event_ids": event_ids,
            "channels": channels,
            "spaces": [tuple(s) for s in spaces],
            "tiers": tiers,
            "thanks": {k: v for k, v in per_member.items() if v},
        }

    return asyncio.run(go())


SLACK_KINDS = {"message": 4, "reply": 2, "reaction_given": 3, "member_joined": 1}
SLACK_ROLLUPS = {"messages": 6, "questions": 2, "replies": 1, "answers": 1, "thanks_received": 2,
                 "reactions_given": 3, "reactions_received": 3, "threads_started": 0}  # fmt: skip


@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_slack_export_is_imported(database_url, tmp_path, config, as_zip):
    path = exports.write_slack(tmp_path / "export", as_zip=as_zip)
    result = pulse(database_url, "slack-export", str(path), config=config)
    assert result.exit_code == 0, result.output
    got = facts(database_url)
    assert got["kinds"] == SLACK_KINDS
    assert got["rollups"] == SLACK_ROLLUPS
    # Carol thanked Alice by mention; Alice thanked Bob in her own thread (his answer before it).
    assert got["thanks"] == {"UALICE": 1, "UBOB": 1}
    assert set(got["members"]) == {"UALICE", "UBOB", "UCAROL"}  # the bot never becomes a member
    assert got["members"]["UCAROL"].display_name == "Carol C"
    assert got["members"]["UCAROL"].joined_at is not None
    assert got["channels"] == {"general", "help"}
    assert got["spaces"] == [("slack", exports.TEAM)]
    assert got["tiers"] == 3, "the import ends with a reclassification"
    assert ids.slack_message("CHELP", exports.slack_ts(4, 60)) in got["event_ids"]
    assert ids.slack_reaction("CGEN", exports.slack_ts(4, 40), "tada", "UBOB") in got["event_ids"]
    out = result.output
    assert "messages   6 (2 replies" in out
    assert "2 bot message" in out
    assert "1 edit or deletion (message_changed)" in out
    assert "1 reaction whose member the export does not name" in out
    assert "time span  2024-03-04 08:59 to 2024-03-05 09:00 UTC" in out


def test_slack_zip_with_a_top_level_folder(sqlite_url, tmp_path):
    folder = exports.write_slack(tmp_path / "src")
    path = tmp_path / "wrapped.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for file in folder.rglob("*.json"):
            zf.write(file, "My Workspace export/" + file.relative_to(folder).as_posix())
    result = pulse(sqlite_url, "slack-export", str(path))
    assert result.exit_code == 0, result.output
    assert facts(sqlite_url)["kinds"]["reply"] == 2


def test_reimport_and_overlap_change_nothing(database_url, tmp_path, config):
    conversation = exports.slack_conversation()
    first = {"general": conversation["general"], "help": {"2024-03-04.json":
             conversation["help"]["2024-03-04.json"]}}  # fmt: skip
    second = {"help": conversation["help"]}  # overlaps the first on 2024-03-04
    a = exports.write_slack(tmp_path / "a", first, as_zip=True)
    b = exports.write_slack(tmp_path / "b", second)
    assert pulse(database_url, "slack-export", str(a), config=config).exit_code == 0
    assert pulse(database_url, "slack-export", str(b), config=config).exit_code == 0
    after_both = facts(database_url)
    assert after_both["kinds"] == SLACK_KINDS
    assert after_both["rollups"] == SLACK_ROLLUPS
    again = pulse(database_url, "slack-export", str(b), config=config)
    assert again.exit_code == 0, again.output
    assert "stored     0 new events; 5 were already stored" in again.output
    assert facts(database_url)["rollups"] == SLACK_ROLLUPS


def test_import_collapses_onto_what_the_live_bot_logged(sqlite_url, tmp_path, config):
    """The live adapter logs a message under the shared id scheme; the import adds nothing."""
    live = ev("reply", "UBOB", platform=Platform.SLACK, space=exports.TEAM, channel="CHELP",
              event_id=ids.slack_message("CHELP", exports.slack_ts(4, 60)),
              target_member_id="UALICE")  # fmt: skip

    async def log_live():
        engine = create_engine(sqlite_url)
        from storage.migrate import upgrade

        await upgrade(engine)
        async with engine.begin() as conn:
            await BatchWriter(KEY.encode()).write(conn, [live])
        await engine.dispose()

    asyncio.run(log_live())
    path = exports.write_slack(tmp_path / "export")
    result = pulse(sqlite_url, "slack-export", str(path), config=config)
    assert result.exit_code == 0, result.output
    assert "1 were already stored" in result.output
    assert facts(sqlite_url)["kinds"]["reply"] == 2


def test_opted_out_member_is_not_imported(database_url, tmp_path, config):
    path = exports.write_slack(tmp_path / "export")
    assert pulse(database_url, "slack-export", str(path), config=config).exit_code == 0

    async def opt_out():
        engine = create_engine(database_url)
        async with engine.begin() as conn:
            space = (await conn.execute(select(Space.id))).scalar_one()
            assert await forget_member(conn, space, "UBOB", KEY.encode(), T0)
        await engine.dispose()

    asyncio.run(opt_out())
    again = pulse(database_url, "slack-export", str(path), config=config)
    assert again.exit_code == 0, again.output
    got = facts(database_url)
    assert "UBOB" not in got["members"]
    assert not any(e.endswith(":UBOB") for e in got["event_ids"])
    assert "opted-out member (blocklisted)" in again.output
    # Alice's thanks to Bob is kept as her message, aimed at nobody.
    assert "UBOB" not in got["thanks"]


DISCORD_KINDS = {"message": 3, "reply": 4, "thread_started": 1, "member_joined": 1,
                 "reaction_given": 3, "reaction_received": 3}  # fmt: skip
DISCORD_ROLLUPS = {"messages": 8, "questions": 2, "replies": 2, "answers": 2, "thanks_received": 3,
                   "reactions_given": 3, "reactions_received": 5, "threads_started": 1}  # fmt: skip


def test_discord_json_folder_is_imported(database_url, tmp_path):
    folder = tmp_path / "dce"
    # The thread sorts first by name; the importer still reads the channel before it.
    exports.write_json(folder / "a-thread [600].json", exports.dce_thread())
    exports.write_json(folder / "general [500].json", exports.dce_general())
    (folder / "general [500].json_Files").mkdir()
    (folder / "general [500].json_Files" / "x.json").write_text("not an export")
    result = pulse(database_url, "discord-export", str(folder))
    assert result.exit_code == 0, result.output
    got = facts(database_url)
    assert got["kinds"] == DISCORD_KINDS
    assert got["rollups"] == DISCORD_ROLLUPS
    assert got["thanks"] == {"102": 2, "103": 1}
    assert set(got["members"]) == {"101", "102", "103"}
    assert got["channels"] == {"general"}  # the thread's activity is credited to its parent
    assert {"thread:600", "1003:👍:103", "1003:777:#3"} <= got["event_ids"]
    assert "1 system message (ChannelPinnedMessage)" in result.output
    assert "1 bot message" in result.output
    again = pulse(database_url, "discord-export", str(folder / "general [500].json"))
    assert "stored     0 new events" in again.output
    assert facts(database_url)["rollups"] == DISCORD_ROLLUPS


def test_discord_csv_with_either_separator(sqlite_url, tmp_path):
    semi = exports.write_csv(tmp_path / "a" / "Test Guild - Text - general [500].csv", ";")
    comma = exports.write_csv(tmp_path / "b" / "Test Guild - Text - general [500].csv", ",")
    result = pulse(sqlite_url, "discord-export", str(semi), "--guild-id", "900")
    assert result.exit_code == 0, result.output
    got = facts(sqlite_url)
    assert got["kinds"] == {"message": 4, "reaction_received": 3}
    assert got["rollups"]["questions"] == 1
    assert got["members"]["101"].display_name == "Alice"
    assert got["channels"] == {"general"}
    # The same history with commas is the same events: nothing new.
    again = pulse(sqlite_url, "discord-export", str(comma), "--guild-id", "900")
    assert again.exit_code == 0, again.output
    assert "stored     0 new events; 7 were already stored" in again.output


def test_csv_needs_the_guild_id(sqlite_url, tmp_path):
    path = exports.write_csv(tmp_path / "Test Guild - Text - general [500].csv")
    result = pulse(sqlite_url, "discord-export", str(path))
    assert result.exit_code == 1
    assert "--guild-id" in result.output
    assert "Traceback" not in result.output


# --- malformed input -----------------------------------------------------------------------


def test_truncated_zip_is_refused(sqlite_url, tmp_path):
    path = exports.write_slack(tmp_path / "export", as_zip=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    result = pulse(sqlite_url, "slack-export", str(path))
    assert result.exit_code == 1
    assert str(path) in result.output
    assert "not a readable zip archive" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_day_file_cut_midway_stops_then_resumes_after_the_fix(database_url, tmp_path, config):
    days = exports.slack_conversation()
    good = json.dumps(days["help"]["2024-03-05.json"]).encode()
    cut = good[: len(good) - 40]
    path = exports.write_slack(tmp_path / "export", raw={"help/2024-03-05.json": cut})
    result = pulse(database_url, "slack-export", str(path), "--batch-size", "100", config=config)
    assert result.exit_code == 1
    assert "help/2024-03-05.json" in result.output
    assert "truncated" in result.output
    assert "Traceback" not in result.output
    partial = facts(database_url)
    # Everything before the bad file is stored and consistent: general, and help's first day.
    assert partial["kinds"] == {"message": 3, "reply": 1, "reaction_given": 2, "member_joined": 1}
    assert partial["rollups"]["replies"] == 1
    (path / "help" / "2024-03-05.json").write_bytes(good)
    fixed = pulse(database_url, "slack-export", str(path), config=config)
    assert fixed.exit_code == 0, fixed.output
    got = facts(database_url)
    assert got["kinds"] == SLACK_KINDS
    assert got["rollups"] == SLACK_ROLLUPS


def test_discord_json_cut_midway_names_file_and_position(sqlite_url, tmp_path):
    full = exports.write_json(tmp_path / "general [500].json", exports.dce_general())
    text = full.read_text(encoding="utf-8")
    cut_at = text.index('"id": "1005"')
    full.write_text(text[:cut_at], encoding="utf-8")
    result = pulse(sqlite_url, "discord-export", str(full))
    assert result.exit_code == 1
    assert str(full) in result.output
    assert "after message 4 (id 1004)" in result.output
    assert "truncated" in result.output
    # The four complete messages before the cut were stored.
    assert facts(sqlite_url)["kinds"]["reply"] == 2
    exports.write_json(full, exports.dce_general())
    assert pulse(sqlite_url, "discord-export", str(full)).exit_code == 0
    assert facts(sqlite_url)["kinds"]["reaction_received"] == 3


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("list.json", "[1, 2, 3]", "unknown layout"),
        ("other.json", '{"hello": "world"}', "unknown layout"),
        ("latin1.json", None, "not UTF-8"),
        ("Guild - general [500].csv", "Who;What\n1;2\n", "unknown layout"),
        ("Guild - general [501].csv", "utf16", "UTF-16"),
        ("Guild - general [502].csv", "latin1", "not UTF-8 text at line 2"),
    ],
)
def test_bad_discord_files_are_named(sqlite_url, tmp_path, name, content, expected):
    path = tmp_path / name
    if content is None:
        data = json.dumps(exports.dce_general(), ensure_ascii=False).replace("Alice", "Alíce")
        path.write_bytes(data.encode("latin-1", errors="replace"))
    elif content == "utf16":
        exports.write_csv(path)
        path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    elif content == "latin1":
        path.write_bytes(
            "AuthorID;Author;Date;Content;Attachments;Reactions\n"
            "1;Zoë;2024-03-04T10:00:00+00:00;héllo;;\n".encode("latin-1")
        )
    else:
        path.write_text(content, encoding="utf-8")
    result = pulse(sqlite_url, "discord-export", str(path), "--guild-id", "900")
    assert result.exit_code == 1, result.output
    assert str(path) in result.output
    assert expected in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"general/2024-03-06.json": "é".encode("latin-1")}, "not UTF-8 text at line 1"),
        ({"general/2024-03-06.json": b'{"not": "a list"}'}, "expected a list of messages"),
        ({"general/2024-03-06.json": b'[{"user": "UALICE", "text": "no ts"}]'}, "message 1: "
         "message has no ts"),
    ],
)  # fmt: skip
def test_bad_slack_day_files_are_named(sqlite_url, tmp_path, raw, expected):
    path = exports.write_slack(tmp_path / "export", raw=raw)
    result = pulse(sqlite_url, "slack-export", str(path))
    assert result.exit_code == 1, result.output
    assert "general/2024-03-06.json" in result.output
    assert expected in result.output


def test_not_a_slack_export(sqlite_url, tmp_path):
    folder = tmp_path / "random"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    result = pulse(sqlite_url, "slack-export", str(folder))
    assert result.exit_code == 1
    assert "not a Slack export (unknown layout)" in result.output
    missing = pulse(sqlite_url, "slack-export", str(tmp_path / "nope.zip"))
    assert missing.exit_code == 1
    assert "no such file or folder" in missing.output


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}"


def test_a_member_seen_only_as_a_target_is_named_from_users_json(sqlite_url, tmp_path):
    # The export starts after Dave asked: only Bob's reply in his thread is in it.
    users = [*exports.slack_users(),
             {"id": "UDAVE", "team_id": exports.TEAM, "name": "dave",
              "profile": {"display_name": "Dave D"}}]  # fmt: skip
    root = exports.slack_ts(4, 0)
    days = {"help": {"2024-03-04.json": [
        exports.slack_msg("UBOB", exports.slack_ts(4, 5), "Restart the worker.",
                          thread_ts=root, parent_user_id="UDAVE"),
    ]}}  # fmt: skip
    path = exports.write_slack(tmp_path / "export", days, users=users)
    result = pulse(sqlite_url, "slack-export", str(path))
    assert result.exit_code == 0, result.output

    async def names():
        engine = create_engine(sqlite_url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(select(Member.platform_id, Member.display_name))
                return dict(rows.all())
        finally:
            await engine.dispose()

    assert asyncio.run(names()) == {"UBOB": "Bob", "UDAVE": "Dave D"}
