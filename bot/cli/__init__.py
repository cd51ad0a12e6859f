"""The `pulse` command: the root group in ``base``, one module per group of subcommands.

Command bodies import storage and services when they run, not at import, so `pulse --help`
and `pulse slack-manifest` do not pay for loading SQLAlchemy and the platform libraries.
"""

from __future__ import annotations

import sys

from bot.cli import (  # noqa: F401  (each registers its commands)
    demo,
    exports,
    imports,
    operate,
    outcomes,
    reports,
    web,
)
from bot.cli.base import cli, err_console

__all__ = ["cli", "main"]


def main() -> None:
    """Entry point of the `pulse` console script."""
    try:
        cli.main(standalone_mode=True)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
