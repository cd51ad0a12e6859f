"""`pulse export`: a CSV of members, tier changes, outreach or the weekly figures."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import click

from bot.cli import base
from bot.cli.base import PulseError, cli, common_options, community_id, now, open_store, run_async
from bot.cli.reports import AsOf, as_of_option
from bot.settings import Settings
from community.exports import EXPORT_KINDS

# Progress on stderr every this many rows, so a long export shows it is moving.
PROGRESS_ROWS = 20_000


@cli.command("export")
@common_options
@click.argument("kind", type=click.Choice(EXPORT_KINDS))
@click.option(
    "--space",
    default=None,
    metavar="ID",
    help="Which community (platform id or name), when the database holds several.",
)
@as_of_option
@click.option("--out", default="-", metavar="FILE.csv", show_default=True,
              help="Where to write the CSV; - for standard output.")  # fmt: skip
def export_cmd(settings: Settings, kind: str, space: str | None, as_of: AsOf | None, out: str):
    """Export KIND as CSV (UTF-8, header row, ISO dates) for a spreadsheet.

    members: every member with tier, score, last seen, weeks active, helped members and
    flags; tier-changes: every tier move with its reasons; outreach: what staff did about
    quiet members; weekly: members active each week by tier (the digest's chart).
    """
    moment = now()
    if out == "-":
        run_async(_export(settings, kind, space, as_of, moment, _stdout))
        return
    path = Path(out)
    if path.is_dir():
        raise PulseError(f"--out {path} is a directory; give a file name")
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (renamed or removed below)
            "w",
            encoding="utf-8",
            newline="",
            dir=path.parent,
            prefix=f".{path.name}.",
            suffix=".part",
            delete=False,
        )
    except OSError as exc:
        raise PulseError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with handle:
            rows = run_async(_export(settings, kind, space, as_of, moment, handle.write))
        # A temporary file is private (0600); the export gets the mode a new file would.
        os.chmod(handle.name, 0o666 & ~_umask())
        os.replace(handle.name, path)
    except BaseException:
        # A failed export leaves no half file behind, under either name.
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise
    base.err_console.print(
        f"Wrote {rows:,} rows to {path}.", highlight=False, markup=False, soft_wrap=True
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _stdout(chunk: str) -> None:
    click.echo(chunk, nl=False)


async def _export(settings, kind, space, as_of, moment, write) -> int:
    """Write KIND's CSV chunks with WRITE; how many rows were written."""
    from bot.services.exports import export_csv

    written = 0
    shown = 0

    def progress(rows: int) -> None:
        nonlocal written, shown
        written = rows
        if rows - shown >= PROGRESS_ROWS:
            shown = rows
            base.err_console.print(
                f"exported {rows:,} rows…", highlight=False, markup=False, soft_wrap=True
            )

    async with open_store(settings) as uow:
        space_id = await community_id(uow, space)
        async for chunk in export_csv(
            uow,
            kind,
            space_id,
            as_of=as_of.moment if as_of else None,
            now=moment,
            policy=settings.policies().tiers,
            progress=progress,
        ):
            write(chunk)
    return written
