"""Read side: answers for the CLI and slash commands from precomputed tiers and flags."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from community.digest import SpaceRef
from community.events import ActivityKind, Platform, day_number, day_start
from community.privacy import member_hash
from community.quiet import FlagStatus, QuietContext
from community.tiers import Tier, TierPolicy, trend
from community.views import Candidate, MemberProfile, MemberRef, QuietEntry, TierRow
from storage.engine import dialect_insert
from storage.intelligence import eligible_members, helped_members
from storage.models import (
    Activity,
    Blocklist,
    ChannelActivity,
    Contribution,
    DailyRollup,
    HelpEdge,
    Member,
    Outreach,
    QuietFlag,
    RecognizedHero,
    Space,
    TierAssignment,
    TierChange,
)
from storage.writer.statements import NAME_IF_UNNAMED


class NotFoundError(LookupError):
    """A space or member that the question names does not exist; the message says so."""


def _ref(member) -> MemberRef:
    return MemberRef(
        id=member.id,
        platform_id=member.platform_id,
        name=member.display_name or member.platform_id,
    )


async def list_spaces(conn: AsyncConnection) -> list[tuple[int, str, str, str | None]]:
    """All spaces: (id, platform, platform id, name)."""
    rows = await conn.execute(
        select(Space.id, Space.platform, Space.platform_id, Space.name).order_by(Space.id)
    )
    return [tuple(row) for row in rows]


async def space_ref(conn: AsyncConnection, space_id: int) -> SpaceRef:
    """The space row SPACE_ID as a SpaceRef."""
    row = (
        await conn.execute(
            select(Space.id, Space.platform, Space.platform_id, Space.name).where(
                Space.id == space_id
            )
        )
    ).one()
    return SpaceRef(id=row.id, platform=row.platform, platform_id=row.platform_id, name=row.name)


async def last_activity_at(
    conn: AsyncConnection, platform: Platform, platform_id: str
) -> datetime | None:
    """When the newest stored activity of a space happened (where catch-up starts)."""
    return (
        await conn.execute(
            select(func.max(Activity.occurred_at))
            .join(Space, Space.id == Activity.space_id)
            .where(Space.platform == platform.value, Space.platform_id == platform_id)
        )
    ).scalar_one_or_none()


async def name_unnamed_members(conn: AsyncConnection, space_id: int, names: dict[str, str]) -> int:
    """Give SPACE_ID's members stored without a name the one NAMES has for them; how many."""
    unnamed = (
        await conn.execute(
            select(Member.id, Member.platform_id).where(
                Member.space_id == space_id, Member.display_name.is_(None)
            )
        )
    ).all()
    rows = [{"row_id": row_id, "name": names[pid]} for row_id, pid in unnamed if pid in names]
    if rows:
        await conn.execute(NAME_IF_UNNAMED, rows)
    return len(rows)


async def joined_near(
    conn: AsyncConnection,
    platform: Platform,
    platform_id: str,
    member_platform_id: str,
    when: datetime,
    window: timedelta,
) -> bool:
    """Whether a join of the member is stored within WINDOW either side of WHEN."""
    found = (
        await conn.execute(
            select(Activity.id)
            .join(Space, Space.id == Activity.space_id)
            .join(Member, Member.id == Activity.member_id)
            .where(
                Space.platform == platform.value,
                Space.platform_id == platform_id,
                Member.platform_id == member_platform_id,
                Activity.kind == ActivityKind.MEMBER_JOINED.value,
                Activity.occurred_at >= when - window,
                Activity.occurred_at <= when + window,
            )
            .limit(1)
        )
    ).first()
    return found is not None


async def replied_to_since(
    conn: AsyncConnection, platform: Platform, platform_id: str, prefix: str, since: datetime
) -> set[str]:
    """Event ids, starting with PREFIX and without it, that stored replies since SINCE answer."""
    rows = await conn.execute(
        select(Activity.parent_event_id)
        .join(Space, Space.id == Activity.space_id)
        .where(
            Space.platform == platform.value,
            Space.platform_id == platform_id,
            Activity.kind == ActivityKind.REPLY.value,
            Activity.occurred_at >= since,
            Activity.parent_event_id.startswith(prefix),
        )
        .distinct()
    )
    return {parent[len(prefix) :] for (parent,) in rows if parent}


