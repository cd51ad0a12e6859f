import json

import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.factories import DEMO_NOW, pulse


def run(demo_db, *args):
    path, _ = demo_db
    return pulse(*args, "--database-url", f"sqlite:///{path}")


def test_demo_shows_tiers_candidates_and_quiet_members(demo_db):
    _, data = demo_db
    assert data["members"] >= 300
    tiers = data["tiers"]
    assert tiers["hero"] >= 3
    assert tiers["active"] >= 20
    assert tiers["passive"] > tiers["active"]
    assert data["hero_candidates"], "the demo has heroes nobody recognized yet"
    assert data["rising_actives"], "the demo has passive members who started helping"
    assert all(c["member"]["name"] for c in data["hero_candidates"])
    quiet = data["quiet"]
    assert len(quiet) >= 8
    assert quiet[0]["context"]["unanswered_question_at"] is not None  # strongest signal first
    assert "got no reply" in quiet[0]["summary"]


def test_demo_is_deterministic(demo_db, tmp_path):
    _, first = demo_db
    again = pulse("demo", "--out", tmp_path / "d.db", "--json")
    second = json.loads(again.stdout)
    assert second["tiers"] == first["tiers"]
    assert [c["member"]["name"] for c in second["hero_candidates"]] == [
        c["member"]["name"] for c in first["hero_candidates"]
    ]


def test_demo_refuses_to_overwrite_a_real_database(tmp_path):
    precious = tmp_path / "pulse.db"
    precious.write_text("not a demo")
    result = CliRunner().invoke(cli, ["demo", "--out", str(precious)])
    assert result.exit_code == 2
    assert "not a Pulse demo database" in result.output
    assert precious.read_text() == "not a demo"


def test_tiers_table_and_json(demo_db):
    _, data = demo_db
    table = run(demo_db, "tiers", "--list", "hero", "--limit", "3")
    assert table.exit_code == 0, table.output
    assert "Members per tier" in table.output
    assert "hero: active" in table.output
    as_json = json.loads(run(demo_db, "tiers", "--json").stdout)
    assert as_json["counts"] == data["tiers"]


def test_hero_candidates_command(demo_db):
    result = run(demo_db, "hero-candidates", "--json", "--limit", "5")
    data = json.loads(result.stdout)
    assert 1 <= len(data["hero_candidates"]) <= 5
    assert data["hero_candidates"][0]["trend"] in ("rising", "steady", "falling")
    assert "Hero candidates" in run(demo_db, "hero-candidates").output


def test_quiet_command(demo_db):
    data = json.loads(run(demo_db, "quiet", "--json", "--limit", "3").stdout)
    assert len(data) == 3
    assert "Quiet members" in run(demo_db, "quiet").output


def test_member_command_by_name_and_errors(demo_db):
    _, data = demo_db
    name = data["hero_candidates"][0]["member"]["name"]
    profile = json.loads(run(demo_db, "member", name, "--json").stdout)
    assert profile["tier"] in ("active", "hero")
    assert profile["reasons"].startswith(profile["tier"])
    assert name in run(demo_db, "member", name).output
    missing = run(demo_db, "member", "Nobody McNobody")
    assert missing.exit_code == 1
    assert "no member matches 'Nobody McNobody'" in missing.output


@pytest.mark.parametrize("limit", ["0", "10000", "many"])
def test_bad_limit_is_a_clear_error(demo_db, limit):
    result = run(demo_db, "quiet", "--limit", limit)
    assert result.exit_code == 2
    assert "--limit" in result.output
    assert "Traceback" not in result.output


def test_read_commands_on_an_empty_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = CliRunner().invoke(cli, ["tiers", "--database-url", url])
    assert result.exit_code == 1
    assert "pulse db upgrade" in result.output


def test_purge_command_keeps_rollups(tmp_path):
    import sqlite3

    path = tmp_path / "p.db"
    assert pulse("demo", "--out", path, "--json").exit_code == 0
    config = tmp_path / "pulse.toml"
    config.write_text("[privacy]\nretention_days = 30\n")
    with sqlite3.connect(path) as db:
        before = db.execute("select count(*), sum(messages) from member_daily_rollups").fetchone()
    result = pulse("purge", "--config", config, "--database-url", f"sqlite:///{path}")
    assert result.exit_code == 0, result.output
    assert "rollups kept" in result.output
    with sqlite3.connect(path) as db:
        oldest = db.execute("select min(occurred_at) from activities").fetchone()[0]
        after = db.execute("select count(*), sum(messages) from member_daily_rollups").fetchone()
    assert after == before
    from datetime import timedelta

    cutoff = (DEMO_NOW - timedelta(days=30)).strftime("%Y-%m-%d")
    assert oldest is not None
    assert oldest[:10] >= cutoff  # nothing older than the retention period survives
    assert int(result.output.split()[1].replace(",", "")) > 0


def test_as_of_today_on_the_demo_is_what_the_commands_say(demo_db):
    _, data = demo_db
    today = DEMO_NOW.strftime("%Y-%m-%d")
    name = data["hero_candidates"][0]["member"]["name"]
    for args in (("tiers", "--list", "hero"), ("hero-candidates",), ("quiet",),
                 ("member", name)):  # fmt: skip
        plain = json.loads(run(demo_db, *args, "--json").stdout)
        as_of = json.loads(run(demo_db, *args, "--json", "--as-of", today).stdout)
        assert as_of == plain, args


def test_demo_as_of_a_past_day(demo_db):
    then = json.loads(run(demo_db, "tiers", "--json", "--as-of", "2026-09-01").stdout)["counts"]
    _, data = demo_db
    assert then != data["tiers"]
    assert then["active"] + then["hero"] > 0
    table = run(demo_db, "hero-candidates", "--as-of", "2026-09-01")
    assert table.exit_code == 0, table.output
    assert "Hero candidates" in table.output


def test_clear_lines_for_odd_input(demo_db, tmp_path):
    path, _ = demo_db
    url = f"sqlite:///{path}"
    huge = pulse("member", "x" * 100_000, "--database-url", url)
    assert huge.exit_code == 1
    assert "100,000-character name" in huge.output
    assert "Traceback" not in huge.output
    latin1 = tmp_path / "pulse.toml"
    latin1.write_bytes(b"[tiers]\nwindow_days = 30\n# caf\xe9\n")
    config = pulse("tiers", "--config", latin1, "--database-url", url)
    assert config.exit_code == 2
    assert "is not UTF-8 text" in config.output
    demo = pulse("demo", "--database-url", f"sqlite:///{tmp_path / 'x.db'}")
    assert demo.exit_code == 2
    assert "--out FILE, not --database-url" in demo.output
    assert not (tmp_path / "x.db").exists()


def test_reclassify_on_a_database_with_no_community_says_so(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert pulse("db", "upgrade", "--database-url", url).exit_code == 0
    result = pulse("reclassify", "--database-url", url)
    assert result.exit_code == 0, result.output
    assert "No community is stored yet: nothing to reclassify" in result.output
