from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from community.quiet import (
    QuietContext,
    QuietPolicy,
    gap_from_span,
    is_quiet,
    quiet_threshold,
    usual_gap,
)
from community.stability import Standing, decide
from community.tiers import (
    DayCounts,
    MemberStats,
    Tier,
    TierPolicy,
    Trend,
    change_reasons,
    earned_tier,
    reasons,
    stats_from_history,
    trend,
)

POLICY = TierPolicy()
AT_ACTIVE = MemberStats(score=20.0, active_weeks=2, helped_members=1)
AT_HERO = MemberStats(score=120.0, active_weeks=8, helped_members=10)


def test_tier_boundaries_are_inclusive():
    assert earned_tier(AT_ACTIVE, POLICY) is Tier.ACTIVE
    assert earned_tier(AT_HERO, POLICY) is Tier.HERO


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("score", 19.99, Tier.PASSIVE),
        ("active_weeks", 1, Tier.PASSIVE),
        ("helped_members", 0, Tier.PASSIVE),
    ],
)
def test_just_below_active_is_passive(field, value, expected):
    assert earned_tier(replace(AT_ACTIVE, **{field: value}), POLICY) is expected


@pytest.mark.parametrize(
    ("field", "value"), [("score", 119.9), ("active_weeks", 7), ("helped_members", 9)]
)
def test_just_below_hero_is_active(field, value):
    assert earned_tier(replace(AT_HERO, **{field: value}), POLICY) is Tier.ACTIVE


def test_lots_of_chatter_without_helping_stays_passive():
    assert earned_tier(MemberStats(score=500, active_weeks=13, helped_members=0), POLICY) is (
        Tier.PASSIVE
    )


DAY = date(2026, 3, 1)


def test_only_joined_is_passive():
    stats = stats_from_history([], [], today=20_000, policy=POLICY)
    assert decide(stats, Standing(), DAY, POLICY).tier is Tier.PASSIVE


def test_promotion_is_immediate_demotion_needs_a_sustained_drop():
    # The notice to staff aside (tests/community/test_stability.py covers it).
    policy = replace(POLICY, demotion_notice_days=0)
    assert decide(AT_HERO, Standing(Tier.PASSIVE), DAY, policy).tier is Tier.HERO
    first = decide(AT_ACTIVE, Standing(Tier.HERO), DAY, policy)
    assert (first.tier, first.earned, first.below_count) == (Tier.HERO, Tier.ACTIVE, 1)
    second = decide(AT_ACTIVE, first.standing, DAY, policy)
    assert (second.tier, second.below_count) == (Tier.ACTIVE, 0)


def test_one_good_week_resets_the_demotion_count():
    first = decide(AT_ACTIVE, Standing(Tier.HERO), DAY, POLICY)
    recovered = decide(AT_HERO, first.standing, DAY, POLICY)
    assert recovered.below_count == 0
    again = decide(AT_ACTIVE, recovered.standing, DAY, POLICY)
    assert again.tier is Tier.HERO


def test_reasons_carry_numbers():
    stats = MemberStats(score=150, active_weeks=11, helped_members=23, answers=30)
    text = reasons(Tier.HERO, stats, POLICY, {"talk": 2})
    assert text.startswith("hero: active 11 of 13 weeks, helped 23 members")
    assert "2 talks logged" in text


def test_trend():
    assert trend(30, 10) is Trend.RISING
    assert trend(10, 30) is Trend.FALLING
    assert trend(10, 11) is Trend.STEADY


def test_decay_and_window():
    today = 20_000
    recent = stats_from_history([DayCounts(today, {"replies": 1})], [], today, POLICY)
    old = stats_from_history([DayCounts(today - 89, {"replies": 1})], [], today, POLICY)
    gone = stats_from_history([DayCounts(today - 90, {"replies": 1})], [], today, POLICY)
    assert recent.score == pytest.approx(2.0)
    assert old.score == pytest.approx(2.0 * (1 - 0.5 * 89 / 90))
    assert gone.score == 0.0


# --- properties -------------------------------------------------------------------------------

day_counts = st.fixed_dictionaries(
    {},
    optional={
        f: st.integers(0, 6)
        for f in (
            "messages",
            "questions",
            "replies",
            "answers",
            "thanks_received",
            "reactions_given",
        )
    },
)
histories = st.lists(st.tuples(st.integers(0, 120), day_counts), max_size=40)
helps = st.lists(st.tuples(st.sampled_from("abcdefghijklmno"), st.integers(0, 120)), max_size=30)


@settings(max_examples=300, deadline=None)
@given(histories, helps, st.integers(0, 89), st.integers(1, 5), st.sampled_from("pqrst"))
def test_more_helping_never_lowers_a_tier(history, helped, day, extra, whom):
    today = 120
    days = [DayCounts(d, c) for d, c in history]
    before = stats_from_history(days, helped, today, POLICY)
    more = [*days, DayCounts(today - day, {"messages": extra, "replies": extra, "answers": extra})]
    after = stats_from_history(more, [*helped, (whom, today - day)], today, POLICY)
    assert earned_tier(after, POLICY).rank >= earned_tier(before, POLICY).rank
    assert after.score >= before.score


# --- quiet rules ------------------------------------------------------------------------------

QUIET = QuietPolicy()


def test_daily_and_weekly_posters_go_quiet_on_different_clocks():
    daily, weekly = usual_gap(range(60)), usual_gap(range(0, 84, 7))
    assert (daily, weekly) == (1.0, 7.0)
    assert is_quiet(15, daily, QUIET)
    assert not is_quiet(15, weekly, QUIET)  # a weekly poster gets 3 x 7 = 21 days
    assert is_quiet(22, weekly, QUIET)
    assert quiet_threshold(None, QUIET) == 14
    assert not is_quiet(14, daily, QUIET)  # the minimum holds even for daily posters


def test_gap_from_span_matches_usual_gap():
    days = [3, 4, 9, 10, 30]
    assert gap_from_span(min(days), max(days), len(days)) == usual_gap(days)


@pytest.mark.parametrize(
    ("gap", "said"),
    [
        (None, "no regular cadence yet"),
        (1.2, "usually active every day"),
        (2.0, "usually active every 2 days"),
        (6.6, "usually active every 7 days"),
    ],
)
def test_a_quiet_reason_states_the_usual_cadence_in_plain_words(gap, said):
    context = QuietContext(
        last_seen=datetime(2026, 3, 1, tzinfo=UTC),
        silent_days=20,
        usual_gap_days=gap,
        tier="active",
    )
    assert f"silent 20 days, {said}; was active" in context.summary()


def test_a_demotion_names_the_bar_missed_and_a_promotion_does_not():
    stats = MemberStats(score=100.0, active_weeks=13, helped_members=7)
    down = change_reasons(Tier.HERO, Tier.ACTIVE, stats, POLICY)
    assert down.startswith("active: active 13 of 13 weeks, helped 7 members")
    assert down.endswith(
        "(below the hero bar: score 100 of 120 needed; helped 7 of 10 members needed)"
    )
    assert "below" not in change_reasons(Tier.PASSIVE, Tier.ACTIVE, stats, POLICY)
    assert "below" not in change_reasons(None, Tier.HERO, stats, POLICY)
