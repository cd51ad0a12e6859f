"""The `pulse` command."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from bot.clock import SystemClock
from bot.render import (
    candidates_table,
    profile_table,
    quiet_table,
    shown,
    tier_counts_table,
    tier_rows_table,
)
from bot.settings import ConfigError, Settings, load_settings
from community.clock import Clock

err_console = Console(stderr=True)


class PulseError(click.ClickException):
    """An error the operator can act on: one message, no traceback."""

    exit_code = 1

    def show(self, file=None) -> None:
        """Print the message in red to stderr."""
        # The message may quote names and file names ("[part 2]"): shown literally.
        err_console.print(
            Text.assemble(shown("pulse:", "bold red"), " ", shown(self.message, multiline=True)),
            highlight=False,
            soft_wrap=True,
        )


class PulseUsageError(PulseError):
    """A bad config or argument: exit code 2, like click's own usage errors."""

    exit_code = 2


def common_options(func: Callable) -> Callable:
    """Add --config and --database-url to a command and hand it loaded Settings."""

    @click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Settings file (default: ./pulse.toml when it exists, else built-in defaults).",
    )
    @click.option(
        "--database-url",
        default=None,
        metavar="URL",
        help="Database to use, overriding the config (sqlite:///pulse.db, postgresql://...).",
    )
    @functools.wraps(func)
    def wrapper(config_path: Path | None, database_url: str | None, **kwargs):
        try:
            settings = load_settings(config_path, database_url)
            settings.database_url()
        except ConfigError as exc:
            raise PulseUsageError(str(exc)) from None
        return func(settings, **kwargs)

    return wrapper


def run_async(coro):
    """Run a coroutine, turning database failures and unusable schemas into one clear message."""
    from sqlalchemy import exc as sa_exc

    from storage.migrate import SchemaError

    try:
        return asyncio.run(coro)
    except SchemaError as exc:
        raise PulseError(str(exc)) from None
    except sa_exc.OperationalError as exc:
        raise PulseError(f"cannot use the database: {_first_line(exc.orig or exc)}") from None
    except (OSError, sa_exc.InterfaceError) as exc:
        raise PulseError(f"cannot reach the database: {_first_line(exc)}") from None
    except sa_exc.DBAPIError as exc:
        # PostgreSQL refusing the connection itself: no such database, or bad credentials.
        if str(getattr(exc.orig, "sqlstate", "") or "")[:2] in ("3D", "28"):
            raise PulseError(f"cannot use the database: {_first_line(exc.orig)}") from None
        raise


