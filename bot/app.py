"""Composition: build the engine, writer and services from Settings. Nothing is built at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from bot.clock import SystemClock
from bot.settings import Settings
from community.clock import Clock
from storage.engine import create_engine
from storage.faults import first_line
from storage.migrate import head_revision, upgrade

log = logging.getLogger(__name__)


def engine_for(settings: Settings):
    """The async engine for the configured database."""
    return create_engine(settings.database_url(), echo=settings.database.echo)


async def upgrade_database(settings: Settings) -> tuple[str | None, str]:
    """Upgrade the schema; return the revisions before and after."""
    engine = engine_for(settings)
    try:
        before = await upgrade(engine)
        return before, head_revision()
    finally:
        await engine.dispose()


def missing_platform_settings(settings: Settings) -> str | None:
    """Say exactly what is missing when neither Discord nor Slack is configured, else None."""
    discord = settings.discord
    slack = settings.slack
    if settings.secret(discord.token_env) or not missing_slack_settings(settings):
        return None
    lines = ["no platform is configured. To run Pulse, configure at least one:"]
    discord_missing = [f"environment variable {discord.token_env} (named by discord.token_env)"]
    if not discord.guild_ids:
        discord_missing.append("discord.guild_ids in the config")
    lines.append("  Discord: set " + "; ".join(discord_missing))
    lines.append(f"  Slack ({slack.mode} mode): set " + "; ".join(missing_slack_settings(settings)))
    lines.append("See config.example.toml and docs/platforms.md.")
    return "\n".join(lines)


def missing_slack_settings(settings: Settings) -> list[str]:
    """The environment variables Slack's configured mode still needs (empty: none)."""
    slack = settings.slack
    second = "app_token_env" if slack.mode == "socket" else "signing_secret_env"
    missing = []
    for field in ("bot_token_env", second):
        env = getattr(slack, field)
        if not settings.secret(env):
            missing.append(f"environment variable {env} (slack.{field})")
    return missing


def slack_secrets(settings: Settings):
    """The Slack credentials when the configured mode has all it needs, else None."""
    from bot.slack.adapter import SlackSecrets

    slack = settings.slack
    if missing_slack_settings(settings):
        return None
    return SlackSecrets(
        settings.secret(slack.bot_token_env),
        settings.secret(slack.app_token_env),
        settings.secret(slack.signing_secret_env),
    )


SPILL_FILE = "pulse-unwritten.jsonl"


async def serve(
    settings: Settings, stop: asyncio.Event | None = None, clock: Clock | None = None
) -> None:
    """`pulse run`: upgrade, start the writer and the configured platforms, stop on a signal."""
    clock = clock or SystemClock()
    from bot.commands.service import CommandService
    from bot.scheduler import PlatformPoster, build_scheduler, process_name, stop_scheduler
    from bot.services.roles import RoleSync, Warnings
    from bot.tasks import Stopped, unless_stopped
    from community.roles import HeroFollows
    from storage.uow import UnitOfWork

    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    ingest = settings.ingest
    budget = ShutdownBudget(ingest.shutdown_timeout_seconds)
    engine = engine_for(settings)
    try:
        step = ["upgrading the database schema"]
        log.info("starting: %s", step[0])
        try:
            # Every step of start-up waits on the database: a signal ends them too.
            writer, key = await unless_stopped(_start_writer(settings, engine, step), stop)
        except Stopped:
            log.warning("stopped during start-up while %s; no platform was connected", step[0])
            return
        uow = UnitOfWork(engine)
        policies = settings.policies()
        web = settings.web
        service = CommandService(
            uow, policies, key, clock, web.public_url() if web.enabled else None
        )
        try:
            platforms, posters, role_targets = _platforms(settings, writer, service, uow, stop)
            recognition = settings.recognition
            warnings = (
                Warnings(policies.tiers, recognition.notify_cooldown_days)
                if recognition.notify_members
                else None
            )
            roles = RoleSync(
                uow,
                role_targets,
                HeroFollows(recognition.hero_role_follows),
                clock,
                warnings,
                name=process_name(),
            )
            if settings.web.enabled:
                platforms["web"] = dashboard(settings, uow, key, clock, stop)
            scheduler = build_scheduler(
                uow, settings, PlatformPoster(posters), clock=clock, policies=policies, roles=roles
            )
            scheduler.start()
            try:
                await _run_all(platforms, stop, budget)
            finally:
                await stop_scheduler(scheduler, grace=budget.left(floor=0.5))
        finally:
            await writer.close(budget.left(floor=1.0))
    finally:
        await engine.dispose()


async def serve_dashboard(
    settings: Settings, stop: asyncio.Event | None = None, clock: Clock | None = None, ready=None
) -> None:
    """`pulse web`: the dashboard alone on an existing database, until a signal or STOP."""
    from storage.meta import hash_key
    from storage.migrate import check_schema
    from storage.uow import UnitOfWork

    clock = clock or SystemClock()
    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    engine = engine_for(settings)
    try:
        await check_schema(engine)
        key = await hash_key(engine, settings.secret(settings.privacy.hash_key_env))
        try:
            await dashboard(settings, UnitOfWork(engine), key, clock, stop, ready)
        except OSError as exc:
            # Said here: the CLI would otherwise take a socket error for the database's.
            web = settings.web
            raise PlatformError(
                f"the dashboard cannot listen on {web.host}:{web.port}: {exc.strerror or exc}"
            ) from exc
    finally:
        await engine.dispose()


