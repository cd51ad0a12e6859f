"""Accuracy benchmark: Pulse's help graph, answered questions and tiers against labelled chat.

The corpus in bench/corpus/ (written by bench/accuracy_corpus.py from the hand-written
conversations of bench/accuracy_help_conversations.py and accuracy_chat_conversations.py) holds
a Slack export and DiscordChatExporter files of one help community each, and beside them what is
true of them (labels-<platform>.json). Each export is imported into a fresh SQLite database
through Pulse's own import path (bench/accuracy_stored.py: ``run_import``, as ``pulse import``
runs it, with the help channels configured and "now" the corpus's end), and
what Pulse stored is compared with the labels:

* help edges (table help_edges, helper -> helped): precision and recall;
* answered questions (``storage.helpgraph.answered_questions``): precision and recall, where a
  question Pulse calls answered counts against precision whether the labels say it is open or
  not a question at all; question detection is shown beside it;
* accepted answers, once Pulse records them;
* tiers (tier_assignments) against each member's intended tier, and how many members who gave
  no help (by the labels) Pulse puts in the active tier or among hero candidates; bots,
  webhooks and deleted users stored as members are listed too.

Targets: precision >= 0.97 and recall >= 0.9 for help edges and answered questions, and nobody
who gave no help in the active tier or among hero candidates.

Run it from the project root with the project's virtualenv::

    python -m bench.accuracy                  # the table
    python -m bench.accuracy --json           # the same figures as JSON
    python -m bench.accuracy --details        # also every false positive and negative
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from collections import Counter
from pathlib import Path

try:
    from bench.accuracy_stored import import_corpus, read_stored
except ImportError:  # run as a script: bench/ itself is on sys.path
    from accuracy_stored import import_corpus, read_stored  # type: ignore[no-redef]

CORPUS = Path(__file__).resolve().parent / "corpus"
PLATFORMS = ("slack", "discord")
PRECISION_TARGET = 0.97
RECALL_TARGET = 0.9
HASH_KEY_ENV = "PULSE_HASH_KEY"


def ratio(num: int, den: int) -> float:
    """NUM / DEN, 1.0 when there is nothing to get wrong."""
    return num / den if den else 1.0


def score(predicted: set, truth: set) -> dict:
    """Precision and recall of PREDICTED against TRUTH, with the counts behind them."""
    tp, fp, fn = predicted & truth, predicted - truth, truth - predicted
    return {
        "precision": ratio(len(tp), len(predicted)),
        "recall": ratio(len(tp), len(truth)),
        "tp": len(tp),
        "fp": len(fp),
        "fn": len(fn),
        "false_positives": sorted(fp),
        "false_negatives": sorted(fn),
    }


def load_labels(corpus: Path, platform: str) -> dict:
    """The labels written beside PLATFORM's export."""
    return json.loads((corpus / f"labels-{platform}.json").read_text(encoding="utf-8"))


def compare(labels: dict, stored: dict) -> dict:
    """The figures for one platform: what Pulse stored against what the labels say."""
    where = {}
    for template, channel, form, events in labels["conversations"]:
        for event_id in events:
            where[event_id] = f"{template} [{channel}, {form}]"
    truth_edges = {tuple(e) for e in labels["help_edges"]}
    edges = score(stored["edges"], truth_edges)
    edges["false_positives_by_conversation"] = _by_conversation(
        (stored["edge_events"].get(e, ["?"])[0] for e in map(tuple, edges["false_positives"])),
        where,
    )
    first_reply: dict[tuple[str, str], str] = {}
    for event_id, helper, helped in labels["help_replies"]:
        first_reply.setdefault((helper, helped), event_id)
    edges["false_negatives_by_conversation"] = _by_conversation(
        (first_reply[e] for e in map(tuple, edges["false_negatives"])), where
    )
    answered_truth = set(labels["questions"]["answered"])
    unanswered_truth = set(labels["questions"]["unanswered"])
    stored_questions = stored["answered"]
    answered = score({q for q, yes in stored_questions.items() if yes}, answered_truth)
    answered["false_positives_not_questions"] = sum(
        q not in unanswered_truth for q in answered["false_positives"]
    )
    answered["false_positives_by_conversation"] = _by_conversation(
        answered["false_positives"], where
    )
    answered["false_negatives_by_conversation"] = _by_conversation(
        answered["false_negatives"], where
    )
    questions = score(set(stored_questions), answered_truth | unanswered_truth)
    for key in ("false_positives", "false_negatives"):
        questions[key + "_by_conversation"] = _by_conversation(questions[key], where)
    accepted = None
    if stored["accepted"] is not None:
        accepted = score(stored["accepted"], set(labels["accepted_answers"]))
    return {
        "platform": labels["platform"],
        "help_edges": edges,
        "answered_questions": answered,
        "questions_detected": questions,
        "accepted_answers": accepted,
        "tiers": _tiers(labels, stored, truth_edges),
    }