def now() -> datetime:
    """The current moment on the command's clock (see cli)."""
    clock: Clock = click.get_current_context().find_root().obj
    return clock.now()


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log more detail.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Pulse: understand and care for your Discord and Slack community."""
    if ctx.obj is None:
        # The composition root's clock; tests hand their own as cli(obj=FixedClock(...)).
        ctx.obj = SystemClock()
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # Migration chatter is for developers; operators see Pulse's own one-line summary.
        logging.getLogger("alembic").setLevel(logging.WARNING)


@cli.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
@common_options
def db_upgrade(settings: Settings) -> None:
    """Create or upgrade the database schema to the newest version."""
    from bot.app import upgrade_database

    before, after = run_async(upgrade_database(settings))
    if before == after:
        click.echo(f"Database already at revision {after}.")
    else:
        click.echo(f"Database upgraded from {before or 'empty'} to revision {after}.")


@cli.command()
@common_options
def run(settings: Settings) -> None:
    """Connect to Discord and/or Slack and start logging and answering commands."""
    from bot.app import PlatformError, PlatformSetupError, missing_platform_settings, serve

    missing = missing_platform_settings(settings)
    if missing is not None:
        raise PulseUsageError(missing)
    try:
        run_async(serve(settings))
    except (PlatformSetupError, PlatformError) as exc:
        raise PulseError(str(exc)) from None


@cli.command("slack-manifest")
@common_options
@click.option(
    "--request-url",
    default=None,
    metavar="URL",
    help="HTTP mode: the public https:// URL Slack posts to (it must reach slack.path).",
)
def slack_manifest(settings: Settings, request_url: str | None) -> None:
    """Print the Slack app manifest (YAML): paste it into "Create New App → From a manifest"."""
    from bot.slack.manifest import ManifestError, manifest_yaml

    try:
        click.echo(manifest_yaml(settings.slack, request_url), nl=False)
    except ManifestError as exc:
        raise PulseUsageError(str(exc)) from None


# --- the community, read from precomputed results -------------------------------------------


console = Console()


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
    from community.events import day_number, day_start

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
    from bot.app import engine_for
    from storage.migrate import check_schema
    from storage.queries import NotFoundError, resolve_space

    engine = engine_for(settings)
    try:
        await check_schema(engine)
        async with engine.connect() as conn:
            try:
                space_id = await resolve_space(conn, space_hint)
                return await query(conn, space_id)
            except NotFoundError as exc:
                raise PulseError(str(exc)) from None
    finally:
        await engine.dispose()


@cli.command()
@common_options
@read_options
@click.option("--list", "list_tier", type=click.Choice(["hero", "active", "passive"]),
              help="Also list the members of one tier with their reasons.")  # fmt: skip
@limit_option
@as_of_option
def tiers(
    settings: Settings,
    space: str | None,
    as_json: bool,
    list_tier: str | None,
    limit: int,
    as_of: AsOf | None,
):
    """Members per tier (passive, active, hero), and optionally who is in one."""
    from community.tiers import Tier
    from storage.history import members_in_tier_as_of, snapshot
    from storage.queries import members_in_tier, tier_counts

    policy = settings.tiers.policy()

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
    console.print(tier_counts_table(counts, _titled("Members per tier", as_of)))
    if list_tier:
        console.print(tier_rows_table(rows, _titled(f"{list_tier.capitalize()} members", as_of)))


@cli.command("hero-candidates")
@common_options
@read_options
@limit_option
@as_of_option
def hero_candidates_cmd(
    settings: Settings, space: str | None, as_json: bool, limit: int, as_of: AsOf | None
):
    """Members at or near hero level who are not recognized heroes yet, and rising actives."""
    from storage.history import hero_candidates_as_of, rising_actives_as_of, snapshot
    from storage.queries import hero_candidates, rising_actives

    policy = settings.tiers.policy()

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
    console.print(candidates_table(candidates, _titled("Hero candidates", as_of)))
    rising_title = "Rising actives: passive members who started helping"
    console.print(candidates_table(rising, _titled(rising_title, as_of)))


@cli.command()
@common_options
@read_options
@limit_option
@as_of_option
def quiet(settings: Settings, space: str | None, as_json: bool, limit: int, as_of: AsOf | None):
    """Members who went quiet, with what you need to reach out help-first."""
    from storage.queries import quiet_list

    moment = as_of.moment if as_of is not None else now()

    async def query(conn, space_id):
        return await quiet_list(conn, space_id, moment, limit)

    rows = run_async(_read(settings, space, query))
    if as_json:
        print_json(rows)
        return
    console.print(quiet_table(rows, _titled("Quiet members: reach out, help first", as_of)))


@cli.command()
@common_options
@read_options
@click.argument("who")
@as_of_option
def member(settings: Settings, space: str | None, as_json: bool, who: str, as_of: AsOf | None):
    """One member's tier, reasons, history and quiet flag (WHO: id, mention or name)."""
    from storage.history import member_profile_as_of
    from storage.queries import member_profile

    async def query(conn, space_id):
        if as_of is not None:
            return await member_profile_as_of(
                conn, space_id, who, as_of.day, as_of.moment, settings.tiers.policy()
            )
        return await member_profile(conn, space_id, who, now())

    profile = run_async(_read(settings, space, query))
    if as_json:
        print_json(profile)
        return
    console.print(profile_table(profile))


@cli.command("reclassify")
@common_options
def reclassify_cmd(settings: Settings) -> None:
    """Recompute tiers and scan for quiet members now (the daily job, on demand)."""
    from bot.app import engine_for
    from bot.services.classification import reclassify_and_scan, space_ids
    from storage.migrate import check_schema
    from storage.uow import UnitOfWork

    async def go():
        engine = engine_for(settings)
        try:
            await check_schema(engine)
            moment = now()
            spaces = await space_ids(UnitOfWork(engine))
            if not spaces:
                click.echo(
                    "No community is stored yet: nothing to reclassify (import history, or "
                    "start `pulse run`, first)."
                )
            for space_id in spaces:
                result, scan = await reclassify_and_scan(
                    UnitOfWork(engine),
                    space_id,
                    moment,
                    settings.tiers.policy(),
                    settings.quiet.policy(),
                )
                click.echo(
                    f"space {space_id}: {result.evaluated} members evaluated, "
                    f"{result.changes} tier changes; quiet flags: {scan.opened} opened, "
                    f"{scan.returned} returned, {scan.expired} expired"
                )
        finally:
            await engine.dispose()

    run_async(go())


