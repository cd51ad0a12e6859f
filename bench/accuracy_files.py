"""How the accuracy corpus's JSON is laid out on disk: one message, edge or member to a line."""

from __future__ import annotations

import json
from pathlib import Path


def dump_json(path: Path, data) -> None:
    """JSON with one message per line: small, and readable in a diff."""
    if isinstance(data, list):
        body = "[\n" + ",\n".join(json.dumps(x, ensure_ascii=False) for x in data) + "\n]\n"
    elif isinstance(data, dict) and "messages" in data:
        head = {k: v for k, v in data.items() if k != "messages"}
        parts = [f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in head.items()]
        msgs = ",\n".join(json.dumps(x, ensure_ascii=False) for x in data["messages"])
        body = "{\n" + ",\n".join(parts[:3]) + ',\n"messages": [\n' + msgs + "\n],\n"
        body += ",\n".join(parts[3:]) + "\n}\n"
    else:
        body = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    path.write_text(body, encoding="utf-8")


def dump_labels(path: Path, labels: dict) -> None:
    """The labels with one edge, question, member or conversation to a line."""
    lines = ["{"]
    keys = list(labels)
    for n, key in enumerate(keys):
        value = labels[key]
        end = "," if n < len(keys) - 1 else ""
        if isinstance(value, list) and value and not isinstance(value[0], str):
            items = [json.dumps(v, ensure_ascii=False) for v in value]
        elif isinstance(value, dict) and key != "questions":
            items = [
                f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in value.items()
            ]
        elif key == "questions":
            items = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()]
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{end}")
            continue
        opening, closing = ("[", "]") if isinstance(value, list) else ("{", "}")
        lines.append(f" {json.dumps(key)}: {opening}")
        lines.append(",\n".join("  " + item for item in items))
        lines.append(f" {closing}{end}")
    path.write_text("\n".join(lines) + "\n}\n", encoding="utf-8")
