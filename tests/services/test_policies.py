"""The rules have one set of defaults, the domain's, which the settings take on."""

from __future__ import annotations

from datetime import date

import pytest

from bot.settings import (
    ConfigError,
    QuietSettings,
    Settings,
    TierSettings,
    TierWeights,
    parse_settings,
)
from community.goals import Goal, GoalMetric
from community.helpgraph import accept_keys
from community.policies import DigestPolicy, Policies
from community.quiet import QuietPolicy
from community.tiers import TierPolicy


def test_default_settings_are_the_domains_default_rules():
    assert Settings().tiers.policy() == TierPolicy()
    assert Settings().quiet.policy() == QuietPolicy()


def test_every_weight_the_rules_know_is_a_setting_and_no_other():
    assert set(TierWeights.model_fields) == set(TierPolicy().weights)


def test_configured_values_reach_the_rules():
    tiers = TierSettings(hero_score=99.0, weights=TierWeights(answer=7.0)).policy()
    assert tiers.hero_score == 99.0
    assert tiers.weights["answer"] == 7.0
    assert QuietSettings(min_days=3).policy().min_days == 3


def test_default_settings_resolve_to_the_default_policies():
    assert Settings().policies() == Policies()


def test_the_config_reaches_every_policy_once_resolved():
    settings = parse_settings(
        {
            "tiers": {"hero_score": 42.0, "accept_reactions": [":shipit:"]},
            "quiet": {"min_days": 9},
            "digest": {"shout_outs": 2, "staff_list_limit": 3},
            "privacy": {"retention_days": 30},
            "goals": [{"metric": "heroes", "target": 5, "by": "2027-01-01"}],
        }
    )
    policies = settings.policies()
    assert policies.tiers.hero_score == 42.0
    assert policies.quiet.min_days == 9
    assert policies.accept == accept_keys([":shipit:"])
    assert policies.digest == DigestPolicy(shout_outs=2, staff_list_limit=3)
    assert policies.retention_days == 30
    assert policies.goals == (Goal(GoalMetric.HEROES, 5, date(2027, 1, 1)),)


def test_demotions_wait_for_a_staff_digest_only_where_one_is_posted():
    def platforms(data: dict) -> frozenset[str]:
        return parse_settings(data).policies().tiers.staff_digest_platforms

    assert platforms({}) == frozenset()
    assert platforms({"discord": {"staff_channel_id": "1"}}) == {"discord"}
    both = {"discord": {"staff_channel_id": "1"}, "slack": {"staff_channel_id": "C1"}}
    assert platforms(both) == {"discord", "slack"}
    assert platforms({**both, "digest": {"enabled": False}}) == frozenset()
    assert parse_settings({"tiers": {"demotion_notice_days": 0}}).policies().tiers == TierPolicy(
        demotion_notice_days=0
    )


def test_the_notice_period_cannot_be_negative():
    with pytest.raises(ConfigError, match=r"tiers\.demotion_notice_days"):
        parse_settings({"tiers": {"demotion_notice_days": -1}})