@cli.command()
@common_options
def purge(settings: Settings) -> None:
    """Delete raw activities older than privacy.retention_days; daily rollups are kept."""
    from bot.app import engine_for
    from bot.services.classification import purge_old_activities
    from storage.migrate import check_schema
    from storage.uow import UnitOfWork

    cutoff = now() - timedelta(days=settings.privacy.retention_days)

    async def go():
        engine = engine_for(settings)
        try:
            await check_schema(engine)
            return await purge_old_activities(UnitOfWork(engine), cutoff)
        finally:
            await engine.dispose()

    removed = run_async(go())
    click.echo(f"Purged {removed:,} activities older than {cutoff:%Y-%m-%d}; rollups kept.")


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
    from bot.app import engine_for, upgrade_database
    from bot.digest_render import community_doc, rich_digest, staff_doc
    from bot.services.digests import build_digest, space_ref
    from community.digest import Audience
    from storage.queries import NotFoundError, resolve_space
    from storage.uow import UnitOfWork

    if out.exists() and not out.is_dir():
        raise PulseUsageError(f"--out {out} is a file; give a directory for the chart")
    moment = as_of.moment if as_of is not None else now()

    async def go():
        await upgrade_database(settings)
        engine = engine_for(settings)
        try:
            async with engine.connect() as conn:
                try:
                    space_id = await resolve_space(conn, space)
                except NotFoundError as exc:
                    raise PulseError(str(exc)) from None
            return (
                await space_ref(UnitOfWork(engine), space_id),
                await build_digest(
                    UnitOfWork(engine), settings, space_id, Audience.COMMUNITY, moment
                ),
                await build_digest(UnitOfWork(engine), settings, space_id, Audience.STAFF, moment),
            )
        finally:
            await engine.dispose()

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
    console.print(rich_digest(community_doc(community.content)))
    console.print(rich_digest(staff_doc(staff.content)))
    console.print(
        Text.assemble("Chart written to ", shown(chart_path, "bold"), " (nothing was posted)."),
        highlight=False,
    )


@cli.command()
@common_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("pulse-demo.db"), show_default=True,
              help="SQLite file to create (an earlier demo file there is replaced).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def demo(settings: Settings, out: Path, as_json: bool) -> None:
    """Seed a synthetic community (no tokens needed); show tiers, candidates, quiet members."""
    if click.get_current_context().params.get("database_url"):
        raise PulseUsageError(
            "pulse demo writes its own SQLite file: choose it with --out FILE, not --database-url"
        )
    from bot.services.demo import DemoPathError, seed
    from storage.engine import create_engine
    from storage.queries import hero_candidates, quiet_list, rising_actives, tier_counts

    policy = settings.tiers.policy()
    seeded_at = now().replace(microsecond=0)

    def progress(message: str) -> None:
        if not as_json:
            err_console.print(shown(message, "dim"))

    async def go():
        try:
            result = await seed(settings, out, seeded_at, progress=progress)
        except DemoPathError as exc:
            raise PulseUsageError(str(exc)) from None
        engine = create_engine(result.url)
        try:
            async with engine.connect() as conn:
                return result, (
                    await tier_counts(conn, result.space_id),
                    await hero_candidates(conn, result.space_id, policy, 10),
                    await rising_actives(conn, result.space_id, policy, 5),
                    await quiet_list(conn, result.space_id, result.now, 15),
                )
        finally:
            await engine.dispose()

    result, (counts, candidates, rising, quiet_rows) = run_async(go())
    if as_json:
        print_json(
            {
                "database": str(result.path),
                "events": result.events,
                "members": result.members,
                "tiers": counts,
                "hero_candidates": candidates,
                "rising_actives": rising,
                "quiet": quiet_rows,
            }
        )
        return
    console.print(
        Text.assemble(
            shown("Pulse demo", "bold"),
            f": {result.members} members, {result.events:,} interactions over 26 weeks, "
            "written to ",
            shown(result.path),
            "\n",
        )
    )
    console.print(tier_counts_table(counts))
    console.print(candidates_table(candidates, "Hero candidates"))
    console.print(candidates_table(rising, "Rising actives: passive members who started helping"))
    console.print(quiet_table(quiet_rows))
    url = f"sqlite:///{result.path}"
    console.print(
        Text.assemble(
            "\nExplore it: ",
            shown(f"pulse member NAME --database-url {url}", "bold"),
            ", ",
            shown(f"pulse tiers --list hero --database-url {url}", "bold"),
        )
    )