def _by_conversation(event_ids, where: dict) -> dict[str, int]:
    counts = Counter(where.get(e, "not in a labelled conversation") for e in event_ids)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _tiers(labels: dict, stored: dict, truth_edges: set) -> dict:
    intended = labels["members"]
    got = stored["members"]
    helpers = {a for a, _ in truth_edges}
    mismatches = []
    for pid, member in sorted(intended.items(), key=lambda kv: kv[1]["name"]):
        tier = (got.get(pid) or {}).get("tier") or "not a member"
        if tier != member["tier"]:
            mismatches.append(
                {
                    "member": member["name"],
                    "persona": member["persona"],
                    "intended": member["tier"],
                    "pulse": tier,
                    "pulse_reasons": (got.get(pid) or {}).get("reasons"),
                }
            )
    confusion = Counter(
        (m["tier"], (got.get(pid) or {}).get("tier") or "not a member")
        for pid, m in intended.items()
    )
    non_members = labels["non_members"]
    stored_non_members = sorted(
        f"{got[pid]['name']} ({non_members[pid]}): {got[pid]['tier']}"
        for pid in got
        if pid in non_members
    )
    unknown = sorted(pid for pid in got if pid not in intended and pid not in non_members)

    def name(pid: str) -> str:
        return (intended.get(pid) or {}).get("name") or got[pid]["name"] or pid

    zero_active = sorted(
        name(pid)
        for pid, m in got.items()
        if m["tier"] in ("active", "hero") and pid not in helpers
    )
    zero_candidates = sorted(name(pid) for pid in stored["candidates"] if pid not in helpers)
    return {
        "matched": len(intended) - len(mismatches),
        "total": len(intended),
        "agreement": ratio(len(intended) - len(mismatches), len(intended)),
        "confusion": {f"{a} -> {b}": n for (a, b), n in sorted(confusion.items())},
        "mismatches": mismatches,
        "zero_help_in_active_tier": zero_active,
        "zero_help_hero_candidates": zero_candidates,
        "bots_stored_as_members": stored_non_members,
        "unlabelled_members": unknown,
    }


