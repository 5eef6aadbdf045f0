#!/usr/bin/env python3
"""Generate values.schema.json and the README values table from the commented values.yaml
(cert-manager style).

The comment lines directly above a key become its ``description``; a comment line
``@schema {...}`` merges JSON-schema keywords into the generated schema. Two keywords of
our own: ``"x-free": true`` keeps an object free-form (no properties checked, e.g.
``resources``) and ``"x-like": "<top-level key>"`` gives an override block the schema of
that defaults block (every key optional), merged with its own keys.

Types come from the defaults. Objects with keys reject unknown keys
(``additionalProperties: false``) so that a typo in a values file fails ``helm install``.

    python charts/calisera/hack/gen_schema.py           # rewrite schema and README table
    python charts/calisera/hack/gen_schema.py --check   # exit 1 when either is out of date
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parent.parent
KEY_LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z0-9_.-]+):(?:\s|$)")


def comments_by_path(text: str) -> dict[tuple[str, ...], list[str]]:
    """Comment lines directly above each key, by the key's path."""
    found: dict[tuple[str, ...], list[str]] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            pending = []
            continue
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("#").strip())
            continue
        match = KEY_LINE.match(line)
        if match is None:  # list items and continuation lines
            pending = []
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"]))
        found[tuple(key for _, key in stack)] = pending
        pending = []
    return found


def infer(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        return {"type": "array"}
    if isinstance(value, dict):
        return {"type": "object"}
    return {}


def build(
    value: Any, path: tuple[str, ...], comments: dict[tuple[str, ...], list[str]]
) -> dict[str, Any]:
    lines = comments.get(path, [])
    extra: dict[str, Any] = {}
    description = []
    for line in lines:
        if line.startswith("@schema"):
            extra.update(json.loads(line.removeprefix("@schema").strip()))
        else:
            description.append(line)
    schema: dict[str, Any] = {}
    if description:
        schema["description"] = " ".join(description)
    schema.update(infer(value))
    free = extra.pop("x-free", False)
    if isinstance(value, dict) and value and not free:
        schema["properties"] = {
            key: build(child, (*path, key), comments) for key, child in value.items()
        }
        schema["additionalProperties"] = False
    schema.update(extra)
    return schema


def without_defaults(schema: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    schema.pop("description", None)
    return schema


def merge(base: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for key, value in own.items():
        if key == "properties":
            props = result.setdefault("properties", {})
            for name, child in value.items():
                props[name] = merge(props.get(name, {}), child)
        else:
            result[key] = value
    return result


def resolve_likes(schema: dict[str, Any], root: dict[str, Any]) -> None:
    for child in schema.get("properties", {}).values():
        resolve_likes(child, root)
    like = schema.pop("x-like", None)
    if like is not None:
        merged = merge(without_defaults(root["properties"][like]), schema)
        schema.clear()
        schema.update(merged)


def generate(values_path: Path = CHART / "values.yaml") -> str:
    text = values_path.read_text()
    values = yaml.safe_load(text)
    root = build(values, (), comments_by_path(text))
    resolve_likes(root, root)
    document = {
        "$schema": "https://json-schema.org/draft-07/schema#",
        "title": "Calisera chart values",
        **root,
    }
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def undocumented(values_path: Path = CHART / "values.yaml") -> list[str]:
    """Dotted paths of values without a comment (inside free-form blocks excepted)."""
    text = values_path.read_text()
    values = yaml.safe_load(text)
    comments = comments_by_path(text)
    missing: list[str] = []

    def walk(value: Any, path: tuple[str, ...]) -> None:
        lines = comments.get(path, [])
        if path and not [line for line in lines if not line.startswith("@schema")]:
            missing.append(".".join(path))
        if any('"x-free": true' in line for line in lines):
            return
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, (*path, key))

    walk(values, ())
    return missing


README_START = "<!-- values-table:start (generated by hack/gen_schema.py) -->"
README_END = "<!-- values-table:end -->"


def values_table(values_path: Path = CHART / "values.yaml") -> str:
    """A Markdown table of every documented value: key, type, default, description."""
    text = values_path.read_text()
    values = yaml.safe_load(text)
    comments = comments_by_path(text)
    rows = ["| Key | Type | Default | Description |", "|---|---|---|---|"]

    def walk(value: Any, path: tuple[str, ...]) -> None:
        lines = comments.get(path, [])
        free = any('"x-free": true' in line for line in lines)
        if path:
            description = " ".join(line for line in lines if not line.startswith("@schema"))
            if not isinstance(value, dict) or free or not value:
                default = json.dumps(value, separators=(",", ":")).replace("|", "\\|")
                kind = infer(value).get("type", "null")
                rows.append(f"| `{'.'.join(path)}` | {kind} | `{default}` | {description} |")
        if isinstance(value, dict) and not free:
            for key, child in value.items():
                walk(child, (*path, key))

    walk(values, ())
    return "\n".join(rows) + "\n"


def readme(current: str) -> str:
    head, _, rest = current.partition(README_START)
    _, _, tail = rest.partition(README_END)
    return f"{head}{README_START}\n{values_table()}{README_END}{tail}"


def main() -> int:
    outputs = {CHART / "values.schema.json": generate()}
    readme_path = CHART / "README.md"
    if readme_path.exists():
        outputs[readme_path] = readme(readme_path.read_text())
    if "--check" in sys.argv[1:]:
        stale = [p for p, fresh in outputs.items() if not p.exists() or p.read_text() != fresh]
        for path in stale:
            print(f"{path} is out of date: run {Path(__file__).name}", file=sys.stderr)
        return 1 if stale else 0
    for path, fresh in outputs.items():
        path.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
