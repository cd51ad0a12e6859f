"""Outcomes: `pulse health` (help health) and `pulse report` (the monthly leadership report)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from bot.cli import base
from bot.cli.base import (
    PulseError,
    PulseUsageError,
    cli,
    common_options,
    community_id,
    now,
    open_store,
    print_json,
    run_async,
)
from bot.cli.reports import AsOf, as_of_option, read_options
from bot.render import shown
from bot.settings import Settings


def health_table(health) -> Table:
    """Per-channel reply figures with the overall row last."""
    from community.outcomes import format_hours, format_share

    table = Table(
        title=f"Help health, {health.start:%Y-%m-%d} to {health.end:%Y-%m-%d %H:%M} UTC",
        title_justify="left",
    )
    for name, justify in [("channel", "left"), ("questions", "right"), ("answered 24 h", "right"),
                          ("answered", "right"), ("median first reply", "right"),
                          ("90th pct", "right")]:  # fmt: skip
        table.add_column(name, justify=justify)

    def row(figures, label, style=""):
        table.add_row(
            shown(label, style),
            shown(figures.questions, style),
            shown(format_share(figures.within_day_share), style),
            shown(format_share(figures.answered_share), style),
            shown(format_hours(figures.median_hours), style),
            shown(format_hours(figures.p90_hours), style),
        )

    for figures in health.channels:
        row(figures, f"#{figures.channel}" if figures.channel else "(no channel)")
    row(health.overall, "all channels", "bold")
    return table


def attention_table(health) -> Table:
    """Questions still waiting for a reply: channel and age, never who or what."""
    from community.outcomes import format_hours

    title = (
        f"Needs attention: no reply after {health.unanswered_hours:g} h "
        f"({health.needs_attention_total})"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("channel")
    table.add_column("asked (UTC)")
    table.add_column("waiting", justify="right")
    for n in health.needs_attention:
        channel = f"#{n.channel}" if n.channel else "(no channel)"
        table.add_row(shown(channel), f"{n.asked_at:%Y-%m-%d %H:%M}", format_hours(n.age_hours))
    return table


@cli.command()
@common_options
@read_options
@click.option("--weeks", type=click.IntRange(1, 52), default=4, show_default=True,
              help="How many weeks back to look (1-52).")  # fmt: skip
def health(settings: Settings, space: str | None, as_json: bool, weeks: int) -> None:
    """How fast questions get a first reply, what is waiting, and who carries the help load."""
    from bot.services.outcomes import health_over
    from community.outcomes import concentration_lines, health_json

    moment = now()

    async def go():
        async with open_store(settings) as uow:
            space_id = await community_id(uow, space)
            return await health_over(uow, settings.policies(), space_id, moment, weeks)

    result = run_async(go())
    if as_json:
        print_json(health_json(result))
        return
    base.console.print(health_table(result))
    base.console.print(attention_table(result))
    for line in concentration_lines(result):
        base.console.print(shown(line), highlight=False)
    if result.carriers:
        names = ", ".join(f"{c.member.name} ({c.answers})" for c in result.carriers)
        base.console.print(Text.assemble("Half the answers came from: ", shown(names)))


@cli.command()
@common_options
@click.option(
    "--space",
    default=None,
    metavar="ID",
    help="Which community (platform id or name), when the database holds several.",
)
@click.option(
    "--months",
    type=click.IntRange(1, 24),
    default=6,
    show_default=True,
    help="How many calendar months of join cohorts to show (1-24).",
)
@as_of_option
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Directory to write the report into (created if missing).")  # fmt: skip
def report(
    settings: Settings, space: str | None, months: int, as_of: AsOf | None, out: Path
) -> None:
    """Write the monthly leadership report: Markdown, one offline HTML file and PNG charts."""
    from bot.report_render import write_report
    from bot.services.report import build_report

    if out.exists() and not out.is_dir():
        raise PulseUsageError(f"--out {out} is a file; give a directory for the report")
    moment = as_of.moment if as_of is not None else now()

    async def go():
        async with open_store(settings) as uow:
            space_id = await community_id(uow, space)
            return space_id, await build_report(uow, settings.policies(), space_id, moment, months)

    space_id, (built, charts) = run_async(go())
    stem = f"pulse-report-{space_id}-{moment:%Y-%m-%d}"
    try:
        written = write_report(built, charts, out, stem)
    except OSError as exc:
        raise PulseError(f"cannot write the report into {out}: {exc.strerror}") from None
    for path in written[:2]:
        base.console.print(Text.assemble("Wrote ", shown(path, "bold")), highlight=False)
