"""`pulse export`: files and standard output, the temporary-file rename, clear lines."""

import csv
import io
import json

import pytest

from bot.cli import exports as export_cli
from community.exports import HEADERS
from tests.factories import pulse


def url(demo_db) -> str:
    return f"sqlite:///{demo_db[0]}"


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("kind", ["members", "tier-changes", "outreach", "weekly"])
def test_each_kind_to_stdout(demo_db, kind):
    result = pulse("export", kind, "--database-url", url(demo_db))
    assert result.exit_code == 0, result.output
    # Result.stdout turns CRLF into LF; the bytes are what was written.
    text = result.stdout_bytes.decode("utf-8")
    assert text.startswith(",".join(HEADERS[kind]) + "\r\n")
    rows = rows_of(text)
    if kind == "members":
        counts = json.loads(pulse("tiers", "--json", "--database-url", url(demo_db)).stdout)
        tiers = [r["tier"] for r in rows if r["staff"] == "false"]
        assert {t: tiers.count(t) for t in ("passive", "active", "hero")} == counts["counts"]
    if kind == "weekly":
        assert len(rows) == 12
    if kind == "tier-changes":
        assert rows
        assert all(r["changed_at"][:4] == "2026" for r in rows)


def test_out_file_is_whole_and_alone(demo_db, tmp_path, monkeypatch):
    monkeypatch.setattr(export_cli, "PROGRESS_ROWS", 100)
    target = tmp_path / "members.csv"
    result = pulse("export", "members", "--out", target, "--database-url", url(demo_db))
    assert result.exit_code == 0, result.output
    stdout = pulse("export", "members", "--database-url", url(demo_db)).stdout_bytes
    assert target.read_bytes() == stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["members.csv"]
    lines = len(rows_of(stdout.decode()))
    assert f"Wrote {lines:,} rows to {target}." in result.stderr
    assert f"exported {lines:,} rows" in result.stderr  # progress, on stderr only
    assert b"exported" not in stdout
    as_of = pulse("export", "members", "--as-of", "2026-09-01", "--out", "-",
                  "--database-url", url(demo_db))  # fmt: skip
    assert as_of.exit_code == 0, as_of.output
    assert rows_of(as_of.stdout)
    assert as_of.stdout != stdout


def test_failed_export_leaves_no_file_and_keeps_the_old_one(tmp_path):
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    target = tmp_path / "out" / "members.csv"
    target.parent.mkdir()
    target.write_text("old export\n")
    result = pulse("export", "members", "--out", target, "--database-url", f"sqlite:///{empty}")
    assert result.exit_code == 1
    assert result.output.startswith("pulse: ")
    assert "Traceback" not in result.output
    assert target.read_text() == "old export\n"
    assert [p.name for p in target.parent.iterdir()] == ["members.csv"]


@pytest.mark.parametrize(
    ("args", "code", "line"),
    [
        (("--as-of", "yesterday"), 2, "pulse: --as-of yesterday is not a date (YYYY-MM-DD)"),
        (("--as-of", "2099-01-01"), 2, "pulse: --as-of 2099-01-01 is in the future"),
        (("--space", "nowhere"), 1, "pulse: no community matches 'nowhere'"),
        (("--out", "/nonexistent-dir/x.csv"), 1, "pulse: cannot write /nonexistent-dir/x.csv"),
    ],
)
def test_bad_input_is_one_clear_line(demo_db, args, code, line):
    result = pulse("export", "members", *args, "--database-url", url(demo_db))
    assert result.exit_code == code, result.output
    assert result.output.startswith(line)
    assert result.output.count("\n") == 1
    assert result.stdout == ""


def test_unknown_kind_and_directory_out(demo_db, tmp_path):
    kind = pulse("export", "people", "--database-url", url(demo_db))
    assert kind.exit_code == 2
    assert "'people' is not one of 'members', 'tier-changes', 'outreach', 'weekly'" in kind.output
    folder = pulse("export", "members", "--out", tmp_path, "--database-url", url(demo_db))
    assert folder.exit_code == 1
    assert f"pulse: --out {tmp_path} is a directory" in folder.output
    assert list(tmp_path.iterdir()) == []
