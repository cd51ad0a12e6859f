"""The accuracy corpus's chat conversations: talk in chat channels, labelled by hand.

How a template and its labels are written: bench/accuracy_templates.py.
"""

from __future__ import annotations

try:
    from bench.accuracy_templates import M, Template
except ImportError:  # run as a script: bench/ itself is on sys.path
    from accuracy_templates import M, Template  # type: ignore[no-redef]

# Conversations read better one message to a line or two than as the formatter lays them out.
# fmt: off
CHAT_CONVERSATIONS: tuple[Template, ...] = (
    Template(
        "a question in a chat channel",
        (
            M("A", "Is there a way to export all events as CSV from the dashboard?", q="a"),
            M("H", "Not from the dashboard, but `qs events export --format csv` does it.",
              helps="A", acc=True),
            M("A", "cheers!", thanks="H"),
        ),
        weight=1.5,
        place="chat",
    ),
    Template(
        "meetup question in a chat channel",
        (
            M("A", "Anyone going to the Berlin meetup on Thursday?", q="a"),
            M("H", "Yes, I'm giving the lightning talk on webhooks.", helps="A"),
        ),
        weight=0.8,
        place="chat",
    ),
    Template(
        "chat: something shipped, congratulations",
        (
            M("A", "Shipped our first integration with Quillstack today 🎉"),
            M("H2", "congrats, looks great!", helps="A"),
            M("H", "Nice one! Tell us how it goes.", helps="A"),
            M("A", "will do 😄"),
        ),
        weight=1.5,
        place="chat",
        asker="chatty",
    ),
    Template(
        "chat: a blog post, a question about it",
        (
            M("A", "Wrote a post on streaming Quillstack events into DuckDB: "
                   "https://example.dev/duckdb-events"),
            M("H", "Great write-up. Do you batch the inserts or go row by row?", q="a",
              helps="A"),
            M("A", "Batches of 10k, flushed every 5 seconds."),
        ),
        weight=1.0,
        place="chat",
        asker="chatty",
    ),
    Template(
        "a release announcement with a question",
        (
            M("H", "2.6 is out: streaming exports and a new retry policy. Notes: "
                   "https://example.dev/changelog/2-6"),
            M("A", "Does the new retry policy change the defaults?", q="a", helps="H"),
            # The starter's own reply: a follow-up, never help, though it answers A.
            M("H", "No, the defaults stay the same; the new policy is opt-in."),
            M("A", "great, thanks", thanks="H"),
        ),
        weight=0.8,
        place="chat",
        forms=("thread", "chain"),
        asker="casual",
    ),
)
# fmt: on
