import json
import sqlite3

from click.testing import CliRunner

from bot.cli import cli
from tests.factories import pulse

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def preview(demo_db, *args):
    path, _ = demo_db
    return pulse("digest", "preview", "--database-url", f"sqlite:///{path}", *args)


def test_preview_prints_both_digests_and_writes_the_chart(demo_db, tmp_path):
    result = preview(demo_db, "--out", str(tmp_path / "charts"))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "This week in Acme Developers (demo)" in out
    assert "Thank you for helping" in out
    assert "Staff digest: Acme Developers (demo)" in out
    assert "Reach out to (went quiet)" in out
    assert "nothing was posted" in out
    charts = list((tmp_path / "charts").glob("*.png"))
    assert len(charts) == 1
    png = charts[0].read_bytes()
    assert png.startswith(PNG_MAGIC)
    assert len(png) > 5000
    # A preview claims no digest run.
    with sqlite3.connect(demo_db[0]) as db:
        assert db.execute("select count(*) from digest_runs").fetchone()[0] == 0


def test_preview_json_keeps_quiet_members_out_of_the_community_digest(demo_db, tmp_path):
    _, demo = demo_db
    result = preview(demo_db, "--json", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    staff = data["staff"]["digest"]
    assert staff["tiers_now"] == demo["tiers"]
    assert len(staff["weekly_active"]["week_starts"]) == 12
    assert staff["quiet_total"] >= len(staff["quiet"]) > 0
    community = data["community"]
    assert community["digest"]["shout_outs"]
    public = json.dumps(community)
    for entry in staff["quiet"]:
        assert entry["member"]["name"] not in public
    embed = community["rendered"]["discord_embeds"][0]
    assert embed["title"] == "This week in Acme Developers (demo)"
    assert data["staff"]["rendered"]["chart_filename"].endswith(".png")
    with open(data["chart"], "rb") as fh:
        assert fh.read(8) == PNG_MAGIC


def test_preview_with_goals_from_the_config(demo_db, tmp_path):
    config = tmp_path / "pulse.toml"
    config.write_text(
        '[[goals]]\nmetric = "heroes"\ntarget = 12\nby = 2099-12-31\n'
        '[[goals]]\nmetric = "median_time_to_first_reply"\ntarget = 1.5\nby = 2099-12-31\n'
        'name = "Answer fast"\n'
    )
    result = preview(demo_db, "--config", str(config), "--out", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    goals = json.loads(result.stdout)["staff"]["digest"]["goals"]
    assert [g["goal"]["metric"] for g in goals] == ["heroes", "median_time_to_first_reply"]
    assert goals[0]["current"] == json.loads(result.stdout)["staff"]["digest"]["tiers_now"]["hero"]
    assert goals[1]["goal"]["name"] == "Answer fast"
    assert goals[1]["status"] in ("met", "on track", "off track", "not enough history")


def test_preview_errors_are_clear(demo_db, tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    result = preview(demo_db, "--out", str(a_file))
    assert result.exit_code == 2
    assert "is a file" in result.output

    empty = CliRunner().invoke(
        cli, ["digest", "preview", "--database-url", f"sqlite:///{tmp_path / 'new.db'}"]
    )
    assert empty.exit_code == 1
    assert "holds no community yet" in empty.output
    assert "Traceback" not in empty.output

    config = tmp_path / "bad.toml"
    config.write_text(
        '[digest]\ntimezone = "Mars/Base"\n'
        '[[goals]]\nmetric = "vibes"\ntarget = 1\nby = 2027-01-01\n'
    )
    bad = preview(demo_db, "--config", str(config))
    assert bad.exit_code == 2
    assert "digest.timezone: Value error, unknown timezone" in bad.output
    assert "goals.0.metric" in bad.output
