"""The members table staff filter, sort and page: what may be asked, and what each row holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from community.tiers import Tier

# The columns a member list sorts by, in the order the table shows them.
MEMBER_COLUMNS = (
    "name",
    "tier",
    "score",
    "last_seen",
    "weeks_active",
    "helped",
    "quiet",
    "platform",
)
TIERS = tuple(t.value for t in Tier)
MAX_PER_PAGE = 500
# A display name is at most 200 characters (storage.models.Member); a longer search cannot match.
MAX_SEARCH = 200


@dataclass(frozen=True, slots=True)
class MemberQuery:
    """Which members to list and in what order: filters, sort column, page."""

    tier: str | None = None
    quiet: bool | None = None
    channel: str | None = None
    platform: str | None = None
    search: str | None = None
    sort: str = "score"
    descending: bool = True
    page: int = 1
    per_page: int = 50

    def __post_init__(self) -> None:
        if self.sort not in MEMBER_COLUMNS:
            raise ValueError(f"unknown sort {self.sort!r}; one of {', '.join(MEMBER_COLUMNS)}")
        if self.tier is not None and self.tier not in TIERS:
            raise ValueError(f"unknown tier {self.tier!r}; one of {', '.join(TIERS)}")
        if self.page < 1:
            raise ValueError(f"page {self.page} is before the first (pages start at 1)")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page {self.per_page} is not between 1 and {MAX_PER_PAGE}")
        if self.search is not None and len(self.search) > MAX_SEARCH:
            raise ValueError(f"search is longer than a name can be ({MAX_SEARCH} characters)")

    def matches(self, row: MemberRow) -> bool:
        """Whether ROW passes the filters a row alone answers (all but the channel)."""
        return (
            (self.tier is None or row.tier == self.tier)
            and (self.quiet is None or row.quiet == self.quiet)
            and (self.platform is None or row.platform == self.platform)
            and (self.needle is None or self.needle in row.name.lower())
        )

    def sorted(self, rows: list[MemberRow]) -> list[MemberRow]:
        """ROWS in this query's order, ties by member id, as the database orders them."""
        by_id = sorted(rows, key=lambda r: r.id)
        # sorted() keeps ties in place even reversed, so ties stay by ascending id.
        return sorted(by_id, key=_SORT_KEYS[self.sort], reverse=self.descending)

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.page - 1) * self.per_page

    @property
    def needle(self) -> str | None:
        """The search as compared: trimmed and lower-cased; None when there is nothing to find."""
        text = (self.search or "").strip().lower()
        return text or None


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One member as the members table and its CSV show them."""

    id: int
    platform_id: str
    name: str
    platform: str
    tier: str | None  # None for staff, who hold no tier
    score: float
    last_seen: date | None
    weeks_active: int
    helped_members: int
    quiet: bool
    staff: bool
    hero_confirmed: bool


# Staff (no tier) rank below passive members; never seen sorts as the oldest.
_TIER_RANK = {None: -1, "passive": 0, "active": 1, "hero": 2}
_SORT_KEYS = {
    "name": lambda r: r.name.lower(),
    "tier": lambda r: _TIER_RANK[r.tier],
    "score": lambda r: r.score,
    "last_seen": lambda r: r.last_seen or date.min,
    "weeks_active": lambda r: r.weeks_active,
    "helped": lambda r: r.helped_members,
    "quiet": lambda r: r.quiet,
    "platform": lambda r: r.platform,
}


@dataclass(frozen=True, slots=True)
class MemberPage:
    """One page of a member list and how many members match in all."""

    rows: list[MemberRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the matches fill (at least one, empty or not)."""
        return max(1, -(-self.total // self.per_page))
