"""Reading the community: `tiers`, `hero-candidates`, `quiet`, `member` and `digest preview`.

Each reads precomputed results, now or (with --as-of) as they stood at the end of a past day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from rich.text import Text

from bot.cli import base
from bot.cli.base import (
    PulseError,
    PulseUsageError,
    cli,
    common_options,
    community_id,
    now,
    open_store,
    print_json,
    run_async,
)
from bot.render import (
    at_risk_table,
    candidates_table,
    profile_table,
    quiet_table,
    shown,
    tier_counts_table,
    tier_rows_table,
)
from bot.settings import Settings
from community.events import day_number, day_start


def read_options(func: Callable) -> Callable:
    """--space and --json, shared by every read command."""
    func = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")(
        func
    )
    return click.option(
        "--space",
        default=None,
        metavar="ID",
        help="Which community (platform id or name), when the database holds several.",
    )(func)


@dataclass(frozen=True)
class AsOf:
    """A read as of a past day: the day, and the moment read (its end, or now if today)."""

    day: int
    moment: datetime


def _parse_as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> AsOf | None:
    if value is None:
        return None
    try:
        day = day_number(datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC))
    except ValueError:
        raise PulseUsageError(f"--as-of {value} is not a date (YYYY-MM-DD)") from None
    moment = now()
    if day > day_number(moment):
        raise PulseUsageError(f"--as-of {value} is in the future (today is {moment:%Y-%m-%d} UTC)")
    return AsOf(day=day, moment=min(day_start(day + 1) - timedelta(seconds=1), moment))


def _titled(title: str, as_of: AsOf | None) -> str:
    if as_of is None:
        return title
    return f"{title} on {as_of.moment:%Y-%m-%d}"


def as_of_option(func: Callable) -> Callable:
    """--as-of DATE: show the community as it stood at the end of that day (UTC)."""
    return click.option(
        "--as-of",
        "as_of",
        default=None,
        metavar="DATE",
        callback=_parse_as_of,
        expose_value=True,
        help="Show the community as it stood at the end of this day (YYYY-MM-DD, UTC), "
        "recomputed from the daily figures.",
    )(func)


def limit_option(func: Callable) -> Callable:
    """--limit N, between 1 and 500."""
    return click.option(
        "--limit",
        type=click.IntRange(1, 500),
        default=20,
        show_default=True,
        help="How many members to list (1-500).",
    )(func)


async def _read(settings: Settings, space_hint: str | None, query):
    """QUERY(conn, space id) on the community SPACE_HINT names, in one read transaction."""
    from storage.spaces import NotFoundError

    async with open_store(settings) as uow:
        space_id = await community_id(uow, space_hint)
        async with uow.read() as conn:
            try:
                return await query(conn, space_id)
            except NotFoundError as exc:
                raise PulseError(str(exc)) from None


@cli.command()
@common_options
@read_options
@click.option("--list", "list_tier", type=click.Choice(["hero", "active", "passive"]),
              help="Also list the members of one tier with their reasons.")  # fmt: skip
@click.option("--at-risk", "at_risk", is_flag=True,
              help="List members whose next evaluations would demote them, and why.")  # fmt: skip
@limit_option
@as_of_option
def tiers(
    settings: Settings,
    space: str | None,
    as_json: bool,
    list_tier: str | None,
    at_risk: bool,
    limit: int,
    as_of: AsOf | None,
):
    """Members per tier (passive, active, hero), and optionally who is in one or at risk."""
    from community.tiers import Tier
    from storage.as_of import members_in_tier_as_of, snapshot
    from storage.tiers import members_in_tier, tier_counts

    policy = settings.policies().tiers
    if at_risk:
        if as_of is not None or list_tier:
            raise click.UsageError("--at-risk reads today's tiers alone: drop --as-of and --list")
        _at_risk(settings, space, as_json, limit)
        return

    async def query(conn, space_id):
        if as_of is not None:
            snap = await snapshot(conn, space_id, as_of.day, as_of.moment, policy)
            rows = (
                await members_in_tier_as_of(conn, space_id, snap, Tier(list_tier), limit, policy)
                if list_tier
                else []
            )
            return snap.tier_counts(), rows
        counts = await tier_counts(conn, space_id)
        rows = await members_in_tier(conn, space_id, Tier(list_tier), limit) if list_tier else []
        return counts, rows

    counts, rows = run_async(_read(settings, space, query))
    if as_json:
        print_json({"counts": counts, "members": rows} if list_tier else {"counts": counts})
        return
    base.console.print(tier_counts_table(counts, _titled("Members per tier", as_of)))
    if list_tier:
        title = _titled(f"{list_tier.capitalize()} members", as_of)
        base.console.print(tier_rows_table(rows, title))


def _at_risk(settings: Settings, space: str | None, as_json: bool, limit: int) -> None:
    from storage.tiers import members_at_risk

    policy = settings.policies().tiers
    rows = run_async(
        _read(
            settings, space, lambda conn, space_id: members_at_risk(conn, space_id, policy, limit)
        )
    )
    if as_json:
        print_json({"at_risk": rows})
        return
    if not rows:
        base.console.print("Nobody is at risk of a lower tier.")
        return
    base.console.print(at_risk_table(rows, "At risk of a lower tier (soonest first)"))


@cli.command("hero-candidates")
@common_options
@read_options
@limit_option
@as_of_option
def hero_candidates_cmd(
    settings: Settings, space: str | None, as_json: bool, limit: int, as_of: AsOf | None
):
    """Members at or near hero level who are not recognized heroes yet, and rising actives."""
    from storage.as_of import hero_candidates_as_of, rising_actives_as_of, snapshot
    from storage.tiers import hero_candidates, rising_actives

    policy = settings.policies().tiers

    async def query(conn, space_id):
        if as_of is not None:
            snap = await snapshot(conn, space_id, as_of.day, as_of.moment, policy)
            return (
                await hero_candidates_as_of(conn, space_id, snap, policy, limit),
                await rising_actives_as_of(conn, space_id, snap, policy, limit),
            )
        return (
            await hero_candidates(conn, space_id, policy, limit),
            await rising_actives(conn, space_id, policy, limit),
        )

    candidates, rising = run_async(_read(settings, space, query))
    if as_json:
        print_json({"hero_candidates": candidates, "rising_actives": rising})
        return
    base.console.print(candidates_table(candidates, _titled("Hero candidates", as_of)))
    rising_title = "Rising actives: passive members who started helping"
    base.console.print(candidates_table(rising, _titled(rising_title, as_of)))


@cli.command()
@common_options
@read_options
@limit_option
@as_of_option
def quiet(settings: Settings, space: str | None, as_json: bool, limit: int, as_of: AsOf | None):
    """Members who went quiet, with what you need to reach out help-first."""
    from storage.quiet import quiet_list

    moment = as_of.moment if as_of is not None else now()

    async def query(conn, space_id):
        return await quiet_list(conn, space_id, moment, limit)

    rows = run_async(_read(settings, space, query))
    if as_json:
        print_json(rows)
        return
    base.console.print(quiet_table(rows, _titled("Quiet members: reach out, help first", as_of)))


@cli.command()
@common_options
@read_options
@click.argument("who")
@as_of_option
def member(settings: Settings, space: str | None, as_json: bool, who: str, as_of: AsOf | None):
    """One member's tier, reasons, history and quiet flag (WHO: id, mention or name)."""
    from storage.profiles import member_profile, member_profile_as_of

    moment = now()

    async def query(conn, space_id):
        if as_of is not None:
            return await member_profile_as_of(
                conn, space_id, who, as_of.day, as_of.moment, settings.policies().tiers
            )
        return await member_profile(conn, space_id, who, moment, settings.policies().tiers)

    profile = run_async(_read(settings, space, query))
    if as_json:
        print_json(profile)
        return
    base.console.print(profile_table(profile))


