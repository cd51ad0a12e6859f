"""Tier and quiet rules have one set of defaults: the domain's, which the settings take on."""

from __future__ import annotations

from bot.settings import QuietSettings, Settings, TierSettings, TierWeights
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
