"""Per channel over a recent window: posts, the busiest members, and the help-health figures.

The question figures are `pulse health`'s (storage.health.asked_questions with
community.outcomes.reply_figures), so the dashboard's Channels page and the report agree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from community.events import POSTING_KINDS
from community.outcomes import AskedQuestion, ReplyFigures, reply_figures
from storage.health import asked_questions, channel_labels, labelled_channels
from storage.models import Activity, Member

BUSIEST = 3


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    """One channel's figures over the window."""

    id: int
    name: str
    posts: int
    replies: ReplyFigures
    busiest: tuple[tuple[int, str, int], ...]  # (member id, name, posts)

    @property
    def questions(self) -> int:
        """Questions members asked in the window."""
        return self.replies.questions

    @property
    def answered_share(self) -> float | None:
        """Answered questions over questions asked (None without questions)."""
        return self.replies.answered_share

    @property
    def median_reply_hours(self) -> float | None:
        """Median hours to a first reply by another person, over the answered questions."""
        return self.replies.median_hours


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
    asked: dict[int, list[AskedQuestion]] = defaultdict(list)
    for question in await asked_questions(conn, space_id, start, end):
        if question.channel_id is not None:
            asked[question.channel_id].append(question)
    names = await channel_labels(conn, space_id)
    rows = []
    for channel in set(posts) | set(asked):
        name = names.get(channel, str(channel))
        top = sorted(members[channel], key=lambda m: (-m[2], m[0]))[:BUSIEST]
        rows.append(
            ChannelHealth(
                id=channel,
                name=name,
                posts=posts[channel],
                replies=reply_figures(name, asked[channel], channel),
                busiest=tuple(top),
            )
        )
    return sorted(rows, key=lambda r: (-r.posts, r.name))


async def channel_names(conn: AsyncConnection, space_id: int) -> list[tuple[str, str]]:
    """(platform id, label) of every channel of the space, by label: the members filter's list."""
    rows = await labelled_channels(conn, space_id)
    return sorted(((platform_id, label) for _, platform_id, label in rows), key=lambda r: r[::-1])
