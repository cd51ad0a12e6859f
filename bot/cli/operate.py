"""Running Pulse: `db upgrade`, `db copy`, `run`, `slack-manifest`, `reclassify` and `purge`."""

from __future__ import annotations

from datetime import timedelta

import click

from bot.cli import base
from bot.cli.base import (
    PulseError,
    PulseUsageError,
    cli,
    common_options,
    now,
    open_store,
    run_async,
)
from bot.settings import Settings


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


@db.command("copy")
@common_options
@click.option(
    "--to",
    "target",
    required=True,
    metavar="URL",
    help="The empty database to copy into (postgresql://user@host/db).",
)
def db_copy(settings: Settings, target: str) -> None:
    """Copy the whole database into an empty one (SQLite to PostgreSQL); stop Pulse first."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from bot.services.db_copy import copy_to
    from storage.copy import CopyError

    columns = (TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=base.err_console, transient=False) as bar:
        tasks: dict[str, object] = {}

        def progress(table: str, copied: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=total)
            bar.update(tasks[table], completed=copied)

        try:
            report = run_async(copy_to(settings, target, progress))
        except CopyError as exc:
            raise PulseError(str(exc)) from None
    click.echo(
        f"Copied {report.total:,} rows in {len(report.rows)} tables; every table's count "
        "verified. The source is unchanged: point database.url at the new database and "
        "start Pulse."
    )


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


@cli.command("doctor")
@common_options
def doctor(settings: Settings) -> None:
    """Check, one by one, that what Pulse needs is in place; exit 1 when something needed is not."""
    from bot.services.doctor import all_needed_pass, run_checks

    checks = run_async(run_checks(settings))
    for check in checks:
        click.echo(check.line)
    if not all_needed_pass(checks):
        raise SystemExit(1)


@cli.command("reclassify")
@common_options
def reclassify_cmd(settings: Settings) -> None:
    """Recompute tiers and scan for quiet members now (the daily job, on demand)."""
    from bot.services.classification import reclassify_and_scan, space_ids

    moment = now()
    policies = settings.policies()
    tiers, quiet = policies.tiers, policies.quiet

    async def go():
        async with open_store(settings) as uow:
            spaces = await space_ids(uow)
            if not spaces:
                click.echo(
                    "No community is stored yet: nothing to reclassify (import history, or "
                    "start `pulse run`, first)."
                )
            for space_id in spaces:
                result, scan = await reclassify_and_scan(uow, space_id, moment, tiers, quiet)
                click.echo(
                    f"space {space_id}: {result.evaluated} members evaluated, "
                    f"{result.changes} tier changes; quiet flags: {scan.opened} opened, "
                    f"{scan.returned} returned, {scan.expired} expired"
                )

    run_async(go())


@cli.command()
@common_options
def purge(settings: Settings) -> None:
    """Delete raw activities older than privacy.retention_days; daily rollups are kept."""
    from bot.services.classification import purge_old_activities

    cutoff = now() - timedelta(days=settings.policies().retention_days)

    async def go():
        async with open_store(settings) as uow:
            return await purge_old_activities(uow, cutoff)

    removed = run_async(go())
    click.echo(f"Purged {removed:,} activities older than {cutoff:%Y-%m-%d}; rollups kept.")
