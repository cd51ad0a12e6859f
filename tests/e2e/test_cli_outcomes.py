"""`pulse health` (and `pulse report`) on the hand-built outcomes community."""

import json

import pytest

from storage.engine import create_engine
from storage.migrate import upgrade
from tests.factories import pulse
from tests.outcomes_world import NOW, build_outcomes_world


@pytest.fixture
async def world_url(tmp_path):
    """A SQLite file holding the outcomes community, as a --database-url."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    await build_outcomes_world(engine)
    await engine.dispose()
    return url


def test_health_json_matches_the_hand_count(world_url):
    result = pulse("health", "--weeks", "1", "--json", "--database-url", world_url, at=NOW)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    overall = data["overall"]
    assert (overall["questions"], overall["answered"], overall["answered_within_24h"]) == (9, 7, 6)
    assert overall["median_first_reply_hours"] == pytest.approx(3)
    assert overall["p90_first_reply_hours"] == pytest.approx(18)
    assert [c["channel"] for c in data["channels"]] == ["help", "general"]
    assert data["needs_attention_total"] == 1
    assert data["needs_attention"][0]["channel"] == "help"
    assert data["helper_concentration"] == 2
    assert data["concentration_warning"] is True
    assert data["staff_share"] == pytest.approx(1 / 7)
    assert [c["name"] for c in data["carriers"]] == ["bob", "cy"]


def test_health_table(world_url):
    result = pulse("health", "--weeks", "1", "--database-url", world_url, at=NOW)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "#help" in out
    assert "#general" in out
    assert "all channels" in out
    assert "Needs attention: no reply after 24 h (1)" in out
    assert "2 people or fewer" in out
    assert "bob (3), cy (2)" in out


def test_health_unanswered_hours_from_the_config(world_url, tmp_path):
    config = tmp_path / "pulse.toml"
    config.write_text("[health]\nunanswered_hours = 1\n")
    result = pulse("health", "--weeks", "1", "--json", "--config", config,
                   "--database-url", world_url, at=NOW)  # fmt: skip
    assert json.loads(result.stdout)["needs_attention_total"] == 2


def test_health_refuses_a_bad_period(world_url):
    result = pulse("health", "--weeks", "0", "--database-url", world_url, at=NOW)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def _pngs(html: str) -> list[bytes]:
    import base64
    import re

    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_report_writes_markdown_offline_html_and_charts(world_url, tmp_path):
    config = tmp_path / "pulse.toml"
    config.write_text('[[goals]]\nmetric = "answered_share"\ntarget = 0.9\nby = 2026-12-31\n')
    out = tmp_path / "report"
    result = pulse("report", "--months", "3", "--out", out, "--config", config,
                   "--database-url", world_url, at=NOW)  # fmt: skip
    assert result.exit_code == 0, result.output
    stem = "pulse-report-1-2026-06-10"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"{stem}.md", f"{stem}.html"] + [
        f"{stem}-{chart}.png" for chart in ("funnel", "goals", "retention", "tiers")
    ])  # fmt: skip
    page = (out / f"{stem}.html").read_text()
    # Opens offline: no address to fetch anything from, four charts inline as real PNGs.
    assert "http:" not in page
    assert "https:" not in page
    assert 'src="//' not in page
    assert "@import" not in page
    charts = _pngs(page)
    assert len(charts) == 4
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in charts)
    assert "@media print" in page
    markdown = (out / f"{stem}.md").read_text()
    for text in (page, markdown):
        assert "median first reply 3.0 h; 67% answered within 24 h" in text
        assert "78% of 9 answered; 1 still waiting after 24 h" in text
        assert "2 members gave half of the 7 answers" in text
        # April: 10 joined, 3 helped after a median 5 days, 4 of 10 stayed.
        assert "3 (30%, 5 d)" in text
        assert "36% of the 11 members who joined from Apr 2026 to May 2026" in text
        assert "Questions answered" in text  # the goal
    assert "| Apr 2026 | 10 | 100% | 40% | 40% |" in markdown
    assert f"![retention chart]({stem}-retention.png)" in markdown


def test_report_as_of_a_past_day(world_url, tmp_path):
    out = tmp_path / "may"
    result = pulse("report", "--months", "2", "--as-of", "2026-05-15", "--out", out,
                   "--database-url", world_url, at=NOW)  # fmt: skip
    assert result.exit_code == 0, result.output
    markdown = (out / "pulse-report-1-2026-05-15.md").read_text()
    # On May 15 only the April cohort had a following month: 4 of its 10 posted in May.
    assert "40% of the 10 members who joined from Apr 2026 to Apr 2026" in markdown
    assert "nobody answered a question in these 30 days" in markdown


def test_report_refuses_a_file_as_out(world_url, tmp_path):
    target = tmp_path / "taken"
    target.write_text("x")
    result = pulse("report", "--out", target, "--database-url", world_url, at=NOW)
    assert result.exit_code == 2
    assert "is a file" in result.output
    assert target.read_text() == "x"
