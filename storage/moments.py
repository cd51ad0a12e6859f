"""Many moments in one statement: the moments as rows a query joins against."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Integer, literal, select, union_all
from sqlalchemy.types import TypeEngine


def rows_table(columns: Sequence[tuple[str, TypeEngine]], rows: Sequence[Sequence]):
    """ROWS as a subquery with columns k (each row's index) and COLUMNS (name, type).

    A figure wanted at several moments is then one statement joined against these rows, one
    pass over the tables, instead of one statement per moment.
    """
    selects = [
        select(
            literal(k, Integer()).label("k"),
            *(literal(v, t).label(name) for (name, t), v in zip(columns, row, strict=True)),
        )
        for k, row in enumerate(rows)
    ]
    return (union_all(*selects) if len(selects) > 1 else selects[0]).subquery()
