from datetime import UTC, date, datetime, timedelta

import pytest

from community.outcomes import (
    AskedQuestion,
    CohortMember,
    HelperShare,
    compose_cohorts,
    compose_health,
    format_hours,
    health_lines,
    helper_concentration,
    month_bounds,
    percentile,
)
from community.views import MemberRef

T = datetime(2026, 6, 10, 12, tzinfo=UTC)
H = timedelta(hours=1)


def test_percentile_interpolates_between_ranks():
    assert percentile([0.5, 1, 2, 3, 4, 10, 30], 90) == pytest.approx(18)
    assert percentile([0.5, 1, 2, 3, 4, 10, 30], 50) == 3
    assert percentile([7], 90) == 7
    assert percentile([], 90) is None


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ([3, 2, 1, 1], 2),  # 3 < 3.5, 3 + 2 >= 3.5
        ([1, 1, 1, 1], 2),  # exactly half counts
        ([10, 1, 1], 1),
        ([1] * 9, 5),
        ([0, 0], None),
        ([], None),
    ],
)
def test_helper_concentration_is_the_fewest_members_giving_half(answers, expected):
    assert helper_concentration(answers) == expected


def _helper(i, n, staff=False):
    return HelperShare(MemberRef(i, f"p{i}", f"m{i}"), n, staff)


def test_health_from_questions_and_helpers():
    questions = [
        AskedQuestion("help", T - 50 * H, T - 47 * H),  # 3 h
        AskedQuestion("help", T - 30 * H, None),  # needs attention
        AskedQuestion("help", T - 2 * H, None),  # too fresh
        AskedQuestion("general", T - 40 * H, T - 39.5 * H),
    ]
    health = compose_health(T - 72 * H, T, questions, [_helper(1, 1), _helper(2, 1, staff=True)])
    assert health.overall.questions == 4
    assert health.overall.answered_share == 0.5
    assert health.overall.median_hours == pytest.approx(1.75)
    assert [(c.channel, c.questions) for c in health.channels] == [("help", 3), ("general", 1)]
    assert [n.age_hours for n in health.needs_attention] == [30]
    assert health.concentration == 1
    assert health.staff_share == 0.5
    assert health.concentration_warning
    assert any("2 people or fewer" in line for line in health_lines(health))


def test_no_warning_when_help_is_shared_and_none_without_answers():
    shared = compose_health(T - H, T, [], [_helper(i, 1) for i in range(6)])
    assert shared.concentration == 3
    assert not shared.concentration_warning
    empty = compose_health(T - H, T, [], [])
    assert empty.concentration is None
    assert not empty.concentration_warning
    assert empty.overall.median_hours is None
    assert "no answers" in health_lines(empty)[-1]


def test_format_hours():
    assert format_hours(0.5) == "30 min"
    assert format_hours(3) == "3.0 h"
    assert format_hours(72) == "3.0 d"
    assert format_hours(None) == "n/a"


def test_month_bounds_cross_a_year():
    bounds = month_bounds(datetime(2026, 2, 10, tzinfo=UTC), 3)
    assert [b.date() for b in bounds] == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1),
                                          date(2026, 2, 10)]  # fmt: skip


def test_cohorts_group_by_join_month():
    bounds = month_bounds(datetime(2026, 6, 10, tzinfo=UTC), 3)
    april5 = (datetime(2026, 4, 5, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).days
    steps = {"posted": april5 + 1, "asked": None, "helped": None, "active": None, "hero": None}
    members = [CohortMember(april5, steps)] * 10
    report = compose_cohorts(bounds, members, {(0, 0): 10, (0, 1): 4, (0, 2): 4})
    april, may, june = report.retention
    assert (april.size, april.active) == (10, (10, 4, 4))
    assert april.shares == (1.0, 0.4, 0.4)
    assert (may.size, may.active) == (0, (0, 0))
    assert june.active == (0,)
    funnel = report.funnels[0]
    assert funnel.step("posted").count == 10
    assert funnel.step("posted").median_days == 1
    assert funnel.step("asked").rate == 0


def test_outcome_goals_show_progress_and_trend():
    from community.goals import Goal, GoalMetric, GoalStatus, goal_progress

    weeks = [(T + i * timedelta(weeks=1), v) for i, v in enumerate([0.5, 0.6, 0.7])]
    goal = Goal(GoalMetric.ANSWERED_SHARE, 0.9, date(2026, 7, 15))
    progress = goal_progress(goal, weeks, weeks[-1][0])
    assert progress.status is GoalStatus.ON_TRACK
    assert (
        "70% now, target 90% by 2026-07-15: on track (trend: 100%)" in progress.summary()
    )  # clamped
    spread = [(T + i * timedelta(weeks=1), v) for i, v in enumerate([4.0, 3.0, 2.0])]
    shared = goal_progress(Goal(GoalMetric.HELPER_CONCENTRATION, 5, date(2026, 9, 1)),
                           spread, spread[-1][0])  # fmt: skip
    assert shared.status is GoalStatus.OFF_TRACK  # fewer members carry the load each week
    assert GoalMetric("median_first_reply_hours") is GoalMetric.MEDIAN_TIME_TO_FIRST_REPLY


def test_fraction_goal_targets_are_checked():
    from bot.settings import ConfigError, parse_settings

    goal = {"metric": "cohort_retention_30d", "target": 40, "by": date(2027, 1, 1)}
    with pytest.raises(ConfigError, match="cohort_retention_30d target is a fraction"):
        parse_settings({"goals": [goal]})
    concentration = {"metric": "helper_concentration", "target": 6, "by": date(2027, 1, 1)}
    assert parse_settings({"goals": [concentration]}).goals[0].target == 6