# --- history import --------------------------------------------------------------------------


@cli.group("import")
def import_group() -> None:
    """Import history: a Slack workspace export or DiscordChatExporter files."""


def import_options(func: Callable) -> Callable:
    """--batch-size, shared by the import commands."""
    return click.option(
        "--batch-size",
        type=click.IntRange(100, 100_000),
        default=50_000,
        show_default=True,
        help="Events written per transaction.",
    )(func)


@import_group.command("slack-export")
@common_options
@import_options
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--team-id", default=None, metavar="ID",
              help="The workspace's team id, when users.json and messages name none.")  # fmt: skip
def import_slack(settings: Settings, batch_size: int, path: Path, team_id: str | None) -> None:
    """Import a Slack workspace export (PATH: the .zip or its unpacked folder)."""
    from bot.importers.slack import SlackExportReader

    def open_reader():
        return SlackExportReader(
            path,
            help_channels=settings.slack.help_channel_ids,
            team_id=team_id,
            accept=settings.tiers.accept_keys(),
        )

    _run_import(settings, f"Slack export {path}", open_reader, batch_size)


@import_group.command("discord-export")
@common_options
@import_options
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--guild-id", default=None, metavar="ID",
              help="The server's id, needed for CSV exports (they do not name it).")  # fmt: skip
@click.option("--channel-id", default=None, metavar="ID",
              help="The channel of CSV files whose names carry no [channel id].")  # fmt: skip
def import_discord(
    settings: Settings,
    batch_size: int,
    paths: tuple[Path, ...],
    guild_id: str | None,
    channel_id: str | None,
) -> None:
    """Import DiscordChatExporter JSON or CSV files (PATHS: files, or folders of them)."""
    from bot.importers.discord import DiscordExportReader

    def open_reader():
        return DiscordExportReader(
            paths,
            help_channels=settings.discord.help_channel_ids,
            guild_id=guild_id,
            channel_id=channel_id,
            accept=settings.tiers.accept_keys(),
        )

    _run_import(settings, "DiscordChatExporter export", open_reader, batch_size)


