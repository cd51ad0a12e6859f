"""Where staff see the outcome figures: /community-stats, the staff digest, the service."""

from datetime import date

import pytest

from bot.commands.service import CommandService, Invocation
from bot.digest_render.layout import staff_doc
from bot.services.digests import build_digest
from bot.services.outcomes import cohorts_over, health_over
from bot.settings import Settings, parse_settings
from community.clock import FixedClock
from community.events import Platform
from storage.uow import UnitOfWork
from tests.outcomes_world import NOW, build_outcomes_world

STAFF = Invocation(Platform.DISCORD, "g1", "sam", is_staff=True)


async def test_community_stats_shows_help_health(sqlite_engine):
    await build_outcomes_world(sqlite_engine)
    service = CommandService(
        UnitOfWork(sqlite_engine), Settings().policies(), b"k", FixedClock(NOW)
    )
    reply = await service.run(STAFF, "community-stats", {"weeks": 1})
    health = dict(reply.fields)["Help health"]
    assert "9 questions; first reply by another member: median 3.0 h" in health
    assert "Answered within 24 h: 67%; answered at all: 78%" in health
    assert "Needs attention (no reply after 24 h): 1" in health
    assert "2 members gave half of the 7 answers; staff gave 14%" in health
    assert "2 people or fewer" in health


async def test_staff_digest_has_a_help_health_section(engine):
    space = await build_outcomes_world(engine)
    settings = parse_settings({"health": {"unanswered_hours": 1}})
    built = await build_digest(UnitOfWork(engine), settings.policies(), space, "staff", NOW)
    assert built.content.health.concentration == 2
    assert built.content.health.needs_attention_total == 2  # with a 1-hour line, Eve's too
    section = next(s for s in staff_doc(built.content).sections if s.title == "Help health")
    assert any("Needs attention (no reply after 1 h): 2" in line for line in section.lines)
    assert any("2 people or fewer" in line for line in section.lines)
    assert "Help health" in built.rendered.text


async def test_services_the_dashboard_can_call(sqlite_engine):
    space = await build_outcomes_world(sqlite_engine)
    uow = UnitOfWork(sqlite_engine)
    health = await health_over(uow, Settings().policies(), space, NOW, weeks=1)
    assert health.overall.median_hours == pytest.approx(3)
    cohorts = await cohorts_over(uow, space, NOW, months=3)
    assert [(f.month, f.joined) for f in cohorts.funnels] == [
        (date(2026, 4, 1), 10),
        (date(2026, 5, 1), 1),
        (date(2026, 6, 1), 12),
    ]
    assert cohorts.retention[0].shares == (1.0, 0.4, 0.4)
