"""CSV exports for spreadsheets: members, tier changes, outreach and the weekly figures.

Each export is CSV text in chunks, header first, read from the database in batches so that
100,000 members never sit in memory at once (the members list as of a past day is the
exception: the tier replay behind it holds every member). The cell rules (formula
neutralising, ISO dates) are in community.exports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from community.events import day_number, day_start
from community.exports import EXPORT_KINDS, HEADERS, csv_text, member_cells
from community.member_list import MemberQuery
from community.tiers import Tier, TierPolicy
from storage.exports import members_as_of, stream_outreach, stream_tier_changes
from storage.member_list import stream_member_rows
from storage.tier_changes import weekly_active_by_tier
from storage.uow import UnitOfWork

__all__ = ["EXPORT_KINDS", "export_csv"]


async def export_csv(
    uow: UnitOfWork,
    kind: str,
    space_id: int,
    *,
    as_of: datetime | date | None = None,
    query: MemberQuery | None = None,
    now: datetime | None = None,
    policy: TierPolicy | None = None,
    progress: Callable[[int], None] | None = None,
) -> AsyncIterator[str]:
    """KIND's CSV for SPACE_ID in chunks, header first, as of AS_OF (else NOW).

    AS_OF is a moment, or a day: its end (or NOW, if the day is today).

    QUERY narrows and orders the members export (its page is ignored: every match is
    exported); POLICY recomputes tiers for a members export as of a past moment; PROGRESS is
    told the rows written so far after each batch.
    """
    if kind not in EXPORT_KINDS:
        raise ValueError(f"unknown export {kind!r}; one of {', '.join(EXPORT_KINDS)}")
    if isinstance(as_of, date) and not isinstance(as_of, datetime):
        as_of = end_of_day(as_of, now)
    moment = as_of or now
    if moment is None:
        raise ValueError("an export needs the moment it is made (now) or as_of")
    yield csv_text([HEADERS[kind]])
    written = 0
    async for rows in _rows(uow, kind, space_id, as_of, moment, query, policy):
        yield csv_text(rows)
        written += len(rows)
        if progress is not None:
            progress(written)


def end_of_day(day: date, now: datetime | None) -> datetime:
    """The moment a read as of DAY sees: the day's last second, or NOW if that is earlier."""
    end = day_start(day_number(datetime(day.year, day.month, day.day, tzinfo=UTC)) + 1)
    end -= timedelta(seconds=1)
    return min(end, now) if now is not None else end


async def _rows(uow, kind, space_id, as_of, moment, query, policy) -> AsyncIterator[list]:
    """KIND's rows in batches, each a list of tuples in HEADERS[KIND]'s columns."""
    async with uow.read() as conn:
        if kind == "members":
            query = replace(query or MemberQuery(), page=1)
            if as_of is not None:
                rows = await members_as_of(
                    conn, space_id, day_number(as_of), as_of, policy or TierPolicy(), query
                )
                for start in range(0, len(rows), 2000):
                    yield [member_cells(r) for r in rows[start : start + 2000]]
                return
            async for batch in stream_member_rows(conn, space_id, query, moment):
                yield [member_cells(r) for r in batch]
        elif kind == "tier-changes":
            async for batch in stream_tier_changes(conn, space_id, as_of):
                yield batch
        elif kind == "outreach":
            async for batch in stream_outreach(conn, space_id, as_of):
                yield batch
        else:
            weekly = await weekly_active_by_tier(conn, space_id, moment)
            tiers = [t.value for t in (Tier.PASSIVE, Tier.ACTIVE, Tier.HERO)]
            yield [
                (start, *(weekly.counts[t][i] for t in tiers))
                for i, start in enumerate(weekly.week_starts)
            ]
