"""The accuracy benchmark's targets, on the committed labelled corpus (bench/corpus/)."""

from pathlib import Path

import pytest

from bench import accuracy, accuracy_corpus


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    return accuracy.measure()


def test_the_committed_corpus_is_what_the_generator_writes(tmp_path):
    accuracy_corpus.generate(tmp_path / "corpus")
    written = {p.relative_to(tmp_path / "corpus"): p for p in (tmp_path / "corpus").rglob("*")}
    committed = {p.relative_to(accuracy.CORPUS): p for p in accuracy.CORPUS.rglob("*")}
    assert sorted(map(str, written)) == sorted(map(str, committed))
    differ = [
        str(name)
        for name, path in written.items()
        if path.is_file() and path.read_bytes() != committed[name].read_bytes()
    ]
    assert differ == [], "regenerate with: python -m bench.accuracy_corpus"


def _assert_precision_and_recall(figures: dict) -> None:
    summary = {k: figures[k] for k in ("precision", "recall", "tp", "fp", "fn")}
    assert figures["precision"] >= accuracy.PRECISION_TARGET, summary
    assert figures["recall"] >= accuracy.RECALL_TARGET, summary


@pytest.mark.parametrize("platform", accuracy.PLATFORMS)
def test_help_edges(results, platform):
    _assert_precision_and_recall(results[platform]["help_edges"])


@pytest.mark.parametrize("platform", accuracy.PLATFORMS)
def test_answered_questions(results, platform):
    _assert_precision_and_recall(results[platform]["answered_questions"])


@pytest.mark.parametrize("platform", accuracy.PLATFORMS)
def test_nobody_who_gave_no_help_is_active_or_a_hero_candidate(results, platform):
    tiers = results[platform]["tiers"]
    assert tiers["zero_help_in_active_tier"] == []
    assert tiers["zero_help_hero_candidates"] == []


@pytest.mark.parametrize("platform", accuracy.PLATFORMS)
def test_bots_webhooks_and_deleted_users_never_become_members(results, platform):
    assert results[platform]["tiers"]["bots_stored_as_members"] == []


def test_every_labelled_event_is_in_the_exports():
    for platform in accuracy.PLATFORMS:
        labels = accuracy.load_labels(accuracy.CORPUS, platform)
        text = "\n".join(
            p.read_text(encoding="utf-8") for p in Path(accuracy.CORPUS, platform).rglob("*.json")
        )
        listed = {e for *_, events in labels["conversations"] for e in events}
        labelled = set(labels["questions"]["answered"]) | set(labels["questions"]["unanswered"])
        labelled |= set(labels["accepted_answers"])
        assert labelled <= listed
        for event_id in sorted(listed)[:: max(1, len(listed) // 50)]:
            native = event_id.rsplit(":", 1)[-1]
            assert f'"{native}"' in text, event_id
