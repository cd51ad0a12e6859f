"""The leadership report as Markdown and as one self-contained HTML file (charts inline).

Both are drawn from the same blocks: headings, paragraphs, tables and charts. The HTML loads
nothing from the network (charts are data: URIs, the style is inline) and prints cleanly.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path

from community.outcomes import FUNNEL_STEPS, format_hours, format_share, health_lines


@dataclass(frozen=True, slots=True)
class Block:
    """One piece of the report: a heading, a paragraph, a table or a chart."""

    kind: str  # "h1", "h2", "p", "table", "chart"
    text: str = ""
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


def _days(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g} d"


def report_blocks(report) -> list[Block]:
    """The report laid out: headline, tiers, help health, funnel, retention, goals."""
    h = report.health
    o = h.overall
    tiers = report.tiers
    title = f"{report.space_name}: community outcomes to {report.end:%B %d, %Y}"
    blocks = [
        Block("h1", title),
        Block(
            "p",
            f"Figures as they stood at {report.end:%Y-%m-%d %H:%M} UTC. Help figures "
            f"cover the last 30 days; cohorts the last {report.months} months.",
        ),
        Block("h2", "Headline"),
        Block(
            "table",
            header=("question", "answer"),
            rows=(
                (
                    "How fast do members get help?",
                    f"median first reply {format_hours(o.median_hours)}; "
                    f"{format_share(o.within_day_share)} answered within 24 h",
                ),
                (
                    "Does every question get an answer?",
                    f"{format_share(o.answered_share)} of {o.questions} answered; "
                    f"{h.needs_attention_total} still waiting after {h.unanswered_hours:g} h",
                ),
                ("How many newcomers stay?", _stay_line(report.cohorts)),
                ("Who carries the help load?", _load_line(h)),
            ),
        ),
        Block("h2", "Members per tier"),
        Block(
            "p",
            f"{tiers.get('hero', 0)} heroes, {tiers.get('active', 0)} active, "
            f"{tiers.get('passive', 0)} passive.",
        ),
        Block("chart", "tiers"),
        Block("h2", "Help health (last 30 days)"),
        *(Block("p", line) for line in health_lines(h)),
        Block(
            "table",
            header=(
                "channel",
                "questions",
                "answered within 24 h",
                "answered",
                "median first reply",
                "90th percentile",
            ),
            rows=_health_rows(h),
        ),
        Block("h2", "Newcomer funnel by join month"),
        Block(
            "p",
            "Members who joined in a month (or were first seen then, for imported "
            "communities): how many went on to post, ask, help someone, become active "
            "and become heroes, with the median days it took.",
        ),
        Block(
            "table",
            header=("joined in", "joined", *FUNNEL_STEPS),
            rows=tuple(
                (
                    f"{f.month:%b %Y}",
                    str(f.joined),
                    *(
                        f"{s.count} ({format_share(s.rate)}, {_days(s.median_days)})"
                        for s in f.steps
                    ),
                )
                for f in report.cohorts.funnels
            ),
        ),
        Block("chart", "funnel"),
        Block("h2", "Retention by join month"),
        Block(
            "table",
            header=("joined in", "members", *(f"+{m}" for m in range(report.months))),
            rows=tuple(
                (
                    f"{r.month:%b %Y}",
                    str(r.size),
                    *(format_share(s) for s in r.shares),
                    *([""] * (report.months - len(r.shares))),
                )
                for r in report.cohorts.retention
            ),
        ),
        Block("chart", "retention"),
        Block("h2", "Goals"),
    ]
    if report.goals:
        blocks.append(
            Block(
                "table",
                header=("goal", "now", "target", "by", "status", "trend"),
                rows=tuple(
                    (
                        g.goal.title,
                        g.goal.metric.format(g.current),
                        g.goal.metric.format(g.goal.target),
                        g.goal.by.isoformat(),
                        g.status.value,
                        g.goal.metric.format(g.projected),
                    )
                    for g in report.goals
                ),
            )
        )
        blocks.append(Block("chart", "goals"))
    else:
        blocks.append(Block("p", "No goals are set ([[goals]] in the config)."))
    return blocks


def _health_rows(health) -> tuple[tuple[str, ...], ...]:
    def row(label, f):
        return (
            label,
            str(f.questions),
            format_share(f.within_day_share),
            format_share(f.answered_share),
            format_hours(f.median_hours),
            format_hours(f.p90_hours),
        )

    channels = [row(f"#{c.channel}" if c.channel else "(no channel)", c) for c in health.channels]
    return (*channels, row("all channels", health.overall))


def _stay_line(cohorts) -> str:
    rows = [r for r in cohorts.retention if len(r.active) >= 2 and r.size]
    if not rows:
        return "no cohort has a month after joining yet"
    size = sum(r.size for r in rows)
    stayed = sum(r.active[1] for r in rows)
    return (
        f"{format_share(stayed / size)} of the {size} members who joined from "
        f"{rows[0].month:%b %Y} to {rows[-1].month:%b %Y} posted in the month after joining"
    )


def _load_line(health) -> str:
    if health.concentration is None:
        return "nobody answered a question in these 30 days"
    names = ", ".join(f"{c.member.name} ({c.answers})" for c in health.carriers)
    warning = " (too few: a warning sign)" if health.concentration_warning else ""
    return (
        f"{health.concentration} member{'s' if health.concentration != 1 else ''} gave half "
        f"of the {health.answers} answers{warning}: {names}; staff gave "
        f"{format_share(health.staff_share)}"
    )


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


# Control characters and direction overrides: in a name they could reorder or hide what is shown.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _plain(text: str) -> str:
    """TEXT on one line, control characters blanked."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _md(text: str) -> str:
    # Names come from members: nothing in them may become Markdown, HTML or a table cell break.
    return _MD_SPECIAL.sub(r"\\\1", _plain(text))


