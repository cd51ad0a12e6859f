"""The fake Discord side of bench/gateway.py: a 500k-member guild and a paced stream of events.

It runs in its own process (so its memory and CPU are not Pulse's), driven over a pipe:
("stream", rate, seconds) sends that many events a second for that long and answers how many
went out; ("stop",) ends it. Payloads are shaped as tests/fakes/discord builds them, but made
here from templates so the fake can outpace the client it measures.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from typing import Any

from tests.fakes.discord import DISCORD_EPOCH_MS, FakeDiscord, iso
from tests.fakes.discord.constants import DEFAULT_EVERYONE_PERMISSIONS

CHANNELS = 20
THREADS = 10
STAFF = 5
ACTIVE = 20_000  # members who speak; the rest of the crowd only lurks
LINES = (
    "How do I configure the webhook retries?",
    "Thanks, that fixed it!",
    "Has anyone tried the new SDK with Python 3.12?",
    "I think the docs are out of date on this one.",
    "You need to set the token before calling connect().",
    "Great talk yesterday, thank you @everyone who came",
    "Is there a way to export the dashboard as CSV?",
    "ok",
    "Try restarting the worker, it picks the config up at start.",
    "Same problem here, any news?",
)
# The mix of events, cumulative: messages, replies, thread messages, reactions, joins, updates.
MIX = ((0.45, "message"), (0.60, "reply"), (0.72, "thread"), (0.90, "reaction"),
       (0.95, "join"), (1.00, "update"))  # fmt: skip


def build_world(fake: FakeDiscord, members: int) -> dict[str, Any]:
    """The benchmark's guild: channels, threads, a staff role, STAFF staff and a crowd."""
    owner = fake.add_user("owner")
    guild = fake.add_guild("Bench Community", owner_id=owner["id"])
    gid = guild["id"]
    role = fake.add_role(gid, "Staff", permissions=DEFAULT_EVERYONE_PERMISSIONS)
    channels = [fake.add_text_channel(gid, f"channel-{i}")["id"] for i in range(CHANNELS)]
    staff = []
    for i in range(STAFF):
        user = fake.add_user(f"staff{i}")
        fake.add_member(gid, user["id"], roles=[role["id"]])
        staff.append(user["id"])
    threads = [
        fake.add_thread(channels[i % CHANNELS], staff[i % STAFF], f"thread {i}")["id"]
        for i in range(THREADS)
    ]
    crowd = fake.add_crowd(gid, members - STAFF - 1)
    fake.announce_large(gid)
    return {
        "guild": gid,
        "role": role["id"],
        "channels": channels,
        "threads": threads,
        "staff": staff,
        "crowd_first": crowd.first,
        "crowd_count": crowd.count,
    }


