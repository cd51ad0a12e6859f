"""Tier stability: members whose activity drifts around a bar for a year, old rules against new.

Each simulated member answers questions at a daily rate that wanders slowly around the rate
that puts them at a tier's bar (a sine of a few weeks' period, a random walk on top, Poisson
days), helping askers drawn from a small pool so "members helped" drifts too. Every day the
member is evaluated with the pure rules (``community.tiers.stats_from_history``, then
``community.stability.decide``), once with the rules as they were (promotion and demotion at
100% of the bar after ``demotion_evaluations`` evaluations, no grace) and once with the stable
rules (demotion below ``demote_below`` of the bar, never within ``promotion_grace_days`` of a
promotion). The figure is the number of tier changes each rule set makes.

Run it from the project root with the project's virtualenv::

    python -m bench.drift                 # 40 members around each bar, one year, seed 1
    python -m bench.drift --members 100 --days 540 --seed 7
"""

from __future__ import annotations

import argparse
import math
import random
from dataclasses import dataclass, replace
from datetime import date, timedelta

from community.stability import Standing, decide
from community.tiers import DayCounts, Tier, TierPolicy, stats_from_history

START = date(2026, 1, 1)
ANSWER = {"messages": 1, "replies": 1, "answers": 1}
# Answers a day that put a member at each bar with the default weights (6.5 points an answer,
# decayed to 0.75 on average over the 90-day window): 120 / (6.5 * 90 * 0.75) for hero.
BAR_RATES = {Tier.HERO: 0.275, Tier.ACTIVE: 0.05}
ASKERS = {Tier.HERO: 12, Tier.ACTIVE: 3}


def old_rules(policy: TierPolicy) -> TierPolicy:
    """The rules before stability: demote at the full bar, no grace, no notice to staff."""
    return replace(policy, demote_below=1.0, promotion_grace_days=0, demotion_notice_days=0)


@dataclass(frozen=True, slots=True)
class Drift:
    """One simulated member: the bar they drift around and the randomness that drives them."""

    around: Tier
    seed: int

    def days(self, count: int) -> list[tuple[DayCounts, list[tuple[str, int]]]]:
        """COUNT days of activity: each day's counts and the (asker, day) pairs helped."""
        rng = random.Random(self.seed)
        period = rng.uniform(30, 120)
        phase = rng.uniform(0, 2 * math.pi)
        walk = 1.0
        out = []
        for day in range(count):
            walk = min(max(walk * math.exp(rng.gauss(0, 0.03)), 0.6), 1.5)
            rate = (
                BAR_RATES[self.around]
                * walk
                * (1 + 0.3 * math.sin(2 * math.pi * day / period + phase))
            )
            answers = _poisson(rng, max(rate, 0.0))
            counts = {k: v * answers for k, v in ANSWER.items()}
            helped = [(f"asker-{rng.randrange(ASKERS[self.around])}", day) for _ in range(answers)]
            out.append((DayCounts(day, counts), helped))
        return out


def _poisson(rng: random.Random, rate: float) -> int:
    limit, k, p = math.exp(-rate), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def tier_changes(member: Drift, days: int, policy: TierPolicy) -> int:
    """How many times POLICY moves MEMBER between tiers over DAYS daily evaluations."""
    history = member.days(days)
    standing, changes = Standing(), 0
    for today in range(days):
        recent = history[max(0, today - policy.window_days + 1) : today + 1]
        stats = stats_from_history(
            [counts for counts, _ in recent], [h for _, hs in recent for h in hs], today, policy
        )
        decision = decide(stats, standing, START + timedelta(days=today), policy)
        if standing.tier is not None and decision.tier is not standing.tier:
            changes += 1
        standing = decision.standing
    return changes


def compare(members: int, days: int, seed: int, policy: TierPolicy | None = None) -> dict:
    """Tier changes under the old and the new rules, per bar, for MEMBERS members per bar."""
    policy = policy or TierPolicy()
    result = {}
    for around in (Tier.ACTIVE, Tier.HERO):
        cast = [Drift(around, seed * 10_000 + n) for n in range(members)]
        old = sum(tier_changes(m, days, old_rules(policy)) for m in cast)
        new = sum(tier_changes(m, days, policy) for m in cast)
        result[around.value] = {"members": members, "days": days, "old": old, "new": new}
    return result


def main() -> None:
    """Print the comparison as a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=40)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    figures = compare(args.members, args.days, args.seed)
    print(f"{'around':8} {'members':>7} {'days':>5} {'old rules':>10} {'new rules':>10}")
    for around, f in figures.items():
        print(f"{around:8} {f['members']:7} {f['days']:5} {f['old']:10} {f['new']:10}")


if __name__ == "__main__":
    main()
