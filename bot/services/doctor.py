"""`pulse doctor`: check by check, whether what Pulse needs is in place, and what to fix."""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings


@dataclass(frozen=True, slots=True)
class Check:
    """One check's outcome: what was checked, whether it passed, and what to do about it."""

    name: str
    ok: bool
    detail: str
    needed: bool = True  # False: Pulse runs without it, with less
    info: bool = False  # neither right nor wrong: something the operator may want to know

    @property
    def line(self) -> str:
        """'✓ database: at revision 0006_recognition (the latest)'."""
        if self.info:
            return f"i {self.name}: {self.detail}"
        mark = "✓" if self.ok else ("✗" if self.needed else "!")
        return f"{mark} {self.name}: {self.detail}"


def note(name: str, detail: str) -> Check:
    """A check that only informs: it never fails doctor."""
    return Check(name, True, detail, needed=False, info=True)


def all_needed_pass(checks: list[Check]) -> bool:
    """Whether every needed check passed (the exit code's rule)."""
    return all(c.ok or not c.needed for c in checks)


async def database_checks(settings: Settings) -> list[Check]:
    """The database is reachable and at the latest migration."""
    from storage.engine import create_engine
    from storage.faults import is_unavailable
    from storage.migrate import SchemaError, check_schema

    engine = create_engine(settings.database_url())
    try:
        revision = await check_schema(engine)
    except SchemaError as exc:
        return [Check("database", False, str(exc))]
    except Exception as exc:
        if is_unavailable(exc):
            return [Check("database", False, f"unreachable: {str(exc).splitlines()[0]}")]
        raise
    finally:
        await engine.dispose()
    return [Check("database", True, f"at revision {revision} (the latest)")]


async def run_checks(settings: Settings) -> list[Check]:
    """Every check that applies to these settings: the database, then each configured platform."""
    checks = await database_checks(settings)
    token = settings.secret(settings.discord.token_env)
    if token:
        from bot.discord.doctor import discord_checks

        checks += await discord_checks(settings.discord, token)
    slack_token = settings.secret(settings.slack.bot_token_env)
    if slack_token:
        from bot.slack.doctor import slack_checks

        checks += await slack_checks(settings.slack, slack_token)
    if not token and not slack_token:
        checks.append(
            Check(
                "platforms",
                False,
                f"no token set: export {settings.discord.token_env} or "
                f"{settings.slack.bot_token_env} to run on Discord or Slack",
            )
        )
    return checks
