"""Stable tiers: promote at the full bar, demote only after a sustained drop well below it.

The model is Discourse's trust level 3: promotion needs 100% of every requirement; demotion
needs the member below `demote_below` (90%) of some requirement of their tier on
`demotion_evaluations` consecutive evaluations, and never within `promotion_grace_days` of
their promotion; staff can pin a tier so the daily job never lowers it. Between the full bar and
the demotion line is a band where a member keeps the tier they hold: that band is what stops a
member drifting around a bar from flapping, and it is where staff see them at risk.

Staff see a demotion coming before it happens: the daily job demotes only a member who has been
at risk (under the full bar) for `demotion_notice_days`, one staff digest cycle, and, where the
space has a staff digest, whom a staff digest posted since then listed at risk.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from community.tiers import MemberStats, Tier, TierPolicy, earned_tier, holds, missing


def fallback_tier(current: Tier, stats: MemberStats, policy: TierPolicy) -> Tier:
    """Where a demoted member lands: the highest lower tier they still hold, else passive."""
    for tier in (Tier.ACTIVE, Tier.PASSIVE):
        if tier.rank < current.rank and (tier is Tier.PASSIVE or holds(tier, stats, policy)):
            return tier
    return Tier.PASSIVE


PIN_NOTE = " · pinned by staff"


def with_pin(reasons: str, pinned: bool) -> str:
    """A tier's reasons as shown: marked when staff pinned the tier."""
    return reasons + PIN_NOTE if pinned else reasons


@dataclass(frozen=True, slots=True)
class Standing:
    """What a member's tier remembers between evaluations.

    AT_RISK_SINCE is the first evaluation of the current spell under the full bar of the tier
    held; LISTED says whether a staff digest posted since then named the member at risk, and
    NEEDS_LISTING whether the member's space has a staff digest that must do so first.
    """

    tier: Tier | None = None
    below_count: int = 0
    promoted_on: date | None = None
    pinned: bool = False
    at_risk_since: date | None = None
    needs_listing: bool = False
    listed: bool = False


@dataclass(frozen=True, slots=True)
class Assignment:
    """A tier decision: the tier kept, the tier earned, the evaluations below, the promotion."""

    tier: Tier
    earned: Tier
    below_count: int
    promoted_on: date | None = None
    at_risk_since: date | None = None

    @property
    def standing(self) -> Standing:
        """The decision as the next evaluation's starting point (pins are not decided here)."""
        return Standing(self.tier, self.below_count, self.promoted_on, False, self.at_risk_since)


def in_grace(promoted_on: date | None, today: date, policy: TierPolicy) -> bool:
    """Whether TODAY is within the grace period after a promotion on PROMOTED_ON."""
    return promoted_on is not None and today < promoted_on + timedelta(
        days=policy.promotion_grace_days
    )


def risk_start(tier: Tier, earned: Tier, standing: Standing, today: date) -> date | None:
    """When the spell at risk of losing TIER began: kept while it lasts, TODAY when it starts."""
    if tier is Tier.PASSIVE or earned.rank >= tier.rank or standing.pinned:
        return None
    if tier is standing.tier and standing.at_risk_since is not None:
        return standing.at_risk_since
    return today


def staff_warned(standing: Standing, today: date, policy: TierPolicy) -> bool:
    """Whether staff have had their notice: at risk long enough, and listed where needed."""
    since = standing.at_risk_since
    if since is None or today < since + timedelta(days=policy.demotion_notice_days):
        return False
    return standing.listed or not standing.needs_listing


def decide(stats: MemberStats, standing: Standing, today: date, policy: TierPolicy) -> Assignment:
    """Promote at the full bar; demote after a sustained drop below the line (grace, pins aside).

    A demotion also needs staff to have seen it coming: the member at risk for
    `demotion_notice_days`, and named at risk by a staff digest where the space has one.
    """
    earned = earned_tier(stats, policy)
    current = standing.tier
    if current is None or earned.rank > current.rank:
        promoted = today if current is not None or earned is not Tier.PASSIVE else None
        return Assignment(earned, earned, 0, promoted)
    since = risk_start(current, earned, standing, today)
    if earned is current or holds(current, stats, policy):
        return Assignment(current, earned, 0, standing.promoted_on, since)
    below = standing.below_count + 1
    if (
        below < policy.demotion_evaluations
        or standing.pinned
        or in_grace(standing.promoted_on, today, policy)
        or not staff_warned(replace(standing, at_risk_since=since), today, policy)
    ):
        return Assignment(current, earned, below, standing.promoted_on, since)
    lower = fallback_tier(current, stats, policy)
    return Assignment(lower, earned, 0, None, risk_start(lower, earned, Standing(), today))


def earliest_demotion(standing: Standing, evaluated: date, policy: TierPolicy) -> date:
    """The first day the daily job could demote a member evaluated on EVALUATED.

    It assumes every evaluation from the next one on falls below the demotion line. The one
    date shown wherever a member is at risk (`pulse tiers --at-risk`, the staff digest,
    `/member`, the dashboard); a member a staff digest must still list also waits for that
    digest, a date these rules do not know, so this is a lower bound there.
    """
    evaluations_left = max(policy.demotion_evaluations - standing.below_count, 1)
    earliest = evaluated + timedelta(days=evaluations_left)
    if standing.promoted_on is not None:
        earliest = max(earliest, standing.promoted_on + timedelta(days=policy.promotion_grace_days))
    # A spell not yet recorded starts at the next evaluation.
    since = standing.at_risk_since or evaluated + timedelta(days=1)
    return max(earliest, since + timedelta(days=policy.demotion_notice_days))


@dataclass(frozen=True, slots=True)
class Risk:
    """A member whose next evaluations would demote them, and why."""

    tier: Tier
    falls_to: Tier
    missing: list[str]
    below_count: int
    earliest: date


def at_risk(
    stats: MemberStats, standing: Standing, evaluated: date, policy: TierPolicy
) -> Risk | None:
    """The risk of demotion for a member evaluated on EVALUATED, or None.

    A member is at risk when their figures are under the full bar of the tier they hold: in the
    band above the demotion line nothing happens yet, but a few more days of decay put them
    below it.
    """
    tier = standing.tier
    if tier is None or tier is Tier.PASSIVE or standing.pinned:
        return None
    gaps = missing(tier, stats, policy)
    if not gaps:
        return None
    return Risk(
        tier=tier,
        falls_to=fallback_tier(tier, stats, policy),
        missing=gaps,
        below_count=standing.below_count,
        earliest=earliest_demotion(standing, evaluated, policy),
    )
