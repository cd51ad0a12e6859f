"""Outcome figures on a hand-built community (tests/outcomes_world.py has the hand counts)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from community.goals import GoalMetric
from community.outcomes import compose_cohorts, month_bounds
from storage.cohorts import cohort_activity, cohort_members
from storage.goals import goal_value
from storage.health import help_health
from tests.outcomes_world import NOW, build_outcomes_world

WEEK = timedelta(weeks=1)


async def test_help_health_matches_the_hand_count(engine):
    space = await build_outcomes_world(engine)
    async with engine.connect() as conn:
        health = await help_health(conn, space, NOW - WEEK, NOW)
    o = health.overall
    # Nine questions by members (the staff member's is left out); seven answered.
    assert (o.questions, o.answered, o.answered_within_day) == (9, 7, 6)
    # Reply hours 0.5, 1, 2, 3, 4, 10, 30: ann's own follow-up after 1 h is not her first reply.
    assert o.median_hours == pytest.approx(3)
    assert o.p90_hours == pytest.approx(18)
    rows = {c.channel: (c.questions, c.answered, c.median_hours) for c in health.channels}
    assert rows == {"help": (8, 6, pytest.approx(3.5)), "general": (1, 1, pytest.approx(0.5))}
    # Cat's question waits 96 h; Eve's is only 2 h old.
    assert [(n.channel, round(n.age_hours)) for n in health.needs_attention] == [("help", 96)]
    assert health.needs_attention_total == 1
    assert (health.answers, health.staff_answers, health.concentration) == (7, 1, 2)
    assert [c.member.name for c in health.carriers] == ["bob", "cy"]
    assert health.concentration_warning


async def test_unanswered_hours_moves_the_attention_line(engine):
    space = await build_outcomes_world(engine)
    async with engine.connect() as conn:
        health = await help_health(conn, space, NOW - WEEK, NOW, unanswered_hours=1)
    assert sorted(round(n.age_hours) for n in health.needs_attention) == [2, 96]


async def test_cohort_funnel_and_retention(engine):
    space = await build_outcomes_world(engine)
    bounds = month_bounds(NOW, 3)
    async with engine.connect() as conn:
        members = await cohort_members(conn, space, bounds[0], bounds[-1])
        posted = await cohort_activity(conn, space, bounds)
    report = compose_cohorts(bounds, members, posted)
    april, may, june = report.funnels
    assert (april.month, april.joined) == (date(2026, 4, 1), 10)  # staff member sue left out
    counts = {s.step: (s.count, s.median_days) for s in april.steps}
    assert counts == {
        "posted": (10, 1),
        "asked": (6, 2),
        "helped": (3, 5),
        "active": (2, 15),
        "hero": (1, 50),
    }
    assert april.step("helped").rate == pytest.approx(0.3)
    assert may.joined == 1  # the imported member, by the month first seen
    assert june.joined == 12  # everyone first seen in the help week, staff aside
    retention = {r.month: r.active for r in report.retention}
    assert retention == {
        date(2026, 4, 1): (10, 4, 4),  # 4 of 10 stay
        date(2026, 5, 1): (1, 0),
        date(2026, 6, 1): (12,),
    }


async def test_outcome_goal_figures(engine):
    space = await build_outcomes_world(engine)
    async with engine.connect() as conn:
        answered = await goal_value(conn, space, GoalMetric.ANSWERED_SHARE, NOW)
        concentration = await goal_value(conn, space, GoalMetric.HELPER_CONCENTRATION, NOW)
        activation = await goal_value(conn, space, GoalMetric.NEWCOMER_ACTIVATION_RATE, NOW)
        mid_may = datetime(2026, 5, 15, 12, tzinfo=UTC)
        retention = await goal_value(conn, space, GoalMetric.COHORT_RETENTION_30D, mid_may)
        median = await goal_value(conn, space, GoalMetric("median_first_reply_hours"), NOW)
    assert answered == pytest.approx(7 / 9)
    assert concentration == 2
    assert activation == pytest.approx(2 / 23)  # 10 in April, 1 in May, 12 in June
    # Joined April 15 to March 16 back... i.e. the ten who joined on April 5; four posted May 6.
    assert retention == pytest.approx(0.4)
    assert median == pytest.approx(3)


@pytest.mark.parametrize(
    "metric", [GoalMetric.ANSWERED_SHARE, GoalMetric.MEDIAN_TIME_TO_FIRST_REPLY]
)
async def test_reply_goal_samples_read_once_equal_each_moment_read_alone(engine, metric):
    from storage.goals import goal_samples

    space = await build_outcomes_world(engine)
    # Every six hours of the last week: Fay's question (NOW - 6 d) is answered after 30 h, so
    # it is unanswered in the early samples and answered in the later ones.
    moments = [NOW - timedelta(days=7) + k * timedelta(hours=6) for k in range(29)]
    async with engine.connect() as conn:
        together = await goal_samples(conn, space, metric, moments)
        alone = [(m, await goal_value(conn, space, metric, m)) for m in moments]
    assert together == alone
    values = [v for _, v in together if v is not None]
    assert len(set(values)) >= 2  # the figure moves as questions and replies come in
