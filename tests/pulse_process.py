"""`pulse run` as a real subprocess, for tests that signal it: start, watch its log, stop it."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import re
import signal
import sys
import time
from pathlib import Path

# Variables of the operator's shell that would configure a platform the test did not ask for.
_PLATFORM_ENV = (
    "PULSE_DISCORD_TOKEN",
    "PULSE_SLACK_BOT_TOKEN",
    "PULSE_SLACK_APP_TOKEN",
    "PULSE_SLACK_SIGNING_SECRET",
)


def toml_string(value: object) -> str:
    """VALUE as a TOML basic string."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_config(directory: Path, database_url: str, **sections: dict) -> Path:
    """Write a pulse.toml for `pulse run` with a short shutdown timeout; return its path."""
    sections = {
        "database": {"url": database_url},
        "ingest": {
            "shutdown_timeout_seconds": 2,
            "flush_interval_seconds": 0.1,
            "retry_initial_seconds": 0.2,
            "retry_max_seconds": 0.5,
        },
        # Any free port: a fixed one would clash with another run (or session) on this machine.
        "web": {"port": 0},
        **sections,
    }
    lines = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        for key, value in values.items():
            if isinstance(value, bool):
                shown = str(value).lower()
            elif isinstance(value, int | float):
                shown = str(value)
            elif isinstance(value, list):
                shown = "[" + ", ".join(toml_string(v) for v in value) + "]"
            else:
                shown = toml_string(value)
            lines.append(f"{key} = {shown}")
    path = directory / "pulse.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


class PulseProcess:
    """One `pulse run` process whose output is read as it comes."""

    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.config = config
        self.env = env
        self.output: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task] = []
        self._changed = asyncio.Event()

    async def start(self) -> None:
        """Start `pulse run --config CONFIG` in the config's directory."""
        env = {k: v for k, v in os.environ.items() if k not in _PLATFORM_ENV}
        env.update(self.env)
        env.setdefault("PULSE_HASH_KEY", "test-hash-key")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from bot.cli import main; main()",
            "run",
            "--config",
            str(self.config),
            cwd=self.config.parent,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        streams = (self.proc.stdout, self.proc.stderr)
        self._readers = [asyncio.create_task(self._read(stream)) for stream in streams]

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.output.append(line.decode(errors="replace").rstrip("\n"))
            self._changed.set()

    @property
    def text(self) -> str:
        """Everything the process wrote so far, stdout and stderr interleaved by arrival."""
        return "\n".join(self.output)

    async def wait_for_line(self, pattern: str, timeout: float = 30.0) -> str:  # noqa: ASYNC109
        """The first output line matching PATTERN (a regex); fail after TIMEOUT seconds."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.output:
                if regex.search(line):
                    return line
            if self.proc.returncode is not None and all(r.done() for r in self._readers):
                raise AssertionError(f"pulse exited before logging {pattern!r}:\n{self.text}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"pulse did not log {pattern!r} in {timeout}s:\n{self.text}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.5))

    async def stop(self, signum: int = signal.SIGTERM, timeout: float = 60.0) -> tuple[int, float]:  # noqa: ASYNC109
        """Send SIGNUM; return the exit code and the seconds the process took to exit."""
        started = time.monotonic()
        self.proc.send_signal(signum)
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError(
                f"pulse did not exit {timeout}s after {signum!r}:\n{self.text}"
            ) from None
        took = time.monotonic() - started
        await asyncio.gather(*self._readers)
        return code, took

    async def kill(self) -> None:
        """End the process if it still runs (test clean-up)."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        for reader in self._readers:
            reader.cancel()


async def eventually(predicate, what: str, timeout: float = 30.0):  # noqa: ASYNC109
    """PREDICATE's first truthy value, polled (a process's effects cannot be awaited)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)
