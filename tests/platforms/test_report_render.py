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