async def resolve_space(conn: AsyncConnection, hint: str | None) -> int:
    """The space a question is about: the only one, or the one HINT names (id or name)."""
    spaces = await list_spaces(conn)
    if not spaces:
        raise NotFoundError("the database holds no community yet (try `pulse demo`)")
    if hint is None:
        if len(spaces) == 1:
            return spaces[0][0]
        names = ", ".join(f"{p}:{pid} ({n or 'unnamed'})" for _, p, pid, n in spaces)
        raise NotFoundError(f"several communities are stored; choose one with --space: {names}")
    for row_id, platform, platform_id, name in spaces:
        if hint in (platform_id, f"{platform}:{platform_id}", name, str(row_id)):
            return row_id
    raise NotFoundError(f"no community matches {hint!r}")


async def tier_counts(conn: AsyncConnection, space_id: int) -> dict[str, int]:
    """Current members per tier (staff, bots and members who left excluded)."""
    rows = await conn.execute(
        select(TierAssignment.tier, func.count())
        .join(Member, Member.id == TierAssignment.member_id)
        .where(eligible_members(space_id), Member.left_at.is_(None))
        .group_by(TierAssignment.tier)
    )
    counts = dict.fromkeys((t.value for t in Tier), 0)
    counts.update(dict(rows.all()))
    return counts


async def members_in_tier(
    conn: AsyncConnection, space_id: int, tier: Tier, limit: int
) -> list[TierRow]:
    """The top members of one tier by score, with their reasons."""
    rows = await _ranked(conn, space_id, limit, TierAssignment.tier == tier.value)
    return [
        TierRow(member=_ref(r), tier=r.tier, score=r.score, reasons=r.reasons, since=r.since)
        for r in rows
    ]


async def hero_candidates(
    conn: AsyncConnection, space_id: int, policy: TierPolicy, limit: int
) -> list[Candidate]:
    """Members at or near hero level who are not recognized heroes yet, best first."""
    recognized = select(RecognizedHero.member_id).where(
        RecognizedHero.space_id == space_id, RecognizedHero.removed_at.is_(None)
    )
    bar = policy.hero_score * policy.candidate_ratio
    return await _candidates(
        conn,
        space_id,
        policy,
        limit,
        TierAssignment.tier.in_([Tier.ACTIVE.value, Tier.HERO.value]),
        TierAssignment.score >= bar,
        TierAssignment.member_id.not_in(recognized),
    )


async def rising_actives(
    conn: AsyncConnection, space_id: int, policy: TierPolicy, limit: int
) -> list[Candidate]:
    """Passive members who started helping in the last four weeks."""
    return await _candidates(
        conn,
        space_id,
        policy,
        limit,
        TierAssignment.tier == Tier.PASSIVE.value,
        TierAssignment.recent_replies >= 1,
    )


async def _ranked(conn: AsyncConnection, space_id: int, limit: int, *conditions):
    """Current members' assignments matching CONDITIONS, highest score first."""
    return await conn.execute(
        select(
            Member.id,
            Member.platform_id,
            Member.display_name,
            TierAssignment.tier,
            TierAssignment.score,
            TierAssignment.recent_score,
            TierAssignment.prior_score,
            TierAssignment.reasons,
            TierAssignment.since,
        )
        .join(TierAssignment, TierAssignment.member_id == Member.id)
        .where(TierAssignment.space_id == space_id, *conditions)
        .where(eligible_members(space_id), Member.left_at.is_(None))
        .order_by(TierAssignment.score.desc(), Member.id)
        .limit(limit)
    )


async def _candidates(conn, space_id, policy, limit, *conditions) -> list[Candidate]:
    rows = await _ranked(conn, space_id, limit, *conditions)
    return [
        Candidate(
            member=_ref(r),
            tier=r.tier,
            score=round(r.score, 1),
            share_of_hero_bar=round(r.score / policy.hero_score, 2),
            trend=trend(r.recent_score, r.prior_score),
            reasons=r.reasons,
        )
        for r in rows
    ]


def _live_flags(space_id: int, now: datetime, *columns):
    """COLUMNS of the flags open on NOW's day (and snoozes that ran out) of members not away.

    A read as of a past day sees the flags opened by then and not closed before its end; by
    whole days, so a flag another process opened a moment "later" today still shows.
    """
    next_day = day_start(day_number(now) + 1)
    return (
        select(*columns)
        .join(Member, Member.id == QuietFlag.member_id)
        .where(QuietFlag.space_id == space_id, QuietFlag.opened_at < next_day)
        .where(
            or_(
                QuietFlag.status == FlagStatus.OPEN.value,
                (QuietFlag.status == FlagStatus.SNOOZED.value) & (QuietFlag.snoozed_until <= now),
                QuietFlag.closed_at >= next_day,
            )
        )
        .where(or_(Member.away_until.is_(None), Member.away_until <= now))
    )


