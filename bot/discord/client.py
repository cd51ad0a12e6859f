"""The Discord bot: log what members do, answer slash commands, catch up on what was missed.

Gateway handlers only build ActivityEvents and put them on the ingest queue; the database is
touched by the writer task and by command handlers, never on the gateway's path.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import discord

from bot.app import PlatformSetupError
from bot.commands.service import CommandService
from bot.commands.spec import COMMANDS, ArgKind, CommandSpec
from bot.discord import mapping
from bot.discord._commands import _Commands
from bot.discord._listeners import _Listeners
from bot.discord.logs import one_line_reconnects
from bot.discord.staff import StaffRoster, read_members
from bot.platforms import StaffMarks
from bot.services.catch_up import catch_up_from
from bot.settings import DiscordSettings
from bot.tasks import Background, log_failure
from community.clock import Clock
from community.events import ActivityEvent, Platform
from community.mapping import RecentMap, ThreadTracker
from storage.uow import UnitOfWork
from storage.writer.queue import IngestWriter

log = logging.getLogger(__name__)

# Staff commands are hidden unless the member can manage messages (moderators usually can);
# server admins can widen or narrow that per command in Server Settings → Integrations. Pulse
# checks the configured staff roles itself whatever that setting says.
STAFF_DEFAULT_PERMISSIONS = str(discord.Permissions(manage_messages=True).value)
CONTENT_WARNING = (
    "Discord refused the Message Content intent, so messages arrive without text: Pulse keeps "
    "logging messages, replies, reactions, threads and joins, but cannot tell questions and "
    "thank-yous apart. Turn on 'Message Content Intent' in the Developer Portal under Bot → "
    "Privileged Gateway Intents, then restart Pulse."
)


def command_payloads() -> list[dict]:
    """Every command in Discord's application command JSON, built from the shared specs."""
    return [_payload(spec) for spec in COMMANDS]


def _payload(spec: CommandSpec) -> dict:
    options = []
    for arg in spec.args:
        option: dict = {"name": arg.name, "description": arg.description[:100]}
        option["required"] = arg.required
        if arg.kind is ArgKind.INTEGER:
            option.update(type=4, min_value=arg.minimum, max_value=arg.maximum)
        elif arg.kind is ArgKind.MEMBER:
            option["type"] = 6
        else:
            option["type"] = 3
            if arg.choices:
                option["choices"] = [{"name": c, "value": c} for c in arg.choices]
            if arg.maximum:
                option["max_length"] = arg.maximum
        options.append(option)
    return {
        "name": spec.name,
        "type": 1,
        "description": spec.description[:100],
        "options": options,
        "default_member_permissions": STAFF_DEFAULT_PERMISSIONS if spec.staff_only else None,
        "contexts": [0],  # in servers only: Pulse's figures belong to a server
    }


