"""Two channels with one name (Discord allows it) keep their own help-health rows everywhere.

The digest world's #help (platform id "help") gets a namesake, "#help" with a snowflake id,
where Aaron asks two questions this week: one answered by Ravi after five hours, one never.
Keyed by name, the two channels' questions merged into one row with blended figures.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from bot.services.digests import build_digest
from bot.settings import Settings
from storage.engine import create_engine
from storage.migrate import upgrade
from tests.digest_world import KEY, NAMES, NOW, build_world
from tests.factories import ev, ingest, pulse
from tests.web.site import served

TWIN = "1170000000000000002"
OLD_LABEL, TWIN_LABEL = "help (help)", f"help ({TWIN})"


def twin_events() -> list:
    """Aaron's two questions in the second #help and Ravi's one reply."""
    named = {"channel": TWIN, "channel_name": "help"}
    answered = ev("message", "asker", at=NOW - timedelta(days=2), event_id="twin-q1",
                  is_question=True, member_name=NAMES["asker"], **named)  # fmt: skip
    reply = ev("reply", "riser", at=answered.occurred_at + timedelta(hours=5),
               event_id="twin-a1", parent_event_id=answered.event_id,
               target_member_id="asker", member_name=NAMES["riser"], **named)  # fmt: skip
    waiting = ev("message", "asker", at=NOW - timedelta(hours=40), event_id="twin-q2",
                 is_question=True, member_name=NAMES["asker"], **named)  # fmt: skip
    return [answered, reply, waiting]


def check_rows(rows: dict[str, tuple[int, float | None]]) -> None:
    """ROWS (label: questions, median hours) hold both channels, each with its own figures."""
    assert "help" not in rows, rows
    assert rows[TWIN_LABEL] == (2, pytest.approx(5.0)), rows
    questions, median = rows[OLD_LABEL]
    assert questions >= 1, rows
    assert median < 1, rows  # the world's own #help: answered within minutes


async def test_staff_digest_and_dashboard_keep_two_rows(engine):
    async with served(engine) as site:
        await ingest(engine, twin_events(), KEY)
        space = site.world.space_id
        built = await build_digest(site.uow, Settings().policies(), space, "staff", NOW)
        health = built.content.health
        check_rows({c.channel: (c.questions, c.median_hours) for c in health.channels})
        assert len({c.channel_id for c in health.channels}) == len(health.channels)
        assert sum(c.questions for c in health.channels) == health.overall.questions

        await site.sign_in()
        body = await (await site.client.get(f"/c/{space}/channels")).text()
        cells = {
            name: re.findall(r"<td>([^<]*)", rest)
            for name, rest in re.findall(r"<tr><td>#([^<]+)</td>(.*?)</tr>", body, flags=re.S)
        }
        shown = {}
        for label, row in cells.items():
            median = row[4].removesuffix(" h")
            shown[label] = (int(row[1]), None if median == "–" else float(median))
        check_rows(shown)
        # The twin's posts are its own: two questions (Ravi's reply is in its busiest members).
        assert cells[TWIN_LABEL][0] == "3"
        # The members filter lists both channels, told apart.
        members = await (await site.client.get(f"/c/{space}/members")).text()
        assert f">#{TWIN_LABEL}</option>" in members
        assert f">#{OLD_LABEL}</option>" in members


@pytest.fixture
async def twin_url(tmp_path):
    """A SQLite file holding the digest world and the second #help, as a --database-url."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    await build_world(engine)
    await ingest(engine, twin_events(), KEY)
    await engine.dispose()
    return url


def test_pulse_health_keeps_two_rows(twin_url):
    result = pulse("health", "--weeks", "1", "--json", "--database-url", twin_url, at=NOW)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    check_rows({c["channel"]: (c["questions"], c["median_first_reply_hours"])
                for c in data["channels"]})  # fmt: skip
    table = pulse("health", "--weeks", "1", "--database-url", twin_url, at=NOW)
    assert f"#{TWIN_LABEL}" in table.stdout
    assert f"#{OLD_LABEL}" in table.stdout