@cli.group()
def digest() -> None:
    """The weekly digests: see what Pulse would post."""


@digest.command("preview")
@common_options
@read_options
@click.option("--out", type=click.Path(path_type=Path), default=Path("."), show_default=True,
              help="Directory to write the chart PNG into (created if missing).")  # fmt: skip
@as_of_option
def digest_preview(
    settings: Settings, space: str | None, as_json: bool, out: Path, as_of: AsOf | None
) -> None:
    """Print the community and staff digests for the last seven days and write the chart.

    With --as-of, the seven days up to the end of that day, from the tier history stored.
    Nothing is posted and no digest run is recorded.
    """
    from bot.digest_render.layout import community_doc, staff_doc
    from bot.digest_render.terminal import rich_digest
    from bot.services.digests import build_digest, space_ref
    from community.digest import Audience

    if out.exists() and not out.is_dir():
        raise PulseUsageError(f"--out {out} is a file; give a directory for the chart")
    moment = as_of.moment if as_of is not None else now()
    policies = settings.policies()

    async def go():
        async with open_store(settings, upgrade=True) as uow:
            space_id = await community_id(uow, space)
            return (
                await space_ref(uow, space_id),
                await build_digest(uow, policies, space_id, Audience.COMMUNITY, moment),
                await build_digest(uow, policies, space_id, Audience.STAFF, moment),
            )

    ref, community, staff = run_async(go())
    chart_path = out / f"pulse-digest-{ref.id}-{moment:%Y-%m-%d}.png"
    try:
        out.mkdir(parents=True, exist_ok=True)
        chart_path.write_bytes(staff.chart_png or b"")
    except OSError as exc:
        raise PulseError(f"cannot write the chart to {chart_path}: {exc.strerror}") from None
    if as_json:
        print_json(
            {
                "space": ref,
                "community": {"digest": community.content, "rendered": community.rendered},
                "staff": {"digest": staff.content, "rendered": staff.rendered},
                "chart": str(chart_path),
            }
        )
        return
    base.console.print(rich_digest(community_doc(community.content)))
    base.console.print(rich_digest(staff_doc(staff.content)))
    base.console.print(
        Text.assemble("Chart written to ", shown(chart_path, "bold"), " (nothing was posted)."),
        highlight=False,
    )
