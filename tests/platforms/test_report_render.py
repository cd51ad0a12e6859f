"""The report's Markdown and HTML show every member name as text, never as markup or a link."""

import re

import pytest

from bot.report_render import Block, to_html, to_markdown
from tests.hostile_names import CORPUS


@pytest.mark.parametrize("name", list(CORPUS.values()), ids=list(CORPUS))
def test_hostile_names_stay_text(name):
    blocks = [
        Block("h1", "Report"),
        Block("p", f"Half the answers came from {name} (3)"),
        Block("table", header=("who", "answers"), rows=((name, "3"),)),
    ]
    page = to_html(blocks, {})
    assert "<script" not in page.lower()
    assert "<a " not in page
    assert "\x00" not in page
    assert "\u202e" not in page
    markdown = to_markdown(blocks, {})
    table = [line for line in markdown.splitlines() if line.startswith("| ")]
    # One row of two cells: a name never breaks the table or becomes a link.
    assert [row.count(" | ") for row in table] == [1, 1]
    assert re.search(r"(?<!\\)\]\(", markdown) is None  # every "](" escaped: no link
    assert "\n" not in table[1]


def test_script_in_a_name_is_escaped():
    page = to_html([Block("p", "<script>alert(1)</script>")], {})
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def _size(png: bytes) -> tuple[int, int]:
    import struct

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return struct.unpack(">II", png[16:24])


def test_charts_draw_an_empty_community():
    from datetime import date

    from bot.report_charts import funnel_chart, retention_chart, tiers_chart
    from community.outcomes import CohortReport

    empty = CohortReport(funnels=(), retention=())
    assert _size(funnel_chart(empty)) == (800, 360)
    assert _size(retention_chart(empty))[0] == 800
    weeks = [(date(2026, 6, d), {"active": 0, "hero": 0, "passive": 3}) for d in (1, 8, 15)]
    assert _size(tiers_chart(weeks)) == (800, 360)
