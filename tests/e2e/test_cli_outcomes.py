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
