"""The command layer: one implementation of every chat command, whatever the platform.

Adapters translate in (who asked, where, with which arguments) and out (a Reply drawn as a
Discord embed or Slack blocks). Everything a command decides, including who may run it, is here,
so Discord and Slack cannot drift apart.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.commands.parse import CommandError, parse_args, split_text
from bot.commands.replies import Button, Entry, Reply, Style, Tone, error
from bot.commands.spec import BY_NAME, CommandSpec
from bot.jobs import tier_policy
from bot.render import TREND_MARK
from bot.settings import Settings
from bot.tasks import log_failure
from community.clock import Clock
from community.events import ActivityEvent, ActivityKind, Platform
from community.outreach import OutreachAction, OutreachError
from community.views import MemberProfile, QuietEntry
from storage import actions
from storage.engine import begin_write
from storage.ingest import BatchWriter
from storage.models import Member
from storage.outreach import live_flag_id, record_outreach
from storage.queries import (
    NotFoundError,
    forget_member,
    hero_candidates,
    member_profile,
    quiet_list,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 5
QUIET_PAGE_SIZE = 4  # each quiet member brings a row of three buttons; Discord allows 5 rows
ACTION_PREFIX = "pulse"


@dataclass(frozen=True, slots=True)
class Invocation:
    """Who ran a command, where: the adapter fills this from the platform's request."""

    platform: Platform
    space_id: str
    user_id: str
    is_staff: bool


