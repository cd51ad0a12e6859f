"""Why a write failed: the database is unavailable (retry later) or refuses the batch (split it).

Retrying helps only when the fault is outside the data: a connection lost or refused, a server
shutting down or out of resources, a lock or a serialization conflict. Anything else is a batch
the database will refuse however often it is sent, or a bug the same batch will hit again:
the writers split such a batch to store every event but the one that fails, and set that one
aside. Classified by PostgreSQL's SQLSTATE where there is one (SQLAlchemy wraps asyncpg's error
in ``exc.orig``, which carries ``sqlstate``), by the DB-API class on SQLite.

Unavailable (retried with backoff):
  08 connection exception, 40 transaction rollback (40001 serialization, 40P01 deadlock),
  53 insufficient resources (disk full, out of memory, too many connections), 55 object not in
  prerequisite state (55P03 lock not available, 55006 object in use), 57 operator intervention
  (57P01 admin shutdown, 57P03 cannot connect now, 57014 statement timeout), 58 system error
  (I/O), XX internal error; a connection SQLAlchemy invalidated; OSError and timeouts; SQLite's
  OperationalError (database locked or busy, disk I/O, disk full); anything raised while
  connecting.
Refused (split, the failing event set aside):
  every other SQLSTATE, notably 22 data exception (22001 value too long, 22021 bad encoding,
  22P05 untranslatable character), 23 integrity constraint violation, 42 syntax error or access
  rule violation, 54 program limit exceeded; SQLite's IntegrityError, DataError and
  ProgrammingError; asyncpg's client-side DataError (a value it cannot encode); and any Python
  error (TypeError, ValueError, UnicodeEncodeError...), which retrying would only repeat.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sqlalchemy import exc as sa_exc

T = TypeVar("T")

# PostgreSQL SQLSTATE classes (the first two characters) that say the server, not the data,
# is the problem.
UNAVAILABLE_CLASSES = frozenset({"08", "40", "53", "55", "57", "58", "XX"})


class ConnectError(Exception):
    """A failure while opening a connection: the database is unavailable, whatever it says."""


def sqlstate(exc: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE behind EXC, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "sqlstate", None)
        if isinstance(code, str) and code:
            return code
        current = getattr(current, "orig", None) or current.__cause__
    return None


def is_unavailable(exc: BaseException) -> bool:
    """Whether retrying the same write later can succeed (else the batch is refused)."""
    if isinstance(exc, ConnectError):
        return True
    code = sqlstate(exc)
    if code is not None:
        return code[:2] in UNAVAILABLE_CLASSES
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, sa_exc.InterfaceError):
            # asyncpg's DataError (a value it cannot encode) is an InterfaceError and a
            # ValueError; other interface errors are a broken connection.
            return not isinstance(exc.orig, ValueError) and not isinstance(
                exc.orig.__cause__, ValueError
            )
        return isinstance(exc, sa_exc.OperationalError)
    if isinstance(exc, sa_exc.StatementError):
        return False  # a Python error raised while SQLAlchemy prepared the statement
    return isinstance(exc, OSError | TimeoutError | sa_exc.TimeoutError)


def reason(exc: BaseException) -> str:
    """EXC in one line for a log or a quarantine entry, with its SQLSTATE when it has one."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = text[0][:300] if text else ""
    code = sqlstate(exc)
    name = type(exc).__name__
    parts = [f"{name} [{code}]" if code else name]
    if first:
        parts.append(first)
    return ": ".join(parts)


def database_failure(exc: BaseException) -> str | None:
    """EXC in one line for an operator when it is the database failing, else None."""
    if isinstance(exc, sa_exc.OperationalError):
        return f"cannot use the database: {first_line(exc.orig or exc)}"
    if isinstance(exc, OSError | sa_exc.InterfaceError):
        return f"cannot reach the database: {first_line(exc)}"
    # PostgreSQL refusing the connection itself: no such database, or bad credentials.
    if isinstance(exc, sa_exc.DBAPIError) and (sqlstate(exc) or "")[:2] in ("3D", "28"):
        return f"cannot use the database: {first_line(exc.orig)}"
    return None


def first_line(exc: BaseException) -> str:
    """The first line of EXC's message, or its type's name when it has none."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


async def store_splitting_refusals(
    batch: Sequence[T],
    store: Callable[[Sequence[T]], Awaitable[object]],
    refused: Callable[[T, Exception], object],
    splitting: Callable[[int, Exception], object],
) -> None:
    """STORE BATCH; when the database refuses it, halve it until each refused item is alone.

    Halving finds a bad item in log2(len) rounds, and the good halves are stored as found.
    REFUSED gets each item the database refuses on its own; SPLITTING is told before a batch of
    more than one is halved. An unavailable database (is_unavailable) is raised, not split:
    STORE decides whether to wait for it.
    """
    try:
        await store(batch)
    except Exception as exc:
        if is_unavailable(exc):
            raise
        if len(batch) == 1:
            refused(batch[0], exc)
            return
        splitting(len(batch), exc)
        middle = len(batch) // 2
        await store_splitting_refusals(batch[:middle], store, refused, splitting)
        await store_splitting_refusals(batch[middle:], store, refused, splitting)