class PulseClient(_Listeners, _Commands, discord.Client):
    """discord.py client wired to the ingest writer and the command layer."""

    def __init__(
        self,
        settings: DiscordSettings,
        writer: IngestWriter,
        service: CommandService,
        uow: UnitOfWork,
        *,
        message_content: bool = True,
        clock: Clock | None = None,
        guild_ready_timeout: float = 2.0,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.members = True
        intents.guild_messages = True
        intents.guild_reactions = True
        intents.message_content = message_content
        super().__init__(
            intents=intents,
            guild_ready_timeout=guild_ready_timeout,
            allowed_mentions=discord.AllowedMentions.none(),
            # A large server's member list is never held: no chunking at start, no member cache
            # (only the bot's own member). Staff come from StaffRoster, names from the events.
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            # Nor a message cache: reactions come raw, replies carry what they reply to, and
            # discord.py scans its cache linearly for every reaction.
            max_messages=None,
            **_shard_options(settings, sharded=isinstance(self, discord.AutoShardedClient)),
        )
        # Without a member cache discord.py drops GUILD_MEMBER_UPDATE unseen; staff roles
        # given or taken are read from its payload first.
        parsers = self._connection.parsers
        parse_member_update = parsers["GUILD_MEMBER_UPDATE"]

        def member_update(data: dict) -> None:
            self._member_updated(data)
            parse_member_update(data)

        parsers["GUILD_MEMBER_UPDATE"] = member_update
        self.settings = settings
        self.writer = writer
        self.service = service
        self.uow = uow
        self.clock = clock or service.clock
        self.help_channels = frozenset(settings.help_channel_ids)
        self.staff_roles = frozenset(settings.staff_role_ids)
        self.catch_up_task: asyncio.Task | None = None
        self.caught_up = asyncio.Event()
        self.background = Background()
        self.staff_marks = StaffMarks(uow, writer, Platform.DISCORD)
        self.roster = StaffRoster(self.staff_roles)
        # Bots seen in events: without a member cache, who started a thread is only an id.
        self.bots: set[int] = set()
        # Who last spoke in each thread and who started each reply chain (community.helpgraph).
        self.threads = ThreadTracker()
        self.roots = RecentMap()
        self.accept = service.policies.accept

    # --- which guilds --------------------------------------------------------------------

    def _wanted(self, guild: discord.Guild | None) -> bool:
        return guild is not None and (
            not self.settings.guild_ids or str(guild.id) in self.settings.guild_ids
        )

    def _on_my_shards(self, guild_id: int) -> bool:
        count, ids = self.settings.shard_count, self.settings.shard_ids
        return count is None or not ids or (guild_id >> 22) % count in ids

    def is_staff(self, user: discord.abc.User) -> bool:
        """Whether USER holds one of the configured staff roles."""
        return self.roster.holds_staff_role(role.id for role in getattr(user, "roles", ()))

    async def _log(self, event: ActivityEvent | None, member=None) -> None:
        """Queue EVENT; MEMBER (who acted, when the event carries them) updates the staff."""
        if event is not None:
            await self.writer.put(event)
            if isinstance(member, discord.Member):
                self._saw(event.space_id, event.member_id, self.is_staff(member))

    def _saw(self, space: str, member_id: str, is_staff: bool) -> None:
        changed = self.roster.observe(space, member_id, is_staff)
        if space not in self.roster.complete:
            return  # the pass at start marks everyone it and the events found
        if changed:
            self.staff_marks.again(space, lambda: self.roster.of(space))
        else:
            self.staff_marks.seen(space, member_id, is_staff, lambda: self.roster.of(space))

    def _member_updated(self, data: dict) -> None:
        guild_id, user = data.get("guild_id"), data.get("user") or {}
        guild = self.get_guild(int(guild_id)) if guild_id else None
        if user.get("bot") and "id" in user:
            self.bots.add(int(user["id"]))
        if self._wanted(guild) and "id" in user:
            staff = self.roster.holds_staff_role(data.get("roles") or ())
            self._saw(str(guild.id), str(user["id"]), staff)

    async def close(self) -> None:
        """Stop catch-up and staff syncs before the HTTP session they use goes away."""
        await self.background.cancel()
        await self.staff_marks.close()
        await super().close()

    # --- start-up ----------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        """Before the gateway connects: say so if messages will come without text."""
        if not self.intents.message_content:
            log.warning(CONTENT_WARNING)

    async def on_ready(self) -> None:
        """Sync commands, mark staff, and catch up (again after a reconnect that lost state)."""
        guilds = [g for g in self.guilds if self._wanted(g)]
        log.info("connected to Discord as %s in %d server(s)", self.user, len(guilds))
        for guild_id in self.settings.guild_ids:
            if self._on_my_shards(int(guild_id)) and self.get_guild(int(guild_id)) is None:
                log.warning("guild %s in discord.guild_ids has not invited Pulse", guild_id)
        for guild in guilds:
            try:
                await self.http.bulk_upsert_guild_commands(
                    self.application_id, guild.id, command_payloads()
                )
            except discord.HTTPException as exc:
                log.error("cannot register commands in %s: %s", guild.name, exc)
        if not self.staff_roles:
            log.warning("discord.staff_role_ids is empty: nobody can use the staff commands")
        if self.catch_up_task is None or self.catch_up_task.done():
            self.caught_up.clear()
            self.catch_up_task = self.background.spawn(self._catch_up(guilds), "discord-catch-up")

    async def _catch_up(self, guilds: list[discord.Guild]) -> None:
        try:
            for guild in guilds:
                after = await catch_up_from(
                    self.uow,
                    Platform.DISCORD,
                    str(guild.id),
                    self.clock.now(),
                    self.settings.catch_up_days,
                )
                joined = await read_members(self, self.roster, guild, after, self.bots)
                await self._sync_staff(guild)
                count = await self._catch_up_guild(guild, after, joined)
                log.info("caught up %d message(s) in %s", count, guild.name)
                await self._sync_staff(guild)  # members first seen during catch-up
        except Exception as exc:
            log_failure(log, exc, "catch-up stopped early; live logging continues")
        finally:
            self.caught_up.set()

    async def _catch_up_guild(
        self, guild: discord.Guild, after: datetime, joined: list[discord.Member]
    ) -> int:
        me = guild.me
        channels = [
            c
            for c in [*guild.text_channels, *guild.threads]
            if c.permissions_for(me).read_message_history
        ]
        count = 0
        for channel in channels:
            try:
                async for message in channel.history(after=after, limit=None, oldest_first=True):
                    event = self._message_event(message)
                    if event is not None:
                        await self.writer.put(event)
                        count += 1
            except discord.Forbidden:
                log.info("no access to the history of #%s; skipped", channel)
        await self._catch_up_beyond_history(guild, after, joined)
        await self.writer.flush()
        return count

    async def _catch_up_beyond_history(
        self, guild: discord.Guild, after: datetime, joined: list[discord.Member]
    ) -> None:
        """Threads started since AFTER and the members JOINED since: no history holds them.

        A restart after a crash finds them here (the active threads come with the guild, the
        members from the pass at start), with the ids the live events had, so what was stored
        collapses.
        """
        for thread in guild.threads:
            created = thread.created_at or discord.utils.snowflake_time(thread.id)
            if created >= after:
                event = mapping.thread_event(
                    thread, help_channels=self.help_channels, bots=self.bots
                )
                await self._log(event)
        for member in joined:
            await self._log(mapping.join_event(member), member)

    async def _sync_staff(self, guild: discord.Guild) -> None:
        space = str(guild.id)
        if space in self.roster.complete:  # a partial list would unmark staff it missed
            await self.staff_marks.mark(space, self.roster.of(space))


class ShardedPulseClient(PulseClient, discord.AutoShardedClient):
    """PulseClient running the shards discord.shard_ids names, of discord.shard_count."""


def _shard_options(settings: DiscordSettings, *, sharded: bool) -> dict:
    if settings.shard_count is None:
        return {}
    if sharded:
        return {"shard_count": settings.shard_count, "shard_ids": settings.shard_ids or None}
    return {"shard_count": settings.shard_count, "shard_id": settings.shard_ids[0]}


def client_class(settings: DiscordSettings) -> type[PulseClient]:
    """PulseClient for one shard (or no sharding), ShardedPulseClient for several."""
    one = settings.shard_count is None or len(settings.shard_ids) == 1
    return PulseClient if one else ShardedPulseClient


async def run_discord(
    settings: DiscordSettings,
    token: str,
    writer: IngestWriter,
    service: CommandService,
    uow: UnitOfWork,
    stop: asyncio.Event,
    poster=None,
    roles=None,
) -> None:
    """Run the bot until STOP is set; without the Message Content intent, run without text."""
    point_at(settings)
    one_line_reconnects()
    for message_content in (True, False):
        client = client_class(settings)(
            settings, writer, service, uow, message_content=message_content
        )
        for user in (poster, roles):
            if user is not None:
                user.client = client  # digests and roles go through whichever client is live
        runner = asyncio.create_task(client.start(token), name="discord-client")
        stopper = asyncio.create_task(stop.wait(), name="discord-stop")
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not runner.done():
            await client.close()
        # The outcome is read from the task below; here we only wait for it to end. A closed
        # client may still sleep out a reconnect backoff: nothing is lost by cutting that short.
        await asyncio.wait({runner}, timeout=1)
        if not runner.done():
            runner.cancel()
            return
        if runner.cancelled():
            return
        exc = runner.exception()
        if exc is not None and not client.is_closed():
            # A client that failed to log in or connect still holds its HTTP session.
            await client.close()
        if stop.is_set():
            # Closed while connecting, discord.py may fail on its half-built gateway: that is
            # the stop, not a fault of Discord's.
            if exc is not None:
                log.debug("the Discord client ended while stopping: %r", exc)
            return
        if isinstance(exc, discord.PrivilegedIntentsRequired) and message_content:
            continue  # the next client says why, once, as it starts without text
        if isinstance(exc, discord.PrivilegedIntentsRequired):
            raise DiscordSetupError(
                "Discord refused the Server Members intent: turn on 'Server Members Intent' in "
                "the Developer Portal under Bot → Privileged Gateway Intents"
            ) from exc
        if isinstance(exc, discord.LoginFailure):
            raise DiscordSetupError(
                "Discord refused the bot token: check the variable discord.token_env names"
            ) from exc
        if exc is not None:
            raise exc
        return


def point_at(settings: DiscordSettings) -> None:
    """Send REST and the gateway where the config says (a proxy, or a local fake in tests)."""
    import yarl

    discord.http.Route.BASE = settings.api_base_url.rstrip("/")
    if settings.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


class DiscordSetupError(PlatformSetupError):
    """Discord refused to let the bot in, for a reason the operator must fix."""
