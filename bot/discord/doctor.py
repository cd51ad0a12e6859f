"""`pulse doctor` on Discord, over REST: the token, the intents, the channels and the roles."""

from __future__ import annotations

import discord

from bot.discord.roles import role_ids
from bot.services.doctor import Check
from bot.settings import DiscordSettings

# Application flags: the privileged intents switched on in the Developer Portal (either form).
_MEMBERS = (1 << 14) | (1 << 15)
_MESSAGE_CONTENT = (1 << 18) | (1 << 19)
_MANAGE_ROLES, _ADMINISTRATOR = 1 << 28, 1 << 3
# What Pulse does in each kind of configured channel, and the permissions that takes (as
# discord.Permissions names them, and as Discord's settings show them). Pulse adds no reactions.
_VIEW, _HISTORY = ("view_channel", "View Channel"), ("read_message_history", "Read Message History")
_SEND, _EMBED = ("send_messages", "Send Messages"), ("embed_links", "Embed Links")
_ATTACH = ("attach_files", "Attach Files")
NEEDS = {
    "help channel": (_VIEW, _HISTORY),  # reads questions, catches up on history
    "staff channel": (_VIEW, _SEND, _EMBED, _ATTACH),  # the digest as embeds, the chart
    "community channel": (_VIEW, _SEND, _EMBED),  # the digest as embeds
}


async def discord_checks(settings: DiscordSettings, token: str) -> list[Check]:
    """Log in over REST and check what Pulse needs on Discord."""
    client = discord.Client(intents=discord.Intents.none())
    try:
        try:
            await client.login(token)
        except discord.LoginFailure:
            return [
                Check("discord token", False, f"Discord refused the token in {settings.token_env}")
            ]
        checks = [Check("discord token", True, f"valid, bot {client.user}")]
        app = await client.application_info()
        flags = app.flags.value
        checks.append(
            Check(
                "discord Server Members intent", bool(flags & _MEMBERS), _intent(flags & _MEMBERS)
            )
        )
        checks.append(
            Check(
                "discord Message Content intent",
                bool(flags & _MESSAGE_CONTENT),
                "on"
                if flags & _MESSAGE_CONTENT
                else "off: Pulse runs, but finds questions only in help channels and no "
                "thanks; turn it on under Bot → Privileged Gateway Intents",
                needed=False,
            )
        )
        places = _Places(client)
        checks += [await _channel(places, kind, cid) for kind, cid in _channels(settings)]
        for guild in settings.guild_ids:
            checks += await _roles(client, settings, guild)
        return checks
    finally:
        await client.close()


def _intent(on: int) -> str:
    if on:
        return "on"
    return "off: turn on 'Server Members Intent' under Bot → Privileged Gateway Intents"


def _channels(settings: DiscordSettings) -> list[tuple[str, str]]:
    named = [("help channel", c) for c in settings.help_channel_ids]
    for kind, cid in (("staff channel", settings.staff_channel_id),
                      ("community channel", settings.community_channel_id)):  # fmt: skip
        if cid:
            named.append((kind, cid))
    return named


class _Places:
    """The guilds, their channels and Pulse's own member in each, fetched once over REST."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client
        self.guilds: dict[int, tuple[discord.Member, dict[int, discord.abc.GuildChannel]]] = {}

    async def seen_from(self, guild_id: int):
        """Pulse's member in the guild, and the guild's channels, bound to its roles."""
        if guild_id not in self.guilds:
            guild = await self.client.fetch_guild(guild_id)
            me = await guild.fetch_member(self.client.user.id)
            channels = {c.id: c for c in await guild.fetch_channels()}
            self.guilds[guild_id] = (me, channels)
        return self.guilds[guild_id]


async def _channel(places: _Places, kind: str, channel_id: str) -> Check:
    """The channel is there, and Pulse's effective permissions in it cover what it does there."""
    name = f"discord {kind} {channel_id}"
    try:
        fetched = await places.client.fetch_channel(int(channel_id))
    except (discord.Forbidden, discord.NotFound) as exc:
        return Check(
            name,
            False,
            f"Pulse cannot see it ({exc.text}): check the id, and give Pulse View Channel there",
        )
    if not isinstance(fetched, discord.abc.GuildChannel):
        return Check(name, False, "not a server channel: use a channel of the server")
    try:
        me, channels = await places.seen_from(fetched.guild.id)
    except discord.HTTPException as exc:
        return Check(name, False, f"Pulse cannot read its own permissions there ({exc.text})")
    channel = channels.get(fetched.id, fetched)
    # Roles, @everyone and the channel's overwrites, as Discord resolves them.
    allowed = channel.permissions_for(me)
    missing = [label for attr, label in NEEDS[kind] if not getattr(allowed, attr)]
    if missing:
        return Check(
            name,
            False,
            f"#{channel} — Pulse lacks {', '.join(missing)} there: allow them for Pulse's role "
            "in the channel's permissions (Edit Channel → Permissions)",
        )
    granted = ", ".join(label for _, label in NEEDS[kind])
    return Check(name, True, f"#{channel}, Pulse has {granted}")


async def _roles(client: discord.Client, settings: DiscordSettings, guild: str) -> list[Check]:
    wanted = role_ids(settings)
    if not wanted:
        return []
    roles = {r["id"]: r for r in await client.http.get_roles(int(guild))}
    me = await client.http.get_member(int(guild), client.user.id)
    mine = [roles[r] for r in me["roles"] if r in roles]
    top = max((r["position"] for r in mine), default=0)
    perms = int(roles.get(guild, {}).get("permissions", 0))
    for role in mine:
        perms |= int(role["permissions"])
    can_manage = bool(perms & (_MANAGE_ROLES | _ADMINISTRATOR))
    checks = []
    for kind, role_id in wanted.items():
        name = f"discord {kind.value} role {role_id}"
        role = roles.get(role_id)
        if role is None:
            checks.append(Check(name, False, "no such role in this server: check the id"))
        elif not can_manage:
            checks.append(
                Check(name, False, "Pulse lacks Manage Roles: give its role that permission")
            )
        elif role["position"] >= top:
            checks.append(
                Check(
                    name,
                    False,
                    f"@{role['name']} sits above Pulse's role: move Pulse's role above it",
                )
            )
        else:
            checks.append(Check(name, True, f"@{role['name']} can be managed"))
    return checks