async def quiet_list(
    conn: AsyncConnection,
    space_id: int,
    now: datetime,
    limit: int,
    member_id: int | None = None,
) -> list[QuietEntry]:
    """Open quiet flags (and snoozes that ran out), strongest signal first."""
    # Rank on the flags' own columns; decode the stored context only for the page returned.
    ranked = _live_flags(
        space_id,
        now,
        QuietFlag.id,
        QuietFlag.member_id,
        QuietFlag.tier,
        QuietFlag.silent_days,
        QuietFlag.last_seen_at,
        QuietFlag.context["unanswered_question_at"].as_string().label("unanswered"),
    )
    if member_id is not None:
        ranked = ranked.where(QuietFlag.member_id == member_id)
    # An unanswered question is the strongest signal, then heroes, then the longest silence.
    page = sorted(
        await conn.execute(ranked),
        key=lambda r: (
            r.unanswered is None,
            r.tier != Tier.HERO.value,
            -_silent_days(r.silent_days, r.last_seen_at, now),
            r.member_id,
        ),
    )[:limit]
    if not page:
        return []
    rows = await conn.execute(
        select(
            QuietFlag.id,
            QuietFlag.status,
            QuietFlag.opened_at,
            QuietFlag.closed_at,
            QuietFlag.context,
            Member.id.label("member_id"),
            Member.platform_id,
            Member.display_name,
        )
        .join(Member, Member.id == QuietFlag.member_id)
        .where(QuietFlag.id.in_([r.id for r in page]))
    )
    by_id = {r.id: r for r in rows}
    return [
        QuietEntry(
            flag_id=r.id,
            member=MemberRef(
                id=r.member_id, platform_id=r.platform_id, name=r.display_name or r.platform_id
            ),
            # Closed after NOW's day (a read as of a past day): it was still open then.
            status=r.status if r.closed_at is None else FlagStatus.OPEN.value,
            opened_at=r.opened_at,
            context=_as_of(QuietContext.from_json(r.context), now),
        )
        for r in (by_id[p.id] for p in page)
    ]


async def quiet_count(conn: AsyncConnection, space_id: int, now: datetime) -> int:
    """How many members the quiet list holds at NOW."""
    live = _live_flags(space_id, now, QuietFlag.id).subquery()
    return (await conn.execute(select(func.count()).select_from(live))).scalar_one()


def _silent_days(silent_days: float, last_seen: datetime, now: datetime) -> float:
    # The flag stored its figures when it opened; silence keeps growing until they return.
    return max(silent_days, (now - last_seen).days)


def _as_of(context: QuietContext, now: datetime) -> QuietContext:
    return replace(context, silent_days=_silent_days(context.silent_days, context.last_seen, now))


async def find_member(conn: AsyncConnection, space_id: int, query: str):
    """A member row by platform id, mention, or display name (exact, then unique prefix)."""
    if len(query) > MAX_QUERY:
        # No stored name or id is longer (names are clipped to their column), and SQLite
        # refuses LIKE patterns past 50,000 bytes.
        raise NotFoundError(
            f"no member matches a {len(query):,}-character name (names are at most "
            f"{Member.display_name.type.length} characters)"
        )
    cleaned = query.strip().removeprefix("<@").removeprefix("!").rstrip(">").split("|")[0]
    by_id = (
        await conn.execute(
            select(Member).where(Member.space_id == space_id, Member.platform_id == cleaned)
        )
    ).first()
    if by_id:
        return by_id
    lowered = query.strip().lstrip("@").lower()
    # An exact name is one lookup on ix_members_name; only a partial name scans the members.
    exact = (
        await conn.execute(
            select(Member)
            .where(Member.space_id == space_id, func.lower(Member.display_name) == lowered)
            .order_by(Member.id)
            .limit(2)
        )
    ).all()
    if len(exact) == 1:
        return exact[0]
    matches = (
        await conn.execute(
            select(Member)
            .where(Member.space_id == space_id)
            .where(func.lower(Member.display_name).like(f"{_escape_like(lowered)}%", escape="\\"))
            .order_by(Member.id)
            .limit(6)
        )
    ).all()
    exact = [m for m in matches if (m.display_name or "").lower() == lowered]
    if len(exact) == 1:
        return exact[0]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        # DiscordChatExporter names are "name#1234"; imports store them without the "#1234".
        stripped = _DISCRIMINATOR.sub("", query.strip())
        if stripped != query.strip() and stripped.strip():
            return await find_member(conn, space_id, stripped)
        raise NotFoundError(f"no member matches {query!r}")
    names = ", ".join(f"{m.display_name} ({m.platform_id})" for m in matches[:5])
    raise NotFoundError(f"{query!r} matches several members: {names}; use the id")


