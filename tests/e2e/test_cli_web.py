"""`pulse web-link` and `pulse web` from the terminal: the link works, mistakes are one line."""

from __future__ import annotations

import asyncio
import shutil
import socket
from datetime import timedelta

from bot.services.web_auth import LinkState, link_state
from storage.engine import create_engine
from storage.uow import UnitOfWork
from tests.factories import DEMO_NOW, pulse


def demo_copy(demo_db, tmp_path) -> str:
    path = tmp_path / "demo.db"
    shutil.copy(demo_db[0], path)
    return f"sqlite:///{path}"


def test_web_link_prints_a_working_single_use_link_last(demo_db, tmp_path):
    url = demo_copy(demo_db, tmp_path)
    pulse("db", "upgrade", "--database-url", url)
    result = pulse("web-link", "--minutes", "5", "--database-url", url)
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith("http://127.0.0.1:8080/signin/")

    async def state(minutes: int) -> LinkState:
        engine = create_engine(url)
        try:
            return await link_state(
                UnitOfWork(engine), link.rsplit("/", 1)[1], DEMO_NOW + timedelta(minutes=minutes)
            )
        finally:
            await engine.dispose()

    assert asyncio.run(state(4)) is LinkState.VALID
    assert asyncio.run(state(5)) is LinkState.EXPIRED


def test_web_link_mistakes_are_one_line(demo_db, tmp_path):
    url = demo_copy(demo_db, tmp_path)
    pulse("db", "upgrade", "--database-url", url)
    bad = pulse("web-link", "--minutes", "0", "--database-url", url)
    assert bad.exit_code == 2
    unknown = pulse("web-link", "--space", "nowhere", "--database-url", url)
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "pulse: no community matches 'nowhere'"
    old = pulse("web-link", "--database-url", f"sqlite:///{tmp_path / 'empty.db'}")
    assert old.exit_code == 1
    assert "Traceback" not in old.output


def test_web_on_a_busy_port_says_so_in_one_line(demo_db, tmp_path):
    url = demo_copy(demo_db, tmp_path)
    pulse("db", "upgrade", "--database-url", url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = pulse("web", "--port", str(port), "--database-url", url)
    assert result.exit_code == 1
    assert result.output.startswith(f"pulse: the dashboard cannot listen on 127.0.0.1:{port}:")
    assert "Traceback" not in result.output
