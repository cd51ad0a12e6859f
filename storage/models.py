"""The Pulse schema. Platform ids are strings; no message text is stored anywhere."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UTCDateTime

# Named constraints so Alembic migrations can alter them on SQLite and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING)


class Space(Base):
    """One Discord guild or Slack workspace."""

    __tablename__ = "spaces"
    __table_args__ = (UniqueConstraint("platform", "platform_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Channel(Base):
    """A channel, forum or thread parent inside a space."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("space_id", "platform_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    platform_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    is_help: Mapped[bool] = mapped_column(Boolean, default=False)


_AWAY = text("away_until IS NOT NULL")


class Member(Base):
    """A person (or bot) in a space. Opted-out members are deleted, not kept here."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("space_id", "platform_id"),
        # find_member's exact display-name lookup: lower(display_name) = ?
        Index("ix_members_name", "space_id", text("lower(display_name)")),
        # The members table's count and filters (storage.member_list, migration 0008).
        Index(
            "ix_members_list",
            "space_id",
            "is_bot",
            "left_at",
            "is_staff",
            "display_name",
            "platform_id",
        ),
        # The few members who are away, left out of live quiet flags (migration 0011).
        Index(
            "ix_members_away",
            "space_id",
            "away_until",
            sqlite_where=_AWAY,
            postgresql_where=_AWAY,
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    platform_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(200))
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    away_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


_HAS_PARENT = text("parent_event_id IS NOT NULL")


class Activity(Base):
    """An append-only fact: one member did one thing. Unique per platform event id."""

    __tablename__ = "activities"
    __table_args__ = (
        UniqueConstraint("space_id", "event_id"),
        Index("ix_activities_member_time", "member_id", "occurred_at"),
        Index("ix_activities_space_time", "space_id", "occurred_at"),
        # Only replies and reactions have a parent (see migration 0004).
        Index(
            "ix_activities_parent",
            "space_id",
            "parent_event_id",
            sqlite_where=_HAS_PARENT,
            postgresql_where=_HAS_PARENT,
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"))
    target_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL")
    )
    parent_event_id: Mapped[str | None] = mapped_column(String(200))
    is_question: Mapped[bool] = mapped_column(Boolean, default=False)
    is_thanks: Mapped[bool] = mapped_column(Boolean, default=False)
    is_answer: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set on a reply its asker accepted (thanked its author, or reacted with an accept emoji).
    is_accepted: Mapped[bool] = mapped_column(Boolean, server_default=false())
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    day: Mapped[int] = mapped_column(Integer)


# Rollup tables: one b-tree ordered by the key on SQLite, since every write upserts into them
# (see migration 0004).
_ONE_BTREE = {"sqlite_with_rowid": False}


class DailyRollup(Base):
    """Per-member counts for one UTC day (days since 1970-01-01): what tiers are computed from."""

    __tablename__ = "member_daily_rollups"
    __table_args__ = _ONE_BTREE

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    messages: Mapped[int] = mapped_column(Integer, default=0)
    questions: Mapped[int] = mapped_column(Integer, default=0)
    replies: Mapped[int] = mapped_column(Integer, default=0)
    answers: Mapped[int] = mapped_column(Integer, default=0)
    thanks_received: Mapped[int] = mapped_column(Integer, default=0)
    reactions_given: Mapped[int] = mapped_column(Integer, default=0)
    reactions_received: Mapped[int] = mapped_column(Integer, default=0)
    threads_started: Mapped[int] = mapped_column(Integer, default=0)
    contributions: Mapped[int] = mapped_column(Integer, default=0)
    # Counted on the accepted reply's day, when its asker accepts it (storage.writer.statements).
    accepted_answers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class HelpEdge(Base):
    """Who helped whom (replies aimed at another member), for 'helped N members' and outreach."""

    __tablename__ = "help_edges"
    # "Who helped this member" and an opt-out's edges to the member (migration 0012).
    __table_args__ = (Index("ix_help_edges_helped", "helped_id"), _ONE_BTREE)

    helper_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    helped_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    first_day: Mapped[int] = mapped_column(Integer)
    last_day: Mapped[int] = mapped_column(Integer)
    replies: Mapped[int] = mapped_column(Integer, default=0)


class ChannelActivity(Base):
    """Per-member per-channel posting, for 'channels they were active in' and busiest channels."""

    __tablename__ = "member_channel_rollups"
    __table_args__ = _ONE_BTREE

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    posts: Mapped[int] = mapped_column(Integer, default=0)
    last_day: Mapped[int] = mapped_column(Integer)


class TierAssignment(Base):
    """A member's current tier, with the figures behind it."""

    __tablename__ = "tier_assignments"
    __table_args__ = (
        Index("ix_tier_assignments_rank", "space_id", "tier", "score"),
        # Hero candidates: active and hero members together, by score (migration 0011).
        Index("ix_tier_assignments_score", "space_id", "score"),
    )

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    tier: Mapped[str] = mapped_column(String(16))
    earned_tier: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column()
    active_weeks: Mapped[int] = mapped_column(Integer, default=0)
    window_weeks: Mapped[int] = mapped_column(Integer, default=0)
    helped_members: Mapped[int] = mapped_column(Integer, default=0)
    answers: Mapped[int] = mapped_column(Integer, default=0)
    thanks_received: Mapped[int] = mapped_column(Integer, default=0)
    contributions: Mapped[int] = mapped_column(Integer, default=0)
    recent_score: Mapped[float] = mapped_column(default=0.0)
    prior_score: Mapped[float] = mapped_column(default=0.0)
    recent_replies: Mapped[int] = mapped_column(Integer, default=0)
    last_active_day: Mapped[int | None] = mapped_column(Integer)
    below_count: Mapped[int] = mapped_column(Integer, default=0)
    reasons: Mapped[str] = mapped_column(Text, default="")
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The last promotion, for the grace period; a staff pin, which the daily job never lowers.
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pinned_by: Mapped[str | None] = mapped_column(String(64))
    pinned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the member was last told their role is at risk (the notification cooldown).
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The demotion notice: when the current spell under the full bar began, and when a posted
    # staff digest last listed the member at risk (the snapshot it was built from).
    at_risk_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    at_risk_listed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TierChange(Base):
    """Tier history: who moved from where to where, and when."""

    __tablename__ = "tier_changes"
    __table_args__ = (
        Index("ix_tier_changes_space_time", "space_id", "changed_at"),
        Index("ix_tier_changes_member_time", "member_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    from_tier: Mapped[str | None] = mapped_column(String(16))
    to_tier: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column()
    reasons: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class QuietFlag(Base):
    """A member who went quiet, with the context staff need to reach out help-first."""

    __tablename__ = "quiet_flags"
    __table_args__ = (Index("ix_quiet_flags_space_status", "space_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # open, snoozed, returned, dismissed, expired
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    usual_gap_days: Mapped[float] = mapped_column()
    silent_days: Mapped[float] = mapped_column()
    tier: Mapped[str] = mapped_column(String(16))
    context: Mapped[dict] = mapped_column(JSON, default=dict)


class Outreach(Base):
    """What staff did about a quiet member, and when."""

    __tablename__ = "outreach"
    __table_args__ = (
        Index("ix_outreach_space_time", "space_id", "at"),
        Index("ix_outreach_member", "member_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    flag_id: Mapped[int | None] = mapped_column(ForeignKey("quiet_flags.id", ondelete="SET NULL"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    staff_platform_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # reached_out, snooze, dismiss
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    re_engaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Contribution(Base):
    """Something staff logged: a talk, a blog post, a video, a meetup."""

    __tablename__ = "contributions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500))
    logged_by: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecognizedHero(Base):
    """A hero staff confirmed; removed_at set when staff remove the recognition."""

    __tablename__ = "recognized_heroes"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MemberRole(Base):
    """A role Pulse gave a member on their platform (active or hero), under which role id."""

    __tablename__ = "member_roles"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    platform_role_id: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RoleChangeRecord(Base):
    """Role history: each role Pulse added or removed, with its reason."""

    __tablename__ = "role_changes"
    __table_args__ = (Index("ix_role_changes_member", "member_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    platform_role_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # added, removed
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class DigestRun(Base):
    """One digest for one space, week and audience; the unique key makes posting exactly-once.

    The daily job claims its runs here too (audience "daily", week_start the local day), so two
    processes never evaluate tiers twice for one day.
    """

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("space_id", "audience", "week_start"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    audience: Mapped[str] = mapped_column(String(16))  # community, staff, daily
    week_start: Mapped[int] = mapped_column(Integer)  # day number of the week's first day
    status: Mapped[str] = mapped_column(String(16))  # claimed, posted, skipped, missed, failed
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    detail: Mapped[str | None] = mapped_column(Text)


class JobLease(Base):
    """Which process does a job for a space now, until when (storage.leases)."""

    __tablename__ = "job_leases"

    job: Mapped[str] = mapped_column(String(32), primary_key=True)
    space_id: Mapped[int] = mapped_column(
        ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True
    )
    holder: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Blocklist(Base):
    """Keyed hashes of opted-out members' platform ids: events for them are dropped on arrival."""

    __tablename__ = "blocklist"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Meta(Base):
    """Small key-value facts Pulse keeps about itself (such as its generated hash key)."""

    __tablename__ = "pulse_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class WebLink(Base):
    """A single-use dashboard sign-in link; only a hash of its token is kept."""

    __tablename__ = "web_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    # NULL: the operator's link (`pulse web-link`), not a staff member's.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A signed-in dashboard session; signing out (or expiry) ends it here, server-side."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
