"""Importing history: `import slack-export` and `import discord-export`, with progress."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click

from bot.cli import base
from bot.cli.base import PulseError, cli, common_options, now, run_async
from bot.render import shown
from bot.settings import Settings
from community.events import ActivityKind, day_number, day_start


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
    from bot.importers.limits import ImportFormatError
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
        base.err_console.print(
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
    start = time.monotonic()

    def rate(stats) -> str:
        return f"{stats.messages / max(time.monotonic() - start, 1e-6):,.0f} messages/s"

    console = base.console
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
