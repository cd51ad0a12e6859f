"""What every `pulse` command shares: the root group, options, errors, the store, output."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from bot.clock import SystemClock
from bot.render import shown
from bot.settings import ConfigError, Settings, load_settings
from community.clock import Clock
from community.views import to_jsonable

# Module attributes, read at call time, so a test can swap in a console of its own.
console = Console()
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
    from storage.faults import database_failure
    from storage.migrate import SchemaError

    try:
        return asyncio.run(coro)
    except SchemaError as exc:
        raise PulseError(str(exc)) from None
    except Exception as exc:
        message = database_failure(exc)
        if message is None:
            raise
        raise PulseError(message) from None


def now() -> datetime:
    """The current moment on the command's clock (see cli)."""
    clock: Clock = click.get_current_context().find_root().obj
    return clock.now()


@asynccontextmanager
async def open_store(settings: Settings, *, upgrade: bool = False) -> AsyncIterator:
    """The configured database as a unit of work: its schema checked (or upgraded) first."""
    from bot.app import engine_for, upgrade_database
    from storage.migrate import check_schema
    from storage.uow import UnitOfWork

    if upgrade:
        await upgrade_database(settings)
    engine = engine_for(settings)
    try:
        if not upgrade:
            await check_schema(engine)
        yield UnitOfWork(engine)
    finally:
        await engine.dispose()


async def community_id(uow, hint: str | None) -> int:
    """The stored community HINT names (platform id or name; None when there is one only)."""
    from storage.spaces import NotFoundError, resolve_space

    async with uow.read() as conn:
        try:
            return await resolve_space(conn, hint)
        except NotFoundError as exc:
            raise PulseError(str(exc)) from None


def print_json(data) -> None:
    """JSON to stdout."""
    click.echo(json.dumps(to_jsonable(data), indent=2))