class Stream:
    """Gateway payloads in the benchmark's mix, from crowd members with a skewed activity."""

    def __init__(self, fake: FakeDiscord, world: dict[str, Any], seed: int = 7) -> None:
        self.fake, self.world = fake, world
        self.rng = random.Random(seed)
        self.guild = world["guild"]
        self.recent: list[dict[str, Any]] = []
        self.counter = itertools.count()
        self.joined = itertools.count(world["crowd_first"] + world["crowd_count"])
        active = min(ACTIVE, world["crowd_count"])
        # Zipf-like: a few members write most messages.
        self.weights = list(itertools.accumulate(1 / (i + 1) for i in range(active)))

    def _snowflake(self) -> str:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return str((ms << 22) | (next(self.counter) & 0x3FFFFF))

    def _author(self) -> str:
        index = self.rng.choices(range(len(self.weights)), cum_weights=self.weights)[0]
        return str(self.world["crowd_first"] + index)

    def _member(self, user_id: str, with_user: bool) -> dict[str, Any]:
        return self.fake.member_payload(self.guild, user_id, with_user=with_user)

    def _message(self, channel: str, reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
        author = self._author()
        message_id = self._snowflake()
        message = {
            "id": message_id,
            "channel_id": channel,
            "guild_id": self.guild,
            "author": self.fake.user_payload(author),
            "member": self._member(author, with_user=False),
            "content": self.rng.choice(LINES),
            "timestamp": iso(self.fake.now()),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "reactions": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": [],
        }
        if reply_to is not None:
            message["type"] = 19
            message["mentions"] = [reply_to["author"]]
            message["message_reference"] = {
                "type": 0,
                "message_id": reply_to["id"],
                "channel_id": reply_to["channel_id"],
                "guild_id": self.guild,
            }
            message["referenced_message"] = {
                k: v for k, v in reply_to.items() if k not in ("guild_id", "member")
            }
        if reply_to is None and len(self.recent) < 500:
            self.recent.append(message)
        elif reply_to is None:
            self.recent[self.rng.randrange(500)] = message
        return message

    def next(self) -> tuple[str, dict[str, Any]]:
        """One event: (gateway event name, payload)."""
        roll = self.rng.random()
        kind = next(name for edge, name in MIX if roll < edge)
        world, rng = self.world, self.rng
        if kind == "message" or not self.recent:
            return "MESSAGE_CREATE", self._message(rng.choice(world["channels"]))
        if kind == "reply":
            target = rng.choice(self.recent)
            return "MESSAGE_CREATE", self._message(target["channel_id"], reply_to=target)
        if kind == "thread":
            return "MESSAGE_CREATE", self._message(rng.choice(world["threads"]))
        if kind == "reaction":
            target = rng.choice(self.recent)
            user = self._author()
            return "MESSAGE_REACTION_ADD", {
                "user_id": user,
                "channel_id": target["channel_id"],
                "message_id": target["id"],
                "guild_id": self.guild,
                "member": self._member(user, with_user=True),
                "emoji": {"id": None, "name": rng.choice(("👍", "🎉", "❤️", "🙏"))},
                "message_author_id": target["author"]["id"],
                "burst": False,
                "burst_colors": [],
                "type": 0,
            }
        if kind == "join":
            user_id = str(next(self.joined))
            member = {**self._member(str(world["crowd_first"]), with_user=False)}
            user = {**self.fake.user_payload(str(world["crowd_first"])), "id": user_id}
            member.update(user=user, joined_at=iso(self.fake.now()), guild_id=self.guild)
            return "GUILD_MEMBER_ADD", member
        user = self._author()
        # One update in fifty makes its member staff: the roster and the staff marks follow.
        roles = [world["role"]] if rng.random() < 0.02 else []
        payload = {**self._member(user, with_user=True), "roles": roles, "guild_id": self.guild}
        payload["nick"] = f"nick{rng.randrange(1000)}"
        return "GUILD_MEMBER_UPDATE", payload


async def stream(fake: FakeDiscord, source: Stream, rate: float, seconds: float) -> int:
    """Send RATE events a second for SECONDS (paced every 10 ms); how many went out."""
    loop = asyncio.get_running_loop()
    start, sent = loop.time(), 0
    sessions = list(fake.sessions.values())
    while (now := loop.time()) - start < seconds:
        due = int(rate * (now - start))
        while sent < due:
            event, data = source.next()
            for session in sessions:
                await fake._send_dispatch(session, event, data)
            sent += 1
        await asyncio.sleep(0.01)
    return sent


def serve(conn, members: int) -> None:
    """The fake's process: build the world, say where it listens, then obey the pipe."""
    asyncio.run(_serve(conn, members))


async def _serve(conn, members: int) -> None:
    fake = FakeDiscord()
    fake.strict = False
    fake.replay_frames = 5_000  # a resume window, not the whole run, in memory
    world = build_world(fake, members)
    await fake.start()
    conn.send({"base_url": fake.base_url, "gateway_url": fake.gateway_url, **world})
    loop = asyncio.get_running_loop()
    source = Stream(fake, world)
    try:
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command[0] == "stream":
                began = time.perf_counter()
                sent = await stream(fake, source, command[1], command[2])
                conn.send((sent, time.perf_counter() - began))
            elif command[0] == "requests":
                conn.send((len(fake.member_requests), len(fake.calls("list_members"))))
            else:
                break
    finally:
        await fake.close()
