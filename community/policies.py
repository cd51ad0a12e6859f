"""Every rule Pulse applies, resolved once from the config when Pulse starts.

Services, jobs and command handlers receive a ``Policies`` instead of the whole config: what
they may decide with is then visible in one type, and the config is read in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from community.goals import Goal
from community.helpgraph import DEFAULT_ACCEPT_KEYS
from community.outcomes import DEFAULT_UNANSWERED_HOURS
from community.quiet import QuietPolicy
from community.tiers import TierPolicy


@dataclass(frozen=True, slots=True)
class DigestPolicy:
    """How much the weekly digests list."""

    shout_outs: int = 5
    staff_list_limit: int = 10


@dataclass(frozen=True, slots=True)
class Policies:
    """The tier, quiet, help-graph, digest, goal and retention rules in force."""

    tiers: TierPolicy = field(default_factory=TierPolicy)
    quiet: QuietPolicy = field(default_factory=QuietPolicy)
    # Emoji keys by which an asker accepts an answer (community.helpgraph.accept_keys).
    accept: frozenset[str] = DEFAULT_ACCEPT_KEYS
    digest: DigestPolicy = field(default_factory=DigestPolicy)
    goals: tuple[Goal, ...] = ()
    retention_days: int = 365
    # Hours after which a question without a reply by another person needs attention.
    unanswered_hours: float = DEFAULT_UNANSWERED_HOURS
