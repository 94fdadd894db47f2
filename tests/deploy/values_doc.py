"""Read the `# --` descriptions out of the chart's values.yaml (helm-docs style).

A key is documented when a `# -- text` comment block sits right above it; the block may go on
over further `#` lines. Keys inside lists belong to their list's value and are not walked.
"""

from __future__ import annotations

import re
from pathlib import Path

KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.\-/]+):(?P<rest>.*)$")


def described_keys(values_yaml: Path) -> dict[str, str]:
    """{dotted.key.path: description} for every key in values.yaml, '' when undocumented."""
    keys: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    comment: list[str] = []
    in_description = False
    list_indent: int | None = None
    for raw in values_yaml.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        indent = len(raw) - len(raw.lstrip(" "))
        if not stripped:
            comment, in_description = [], False
            continue
        if stripped.startswith("#"):
            text = stripped.lstrip("#").strip()
            if text.startswith("-- "):
                comment, in_description = [text[3:]], True
            elif in_description:
                comment.append(text)
            continue
        if list_indent is not None and indent > list_indent:
            continue
        list_indent = None
        if stripped.startswith("- "):
            list_indent = indent
            continue
        match = KEY.match(raw)
        if not match:
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([name for _, name in stack] + [match["key"]])
        keys[path] = " ".join(comment)
        comment, in_description = [], False
        rest = match["rest"].strip()
        if not rest or rest.startswith("#"):
            stack.append((indent, match["key"]))
    return keys


def undocumented(keys: dict[str, str]) -> list[str]:
    """Leaf keys with no description on themselves or on any parent."""
    missing = []
    for path in keys:
        if any(other.startswith(path + ".") for other in keys):
            continue  # a mapping: its leaves are checked
        parts = path.split(".")
        if not any(keys.get(".".join(parts[:i])) for i in range(len(parts), 0, -1)):
            missing.append(path)
    return missing


def documented(keys: dict[str, str]) -> dict[str, str]:
    return {path: text for path, text in keys.items() if text}
