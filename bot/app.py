"""Composition: build the engine, writer and services from Settings. Nothing is built at import."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

from bot.settings import Settings
from storage.engine import create_engine
from storage.migrate import current_revision, head_revision, upgrade


def engine_for(settings: Settings):
    """The async engine for the configured database."""
    return create_engine(settings.database_url(), echo=settings.database.echo)


async def upgrade_database(settings: Settings) -> tuple[str | None, str]:
    """Upgrade the schema; return the revisions before and after."""
    engine = engine_for(settings)
    try:
        before = await current_revision(engine)
        await upgrade(engine)
        return before, head_revision()
    finally:
        await engine.dispose()


def missing_platform_settings(settings: Settings) -> str | None:
    """Say exactly what is missing when neither Discord nor Slack is configured, else None."""
    discord = settings.discord
    slack = settings.slack
    discord_token = settings.secret(discord.token_env)
    slack_bot = settings.secret(slack.bot_token_env)
    slack_second_env = slack.app_token_env if slack.mode == "socket" else slack.signing_secret_env
    slack_second = settings.secret(slack_second_env)
    if discord_token or (slack_bot and slack_second):
        return None
    lines = ["no platform is configured. To run Pulse, configure at least one:"]
    discord_missing = [f"environment variable {discord.token_env} (named by discord.token_env)"]
    if not discord.guild_ids:
        discord_missing.append("discord.guild_ids in the config")
    lines.append("  Discord: set " + "; ".join(discord_missing))
    slack_missing = []
    if not slack_bot:
        slack_missing.append(f"environment variable {slack.bot_token_env} (slack.bot_token_env)")
    if not slack_second:
        what = "app_token_env" if slack.mode == "socket" else "signing_secret_env"
        slack_missing.append(f"environment variable {slack_second_env} (slack.{what})")
    lines.append(f"  Slack ({slack.mode} mode): set " + "; ".join(slack_missing))
    lines.append("See config.example.toml and the README's 'Connecting' section.")
    return "\n".join(lines)


SPILL_FILE = "pulse-unwritten.jsonl"


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """`pulse run`: upgrade, start the writer and the configured platforms, stop on a signal."""
    from bot.commands.service import CommandService
    from storage.meta import hash_key
    from storage.writer import IngestWriter

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    engine = engine_for(settings)
    try:
        await upgrade(engine)
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
        await writer.start()
        service = CommandService(engine, settings, key)
        try:
            token = settings.secret(settings.discord.token_env)
            if token is None:
                raise PlatformNotBuiltError(
                    "only Slack is configured, and the Slack adapter is not part of this build "
                    "yet; configure Discord (see the README's 'Connecting Discord')"
                )
            from bot.discord.client import run_discord
            from bot.discord.poster import DiscordPoster
            from bot.scheduler import build_scheduler

            poster = DiscordPoster(settings.discord)
            scheduler = build_scheduler(engine, settings, poster)
            scheduler.start()
            try:
                await run_discord(settings.discord, token, writer, service, engine, stop, poster)
            finally:
                scheduler.shutdown(wait=False)
        finally:
            await writer.close(ingest.shutdown_timeout_seconds)
    finally:
        await engine.dispose()


class PlatformNotBuiltError(RuntimeError):
    """The config asks for a platform this build cannot run."""
