"""Help health per channel over a recent window: posts, questions answered, reply times, regulars.

The dashboard's Channels page reads this through ``bot/services/dashboard.py``; a richer outcome
module can take its place behind that service without touching the page.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from community.events import POSTING_KINDS
from storage.helpgraph import first_answers, replies_seen
from storage.models import Activity, Channel, Member

BUSIEST = 3


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    """One channel's figures over the window."""

    id: int
    name: str
    posts: int
    questions: int
    answered: int
    median_reply_hours: float | None
    busiest: tuple[tuple[int, str, int], ...]  # (member id, name, posts)

    @property
    def answered_share(self) -> float | None:
        """Answered questions over questions asked (None without questions)."""
        return self.answered / self.questions if self.questions else None


async def channel_health(
    conn: AsyncConnection, space_id: int, start: datetime, end: datetime
) -> list[ChannelHealth]:
    """Every channel with posts between START and END, busiest first."""
    a = Activity
    posting = sorted(kind.value for kind in POSTING_KINDS)
    per_member = (
        await conn.execute(
            select(
                a.channel_id,
                Member.id,
                func.coalesce(Member.display_name, Member.platform_id).label("name"),
                func.count().label("posts"),
            )
            .join(Member, Member.id == a.member_id)
            .where(
                a.space_id == space_id,
                a.occurred_at >= start,
                a.occurred_at < end,
                a.kind.in_(posting),
                a.channel_id.is_not(None),
                Member.is_bot.is_(False),
            )
            .group_by(a.channel_id, Member.id, Member.display_name, Member.platform_id)
        )
    ).all()
    posts: dict[int, int] = defaultdict(int)
    members: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    for channel, member, name, count in per_member:
        posts[channel] += count
        members[channel].append((member, name, count))
    q = aliased(Activity)
    asked: dict[int, list[float | None]] = defaultdict(list)
    for channel, at, *firsts in await conn.execute(
        select(q.channel_id, q.occurred_at, *first_answers(q, before=end)).where(
            q.space_id == space_id,
            q.is_question.is_(True),
            q.occurred_at >= start,
            q.occurred_at < end,
            q.channel_id.is_not(None),
            replies_seen(q),
        )
    ):
        seen = [f for f in firsts if f is not None]
        asked[channel].append(max((min(seen) - at).total_seconds() / 3600, 0.0) if seen else None)
    names = dict(
        (
            await conn.execute(
                select(Channel.id, func.coalesce(Channel.name, Channel.platform_id)).where(
                    Channel.space_id == space_id
                )
            )
        ).all()
    )
    rows = []
    for channel in set(posts) | set(asked):
        hours = [h for h in asked[channel] if h is not None]
        top = sorted(members[channel], key=lambda m: (-m[2], m[0]))[:BUSIEST]
        rows.append(
            ChannelHealth(
                id=channel,
                name=names.get(channel, str(channel)),
                posts=posts[channel],
                questions=len(asked[channel]),
                answered=len(hours),
                median_reply_hours=statistics.median(hours) if hours else None,
                busiest=tuple(top),
            )
        )
    return sorted(rows, key=lambda r: (-r.posts, r.name))


async def channel_names(conn: AsyncConnection, space_id: int) -> list[tuple[str, str]]:
    """(platform id, name) of every channel of the space, by name: the members filter's choices."""
    name = func.coalesce(Channel.name, Channel.platform_id)
    rows = await conn.execute(
        select(Channel.platform_id, name).where(Channel.space_id == space_id).order_by(name)
    )
    return [tuple(r) for r in rows]
