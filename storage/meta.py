"""Small facts Pulse keeps about itself in the database."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import dialect_insert
from storage.models import Meta

HASH_KEY = "blocklist_hash_key"


async def hash_key(engine: AsyncEngine, from_env: str | None) -> bytes:
    """The blocklist's hash key: from the environment when set, else one generated and kept."""
    if from_env:
        return from_env.encode()
    async with engine.begin() as conn:
        await conn.execute(
            dialect_insert(conn, Meta)
            .values(key=HASH_KEY, value=secrets.token_hex(32))
            .on_conflict_do_nothing(index_elements=["key"])
        )
        value = (await conn.execute(select(Meta.value).where(Meta.key == HASH_KEY))).scalar_one()
    return value.encode()
