"""Generate the labelled accuracy corpus: a Slack export and DiscordChatExporter files.

The conversations and their labels are the hand-written templates of
bench/accuracy_help_conversations.py and bench/accuracy_chat_conversations.py (their format:
bench/accuracy_templates.py). This script casts members into their roles over 16 weeks ending at
a fixed date (bench/accuracy_cast.py; seeded, so the output is the same on every run), writes
both exports the way the real tools lay them out (bench/accuracy_slack_export.py,
bench/accuracy_discord_export.py), and writes beside them what the templates' labels say about
this cast (bench/accuracy_labels.py): the help edges, the answered and the unanswered questions,
the accepted answers, and the tier each member is meant to hold (from personas whose tier is
clear by a margin; the generator checks that margin).

Regenerate the committed corpus after changing a template (tests/e2e/test_accuracy.py checks
that the committed files are exactly what this writes)::

    python -m bench.accuracy_corpus            # writes bench/corpus/
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

try:
    from bench.accuracy_cast import (
        SEED,
        TEMPLATES,
        Clock,
        Conversation,
        cast,
        people_of,
        place_messages,
    )
    from bench.accuracy_discord_export import DISCORD_BOTS, DISCORD_CHANNELS, write_discord
    from bench.accuracy_files import dump_labels
    from bench.accuracy_labels import check_template, corpus_labels
    from bench.accuracy_slack_export import SLACK_BOTS, SLACK_CHANNELS, write_slack
except ImportError:  # run as a script: bench/ itself is on sys.path
    from accuracy_cast import (  # type: ignore[no-redef]
        SEED,
        TEMPLATES,
        Clock,
        Conversation,
        cast,
        people_of,
        place_messages,
    )
    from accuracy_discord_export import (  # type: ignore[no-redef]
        DISCORD_BOTS,
        DISCORD_CHANNELS,
        write_discord,
    )
    from accuracy_files import dump_labels  # type: ignore[no-redef]
    from accuracy_labels import check_template, corpus_labels  # type: ignore[no-redef]
    from accuracy_slack_export import (  # type: ignore[no-redef]
        SLACK_BOTS,
        SLACK_CHANNELS,
        write_slack,
    )

CORPUS = Path(__file__).resolve().parent / "corpus"


def _build(platform: str) -> tuple[list[Conversation], dict, dict, Clock]:
    rng = random.Random(f"{SEED}:{platform}")
    people = people_of(rng, platform)
    bots = SLACK_BOTS if platform == "slack" else DISCORD_BOTS
    conversations = cast(rng, people, bots)
    clock = Clock()
    channels = SLACK_CHANNELS if platform == "slack" else DISCORD_CHANNELS
    for c in conversations:
        place = c.template.place
        if platform == "slack":
            names = [n for n, (_, _, p) in SLACK_CHANNELS.items() if p == place]
            c.channel = rng.choice(names)
            c.form = "thread"
        else:
            # A template that fits a thread fits both kinds of thread.
            forms = list(c.template.forms) + ["standalone"] * ("thread" in c.template.forms)
            if place == "help":
                weights = {"forum": 4, "thread": 2, "standalone": 1, "chain": 3}
                c.form = rng.choices(forms, [weights[f] for f in forms])[0]
                c.channel = "questions" if c.form == "forum" else "help"
            else:
                forms = [f for f in forms if f != "forum"]
                c.form = rng.choice(forms)
                c.channel = rng.choice(["general", "off-topic"])
        place_messages(rng, c, platform, clock)
        if platform == "slack":
            for m in c.messages[1:]:
                m.broadcast = bool(m.spec.helps) and rng.random() < 0.06
        for m in c.messages:
            if platform == "slack":
                m.event_id = f"{channels[c.channel][0]}:{m.native_id}"
            elif c.form == "forum" and m.index == 0:
                m.event_id = f"thread:{m.native_id}"  # a forum post is logged as its thread
            else:
                m.event_id = m.native_id
    # Lurkers react to answers now and then; a reaction from someone else accepts nothing.
    answers = [m for c in conversations for m in c.messages if m.spec.helps]
    for lurker in people["lurker"]:
        for m in rng.sample(answers, 8):
            if all(r is not lurker for r, _ in m.reactions):
                m.reactions.append((lurker, rng.choice(["+1", "tada", "eyes"])))
    labels = corpus_labels(conversations, platform, people, bots)
    return conversations, people, labels, clock


def generate(out: Path = CORPUS) -> None:
    """Write both exports and their labels under OUT (replacing what is there)."""
    for t in TEMPLATES:
        check_template(t)
    # Everything is built, and its margins checked, before the old corpus is replaced.
    built = {platform: _build(platform) for platform in ("slack", "discord")}
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for platform, (conversations, people, labels, clock) in built.items():
        rng = random.Random(f"{SEED}:{platform}:files")
        if platform == "slack":
            write_slack(out / "slack", conversations, people, rng)
        else:
            write_discord(out / "discord", conversations, people, clock, rng)
        dump_labels(out / f"labels-{platform}.json", labels)


def main() -> None:
    """Regenerate the corpus."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CORPUS, help="where to write (replaced)")
    generate(parser.parse_args().out)


if __name__ == "__main__":
    main()