async def measure_platform(platform: str, corpus: Path = CORPUS) -> dict:
    """Import PLATFORM's labelled export into a fresh database and compare it with the labels."""
    labels = load_labels(corpus, platform)
    with tempfile.TemporaryDirectory(prefix="pulse-accuracy-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'pulse.db'}"
        await import_corpus(platform, corpus, labels, url)
        stored = await read_stored(url, labels)
    return compare(labels, stored)


def measure(corpus: Path = CORPUS, platforms=PLATFORMS) -> dict[str, dict]:
    """The accuracy figures of every platform's corpus, by platform."""
    # The import keeps a keyed hash for opt-outs; a fixed key keeps runs alike.
    before = os.environ.get(HASH_KEY_ENV)
    os.environ.setdefault(HASH_KEY_ENV, "pulse-accuracy-benchmark")
    try:
        return {p: asyncio.run(measure_platform(p, corpus)) for p in platforms}
    finally:
        if before is None:
            del os.environ[HASH_KEY_ENV]


def meets_targets(result: dict) -> list[str]:
    """The targets PLATFORM's RESULT misses, as sentences (empty when it meets them all)."""
    missed = []
    for key in ("help_edges", "answered_questions"):
        figures = result[key]
        if figures["precision"] < PRECISION_TARGET:
            missed.append(f"{key} precision {figures['precision']:.4f} < {PRECISION_TARGET}")
        if figures["recall"] < RECALL_TARGET:
            missed.append(f"{key} recall {figures['recall']:.4f} < {RECALL_TARGET}")
    tiers = result["tiers"]
    if tiers["zero_help_in_active_tier"]:
        missed.append(f"gave no help, yet active or hero: {tiers['zero_help_in_active_tier']}")
    if tiers["zero_help_hero_candidates"]:
        missed.append(f"gave no help, yet hero candidates: {tiers['zero_help_hero_candidates']}")
    return missed


def _pr(label: str, figures: dict) -> str:
    return (
        f"  {label:<22} precision {figures['precision']:.3f}  recall {figures['recall']:.3f}"
        f"   (tp {figures['tp']}, fp {figures['fp']}, fn {figures['fn']})"
    )


def report(results: dict[str, dict], details: bool = False) -> list[str]:
    """The figures as the lines of a table."""
    lines = []
    for platform, r in results.items():
        t = r["tiers"]
        lines.append(f"{platform}")
        lines.append(_pr("help edges", r["help_edges"]))
        lines.append(_pr("answered questions", r["answered_questions"]))
        lines.append(_pr("questions detected", r["questions_detected"]))
        if r["accepted_answers"] is None:
            lines.append("  accepted answers: not measured (Pulse does not record them yet)")
        else:
            lines.append(_pr("accepted answers", r["accepted_answers"]))
        lines.append(f"  tier agreement         {t['matched']}/{t['total']} ({t['agreement']:.3f})")
        lines.append(
            f"  gave no help, yet      active/hero tier {len(t['zero_help_in_active_tier'])}, "
            f"hero candidates {len(t['zero_help_hero_candidates'])}"
        )
        lines.append(f"  bots stored as members {len(t['bots_stored_as_members'])}")
        for missed in meets_targets(r):
            lines.append(f"  MISSED: {missed}")
        lines.append("  tiers (intended -> Pulse): " + ", ".join(
            f"{k} {v}" for k, v in t["confusion"].items()
        ))  # fmt: skip
        for m in t["mismatches"]:
            lines.append(
                f"    {m['member']} ({m['persona']}): intended {m['intended']}, Pulse "
                f"{m['pulse']}: {m['pulse_reasons']}"
            )
        for bot in t["bots_stored_as_members"]:
            lines.append(f"    stored as a member: {bot}")
        for title, figures, key in (
            ("wrong help edges, by the conversation of their first reply", r["help_edges"],
             "false_positives_by_conversation"),
            ("missed help edges, by the conversation of their first labelled reply",
             r["help_edges"], "false_negatives_by_conversation"),
            ("answered by Pulse, not by the labels", r["answered_questions"],
             "false_positives_by_conversation"),
            ("answered by the labels, not by Pulse", r["answered_questions"],
             "false_negatives_by_conversation"),
            ("questions Pulse sees that the labels do not", r["questions_detected"],
             "false_positives_by_conversation"),
            ("labelled questions Pulse does not see", r["questions_detected"],
             "false_negatives_by_conversation"),
        ):  # fmt: skip
            if figures[key]:
                lines.append(f"  {title}:")
                lines += [f"    {n:>3}  {where}" for where, n in figures[key].items()]
        if details:
            for key in ("help_edges", "answered_questions", "questions_detected"):
                for kind in ("false_positives", "false_negatives"):
                    for item in r[key][kind]:
                        lines.append(f"    {key} {kind[:-1].replace('_', ' ')}: {item}")
        lines.append("")
    return lines


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the labelled corpus")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--details", action="store_true", help="list every error")
    parser.add_argument("--platform", choices=PLATFORMS, action="append", help="only these")
    args = parser.parse_args()
    results = measure(args.corpus, tuple(args.platform or PLATFORMS))
    if args.json:
        print(json.dumps(results, indent=2, default=list))
    else:
        print("\n".join(report(results, args.details)))


if __name__ == "__main__":
    main()
