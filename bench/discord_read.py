"""DiscordChatExporter reading benchmark: a generated channel export, read and mapped, no database.

It writes one DiscordChatExporter JSON file of --messages messages (indented as the tool writes
it: authors, replies, reactions, empty embeds) and measures, each on its own:

1. parse:     ijson's C backend over ``messages.item`` alone (no limits: the floor);
2. guard:     the reader's limit checks (bot.importers.limits.JsonGuard) over the same bytes;
3. read+map:  DiscordExportReader.chunks(): the guarded stream and the mapping to events.

    python bench/discord_read.py                 # 300,000 messages
    python bench/discord_read.py --messages 100000 --rounds 3
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import ijson
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONTENT = ("How do I configure retries?", "thanks, that worked", "here is my config", "+1")


def generate(path: Path, messages: int, seed: int = 7) -> None:
    """Write a DiscordChatExporter channel export of MESSAGES messages to PATH."""
    rng = random.Random(seed)
    authors = [
        {"id": str(10**17 + i), "name": f"user{i}", "discriminator": "0000",
         "nickname": f"User {i}", "color": None, "isBot": False, "roles": [],
         "avatarUrl": f"general.json_Files\\{i:032x}-8B00F.png"}
        for i in range(500)
    ]  # fmt: skip
    out = []
    for i in range(messages):
        message = {
            "id": str(10**18 + i), "type": "Default",
            "timestamp": f"2024-01-{1 + i % 28:02d}T14:{i % 60:02d}:03.853+00:00",
            "timestampEdited": None, "callEndedTimestamp": None, "isPinned": False,
            "content": rng.choice(CONTENT) * rng.randint(1, 6), "author": rng.choice(authors),
            "attachments": [], "embeds": [], "stickers": [], "reactions": [], "mentions": [],
        }  # fmt: skip
        if i % 3 == 0:
            message["reactions"] = [
                {"emoji": {"id": "", "name": "👍", "code": "thumbsup", "isAnimated": False,
                           "imageUrl": "x.svg"}, "count": 1, "users": [rng.choice(authors)]}
            ]  # fmt: skip
        if i % 4 == 1:
            message["type"] = "Reply"
            message["reference"] = {"messageId": str(10**18 + i - 1), "channelId": "2"}
        out.append(message)
    doc = {
        "guild": {"id": "748545324524575035", "name": "Bench", "iconUrl": ""},
        "channel": {"id": "1012224565567721552", "type": "GuildTextChat", "categoryId": "1",
                    "category": "Text", "name": "general", "topic": None},
        "dateRange": {"after": None, "before": None}, "messages": out, "messageCount": messages,
    }  # fmt: skip
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))


def parse_only(path: Path) -> float:
    """Seconds for ijson's C backend to build every message, nothing else."""
    start = time.perf_counter()
    with path.open("rb") as raw:
        for _ in ijson.items(raw, "messages.item", use_float=True, buf_size=256 * 1024):
            pass
    return time.perf_counter() - start


def guard_only(path: Path) -> float:
    """Seconds for the reader's limit checks over the file's bytes."""
    from bot.importers.limits import JsonGuard

    guard = JsonGuard(2)
    start = time.perf_counter()
    with path.open("rb") as raw:
        while chunk := raw.read(256 * 1024):
            guard.check(chunk)
    return time.perf_counter() - start


def read_and_map(path: Path) -> tuple[float, int]:
    """Seconds for the importer's reader to stream and map the file, and the events it made."""
    from bot.importers.discord import DiscordExportReader

    start = time.perf_counter()
    events = sum(len(chunk.events) for chunk in DiscordExportReader([path]).chunks())
    return time.perf_counter() - start, events


def main() -> None:
    """Generate, measure, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pulse-bench-discord-"))
    try:
        path = tmp / "general [1012224565567721552].json"
        generate(path, args.messages)
        print(f"{args.messages:,} messages, {path.stat().st_size / 1e6:,.0f} MB")
        for _ in range(args.rounds):
            parse_s = parse_only(path)
            guard_s = guard_only(path)
            map_s, events = read_and_map(path)
            print(f"parse only (ijson): {parse_s:5.2f}s   guard only: {guard_s:5.2f}s   "
                  f"read + map: {map_s:5.2f}s, {args.messages / map_s:,.0f} messages/s "
                  f"({events:,} events)")  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
