"""The accuracy corpus's help conversations: questions in help channels, labelled by hand.

How a template and its labels are written: bench/accuracy_templates.py.
"""

from __future__ import annotations

try:
    from bench.accuracy_templates import ACCEPT, M, Template
except ImportError:  # run as a script: bench/ itself is on sys.path
    from accuracy_templates import ACCEPT, M, Template  # type: ignore[no-redef]

# Conversations read better one message to a line or two than as the formatter lays them out.
# fmt: off
HELP_CONVERSATIONS: tuple[Template, ...] = (
    Template(
        "plain answer, accepted by a check mark",
        (
            M("A", "How do I rotate an API key without downtime? Our workers read it at startup.",
              q="a"),
            M("H", "Create the new key first and deploy it; both keys stay valid until you revoke "
                   "the old one.", helps="A", acc=True, rx=(("A", ACCEPT),)),
        ),
        weight=2.0,
    ),
    Template(
        "plain answer, then thanks without a mention",
        (
            M("A", "Getting `401 Unauthorized` from /v2/events although the same key works with "
                   "curl.", q="a"),
            M("H", "The SDK reads `QS_API_KEY`, not `QUILL_API_KEY`. Check which one your "
                   "container sets.", helps="A", acc=True),
            M("A", "That was it, thanks!", thanks="H"),
        ),
        weight=3.0,
    ),
    Template(
        "tried that, still failing, then fixed",
        (
            M("A", "My webhook handler never receives `order.created` events. The endpoint is "
                   "reachable from outside.", q="a"),
            M("H", "Check that the endpoint is subscribed to `order.*` in the dashboard; new "
                   "endpoints only get `ping` by default.", helps="A"),
            M("A", "tried that, still failing. The dashboard shows the deliveries as 200 "
                   "though."),
            M("H", "Can you paste the output of `qs webhooks deliveries --last 5`?", q="a",
              helps="A"),
            M("A", "```\n2026-08-02T10:01Z order.created 200 0.12s endpoint=ep_staging\n```"),
            M("H", "They go to `ep_staging`. Your production endpoint is a different one: "
                   "subscribe that one too.", helps="A", acc=True),
            M("A", "ok thanks, that worked!", thanks="H"),
        ),
        weight=2.0,
    ),
    Template(
        "clarifying question about the version",
        (
            M("A", "The Python client hangs forever on `client.flush()` when the network drops.",
              q="a"),
            M("H", "Which version are you on?", q="a", helps="A"),
            M("A", "2.3.1, on macOS."),
            M("H", "Fixed in 2.3.2, which adds a flush timeout: `pip install -U quillstack`.",
              helps="A", acc=True),
            M("A", "thank you!", thanks="H"),
        ),
        weight=2.0,
    ),
    Template(
        "thanks, and one more thing",
        (
            M("A", "Is there a way to make the client send events synchronously in tests?", q="a"),
            M("H", "Pass `sync=True` to `Client()`; every `track()` then blocks until it is "
                   "sent.", helps="A", acc=True),
            M("A", "thanks! one more thing: how do I point it at the EU region?", q="a",
              thanks="H"),
            M("H", "`Client(region=\"eu\")`, or set `QS_REGION=eu`.", helps="A", acc=True,
              rx=(("A", "+1"),)),
        ),
        weight=2.0,
    ),
    Template(
        "an answer that opens with thanks",
        (
            M("A", "Batch uploads fail with `413 Payload Too Large` after a few minutes.", q="a"),
            # Polite, but an answer: help, though it says thanks.
            M("H", "Thanks for the logs! Each batch is over 1 MB there; lower `batch_size` to 200.",
              helps="A", acc=True),
            M("A", "that did it, thanks", thanks="H"),
        ),
        weight=1.0,
    ),
    Template(
        "nobody answers",
        (M("A", "Does the Go SDK support context cancellation on batch uploads?", q="o"),),
        weight=1.5,
    ),
    Template(
        "nobody answers, the asker bumps",
        (
            M("A", "Our ingestion lag jumped to 20 minutes since yesterday, nothing changed on "
                   "our side.", q="o"),
            M("A", "anyone?", q="o"),
        ),
        weight=1.0,
    ),
    Template(
        "answered only by a reaction",
        (
            M("A", "Is the `/v1/export` endpoint going away at the end of the year?", q="o",
              rx=(("H", "eyes"),)),
        ),
        weight=1.5,
    ),
    Template(
        "a question inside the thread answered only by a reaction",
        (
            M("A", "What's the max payload size for a single event?", q="a"),
            # Not accepted: the asker neither thanks H nor reacts to the reply.
            M("H", "32 KB per event and 500 KB per batch.", helps="A"),
            M("A", "Does that limit also apply to the staging environment?", q="o",
              rx=(("H", "+1"),)),
        ),
        weight=1.0,
    ),
    Template(
        "nvm, the asker fixed it",
        (
            M("A", "`qs deploy` fails with `ENOENT: quill.config.json` in CI but works locally.",
              q="o"),
            M("A", "nvm, fixed it: the CI job ran from the repo root, not from `app/`."),
        ),
        weight=1.5,
    ),
    Template(
        "a bot replies, then the asker fixes it",
        (
            M("A", "Is anyone else seeing 503s from the events API right now?", q="o"),
            M("BOT", "Status update: elevated error rates on the events API. We are "
                     "investigating."),
            M("A", "nvm, it was the incident. Works again now."),
        ),
        weight=1.0,
    ),
    Template(
        "thanks with a mention",
        (
            M("A", "How can I backfill last month's events without triggering the webhooks?",
              q="a"),
            M("H", "Use the import endpoint with `\"replay\": false`; imports never fire "
                   "webhooks.", helps="A", acc=True),
            M("A", "thanks @{H}, that did it", thanks="H"),
        ),
        weight=2.0,
    ),
    Template(
        "two helpers, thanks all",
        (
            M("A", "What's the recommended timeout for the HTTP client in serverless functions?",
              q="a"),
            M("H", "We use 5 s for `track()` and 30 s for `flush()` in our Lambda examples.",
              helps="A"),
            M("H2", "You can also set it per request with the `timeout=` argument if one call "
                    "needs longer.", helps="A"),
            M("A", "thanks all, got it working."),
        ),
        weight=1.5,
    ),
    Template(
        "first answer wrong, second helper thanked by name",
        (
            M("A", "After upgrading to 2.5 the client raises `KeyError: 'region'` on startup.",
              q="a"),
            M("H", "Probably a stale `~/.quill/cache`; delete it and retry.", helps="A"),
            M("A", "Deleted it, same error."),
            M("H2", "2.5 reads `region` from the config file too: add `region = \"us\"` under "
                    "`[client]`.", helps="A", acc=True),
            M("A", "thank you @{H2}! that fixed it", thanks="H2"),
        ),
        weight=1.5,
    ),
    Template(
        "a bystander's +1, then an answer",
        (
            M("A", "Since the last update the dashboard charts are empty for our project.",
              q="a"),
            M("B", "+1, same problem here since this morning"),
            M("H", "Known regression in 2.5.0 of the dashboard; 2.5.1 is rolling out now.",
              helps="A", acc=True),
            M("A", "confirmed, thanks!", thanks="H"),
            M("B", "works for me too now."),
        ),
        weight=1.5,
    ),
    Template(
        "only a bystander's +1",
        (
            M("A", "Anyone got SSO with Okta working? The callback fails with `invalid_state`.",
              q="o"),
            M("B", "same here, following"),
        ),
        weight=0.8,
    ),
    Template(
        "only a bystander's bare +1",
        (
            M("A", "Since 2.5 the CLI prints every log line twice.", q="o"),
            M("B", "+1"),
        ),
        weight=0.6,
    ),
    Template(
        "a bystander asks inside the thread",
        (
            M("A", "How do I delete a single user's data for a GDPR request?", q="a"),
            M("H", "`qs users delete <id>`; it removes their events within 24 h.", helps="A",
              acc=True),
            M("A", "perfect, thanks", thanks="H"),
            # Asking in someone's thread is replying to them: help, by the product's definition.
            M("B", "Does the same command work for the Node SDK's anonymous ids?", q="a",
              helps="A"),
            # Slack aims every reply in a thread at its starter; this one references B.
            M("H", "Yes: pass the anonymous id the same way.", helps="A", helps_discord="B",
              to=3),
        ),
        weight=1.2,
    ),
    Template(
        "the asker asks again, a second helper answers",
        (
            M("A", "How are failed deliveries retried?", q="a"),
            M("H", "Up to 8 times with exponential backoff over 24 hours.", helps="A"),
            M("A", "and does that also happen on 429 responses?", q="a"),
            M("H2", "Yes, 429 and 5xx are retried; other 4xx responses are not.", helps="A",
              acc=True, rx=(("A", "+1"),)),
        ),
        weight=1.5,
    ),
    Template(
        "the asker solves it, a helper confirms",
        (
            M("A", "Signature verification fails for every webhook we receive.", q="a"),
            M("A", "Found it, the secret was from the test environment."),
            M("H", "Yep, test and live secrets are separate. The error should say so, I'll "
                   "open an issue.", helps="A"),
        ),
        weight=1.0,
        forms=("forum", "thread"),
    ),
    Template(
        "a long debugging session",
        (
            M("A", "All requests from our office network time out, from home they work.",
              q="a"),
            M("H", "Can you share the full traceback?", q="a", helps="A"),
            M("A", "```\nTraceback (most recent call last):\n  File \"sync.py\", line 12\n"
                   "requests.exceptions.ProxyError: Unable to connect to proxy\n```"),
            M("H", "Looks like the proxy strips the `Authorization` header. Is `HTTPS_PROXY` "
                   "set?", q="a", helps="A"),
            M("A", "yes, it's our corporate proxy."),
            M("H", "Add `api.quillstack.dev` to `NO_PROXY` and it will go direct.", helps="A",
              acc=True),
            M("A", "That worked, thank you so much", thanks="H"),
            M("H", "Glad it's sorted!", helps="A"),
        ),
        weight=1.5,
    ),
    Template(
        "only a bot replies",
        (
            M("A", "Why does `qs login` open the browser twice?", q="o"),
            M("BOT", "I found these docs that might help: Logging in with the CLI."),
        ),
        weight=1.0,
    ),
    Template(
        "a bot, then a human answer",
        (
            M("A", "Can I use the same project for staging and production?", q="a"),
            M("BOT", "Triage: this question has been added to the support queue."),
            M("H", "You can, but separate projects keep the analytics apart; most teams use "
                   "two.", helps="A", acc=True, rx=(("A", ACCEPT),)),
        ),
        weight=1.5,
        bots=("bot", "deleted"),
    ),
    Template(
        "a clarifying question never answered",
        (
            M("A", "The CLI says my project does not exist, but I can see it in the dashboard.",
              q="a"),
            M("H", "What does `qs config list` print for `project`?", q="o", helps="A"),
        ),
        weight=1.0,
    ),
    Template(
        "the asker bumps, then gets an answer",
        (
            M("A", "Event timestamps show up one hour off in the dashboard.", q="a"),
            M("A", "bump, still stuck on this"),
            M("A", "anyone?", q="a"),
            M("H", "Set the project's time zone under Settings, General; it defaults to UTC.",
              helps="A", acc=True),
            M("A", "thx", thanks="H"),
        ),
        weight=1.0,
        forms=("forum", "thread"),
    ),
    Template(
        "a helper asks another helper",
        (
            M("A", "Is there a limit on events per batch request?", q="a"),
            M("H", "I think it's 500, but @{H2} knows the ingest pipeline better: is that still "
                   "the max?", q="a", helps="A"),
            # On Discord this references H's question, so it is aimed at H.
            M("H2", "1000 since 2.2; above that you get a 413.", helps="A", helps_discord="H",
              to=1),
            M("A", "perfect, thanks both"),
        ),
        weight=1.0,
    ),
    Template(
        "the helper thanks the asker",
        (
            M("A", "We hit 429s during our nightly sync.", q="a"),
            M("H", "Which plan are you on? The limits differ.", q="a", helps="A"),
            M("A", "Team plan."),
            M("H", "Team gets 50 requests/s; batch the calls and you will stay well under.",
              helps="A", acc=True),
            M("A", "makes sense, thanks", thanks="H"),
            M("H", "Thanks for the detailed report!"),
        ),
        weight=1.0,
    ),
    Template(
        "a webhook posts an issue, helpers pick it up",
        (
            M("BOT", "New GitHub issue #412: SDK crashes on an empty payload"),
            M("H", "I'll take this one."),
            M("H2", "I can review the PR."),
        ),
        weight=0.8,
        bots=("hook",),
        forms=("thread",),
        asker="none",
    ),
)
# fmt: on
