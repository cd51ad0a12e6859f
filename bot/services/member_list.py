"""The members table behind the dashboard: one filtered, sorted page of members."""

from __future__ import annotations

from datetime import datetime

from community.member_list import MEMBER_COLUMNS, MemberPage, MemberQuery, MemberRow
from storage.member_list import member_page
from storage.uow import UnitOfWork

__all__ = ["MEMBER_COLUMNS", "MemberPage", "MemberQuery", "MemberRow", "list_members"]


async def list_members(
    uow: UnitOfWork, space_id: int, query: MemberQuery, *, now: datetime
) -> MemberPage:
    """QUERY's page of SPACE_ID's members, with how many match in all (quiet flags at NOW)."""
    async with uow.read() as conn:
        rows, total = await member_page(conn, space_id, query, now)
    return MemberPage(rows=rows, total=total, page=query.page, per_page=query.per_page)
