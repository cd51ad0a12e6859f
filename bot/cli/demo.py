"""`pulse demo` on the command line; ``bot/services/demo.py`` seeds what it shows."""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from bot.cli import base
from bot.cli.base import PulseUsageError, cli, common_options, now, print_json, run_async
from bot.render import candidates_table, quiet_table, shown, tier_counts_table
from bot.settings import Settings


@cli.command()
@common_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("pulse-demo.db"), show_default=True,
              help="SQLite file to create (an earlier demo file there is replaced).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def demo(settings: Settings, out: Path, as_json: bool) -> None:
    """Seed a synthetic community (no tokens needed); show tiers, candidates, quiet members."""
    if click.get_current_context().params.get("database_url"):
        raise PulseUsageError(
            "pulse demo writes its own SQLite file: choose it with --out FILE, not --database-url"
        )
    from bot.services.demo import DemoPathError, overview, seed

    seeded_at = now().replace(microsecond=0)
    policies = settings.policies()

    def progress(message: str) -> None:
        if not as_json:
            base.err_console.print(shown(message, "dim"))

    async def go():
        try:
            result = await seed(policies, out, seeded_at, progress=progress)
        except DemoPathError as exc:
            raise PulseUsageError(str(exc)) from None
        return result, await overview(result, policies)

    result, seen = run_async(go())
    if as_json:
        print_json(
            {
                "database": str(result.path),
                "events": result.events,
                "members": result.members,
                "tiers": seen.tiers,
                "hero_candidates": seen.hero_candidates,
                "rising_actives": seen.rising_actives,
                "quiet": seen.quiet,
            }
        )
        return
    console = base.console
    console.print(
        Text.assemble(
            shown("Pulse demo", "bold"),
            f": {result.members} members, {result.events:,} interactions over 26 weeks, "
            "written to ",
            shown(result.path),
            "\n",
        )
    )
    console.print(tier_counts_table(seen.tiers))
    console.print(candidates_table(seen.hero_candidates, "Hero candidates"))
    rising_title = "Rising actives: passive members who started helping"
    console.print(candidates_table(seen.rising_actives, rising_title))
    console.print(quiet_table(seen.quiet))
    url = f"sqlite:///{result.path}"
    console.print(
        Text.assemble(
            "\nExplore it: ",
            shown(f"pulse member NAME --database-url {url}", "bold"),
            ", ",
            shown(f"pulse tiers --list hero --database-url {url}", "bold"),
        )
    )
