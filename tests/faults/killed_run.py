"""`pulse run` killed with SIGKILL mid-stream, then started again: what catch-up brings back.

Shared by tests/faults/test_run_kill.py and bench/faults.py. A fake Discord or Slack feeds a
real `pulse run` process a steady stream of messages, replies, thread replies, reactions and
joins; the process is killed while some of them are only in its memory (a large [ingest] batch
and flush interval keep them there), started again, and stopped once its catch-up is done. The
ledger then compares, kind by kind, the event ids stored with every event the fake delivered.
"""

from __future__ import annotations

import contextlib
import signal
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from community import ids
from community.events import POSTING_KINDS
from storage.engine import create_engine
from tests.fakes.discord import started_fake
from tests.fakes.slack import started_fake_slack
from tests.faults.scenarios import stored_ids
from tests.pulse_process import PulseProcess, eventually, run_config

# Before the kill, events are committed 50 at a time and never on a timer. A stream holds
# between 50 and 100 events, so exactly one batch is stored and the last rounds of every kind
# are only in memory when the kill comes.
# The restart writes as `pulse run` does by default: its catch-up waits until what it read is
# written, which a 600 s flush interval would hold up.
INGEST = {
    "batch_size": 50,
    "flush_interval_seconds": 600,
    "shutdown_timeout_seconds": 2,
    "retry_initial_seconds": 0.2,
    "retry_max_seconds": 0.5,
}
RESTART_INGEST = {**INGEST, "batch_size": 500, "flush_interval_seconds": 0.1}
# Older messages: posted an hour before the stream, so before where the restart's catch-up starts
# (the last stored event less its overlap), and replied or reacted to during the stream, as a
# question from earlier in the day gets its answer.
EARLIER = timedelta(hours=1)
# What catch-up cannot bring back: Discord's history gives a message's reaction counts, not
# who reacted, and neither platform's history shows a reaction taken back.
POSTING = "(" + ", ".join(f"'{k.value}'" for k in sorted(POSTING_KINDS)) + ")"
UNRECOVERABLE = {
    "discord": {"reaction", "reaction to an older message", "reaction taken back"},
    "slack": {"reaction taken back"},
}


@dataclass
class KindLedger:
    """What became of one kind of event delivered before a kill."""

    kind: str
    put: int = 0
    in_memory: int = 0  # delivered and not stored when the process was killed
    stored: int = 0  # after the restart and its catch-up
    lost: int = 0
    duplicated: int = 0
    lost_ids: list[str] = field(default_factory=list)
    in_memory_ids: list[str] = field(default_factory=list)


@dataclass
class RunLedger:
    """One kill and restart of `pulse run` on one platform and backend."""

    platform: str
    backend: str
    kinds: list[KindLedger] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # stored ids nothing delivered
    rollups_match: bool = True

    def of(self, kind: str) -> KindLedger:
        """The ledger of KIND."""
        return next(k for k in self.kinds if k.kind == kind)


# --- streams ---------------------------------------------------------------------------------


