"""The accuracy benchmark's Pulse side: a labelled export imported, and what Pulse stored read back.

The import runs through Pulse's own path (``run_import``, as ``pulse import`` runs it, with the
help channels configured and "now" the corpus's end) into a fresh database.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from bot.importers.discord import DiscordExportReader
from bot.importers.run import run_import
from bot.importers.slack import SlackExportReader
from bot.settings import parse_settings
from storage.engine import create_engine
from storage.models import Activity, HelpEdge, Member, Space, TierAssignment
from storage.tiers import hero_candidates


async def import_corpus(platform: str, corpus: Path, labels: dict, url: str) -> None:
    """Import PLATFORM's export under CORPUS into the database at URL, as the labels configure."""
    help_channels = labels["help_channel_ids"]
    settings = parse_settings(
        {"database": {"url": url}, platform: {"help_channel_ids": help_channels}}
    )
    if platform == "slack":
        reader = SlackExportReader(corpus / "slack", help_channels=help_channels)
    else:
        reader = DiscordExportReader([corpus / "discord"], help_channels=help_channels)
    try:
        now = datetime.fromisoformat(labels["now"])
        await run_import(settings, reader, now, in_process=False)
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()


async def _answered(conn, space_id: int) -> dict[str, bool]:
    from storage.helpgraph import answered_questions

    return await answered_questions(conn, space_id)


async def _accepted(conn, space_id: int) -> set[str] | None:
    """Event ids of the replies Pulse records as accepted answers; None until it records them."""
    try:
        from storage.helpgraph import accepted_answers  # type: ignore[attr-defined]
    except ImportError:
        return None
    return set(await accepted_answers(conn, space_id))


async def read_stored(url: str, labels: dict) -> dict:
    """What Pulse stored for the labelled space."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            space_id = (
                await conn.execute(
                    select(Space.id).where(
                        Space.platform == labels["platform"],
                        Space.platform_id == labels["space_id"],
                    )
                )
            ).scalar_one()
            helper, helped = aliased(Member), aliased(Member)
            edges = {
                (a, b)
                for a, b in await conn.execute(
                    select(helper.platform_id, helped.platform_id)
                    .select_from(HelpEdge)
                    .join(helper, helper.id == HelpEdge.helper_id)
                    .join(helped, helped.id == HelpEdge.helped_id)
                    .where(HelpEdge.space_id == space_id)
                )
            }
            # Which stored replies make each edge, to say which conversations a wrong edge is from.
            replier, target = aliased(Member), aliased(Member)
            edge_events: dict[tuple[str, str], list[str]] = {}
            for a, b, event_id in await conn.execute(
                select(replier.platform_id, target.platform_id, Activity.event_id)
                .join(replier, replier.id == Activity.member_id)
                .join(target, target.id == Activity.target_member_id)
                .where(
                    and_(
                        Activity.space_id == space_id,
                        Activity.kind == "reply",
                        Activity.is_thanks.is_(False),
                        Activity.member_id != Activity.target_member_id,
                    )
                )
                .order_by(Activity.event_id)
            ):
                edge_events.setdefault((a, b), []).append(event_id)
            members = {
                pid: {"name": name, "tier": tier, "helped": helped_n, "reasons": reasons}
                for pid, name, tier, helped_n, reasons in await conn.execute(
                    select(
                        Member.platform_id,
                        Member.display_name,
                        TierAssignment.tier,
                        TierAssignment.helped_members,
                        TierAssignment.reasons,
                    )
                    .outerjoin(TierAssignment, TierAssignment.member_id == Member.id)
                    .where(Member.space_id == space_id)
                )
            }
            settings = parse_settings({})
            candidates = [
                c.member.platform_id
                for c in await hero_candidates(conn, space_id, settings.tiers.policy(), 1000)
            ]
            return {
                "edges": edges,
                "edge_events": edge_events,
                "answered": await _answered(conn, space_id),
                "accepted": await _accepted(conn, space_id),
                "members": members,
                "candidates": candidates,
            }
    finally:
        await engine.dispose()
