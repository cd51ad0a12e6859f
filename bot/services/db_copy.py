"""Moving a community to another database: `pulse db copy --to URL` (SQLite to PostgreSQL)."""

from __future__ import annotations

from bot.app import engine_for
from bot.settings import Settings
from storage.copy import CopyError, CopyReport, Progress, copy_database
from storage.engine import create_engine, normalize_url
from storage.migrate import check_schema, upgrade


async def copy_to(settings: Settings, target_url: str, progress: Progress | None) -> CopyReport:
    """Copy the configured database into the empty one at TARGET_URL, upgraded to head first.

    The source must be at the code's schema revision and is only read.
    """
    source_url = settings.database_url()
    try:
        same = normalize_url(target_url) == normalize_url(source_url)
    except Exception:  # SQLAlchemy's ArgumentError: not a URL at all
        raise CopyError(f"not a database URL: {target_url!r}") from None
    if same:
        raise CopyError("the target is the configured database itself: give another URL")
    source = engine_for(settings)
    try:
        target = create_engine(target_url)
    except Exception:  # a URL naming a backend Pulse has no driver for
        await source.dispose()
        raise CopyError(f"not a database URL Pulse can use: {target_url!r}") from None
    try:
        await check_schema(source)
        await upgrade(target)
        return await copy_database(source, target, progress)
    finally:
        await source.dispose()
        await target.dispose()