async def discord_stream(fake, rounds: int) -> dict[str, list[str]]:
    """ROUNDS of every kind Pulse logs from Discord; returns the event ids of each kind."""
    w = fake.world
    thread = await fake.start_thread(w.general, w.alice, "kill -9", content="a thread")
    earlier = fake.now() - EARLIER
    older = [
        await fake.send_message(w.help, w.alice, f"older {i}?", at=earlier, dispatch=False)
        for i in range(rounds)
    ]
    delivered: dict[str, list[str]] = defaultdict(list)
    for i in range(rounds):
        message = await fake.send_message(w.general, w.alice, f"message {i}?")
        delivered["message"].append(ids.discord_message(message["id"]))
        reply = await fake.reply(message, w.bob, f"reply {i}")
        delivered["reply"].append(ids.discord_message(reply["id"]))
        late = await fake.reply(older[i], w.bob, f"late reply {i}")
        delivered["reply to an older message"].append(ids.discord_message(late["id"]))
        inner = await fake.send_message(thread["id"], w.carol, f"in the thread {i}")
        delivered["thread reply"].append(ids.discord_message(inner["id"]))
        started = await fake.start_thread(w.general, w.bob, f"topic {i}")
        delivered["thread started"].append(ids.discord_thread(started["id"]))
        await fake.add_reaction(message, w.bob, "👍")
        delivered["reaction"].append(ids.discord_reaction(message["id"], "👍", w.bob))
        await fake.add_reaction(older[i], w.carol, "👍")
        delivered["reaction to an older message"].append(
            ids.discord_reaction(older[i]["id"], "👍", w.carol)
        )
        await fake.add_reaction(message, w.carol, "🎉")
        await fake.remove_reaction(message, w.carol, "🎉")
        taken_back = ids.discord_reaction(message["id"], "🎉", w.carol) + ":removed"
        delivered["reaction taken back"].append(taken_back)
        user = await fake.member_join(f"newcomer{i}")
        joined = datetime.fromisoformat(fake.members[w.guild][user["id"]]["joined_at"])
        delivered["join"].append(f"join:{user['id']}:{int(joined.timestamp())}")
    return dict(delivered)


async def slack_stream(fake, rounds: int) -> dict[str, list[str]]:
    """ROUNDS of every kind Pulse logs from Slack; returns the event ids of each kind."""
    w = fake.world
    starter = await fake.post_message(w.general, w.alice, "a thread")
    earlier = fake.now() - EARLIER
    older = [
        await fake.post_message(w.help, w.alice, f"older {i}?", at=earlier, deliver=False)
        for i in range(rounds)
    ]
    delivered: dict[str, list[str]] = defaultdict(list)
    for i in range(rounds):
        message = await fake.post_message(w.general, w.alice, f"message {i}?")
        delivered["message"].append(ids.slack_message(w.general, message["ts"]))
        reply = await fake.post_message(w.general, w.bob, f"reply {i}", thread_ts=message["ts"])
        delivered["reply"].append(ids.slack_message(w.general, reply["ts"]))
        inner = await fake.post_message(w.general, w.carol, f"more {i}", thread_ts=starter["ts"])
        delivered["thread reply"].append(ids.slack_message(w.general, inner["ts"]))
        late = await fake.post_message(w.help, w.bob, f"late {i}", thread_ts=older[i]["ts"])
        delivered["reply in an older thread"].append(ids.slack_message(w.help, late["ts"]))
        await fake.add_reaction(w.general, message["ts"], w.bob, "thumbsup")
        delivered["reaction"].append(
            ids.slack_reaction(w.general, message["ts"], "thumbsup", w.bob)
        )
        await fake.add_reaction(w.help, older[i]["ts"], w.carol, "thumbsup")
        delivered["reaction to an older message"].append(
            ids.slack_reaction(w.help, older[i]["ts"], "thumbsup", w.carol)
        )
        await fake.add_reaction(w.general, message["ts"], w.carol, "tada")
        await fake.remove_reaction(w.general, message["ts"], w.carol, "tada")
        taken_back = ids.slack_reaction(w.general, message["ts"], "tada", w.carol) + ":removed"
        delivered["reaction taken back"].append(taken_back)
        user = fake.add_user(f"newcomer{i}")
        join = await fake.join_channel(user["id"], w.general)
        delivered["join"].append(ids.slack_message(w.general, join["ts"]))
    return dict(delivered)


# --- the run ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _platform(platform: str, folder: Path, url: str):
    """The fake PLATFORM, and how to configure `pulse run` against it: (fake, configure, secrets).

    configure(ingest) writes the config with that [ingest] section and returns its path.
    """
    if platform == "discord":
        async with started_fake() as fake:
            where = {"api_base_url": fake.base_url, "gateway_url": fake.gateway_url}
            secrets = {"PULSE_DISCORD_TOKEN": fake.token}
            yield (
                fake,
                lambda ingest: run_config(folder, url, ingest=ingest, discord=where),
                secrets,
            )
    else:
        async with started_fake_slack() as fake:
            fake.strict = False  # deliveries cut by the kill are the point
            where = {"api_base_url": fake.api_url}
            secrets = {
                "PULSE_SLACK_BOT_TOKEN": fake.bot_token,
                "PULSE_SLACK_APP_TOKEN": fake.app_token,
            }
            yield fake, lambda ingest: run_config(folder, url, ingest=ingest, slack=where), secrets