_DISCRIMINATOR = re.compile(r"#\d{4}$")
# Longer than any name (200) or mention of one ("<@id|name>"): past it nothing can match.
MAX_QUERY = 300


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def is_recognized_hero(conn: AsyncConnection, member_id: int) -> bool:
    """Whether staff recognize the member as a hero now (not since removed)."""
    count = (
        await conn.execute(
            select(func.count()).where(
                RecognizedHero.member_id == member_id, RecognizedHero.removed_at.is_(None)
            )
        )
    ).scalar_one()
    return bool(count)


async def member_profile(
    conn: AsyncConnection, space_id: int, query: str, now: datetime
) -> MemberProfile:
    """Everything staff may see about one member."""
    member = await find_member(conn, space_id, query)
    assignment = (
        await conn.execute(select(TierAssignment).where(TierAssignment.member_id == member.id))
    ).first()
    history = [
        (row.changed_at, row.from_tier, row.to_tier)
        for row in await conn.execute(
            select(TierChange.changed_at, TierChange.from_tier, TierChange.to_tier)
            .where(TierChange.member_id == member.id, TierChange.changed_at <= now)
            .order_by(TierChange.changed_at.desc())
            .limit(10)
        )
    ]
    flags = await quiet_list(conn, space_id, now, 1, member_id=member.id)
    last_active = None
    if assignment is not None and assignment.last_active_day is not None:
        last_active = day_start(assignment.last_active_day)
    return MemberProfile(
        member=_ref(member),
        is_staff=member.is_staff,
        is_bot=member.is_bot,
        joined_at=member.joined_at,
        left_at=member.left_at,
        away_until=member.away_until,
        tier=assignment.tier if assignment else None,
        reasons=assignment.reasons if assignment else None,
        recognized_hero=await is_recognized_hero(conn, member.id),
        last_active=last_active,
        tier_history=history,
        open_flag=flags[0] if flags else None,
    )


# --- privacy ---------------------------------------------------------------------------------


async def forget_member(
    conn: AsyncConnection, space_id: int, platform_id: str, key: bytes, now: datetime
) -> bool:
    """Opt a member out: delete everything about them and blocklist a keyed hash of their id."""
    space = (
        await conn.execute(select(Space.platform, Space.platform_id).where(Space.id == space_id))
    ).one()
    await conn.execute(
        dialect_insert(conn, Blocklist)
        .values(
            id_hash=member_hash(key, space.platform, space.platform_id, platform_id),
            added_at=now,
        )
        .on_conflict_do_nothing(index_elements=["id_hash"])
    )
    member_id = (
        await conn.execute(
            select(Member.id).where(Member.space_id == space_id, Member.platform_id == platform_id)
        )
    ).scalar_one_or_none()
    if member_id is None:
        return False
    # Other members' quiet flags name whom they helped: this member must leave those lists too.
    helpers = select(HelpEdge.helper_id).where(HelpEdge.helped_id == member_id)
    naming = (
        await conn.execute(
            select(QuietFlag.id, QuietFlag.member_id, QuietFlag.context).where(
                QuietFlag.member_id.in_(helpers)
            )
        )
    ).all()
    # Foreign keys cascade on both backends; deleting explicitly keeps it obvious and ordered.
    for model, column in (
        (Activity, Activity.member_id),
        (DailyRollup, DailyRollup.member_id),
        (HelpEdge, HelpEdge.helper_id),
        (HelpEdge, HelpEdge.helped_id),
        (ChannelActivity, ChannelActivity.member_id),
        (TierAssignment, TierAssignment.member_id),
        (TierChange, TierChange.member_id),
        (Outreach, Outreach.member_id),
        (QuietFlag, QuietFlag.member_id),
        (Contribution, Contribution.member_id),
        (RecognizedHero, RecognizedHero.member_id),
    ):
        await conn.execute(delete(model).where(column == member_id))
    await conn.execute(delete(Member).where(Member.id == member_id))
    for flag_id, helper, context in naming:
        helped, count = await helped_members(conn, helper)
        await conn.execute(
            update(QuietFlag)
            .where(QuietFlag.id == flag_id)
            .values(context={**(context or {}), "helped": list(helped), "helped_count": count})
        )
    return True


async def purge_activities(conn: AsyncConnection, older_than: datetime) -> int:
    """Delete raw activities older than the retention cut-off; rollups stay."""
    result = await conn.execute(delete(Activity).where(Activity.occurred_at < older_than))
    return result.rowcount or 0
