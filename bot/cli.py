"""The `pulse` command."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console

from bot.settings import ConfigError, Settings, load_settings

err_console = Console(stderr=True)


class PulseError(click.ClickException):
    """An error the operator can act on: one message, no traceback."""

    exit_code = 1

    def show(self, file=None) -> None:
        """Print the message in red to stderr."""
        err_console.print(f"[bold red]pulse:[/] {self.message}", highlight=False, soft_wrap=True)


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
    """Run a coroutine, turning database connection failures into one clear message."""
    from sqlalchemy import exc as sa_exc

    try:
        return asyncio.run(coro)
    except sa_exc.OperationalError as exc:
        raise PulseError(f"cannot use the database: {_first_line(exc.orig or exc)}") from None
    except (OSError, sa_exc.InterfaceError) as exc:
        raise PulseError(f"cannot reach the database: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log more detail.")
def cli(verbose: bool) -> None:
    """Pulse: understand and care for your Discord and Slack community."""
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
    from bot.app import missing_platform_settings, upgrade_database

    missing = missing_platform_settings(settings)
    if missing is not None:
        raise PulseUsageError(missing)
    run_async(upgrade_database(settings))
    raise PulseUsageError(
        "the Discord and Slack adapters are not part of this build yet; "
        "`pulse demo` shows what Pulse does with a synthetic community"
    )


def main() -> None:
    """Entry point of the `pulse` console script."""
    try:
        cli.main(standalone_mode=True)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