async def stored_at(url: str) -> Counter:
    """How many times each event id is stored in the database at URL."""
    engine = create_engine(url)
    try:
        return await stored_ids(engine)
    finally:
        await engine.dispose()


async def _rollups_match(url: str) -> bool:
    """Whether the daily rollups add up to the stored activities of every kind streamed."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rolled = await conn.exec_driver_sql(
                "SELECT coalesce(sum(messages), 0), coalesce(sum(questions), 0), "
                "coalesce(sum(threads_started), 0), coalesce(sum(reactions_given), 0) "
                "FROM member_daily_rollups"
            )
            counted = await conn.exec_driver_sql(
                "SELECT "
                f"coalesce(sum(CASE WHEN kind IN {POSTING} THEN 1 ELSE 0 END), 0), "
                f"coalesce(sum(CASE WHEN kind IN {POSTING} AND is_question THEN 1 ELSE 0 END), 0), "
                "coalesce(sum(CASE WHEN kind = 'thread_started' THEN 1 ELSE 0 END), 0), "
                "coalesce(sum(CASE kind WHEN 'reaction_given' THEN 1 "
                "WHEN 'reaction_removed' THEN -1 ELSE 0 END), 0) FROM activities"
            )
            return tuple(rolled.one()) == tuple(counted.one())
    finally:
        await engine.dispose()


async def killed_run(platform: str, url: str, folder: Path, *, rounds: int = 8) -> RunLedger:
    """Stream ROUNDS of every kind into `pulse run` on PLATFORM, SIGKILL it, start it again."""
    stream = discord_stream if platform == "discord" else slack_stream
    async with _platform(platform, folder, url) as (fake, configure, secrets):
        first = PulseProcess(configure(INGEST), secrets)
        await first.start()
        try:
            await first.wait_for_line("caught up")
            delivered = await stream(fake, rounds)
            everything = {i for kind in delivered.values() for i in kind}
            # Killed once a batch is in: the rest of the stream is queued or in the batch in hand.
            await eventually(lambda: any_stored(url, everything), "a batch stored")
            first.proc.send_signal(signal.SIGKILL)
            await first.proc.wait()
        finally:
            await first.kill()
        before = await stored_at(url)
        second = PulseProcess(configure(RESTART_INGEST), secrets)
        await second.start()
        try:
            await second.wait_for_line("caught up")
            code, _ = await second.stop(signal.SIGTERM)
        finally:
            await second.kill()
        if code != 0:
            raise AssertionError(f"the restarted pulse run exited {code}:\n{second.text}")
    after = await stored_at(url)
    ledger = RunLedger(platform, url.split(":", 1)[0].split("+", 1)[0])
    for kind, put in delivered.items():
        k = KindLedger(kind, put=len(put))
        k.in_memory_ids = [i for i in put if not before[i]]
        k.in_memory = len(k.in_memory_ids)
        k.stored = sum(1 for i in put if after[i])
        k.lost_ids = [i for i in put if not after[i]]
        k.lost = len(k.lost_ids)
        k.duplicated = sum(after[i] - 1 for i in put if after[i] > 1)
        ledger.kinds.append(k)
    ledger.extra = sorted(i for i in after if i not in everything)
    ledger.rollups_match = await _rollups_match(url)
    return ledger


async def any_stored(url: str, delivered: set[str]) -> bool:
    """Whether any of DELIVERED is stored in the database at URL yet."""
    return any(i in delivered for i in await stored_at(url))