def _run_import(settings: Settings, what: str, open_reader, batch_size: int) -> None:
    import time

    from bot.importers.files import ImportFormatError
    from bot.importers.run import ImportFailed, run_import

    started = time.monotonic()
    try:
        reader = open_reader()
    except ImportFormatError as exc:
        raise PulseError(str(exc)) from None
    moment = now()
    signals: list[int] = []

    async def go(on_batch):
        # SIGINT and SIGTERM end the import cleanly: what was read is written, the deferred
        # index is rebuilt, and a re-run resumes (stored events are skipped).
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, lambda s=signum: (signals.append(s), stop.set()))
        try:
            return await run_import(
                settings, reader, moment, batch_size=batch_size, on_batch=on_batch, stop=stop
            )
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)

    try:
        with _import_progress(reader) as on_batch:
            result = run_async(go(on_batch))
    except ImportFailed as exc:
        stats = exc.stats
        raise PulseError(
            f"{exc}\nNothing was lost: {stats.written:,} events read before this point are "
            f"stored ({stats.inserted:,} new). Fix or replace the file and run the same command "
            "again: what is already stored is skipped."
        ) from None
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()
    notes = getattr(reader, "notes", ())
    for line in import_summary(what, result, time.monotonic() - started, notes):
        # Names of files, channels and subtypes come from the export: no control characters.
        click.echo(shown(line).plain)
    if result.stats.stopped:
        stats = result.stats
        name = signal.Signals(signals[0]).name if signals else "a signal"
        err_console.print(
            f"[bold red]pulse:[/] stopped by {name}: {stats.written:,} events read so far are "
            f"stored ({stats.inserted:,} new); tiers were not re-evaluated. Run the same command "
            "again to finish: what is already stored is skipped.",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(128 + (signals[0] if signals else signal.SIGINT))


@contextlib.contextmanager
def _import_progress(reader):
    """A progress callback: a rich bar on a terminal, a log line every few seconds otherwise."""
    import time

    start = time.monotonic()

    def rate(stats) -> str:
        return f"{stats.messages / max(time.monotonic() - start, 1e-6):,.0f} messages/s"

    if console.is_terminal:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        progress = Progress(
            TextColumn("[bold]importing[/]"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        task = progress.add_task("import", total=reader.total_bytes or None, counts="")

        def on_batch(stats) -> None:
            progress.update(
                task,
                completed=stats.bytes_read,
                counts=f"{stats.messages:,} messages, {stats.reactions:,} reactions, {rate(stats)}",
            )

        with progress:
            yield on_batch
        return

    log = logging.getLogger("pulse.import")
    last = [start]

    def on_batch(stats) -> None:
        now = time.monotonic()
        if now - last[0] < 5:
            return
        last[0] = now
        done = stats.bytes_read / reader.total_bytes if reader.total_bytes else 0
        log.info(
            "imported %s messages, %s reactions, %s events stored; %.0f%% of the input read (%s)",
            f"{stats.messages:,}",
            f"{stats.reactions:,}",
            f"{stats.written:,}",
            100 * done,
            rate(stats),
        )

    yield on_batch


def import_summary(what: str, result, elapsed: float, notes=()) -> list[str]:
    """The lines printed after an import."""
    from community.events import ActivityKind, day_number, day_start

    s = result.stats
    span = (
        f"{s.first:%Y-%m-%d %H:%M} to {s.last:%Y-%m-%d %H:%M} UTC"
        if s.first and s.last
        else "nothing dated"
    )
    lines = [
        f"Imported {what} in {elapsed:.1f}s ({s.files:,} files; reading and writing "
        f"{result.import_seconds:.1f}s, tier history {result.history_seconds:.1f}s, "
        f"reclassification {result.reclassify_seconds:.1f}s):",
        f"  messages   {s.messages:,} ({s.kinds[ActivityKind.REPLY]:,} replies, "
        f"{s.kinds[ActivityKind.THREAD_STARTED]:,} threads started)",
        f"  reactions  {s.reactions:,}",
        f"  joins      {s.kinds[ActivityKind.MEMBER_JOINED]:,}",
        f"  members    {len(s.members):,} (who did something), channels {len(s.channels):,}",
        f"  time span  {span}",
        f"  stored     {s.inserted:,} new events; {s.duplicates:,} were already stored",
    ]
    skipped = [(reason, n) for reason, n in s.skipped.most_common() if n]
    if skipped:
        lines.append("  skipped    " + "; ".join(f"{n:,} {reason}" for reason, n in skipped))
    else:
        lines.append("  skipped    nothing")
    if s.unresolved_replies:
        lines.append(
            f"  note       {s.unresolved_replies:,} replies answer messages outside these "
            "exports: stored as replies aimed at nobody in particular"
        )
    for note in notes:
        lines.append(f"  note       {note}")
    for space in result.spaces:
        if space.replayed:
            lines.append(
                f"  history    {space.platform} {space.platform_id}: tier history replayed "
                f"day by day from {day_start(space.replayed[0]):%Y-%m-%d} to "
                f"{day_start(space.replayed[-1]):%Y-%m-%d}, {space.history_changes:,} tier "
                "changes"
            )
        lines.append(
            f"  tiers      {space.platform} {space.platform_id}: {space.evaluated:,} members "
            f"evaluated, {space.changes:,} tier changes, {space.quiet_opened:,} quiet flags "
            "opened"
        )
    if (
        s.last
        and result.evaluated_at
        and day_number(s.last) <= day_number(result.evaluated_at) - result.window_days
    ):
        last_day = f"{s.last:%Y-%m-%d}"
        lines.append(
            f"  note       the export ends on {last_day}, more than {result.window_days} "
            "days (the tier window) ago, so its members count as passive today; to see "
            f"the community as it stood then: pulse tiers --as-of {last_day}"
        )
    return lines


def print_json(data) -> None:
    """JSON to stdout."""
    import json

    from community.views import to_jsonable

    click.echo(json.dumps(to_jsonable(data), indent=2))


def main() -> None:
    """Entry point of the `pulse` console script."""
    try:
        cli.main(standalone_mode=True)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
