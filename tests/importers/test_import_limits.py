"""Exports built to flood memory stop `pulse import` with one line, memory bounded, nothing lost.

Each case of issue #20 (item 2) is built here, small on disk, and imported by the real command
in a child process, whose peak RSS (its reader process included) is measured: getrusage of the
children of a wrapper process that runs only that import.
"""

import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bot.importers import discord as discord_importer
from bot.importers import files, limits
from bot.importers import slack as slack_importer
from bot.importers.discord import DiscordExportReader
from bot.importers.slack import SlackExportReader
from community.discord_map import DiscordChannel, DiscordMapper
from community.mapping import MAX_REACTIONS_PER_MESSAGE
from tests import exports

ROOT = Path(__file__).resolve().parents[2]
# Runs the command given as its arguments; prints its exit code and its peak RSS (KiB) as JSON.
_MEASURE = (
    "import json, resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(json.dumps([code, peak]), file=sys.stderr)\n"
)
# Far above what these imports need (about 100 MB), far below what the inputs took before.
PEAK_MB = 300


def run_import(kind: str, path: Path, db: Path) -> tuple[int, str, float]:
    """`pulse import KIND PATH` in a child process: its exit code, stderr and peak RSS in MB."""
    command = [sys.executable, "-c", "from bot.cli import main; main()", "import", kind]
    command += [str(path), "--database-url", f"sqlite:///{db}"]
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command],
        cwd=ROOT,
        env={**os.environ, "PULSE_HASH_KEY": "limits-key"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    *err, measured = proc.stderr.rstrip("\n").split("\n")
    code, peak_kib = json.loads(measured)
    return code, "\n".join(err), peak_kib / 1024


def event_ids(db: Path) -> set[str]:
    """The activities' event ids the import committed."""
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT event_id FROM activities")}


def assert_one_clear_line(err: str, *needles: str) -> None:
    """The error is one `pulse:` line naming NEEDLES; no traceback."""
    assert "Traceback" not in err, err
    first = err.splitlines()[0]
    assert first.startswith("pulse: "), err
    for needle in needles:
        assert needle in first, err
    assert "real exports stay far below it" in first, err


def dce_with(message: bytes) -> bytes:
    """A DiscordChatExporter file: two real messages, then MESSAGE as raw JSON."""
    data = exports.dce_general()
    data["messages"] = data["messages"][1:3]
    text = json.dumps(data)
    head, tail = text.rsplit("]", 1)
    return (head + ", ").encode() + message + ("]" + tail).encode()


def test_embeds_nested_200k_deep_stop_at_the_depth_limit(tmp_path):
    # 400 KB that took 24 GB before: ijson kept a path string per level.
    depth = 200_000
    embeds = b'{"title": "x", "embeds": [' * depth + b"]}" * depth
    message = b'{"id": "1009", "type": "Default", "embeds": [' + embeds + b"]}"
    export = tmp_path / "general.json"
    export.write_bytes(dce_with(message))
    code, err, peak = run_import("discord-export", export, tmp_path / "pulse.db")
    assert code == 1
    assert_one_clear_line(err, str(export), f"nested deeper than {limits.MAX_DEPTH} levels")
    assert "after message 2 (id 1003)" in err
    assert "Nothing was lost" in err
    assert {"1002", "1003"} <= event_ids(tmp_path / "pulse.db")
    assert peak < PEAK_MB


def test_a_tiny_zip_with_a_deep_users_json_stops_at_the_depth_limit(tmp_path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("users.json", b'[{"id": "U1", "profile": ' + b"[" * 300_000)
        zf.writestr("channels.json", json.dumps(exports.slack_channels()))
    assert path.stat().st_size < 2000
    code, err, peak = run_import("slack-export", path, tmp_path / "pulse.db")
    assert code == 1
    assert_one_clear_line(err, f"{path}:users.json", f"nested deeper than {limits.MAX_DEPTH}")
    assert peak < PEAK_MB


def slack_zip(path: Path, bomb_name: str, write_bomb) -> Path:
    """A Slack export zip: a real day of #general, then BOMB_NAME written by WRITE_BOMB."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("users.json", json.dumps(exports.slack_users()))
        zf.writestr("channels.json", json.dumps(exports.slack_channels()))
        day = exports.slack_conversation()["general"]["2024-03-04.json"]
        zf.writestr("general/2024-03-04.json", json.dumps(day))
        with zf.open(bomb_name, "w", force_zip64=True) as out:
            write_bomb(out)
    return path


def test_a_zip_holding_a_900_mb_day_file_stops_at_the_day_file_limit(tmp_path):
    # Took 2.8 GB before: the day file was read whole. Its header admits to its size.
    message = json.dumps(exports.slack_msg("UALICE", exports.slack_ts(5, 0), "hi" * 40))
    block = (message + ",").encode() * (1024 * 1024 // (len(message) + 1))

    def bomb(out):
        out.write(b"[")
        for _ in range(900 * 1024 * 1024 // len(block)):
            out.write(block)
        out.write(message.encode() + b"]")

    path = slack_zip(tmp_path / "export.zip", "general/2024-03-05.json", bomb)
    code, err, peak = run_import("slack-export", path, tmp_path / "pulse.db")
    assert code == 1
    assert_one_clear_line(
        err, f"{path}:general/2024-03-05.json", f"larger than {limits.MAX_DAY_FILE_BYTES >> 20} MiB"
    )
    assert "CGEN:" + exports.slack_ts(4, 10) in event_ids(tmp_path / "pulse.db")
    assert peak < PEAK_MB


def test_a_day_file_that_unpacks_past_the_ratio_stops_while_decompressing(tmp_path):
    # Within the size limits, so only the ratio counted as it unpacks can stop it.
    edit = {"type": "message", "subtype": "message_changed", "ts": "1709542800.000100"}
    message = json.dumps({**edit, "text": "a" * 100_000}).encode()

    def bomb(out):
        out.write(b"[" + message)
        for _ in range(600):
            out.write(b"," + message)
        out.write(b"]")

    path = slack_zip(tmp_path / "export.zip", "general/2024-03-05.json", bomb)
    code, err, peak = run_import("slack-export", path, tmp_path / "pulse.db")
    assert code == 1
    assert_one_clear_line(
        err, f"{path}:general/2024-03-05.json", f"more than {limits.MAX_RATIO} times"
    )
    assert "CGEN:" + exports.slack_ts(4, 10) in event_ids(tmp_path / "pulse.db")
    assert peak < PEAK_MB


def test_one_message_past_the_value_limit_stops_after_the_messages_before_it(tmp_path):
    content = b"x" * (limits.MAX_VALUE_BYTES + 1024 * 1024)
    message = b'{"id": "1009", "type": "Default", "content": "' + content + b'"}'
    export = tmp_path / "general.json"
    export.write_bytes(dce_with(message))
    code, err, peak = run_import("discord-export", export, tmp_path / "pulse.db")
    assert code == 1
    assert_one_clear_line(err, str(export), f"one value larger than {limits.MAX_VALUE_BYTES >> 20}")
    assert {"1002", "1003"} <= event_ids(tmp_path / "pulse.db")
    assert peak < PEAK_MB


def test_a_csv_row_past_the_value_limit_stops_with_its_line(tmp_path):
    rows = [*exports.CSV_ROWS[:2], ["101", "Alice", "2024-03-04T10:05:00+00:00", "y", "", ""]]
    export = exports.write_csv(tmp_path / "general [500].csv", rows=rows)
    with export.open("ab") as out:
        out.write(b"101;Alice;2024-03-04T10:06:00+00:00;" + b"z" * (limits.MAX_VALUE_BYTES + 10))
    code, err, _ = run_import_csv(export, tmp_path / "pulse.db")
    assert code == 1
    assert_one_clear_line(err, str(export), "line 6", "one row larger than")


def run_import_csv(export: Path, db: Path) -> tuple[int, str, float]:
    """A CSV import needs the server's id."""
    command = [sys.executable, "-c", "from bot.cli import main; main()", "import"]
    command += ["discord-export", str(export), "--guild-id", "900", "--database-url"]
    proc = subprocess.run(
        [*command, f"sqlite:///{db}"],
        cwd=ROOT,
        env={**os.environ, "PULSE_HASH_KEY": "limits-key"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return proc.returncode, proc.stderr, 0.0


def test_a_file_whose_size_says_it_is_past_the_limit_fails_before_it_is_read(tmp_path):
    root = exports.write_slack(tmp_path / "export")
    (root / "general" / "2024-03-04.json").write_bytes(b" " * (limits.MAX_WHOLE_BYTES + 1))
    with (
        files.ExportSource(root) as source,
        pytest.raises(limits.ImportLimitError, match=r"larger than 4 MiB unpacked \(Pulse's limit"),
    ):
        source.read("general/2024-03-04.json")


def test_a_reaction_count_past_the_cap_is_counted_as_skipped_not_turned_into_events():
    mapper = DiscordMapper()
    mapper.start("900", "Guild", DiscordChannel("500", "general"))
    message = exports.dce_message("1002", exports.ALICE, 1, "hi")
    message["reactions"] = [exports.dce_reaction("👍", None, 10**12)]
    events = mapper.events(message)
    assert len(events) == 1 + MAX_REACTIONS_PER_MESSAGE
    assert mapper.skipped[f"reaction past {MAX_REACTIONS_PER_MESSAGE:,} on one message"] == (
        10**12 - MAX_REACTIONS_PER_MESSAGE
    )


def slack_events(root: Path) -> tuple[list, int]:
    """Every event a Slack export's reader yields, and the messages it says it covered."""
    reader = SlackExportReader(root)
    try:
        chunks = list(reader.chunks())
    finally:
        reader.close()
    return [e for c in chunks for e in c.events], sum(c.messages for c in chunks)


@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_a_day_file_too_large_to_parse_whole_is_streamed_to_the_same_events(
    tmp_path, monkeypatch, as_zip
):
    root = exports.write_slack(tmp_path / "export", as_zip=as_zip)
    whole = slack_events(root)
    monkeypatch.setattr(slack_importer, "MAX_WHOLE_BYTES", 10)  # every day file is "large"
    monkeypatch.setattr(slack_importer, "_CHUNK_MESSAGES", 1)
    assert slack_events(root) == whole
    assert whole[1] == 10  # the export's messages, each counted once


def test_a_streamed_day_file_that_is_not_a_list_is_an_unknown_layout(tmp_path, monkeypatch):
    root = exports.write_slack(tmp_path / "export")
    (root / "help" / "2024-03-05.json").write_text('{"messages": []}')
    monkeypatch.setattr(slack_importer, "MAX_WHOLE_BYTES", 10)
    with pytest.raises(limits.ImportFormatError, match=r"2024-03-05.json: expected a list of mes"):
        slack_events(root)


def test_chunks_of_many_reactions_hold_the_same_events_in_smaller_pieces(tmp_path, monkeypatch):
    path = exports.write_json(tmp_path / "general.json", exports.dce_general())

    def read() -> tuple[list, int]:
        chunks = list(DiscordExportReader([path]).chunks())
        return [e for c in chunks for e in c.events], sum(c.messages for c in chunks)

    whole = read()
    monkeypatch.setattr(discord_importer, "_CHUNK_EVENTS", 2)
    assert read() == whole
    assert whole[1] == 8