class CommandService:
    """Runs commands and button presses against the database and answers with Replies."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        hash_key: bytes,
        clock: Clock,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.hash_key = hash_key
        self.clock = clock

    # --- entry points ----------------------------------------------------------------------

    async def run(self, inv: Invocation, name: str, raw: Mapping[str, object]) -> Reply:
        """Run command NAME as INV asked; every failure becomes a polite error Reply."""
        spec = self._admit(inv, name)
        if isinstance(spec, Reply):
            return spec
        return await self._execute(inv, spec, raw)

    async def run_text(self, inv: Invocation, name: str, text: str) -> Reply:
        """Run command NAME from one line of text, as Slack sends its arguments."""
        # Refuse before parsing: a member without access learns that, not a usage hint.
        spec = self._admit(inv, name)
        if isinstance(spec, Reply):
            return spec
        try:
            raw = split_text(spec, text)
        except CommandError as exc:
            return error(str(exc))
        return await self._execute(inv, spec, raw)

    async def _execute(self, inv: Invocation, spec: CommandSpec, raw: Mapping[str, object]):
        try:
            args = parse_args(spec, raw, self.clock.now())
            handler = getattr(self, "_cmd_" + spec.name.replace("-", "_"))
            return await handler(inv, args)
        except (CommandError, NotFoundError) as exc:
            return error(str(exc), getattr(exc, "mentions", ()))
        except Exception as exc:
            log_failure(log, exc, "/%s failed for %s in %s", spec.name, inv.user_id, inv.space_id)
            return error("Something went wrong on Pulse's side. The team can find it in the logs.")

    async def press(self, inv: Invocation, action_id: str) -> Reply:
        """Handle a button press; ACTION_ID is what a Reply's button carried."""
        parts = action_id.split(":")
        try:
            if len(parts) < 3 or parts[0] != ACTION_PREFIX:
                raise CommandError("that button is not one of Pulse's")
            kind = parts[1]
            if kind == "page" and len(parts) == 5:
                spec = BY_NAME.get(parts[2])
                if spec is None:
                    raise CommandError("that list no longer exists")
                refusal = self._refuse(inv, spec)
                if refusal:
                    return refusal
                limit, page = int(parts[3]), int(parts[4])
                if parts[2] == "quiet":
                    return await self._quiet_page(inv, limit, page)
                return await self._candidates_page(inv, limit, page)
            if kind == "outreach" and len(parts) == 4:
                refusal = self._refuse(inv, BY_NAME["outreach"])
                if refusal:
                    return refusal
                return await self._outreach_by_flag(inv, int(parts[2]), parts[3])
            if kind == "privacy" and len(parts) == 4 and parts[2] == "delete":
                if parts[3] != inv.user_id:
                    raise CommandError("only the member themselves can delete their data")
                return await self._forget(inv)
            raise CommandError("that button is not one of Pulse's")
        except (CommandError, NotFoundError, ValueError) as exc:
            return error(str(exc), getattr(exc, "mentions", ()))
        except Exception as exc:
            log_failure(log, exc, "button %s failed for %s", action_id, inv.user_id)
            return error("Something went wrong on Pulse's side. The team can find it in the logs.")

    def _admit(self, inv: Invocation, name: str) -> CommandSpec | Reply:
        """The spec of command NAME, or the error Reply when there is none or INV may not run it."""
        spec = BY_NAME.get(name)
        if spec is None:
            return error(f"Pulse has no /{name} command.")
        return self._refuse(inv, spec) or spec

    def _refuse(self, inv: Invocation, spec: CommandSpec) -> Reply | None:
        # Enforced here whatever the platform's own permission settings say.
        if spec.staff_only and not inv.is_staff:
            return Reply(
                title="That one is for the community team",
                text=f"/{spec.name} is for staff. Everyone can use /privacy and /away.",
                tone=Tone.ERROR,
            )
        return None

    async def _space(self, conn: AsyncConnection, inv: Invocation) -> int:
        space = await actions.space_id_for(conn, inv.platform, inv.space_id)
        if space is None:
            raise NotFoundError("Pulse has not logged anything here yet; give it a little while.")
        return space

    # --- staff commands --------------------------------------------------------------------

    async def _cmd_hero_candidates(self, inv: Invocation, args: dict) -> Reply:
        return await self._candidates_page(inv, args["limit"], 0)

    async def _candidates_page(self, inv: Invocation, limit: int, page: int) -> Reply:
        async with self.engine.connect() as conn:
            space = await self._space(conn, inv)
            rows = await hero_candidates(conn, space, tier_policy(self.settings), limit)
        entries = [
            Entry(
                heading=f"{rank}. {row.member.name}",
                text=(
                    f"{row.share_of_hero_bar:.0%} of the hero bar, {TREND_MARK[row.trend.value]}"
                    f"\n{row.reasons}"
                ),
            )
            for rank, row in enumerate(rows, 1)
        ]
        return _paged(
            Reply(
                title="Hero candidates",
                text="Members at or near hero level who are not recognized yet."
                if entries
                else "No hero candidates right now.",
            ),
            entries,
            "hero-candidates",
            limit,
            page,
            PAGE_SIZE,
        )

    async def _cmd_quiet(self, inv: Invocation, args: dict) -> Reply:
        return await self._quiet_page(inv, args["limit"], 0)

    async def _quiet_page(self, inv: Invocation, limit: int, page: int) -> Reply:
        async with self.engine.connect() as conn:
            space = await self._space(conn, inv)
            rows = await quiet_list(conn, space, self.clock.now(), limit)
        entries = [_quiet_entry(row) for row in rows]
        return _paged(
            Reply(
                title="Quiet members: reach out, help first",
                text="Nobody has gone quiet. Nice."
                if not entries
                else "Reached out? Press the button: the team sees it, and Pulse notes when they "
                "come back.",
            ),
            entries,
            "quiet",
            limit,
            page,
            QUIET_PAGE_SIZE,
        )

    async def _cmd_member(self, inv: Invocation, args: dict) -> Reply:
        async with self.engine.connect() as conn:
            space = await self._space(conn, inv)
            # By platform id only, as every member argument: a name never stands in for an id.
            await _member(conn, space, args["user"])
            profile = await member_profile(conn, space, args["user"], self.clock.now())
        return _profile_reply(profile)

    async def _cmd_community_stats(self, inv: Invocation, args: dict) -> Reply:
        from bot.digests import goals_from
        from storage.digest import goals_progress
        from storage.outreach import mark_re_engaged, outreach_stats

        weeks = args["weeks"]
        now = self.clock.now()
        async with begin_write(self.engine) as conn:
            space = await self._space(conn, inv)
            # Outcomes first, so members who came back since the last job count.
            await mark_re_engaged(conn, space, now)
        async with self.engine.connect() as conn:
            stats = await actions.community_stats(conn, space, weeks, now)
            # The window's end is exclusive: include what staff recorded this very moment.
            end = now + timedelta(seconds=1)
            outreach = await outreach_stats(conn, space, now - timedelta(weeks=weeks), end, now)
            goals = await goals_progress(conn, space, goals_from(self.settings), now)
        tiers = stats.tiers
        answered = f"{stats.answers / stats.questions:.0%}" if stats.questions else "n/a"
        fields = [
            (
                "Tiers now",
                f"{tiers.get('hero', 0)} heroes, {tiers.get('active', 0)} active, "
                f"{tiers.get('passive', 0)} passive",
            ),
            ("Active members", str(stats.active_members)),
            ("New members", str(stats.new_members)),
            ("Messages", str(stats.messages)),
            ("Questions / answers", f"{stats.questions} / {stats.answers} ({answered})"),
            ("Members who helped someone", str(stats.helpers)),
            ("Outreach", outreach.summary()),
        ]
        if goals:
            fields.append(("Goals", "\n".join(g.summary() for g in goals)))
        return Reply(
            title=f"Community over the last {weeks} week{'s' if weeks > 1 else ''}",
            fields=tuple(fields),
        )

    async def _cmd_contribution(self, inv: Invocation, args: dict) -> Reply:
        now = self.clock.now()
        async with self.engine.begin() as conn:
            space = await self._space(conn, inv)
            member = await _member(conn, space, args["user"])
            event = ActivityEvent(
                platform=inv.platform,
                space_id=inv.space_id,
                event_id=f"contribution:{secrets.token_hex(8)}",
                kind=ActivityKind.CONTRIBUTION_LOGGED,
                member_id=member.platform_id,
                occurred_at=now,
                contribution_kind=args["kind"],
            )
            await actions.log_contribution(
                conn,
                BatchWriter(self.hash_key),
                event,
                space,
                member.id,
                args["title"],
                inv.user_id,
            )
        name = member.display_name or member.platform_id
        return Reply(
            title="Contribution logged",
            text=f"{args['kind'].capitalize()} by {name}: {args['title']}. "
            "It counts toward their tier at the next reclassification.",
            tone=Tone.SUCCESS,
        )

    async def _cmd_hero(self, inv: Invocation, args: dict) -> Reply:
        confirm = args["action"] == "confirm"
        async with self.engine.begin() as conn:
            space = await self._space(conn, inv)
            member = await _member(conn, space, args["user"])
            changed = await actions.set_hero(
                conn, space, member.id, confirm, inv.user_id, self.clock.now()
            )
        name = member.display_name or member.platform_id
        if not changed:
            state = "already a recognized hero" if confirm else "not a recognized hero"
            return Reply(title="Nothing to change", text=f"{name} is {state}.")
        text = (
            f"{name} is now a recognized hero. Thank them in public: recognition is what heroes "
            "value."
            if confirm
            else f"{name} is no longer listed as a recognized hero."
        )
        return Reply(title="Hero recognition updated", text=text, tone=Tone.SUCCESS)

    async def _cmd_outreach(self, inv: Invocation, args: dict) -> Reply:
        async with begin_write(self.engine) as conn:
            space = await self._space(conn, inv)
            member = await _member(conn, space, args["user"])
            flag = await live_flag_id(conn, space, member.id)
            name = member.display_name or member.platform_id
            if flag is None:
                raise CommandError(
                    f"{name} is not on the quiet list, so there is nothing to record."
                )
            try:
                record = await record_outreach(
                    conn, space, flag, inv.user_id, _ACTIONS[args["action"]], self.clock.now()
                )
            except OutreachError:
                raise CommandError(f"Someone already dealt with {name}; see /member.") from None
        return _outreach_reply(name, record.action)

    async def _outreach_by_flag(self, inv: Invocation, flag_id: int, action: str) -> Reply:
        if action not in _ACTIONS:
            raise CommandError("that button is not one of Pulse's")
        async with begin_write(self.engine) as conn:
            space = await self._space(conn, inv)
            try:
                record = await record_outreach(
                    conn, space, flag_id, inv.user_id, _ACTIONS[action], self.clock.now()
                )
            except OutreachError:
                raise CommandError(
                    "Someone already dealt with this member (or they came back): refresh /quiet."
                ) from None
            member = await conn.execute(
                select(Member.display_name, Member.platform_id).where(Member.id == record.member_id)
            )
            row = member.one()
        return _outreach_reply(row.display_name or row.platform_id, record.action)

    async def _cmd_digest(self, inv: Invocation, args: dict) -> Reply:
        from bot.digests import build_digest

        async with self.engine.connect() as conn:
            space = await self._space(conn, inv)
        now = self.clock.now()
        staff = await build_digest(self.engine, self.settings, space, "staff", now)
        community = await build_digest(self.engine, self.settings, space, "community", now)
        chart = (
            (staff.rendered.chart_filename or "pulse-chart.png", staff.chart_png)
            if staff.chart_png
            else None
        )
        return Reply(
            title="Digest preview (not posted)",
            text=staff.rendered.text,
            discord_embeds=tuple(staff.rendered.discord_embeds),
            slack_blocks=tuple(staff.rendered.slack_blocks),
            attachment=chart,
            followups=(
                Reply(
                    title="Community digest preview",
                    text=community.rendered.text,
                    discord_embeds=tuple(community.rendered.discord_embeds),
                    slack_blocks=tuple(community.rendered.slack_blocks),
                ),
            ),
        )

    # --- everyone --------------------------------------------------------------------------

    async def _cmd_privacy(self, inv: Invocation, args: dict) -> Reply:
        async with self.engine.connect() as conn:
            space = await self._space(conn, inv)
            try:
                kept = await actions.privacy_summary(conn, space, inv.user_id)
            except NotFoundError:
                return Reply(
                    title="What Pulse keeps about you",
                    text="Nothing yet: Pulse has not logged any activity of yours here.",
                )
        span = (
            f"from {kept.first_seen:%Y-%m-%d} to {kept.last_seen:%Y-%m-%d}"
            if kept.first_seen and kept.last_seen
            else "none kept in detail"
        )
        return Reply(
            title="What Pulse keeps about you",
            text=(
                "Pulse never stores what you write. It keeps that you posted, replied or "
                "reacted, when, and where, to help the community team look after members."
            ),
            fields=(
                ("Name shown", kept.display_name or "(none)"),
                ("Activities", f"{kept.activities} ({span})"),
                ("Days with activity", str(kept.days_with_activity)),
                ("Tier", kept.tier or "not classified yet"),
                ("Check-in flags", str(kept.quiet_flags)),
                ("Contributions logged", str(kept.contributions)),
            ),
            buttons=(
                Button(
                    "Delete my data and opt out",
                    f"{ACTION_PREFIX}:privacy:delete:{inv.user_id}",
                    Style.DANGER,
                ),
            ),
            footer="Deleting removes everything above now, and Pulse ignores you from then on.",
        )

    async def _forget(self, inv: Invocation) -> Reply:
        async with self.engine.begin() as conn:
            space = await self._space(conn, inv)
            await forget_member(conn, space, inv.user_id, self.hash_key, self.clock.now())
        return Reply(
            title="Done: you are opted out",
            text="Everything Pulse kept about you is deleted, and it will not log you again.",
            tone=Tone.SUCCESS,
        )

    async def _cmd_away(self, inv: Invocation, args: dict) -> Reply:
        until: datetime = args["until"]
        async with self.engine.begin() as conn:
            space = await self._space(conn, inv)
            try:
                member = await actions.member_row(conn, space, inv.user_id)
            except NotFoundError:
                return Reply(
                    title="Nothing to pause",
                    text="Pulse has no activity of yours yet, so nobody will be asked about you.",
                )
            await actions.set_away(conn, member.id, until)
        return Reply(
            title="Enjoy your time away",
            text=f"Nobody will be prompted to check in on you until {until:%Y-%m-%d}.",
            tone=Tone.SUCCESS,
        )