def to_markdown(blocks: list[Block], charts: dict[str, str]) -> str:
    """The blocks as Markdown; CHARTS maps a chart's name to its file name beside the report."""
    lines: list[str] = []
    for b in blocks:
        if b.kind == "h1":
            lines += [f"# {_md(b.text)}", ""]
        elif b.kind == "h2":
            lines += [f"## {_md(b.text)}", ""]
        elif b.kind == "p":
            lines += [_md(b.text), ""]
        elif b.kind == "table":
            lines.append("| " + " | ".join(_md(c) for c in b.header) + " |")
            lines.append("|" + "---|" * len(b.header))
            lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in b.rows]
            lines.append("")
        elif b.kind == "chart" and b.text in charts:
            lines += [f"![{b.text} chart]({charts[b.text]})", ""]
    return "\n".join(lines)


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2933;
       max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem;
     border-bottom: 1px solid #d2d6dc; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #d2d6dc; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #f3f4f6; }
img { max-width: 100%; height: auto; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { break-after: avoid; } table, img { break-inside: avoid; }
  th { background: none; }
}
"""


def to_html(blocks: list[Block], charts: dict[str, bytes]) -> str:
    """The blocks as one HTML page; CHARTS (PNG bytes) are embedded as data: URIs."""

    def e(text: str) -> str:
        return html.escape(_plain(text))

    title = next((b.text for b in blocks if b.kind == "h1"), "Pulse report")
    body: list[str] = []
    for b in blocks:
        if b.kind in ("h1", "h2"):
            body.append(f"<{b.kind}>{e(b.text)}</{b.kind}>")
        elif b.kind == "p":
            body.append(f"<p>{e(b.text)}</p>")
        elif b.kind == "table":
            head = "".join(f"<th>{e(c)}</th>" for c in b.header)
            rows = "".join(
                "<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in b.rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif b.kind == "chart" and b.text in charts:
            data = base64.b64encode(charts[b.text]).decode("ascii")
            body.append(f'<img alt="{e(b.text)} chart" src="data:image/png;base64,{data}">')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(title)}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def write_report(report, charts: dict[str, bytes], out: Path, stem: str) -> list[Path]:
    """Write STEM.md with its chart PNGs beside it, and STEM.html on its own, into OUT."""
    out.mkdir(parents=True, exist_ok=True)
    blocks = report_blocks(report)
    names = {}
    written = []
    for name, png in charts.items():
        path = out / f"{stem}-{name}.png"
        path.write_bytes(png)
        names[name] = path.name
        written.append(path)
    markdown = out / f"{stem}.md"
    markdown.write_text(to_markdown(blocks, names), encoding="utf-8")
    page = out / f"{stem}.html"
    page.write_text(to_html(blocks, charts), encoding="utf-8")
    return [markdown, page, *written]
