"""`pulse run` when a platform cannot be reached: one line naming it, and a prompt exit."""

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_discord_is_named_and_pulse_exits(tmp_path):
    config = tmp_path / "pulse.toml"
    config.write_text(
        f'[discord]\napi_base_url = "http://127.0.0.1:{closed_port()}/api/v10"\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "pulse.db"}"\n'
    )
    env = {**os.environ, "PULSE_DISCORD_TOKEN": "not-a-real-token"}
    # The hang this guards against came in a fraction of runs: try a few.
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", "from bot.cli import main; main()", "run", "--config", config],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        out = done.stdout + done.stderr
        assert done.returncode == 1, out
        assert "pulse: Discord stopped: Cannot connect to host 127.0.0.1" in out
        assert "database" not in out.split("pulse:", 1)[1].splitlines()[0]
        assert "Traceback" not in out
        assert "Unclosed client session" not in out