def _stop_on_signals(stop: asyncio.Event) -> None:
    """Set STOP on SIGINT or SIGTERM (where the loop can catch signals)."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, _on_signal, signum, stop)


def _on_signal(signum: int, stop: asyncio.Event) -> None:
    if not stop.is_set():
        log.info("%s received: stopping", signal.Signals(signum).name)
    stop.set()


async def _start_writer(settings: Settings, engine, step: list[str]):
    """Upgrade the schema, read the hash key, start the writer (replaying any spill): both.

    STEP[0] says which of these is under way, for the line a stop during start-up logs.
    """
    from storage.meta import hash_key
    from storage.writer.queue import IngestWriter

    await upgrade(engine)
    step[0] = "reading the hash key from the database"
    key = await hash_key(engine, settings.secret(settings.privacy.hash_key_env))
    ingest = settings.ingest
    writer = IngestWriter(
        engine,
        key,
        batch_size=ingest.batch_size,
        flush_interval=ingest.flush_interval_seconds,
        queue_size=ingest.queue_size,
        retry_initial=ingest.retry_initial_seconds,
        retry_max=ingest.retry_max_seconds,
        spill_path=Path(SPILL_FILE),
    )
    step[0] = f"writing {SPILL_FILE} to the database"
    await writer.start()
    return writer, key


class ShutdownBudget:
    """[ingest] shutdown_timeout_seconds, shared by the steps of a stop: platforms, jobs, writer.

    The clock starts when the stop begins; each step gets what is left (or a small floor, so
    the writer can still spill what it holds).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._since: float | None = None

    def begin(self) -> None:
        """Start counting, once."""
        if self._since is None:
            self._since = asyncio.get_running_loop().time()

    def left(self, floor: float = 0.0) -> float:
        """Seconds left of the budget, at least FLOOR."""
        self.begin()
        return max(floor, self._since + self.seconds - asyncio.get_running_loop().time())


def _platforms(settings: Settings, writer, service, uow, stop: asyncio.Event):
    """The platform runs to start and their digest posters, from what is configured."""
    from bot.services.roles import RoleTarget

    platforms: dict[str, object] = {}
    posters: dict[str, object] = {}
    role_targets: dict[str, RoleTarget] = {}
    token = settings.secret(settings.discord.token_env)
    if token is not None:
        from bot.discord.client import run_discord
        from bot.discord.poster import DiscordPoster
        from bot.discord.roles import DiscordRoles, role_ids

        poster = posters["discord"] = DiscordPoster(settings.discord)
        gateway = DiscordRoles(settings.discord)
        role_targets["discord"] = RoleTarget(gateway, role_ids(settings.discord))
        platforms["discord"] = run_discord(
            settings.discord, token, writer, service, uow, stop, poster, roles=gateway
        )
    secrets = slack_secrets(settings)
    if secrets is not None:
        from bot.slack.adapter import run_slack
        from bot.slack.poster import SlackPoster
        from bot.slack.roles import SlackUserGroups, usergroup_ids

        poster = posters["slack"] = SlackPoster(settings.slack)
        groups = SlackUserGroups(settings.slack)
        role_targets["slack"] = RoleTarget(groups, usergroup_ids(settings.slack))
        platforms["slack"] = run_slack(
            settings.slack, secrets, writer, service, uow, stop, poster, roles=groups
        )
    elif settings.secret(settings.slack.bot_token_env):
        missing = "; ".join(missing_slack_settings(settings))
        log.warning("Slack is not started (%s mode): set %s", settings.slack.mode, missing)
    return platforms, posters, role_targets


def dashboard(settings: Settings, uow, key: bytes, clock: Clock, stop: asyncio.Event, ready=None):
    """The staff dashboard served on this loop until STOP (a coroutine to run)."""
    from bot.web.app import build_app, serve_web

    app = build_app(uow, settings, key, clock)
    return serve_web(app, settings.web.host, settings.web.port, stop, ready)


class PlatformError(RuntimeError):
    """A platform's connection failed: the message names the platform and the cause."""


class PlatformSetupError(RuntimeError):
    """A platform refused Pulse for a reason the operator must fix (a token, an intent)."""


async def _run_all(platforms: dict, stop: asyncio.Event, budget: ShutdownBudget) -> None:
    """Run every platform in this loop; when one fails, stop the others and raise its error.

    On a stop, each platform gets what is left of the shutdown budget to close; one that
    takes longer (a connection that never answers) is cancelled, so the process always ends.
    """
    tasks = {
        name: asyncio.create_task(run, name=f"{name}-platform") for name, run in platforms.items()
    }
    stopper = asyncio.create_task(stop.wait(), name="pulse-stop")
    try:
        pending = set(tasks.values())
        while pending and not stop.is_set():
            done, pending = await asyncio.wait(
                {*pending, stopper}, return_when=asyncio.FIRST_COMPLETED
            )
            pending.discard(stopper)
            if any(not t.cancelled() and t.exception() is not None for t in done - {stopper}):
                break
    finally:
        stopper.cancel()
        stop.set()  # one platform ending (or a signal) ends the process: others follow
        budget.begin()
        running = [t for t in tasks.values() if not t.done()]
        if running:
            _, late = await asyncio.wait(running, timeout=budget.left())
            for name, task in tasks.items():
                if task in late:
                    log.warning(
                        "%s did not stop within %.0fs; stopping it",
                        _PLATFORM_NAMES.get(name, name),
                        budget.seconds,
                    )
                    task.cancel()
            if late:
                await asyncio.wait(late, timeout=2)
    for name, task in tasks.items():
        if not task.done() or task.cancelled():
            continue
        result = task.exception()
        if result is not None:
            if isinstance(result, PlatformSetupError):
                raise result
            # Name the platform: a connection error here is not the database's.
            platform = _PLATFORM_NAMES.get(name, name)
            raise PlatformError(f"{platform} stopped: {first_line(result)}") from result


_PLATFORM_NAMES = {"discord": "Discord", "slack": "Slack", "web": "The dashboard"}