_ACTIONS = {
    "done": OutreachAction.REACHED_OUT,
    "snooze": OutreachAction.SNOOZE,
    "dismiss": OutreachAction.DISMISS,
}


def _outreach_reply(name: str, action: OutreachAction) -> Reply:
    text = {
        OutreachAction.REACHED_OUT: f"Recorded that you reached out to {name}. They leave the "
        "quiet list for 30 days; if they take part again, it counts as re-engaged.",
        OutreachAction.SNOOZE: f"{name} is snoozed for two weeks.",
        OutreachAction.DISMISS: f"{name} is off the quiet list until they take part again.",
    }[action]
    return Reply(title="Outreach recorded", text=text, tone=Tone.SUCCESS)


async def _member(conn: AsyncConnection, space: int, platform_id: str):
    """The member a command names, or an error that mentions them (both platforms render it)."""
    try:
        return await actions.member_row(conn, space, platform_id)
    except NotFoundError:
        raise CommandError(_unseen(platform_id), mentions=(platform_id,)) from None


def _unseen(platform_id: str) -> str:
    # A mention renders as the member's name on both Discord and Slack.
    return f"Pulse has not seen <@{platform_id}> take part yet, so it has nothing on them."


def _paged(
    reply: Reply, entries: list[Entry], name: str, limit: int, page: int, size: int
) -> Reply:
    """The PAGE-th slice of ENTRIES, with previous/next buttons that re-run the query."""
    pages = max(1, -(-len(entries) // size))
    page = min(max(page, 0), pages - 1)
    buttons = []
    if page > 0:
        buttons.append(Button("◀ Previous", f"{ACTION_PREFIX}:page:{name}:{limit}:{page - 1}"))
    if page < pages - 1:
        buttons.append(Button("Next ▶", f"{ACTION_PREFIX}:page:{name}:{limit}:{page + 1}"))
    return Reply(
        title=reply.title,
        text=reply.text,
        entries=tuple(entries[page * size : (page + 1) * size]),
        buttons=tuple(buttons),
        page=page,
        pages=pages,
        footer=f"Page {page + 1} of {pages}" if pages > 1 else "",
    )


def _quiet_entry(row: QuietEntry) -> Entry:
    flag = row.flag_id
    return Entry(
        heading=row.member.name,
        text=row.summary,
        buttons=(
            Button("Reached out", f"{ACTION_PREFIX}:outreach:{flag}:done", Style.PRIMARY),
            Button("Snooze 2 weeks", f"{ACTION_PREFIX}:outreach:{flag}:snooze"),
            Button("Dismiss", f"{ACTION_PREFIX}:outreach:{flag}:dismiss"),
        ),
    )


def _profile_reply(profile: MemberProfile) -> Reply:
    role = "staff" if profile.is_staff else "bot" if profile.is_bot else "member"
    fields = [
        ("Role", role + (", recognized hero" if profile.recognized_hero else "")),
        ("Tier", profile.reasons or "not classified yet"),
        ("Joined", f"{profile.joined_at:%Y-%m-%d}" if profile.joined_at else "unknown"),
        ("Last active", f"{profile.last_active:%Y-%m-%d}" if profile.last_active else "never"),
    ]
    if profile.left_at:
        fields.append(("Left", f"{profile.left_at:%Y-%m-%d}"))
    if profile.away_until:
        fields.append(("Away until", f"{profile.away_until:%Y-%m-%d}"))
    if profile.tier_history:
        fields.append(
            (
                "Tier changes",
                "\n".join(
                    f"{when:%Y-%m-%d}: {old or 'new'} → {new}"
                    for when, old, new in profile.tier_history
                ),
            )
        )
    entries = (_quiet_entry(profile.open_flag),) if profile.open_flag else ()
    return Reply(title=profile.member.name, fields=tuple(fields), entries=entries)
